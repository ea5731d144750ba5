"""`FlowLogAthena`: registered under Pulumi's mock runtime, then applied to moto (S3, Glue, Athena).

The moto assertions read everything back through boto3 get/list calls, never through what the
emulator recorded.
"""

from __future__ import annotations

from typing import Any, Iterator

import boto3
import pulumi
import pytest
from moto import mock_aws

from components.athena import (FlowLogAthena, FlowLogAthenaArgs, glue_columns, location_template,
                               partition_keys)
from config.settings import config_from_stack_file, settings_from_stack_file
from flowlogs.fields import DEFAULT_FIELDS, FIELDS
from flowlogs.queries import QUERY_NAMES, build_queries
from tests.conftest import stack_file
from tests.policy_fixtures import PACK
from tools.analyzer import PolicyPackSession
from tools.emulator import MotoMocks
from tools.render import Rendering, render

REGION = "us-east-1"
PROD_FIELDS = settings_from_stack_file(stack_file("prod")).log_fields
COMPONENT = "vpcflowlogs:index:FlowLogAthena"
TABLE = "aws:glue/catalogTable:CatalogTable"
WORKGROUP = "aws:athena/workgroup:Workgroup"
NAMED_QUERY = "aws:athena/namedQuery:NamedQuery"
TAGS = {"Project": "vpc-flow-logs", "Environment": "test"}
CUTOFF = 1_000_000_000


def athena_args(fields: tuple[str, ...] = DEFAULT_FIELDS, *, hive: bool = True, per_hour: bool = True,
                vpc_cidr: str | None = "10.0.0.0/16", bucket: str = "flow-log-records") -> FlowLogAthenaArgs:
    return FlowLogAthenaArgs(bucket_name=bucket, key_prefix="vpc/AWSLogs/", log_fields=fields,
                             hive_compatible_partitions=hive, per_hour_partition=per_hour, region=REGION,
                             account_id="123456789012", vpc_cidr=vpc_cidr, results_retention_days=7,
                             bytes_scanned_cutoff=CUTOFF, tags=TAGS)


def render_component(args: FlowLogAthenaArgs, mocks: Any = None) -> Rendering:
    config = {**config_from_stack_file(stack_file("lab")), "aws:region": REGION}
    return render("lab", config, mocks=mocks, program=lambda: FlowLogAthena("records", args))


# Under the mock runtime

def test_every_resource_is_a_child_of_the_component():
    rendering = render_component(athena_args())
    component = rendering.one(COMPONENT)
    children = [r for r in rendering.registrations if r.type not in (COMPONENT, "pulumi:pulumi:Stack")]
    assert children and all(r.parent == component.urn for r in children), [(r.name, r.parent) for r in children]


def test_table_columns_are_the_format_with_aws_parquet_types():
    rendering = render_component(athena_args(PROD_FIELDS))
    columns = rendering.one(TABLE).inputs["storageDescriptor"]["columns"]
    assert [(c["name"], c["type"]) for c in columns] == glue_columns(PROD_FIELDS)
    types = {c["name"]: c["type"] for c in columns}
    assert types["packets"] == "bigint" and types["srcport"] == "int" and types["vpc_id"] == "string", types


def test_glue_types_follow_the_field_table():
    expected = {"INT_32": "int", "INT_64": "bigint", "STRING": "string"}
    for (column, glue_type), field in zip(glue_columns(DEFAULT_FIELDS), DEFAULT_FIELDS):
        assert glue_type == expected[FIELDS[field].parquet_type], (column, FIELDS[field].parquet_type)


@pytest.mark.parametrize("hive,per_hour,keys,template_tail", [
    (True, True, ["aws_account_id", "aws_service", "aws_region", "year", "month", "day", "hour"],
     "AWSLogs/aws-account-id=${aws_account_id}/aws-service=${aws_service}/aws-region=${aws_region}/"
     "year=${year}/month=${month}/day=${day}/hour=${hour}"),
    (False, False, ["aws_account_id", "aws_region", "year", "month", "day"],
     "AWSLogs/${aws_account_id}/vpcflowlogs/${aws_region}/${year}/${month}/${day}"),
], ids=["hive-per-hour", "plain-per-day"])
def test_partitions_are_projected_over_s3s_layout(hive, per_hour, keys, template_tail):
    rendering = render_component(athena_args(hive=hive, per_hour=per_hour))
    table = rendering.one(TABLE).inputs
    assert [k["name"] for k in table["partitionKeys"]] == keys == partition_keys(hive, per_hour)
    parameters = table["parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["storage.location.template"] == f"s3://flow-log-records/vpc/{template_tail}"
    assert all(f"projection.{key}.type" in parameters for key in keys), parameters


def test_saved_queries_are_the_trino_texts_for_the_format():
    rendering = render_component(athena_args())
    saved = {r.inputs["name"].split("/", 1)[1]: r.inputs["query"] for r in rendering.by_type(NAMED_QUERY)}
    queries, left_out = build_queries(DEFAULT_FIELDS, "10.0.0.0/16")
    assert saved == {q.title: q.trino for q in queries}
    assert len(saved) == len(QUERY_NAMES) - len(left_out) and len(saved) > 4, sorted(saved)


def test_a_query_the_format_cannot_answer_is_not_saved():
    fields = tuple(f for f in DEFAULT_FIELDS if f != "bytes")
    rendering = render_component(athena_args(fields))
    names = sorted(r.name for r in rendering.by_type(NAMED_QUERY))
    assert names == ["records-rejected-by-port-query", "records-top-rejected-sources-query"], names


def test_a_cutoff_athena_refuses_is_an_error_naming_it():
    args = athena_args()
    too_low = FlowLogAthenaArgs(**{**args.__dict__, "bytes_scanned_cutoff": 1000})
    with pytest.raises(pulumi.RunError, match="bytes scanned cutoff 1000"):
        render_component(too_low)


def test_location_template_without_a_folder_starts_at_awslogs():
    assert location_template("b", "AWSLogs/", True, False).startswith("s3://b/AWSLogs/aws-account-id=")


# Applied to moto

@pytest.fixture(scope="module")
def deployed() -> Iterator[Rendering]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="flow-log-records")
        yield render_component(athena_args(PROD_FIELDS), MotoMocks(REGION))


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def test_glue_holds_the_table_with_the_formats_columns(deployed):
    database = deployed.one(TABLE).inputs["databaseName"]
    table = _client("glue").get_table(DatabaseName=database, Name="flow_logs")["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns == glue_columns(PROD_FIELDS), database
    assert table["Parameters"]["projection.enabled"] == "true"


def test_workgroup_enforces_encrypted_results_and_a_cutoff(deployed):
    name = deployed.one(WORKGROUP).inputs["name"]
    configuration = _client("athena").get_work_group(WorkGroup=name)["WorkGroup"]["Configuration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True, name
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3", name
    assert configuration["BytesScannedCutoffPerQuery"] == CUTOFF, name


def test_results_bucket_is_encrypted_and_expires_results(deployed):
    name = deployed.one(WORKGROUP).inputs["name"]
    location = _client("athena").get_work_group(WorkGroup=name)["WorkGroup"]["Configuration"][
        "ResultConfiguration"]["OutputLocation"]
    bucket = location.removeprefix("s3://").rstrip("/")
    s3 = _client("s3")
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", bucket
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lifecycle["Expiration"]["Days"] == 7 and lifecycle["Status"] == "Enabled", bucket


def test_the_four_queries_are_saved_in_the_workgroup(deployed):
    name = deployed.one(WORKGROUP).inputs["name"]
    athena = _client("athena")
    ids = athena.list_named_queries(WorkGroup=name)["NamedQueryIds"]
    texts = sorted(athena.get_named_query(NamedQueryId=i)["NamedQuery"]["QueryString"] for i in ids)
    queries, _ = build_queries(PROD_FIELDS, "10.0.0.0/16")
    assert texts == sorted(q.trino for q in queries), name


def test_the_components_workgroup_satisfies_the_policy_pack():
    rendering = render_component(athena_args())
    with PolicyPackSession(PACK, "test", policy_config={"all": "mandatory"}) as session:
        violations = session.analyze([r.as_dict() for r in rendering.registrations])
    assert [v for v in violations if v.policy == "athena-workgroup-results-encrypted"] == [], violations
