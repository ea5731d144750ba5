"""The S3 destination, Athena, monitoring and web-server components, each alone under Pulumi's mock runtime,
pinned on the complete inputs, options and outputs they register: what a plan of them would show."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

import pulumi
import pulumi_aws as aws
from pulumi.runtime import rpc
import pytest

from components.athena import (MIN_BYTES_SCANNED_CUTOFF, FlowLogAthena, FlowLogAthenaArgs, glue_columns, glue_name,
                               location_template, projection)
from components.bucket_baseline import tls_only_policy
from components.monitoring import (Monitoring, MonitoringArgs, monitoring_plan, subscription_name, topic_key_policy,
                                   valid_dashboard_name)
from components.s3_destination import S3FlowLogDestination, S3FlowLogDestinationArgs, bucket_policy
from components.targets import ResolvedTarget
from components.web_servers import EC2_TRUST_POLICY, WebServers, WebServersArgs, ami_architecture, user_data
from config.settings import SECRET_PLACEHOLDER, Destination, ObjectLock
from flowlogs.dashboard import dashboard_body
from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.patterns import MissingFieldError, UnexpressibleCidrError, metric_filters
from flowlogs.queries import build_queries
from tests.conftest import lab_config
from tests.test_component_inputs_delivery import engine  # noqa: F401 (a fixture)
from tests.test_components import TAGS, VPC_TARGET, flow_log_options
from tests.test_monitoring import lab_monitoring_settings
from tools.render import ACCOUNT_ID, AMI_ID, LabMocks, RecordingMonitor, Registration, Rendering, render

REGION = "ap-northeast-1"
SUBNET_TARGET = ResolvedTarget("subnet-0123456789abcdef0", "subnet_id", "subnet-0123456789abcdef0")


def rendered(build: Callable[[], Any], config: dict[str, str] | None = None, mocks: Any = None) -> Rendering:
    return render("lab", config or lab_config(), mocks=mocks, program=build)


def registered_outputs(monkeypatch) -> dict[str, Any]:
    """The outputs each component registers, by component name, as the engine stores them on the component."""
    seen: dict[str, Any] = {}
    original = pulumi.ComponentResource.register_outputs

    def remember(self, outputs):
        seen[self._name] = outputs
        return original(self, outputs)

    monkeypatch.setattr(pulumi.ComponentResource, "register_outputs", remember)
    return seen


def named(rendering: Rendering, name: str) -> Registration:
    found = [r for r in rendering.registrations if r.name == name]
    assert len(found) == 1, f"expected one registration named {name}, got {[r.urn for r in found]}"
    return found[0]


def assert_children_of(rendering: Rendering, component_type: str) -> None:
    component = rendering.one(component_type)
    for registration in rendering.registrations:
        if registration.type.startswith("aws:"):
            assert registration.parent == component.urn, registration.urn


# S3 destination

S3_COMPONENT = "vpcflowlogs:index:S3FlowLogDestination"
BUCKET = "aws:s3/bucket:Bucket"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
KMS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/abcd"


def s3_args(targets=(VPC_TARGET,), kms_key_arn=None, protect_logs=False, region=REGION,
            **destination: Any) -> S3FlowLogDestinationArgs:
    settings = Destination("s3", **{"file_format": "parquet", "retention_days": 30, **destination})
    return S3FlowLogDestinationArgs(targets=list(targets), flow_logs=flow_log_options(), log_fields=("version", "srcaddr"),
                                    destination=settings, region=region, kms_key_arn=kms_key_arn,
                                    protect_logs=protect_logs, tags=TAGS)


def s3(config: dict[str, str] | None = None, **overrides: Any) -> Rendering:
    def build():
        component = S3FlowLogDestination("lab-s3", s3_args(**overrides))
        pulumi.export("bucketName", component.bucket_name)
        pulumi.export("bucketArn", component.bucket_arn)
        pulumi.export("keyPrefix", component.key_prefix)
        pulumi.export("accountId", component.account_id)
        pulumi.export("layout", [component.file_format, component.hive_compatible_partitions,
                                 component.per_hour_partition])
    return rendered(build, config)


def created_bucket_expectations(bucket: str, kms_key_arn: str | None, prefix: str = "lab-s3",
                                 rule_id: str = "expire-flow-log-records", days: int = 30,
                                 policy: str | None = None) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Each baseline resource of a created bucket: its complete inputs and what it waits for.

    The flow-log bucket's by default; `prefix`, `rule_id`, `days` and `policy` give another bucket's.
    """
    encryption_default = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": kms_key_arn} if kms_key_arn else {
        "sseAlgorithm": "AES256"}
    encryption_rule = {"applyServerSideEncryptionByDefault": encryption_default,
                       **({"bucketKeyEnabled": True} if kms_key_arn else {})}
    return {
        f"{prefix}-public-access-block": ({"bucket": bucket, "blockPublicAcls": True, "blockPublicPolicy": True,
                                           "ignorePublicAcls": True, "restrictPublicBuckets": True}, []),
        f"{prefix}-ownership": ({"bucket": bucket, "rule": {"objectOwnership": "BucketOwnerEnforced"}}, []),
        f"{prefix}-versioning": ({"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}}, []),
        f"{prefix}-encryption": ({"bucket": bucket, "rules": [encryption_rule]}, []),
        f"{prefix}-lifecycle": ({"bucket": bucket, "rules": [{
            "id": rule_id, "status": "Enabled", "filter": {"prefix": ""},
            "expiration": {"days": days}, "noncurrentVersionExpiration": {"noncurrentDays": 1},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}, [f"{prefix}-versioning"]),
        f"{prefix}-policy": ({"bucket": bucket, "policy": policy or bucket_policy("aws", ACCOUNT_ID, REGION,
                                                                               f"arn:aws:s3:::{bucket}")},
                             [f"{prefix}-ownership", f"{prefix}-public-access-block"]),
    }


@pytest.mark.parametrize("kms_key_arn", [None, KMS_ARN], ids=["sse-s3", "sse-kms"])
def test_created_bucket_is_hardened_by_exactly_these_resources(kms_key_arn):
    rendering = s3(kms_key_arn=kms_key_arn)
    bucket = rendering.outputs["bucketName"]
    for name, (inputs, waits_for) in created_bucket_expectations(bucket, kms_key_arn).items():
        registration = named(rendering, name)
        assert dict(registration.inputs) == inputs, registration.urn
        assert registration.options["dependsOn"] == [named(rendering, n).urn for n in waits_for], registration.urn
        assert registration.dependencies["bucket"] == [rendering.one(BUCKET).urn], registration.urn
    assert_children_of(rendering, S3_COMPONENT)


def test_created_bucket_is_tagged_with_its_name_and_has_no_lock_by_default():
    bucket = s3().one(BUCKET)
    assert dict(bucket.inputs) == {"tags": {**TAGS, "Name": "lab-s3-bucket"}}, bucket.urn
    assert (bucket.options["protect"], bucket.options["retainOnDelete"]) == (False, False), bucket.urn


def test_protected_logs_protect_and_retain_the_bucket():
    bucket = s3(protect_logs=True).one(BUCKET)
    assert (bucket.options["protect"], bucket.options["retainOnDelete"]) == (True, True), bucket.urn


def test_object_lock_is_enabled_on_the_bucket_and_given_a_default_retention():
    rendering = s3(object_lock=ObjectLock("GOVERNANCE", 14))
    bucket = rendering.one(BUCKET)
    assert bucket.inputs["objectLockEnabled"] is True, bucket.urn
    lock = named(rendering, "lab-s3-object-lock")
    assert dict(lock.inputs) == {"bucket": rendering.outputs["bucketName"],
                                 "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 14}}}, lock.urn
    assert lock.options["dependsOn"] == [named(rendering, "lab-s3-versioning").urn], lock.urn
    assert lock.parent == rendering.one(S3_COMPONENT).urn, lock.urn


def test_bucket_policy_in_another_partition():
    statements = json.loads(bucket_policy("aws-cn", "210987654321", "cn-north-1", "arn:aws-cn:s3:::records"))
    source = {"StringEquals": {"aws:SourceAccount": "210987654321"},
              "ArnLike": {"aws:SourceArn": "arn:aws-cn:logs:cn-north-1:210987654321:*"}}
    assert statements == {"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": "arn:aws-cn:s3:::records/AWSLogs/210987654321/*",
         "Condition": {"StringEquals": {"aws:SourceAccount": "210987654321",
                                        "s3:x-amz-acl": "bucket-owner-full-control"},
                       "ArnLike": source["ArnLike"]}},
        {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": "arn:aws-cn:s3:::records", "Condition": source},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws-cn:s3:::records", "arn:aws-cn:s3:::records/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}


def test_created_bucket_policy_names_the_stacks_partition_and_region():
    config = {**lab_config(), "aws:region": "cn-north-1"}
    rendering = s3(config, region="cn-north-1")
    policy = rendering.one("aws:s3/bucketPolicy:BucketPolicy")
    bucket = rendering.outputs["bucketName"]
    assert policy.inputs["policy"] == bucket_policy("aws-cn", ACCOUNT_ID, "cn-north-1",
                                                    f"arn:aws-cn:s3:::{bucket}"), policy.urn


@pytest.mark.parametrize("file_format, hive, per_hour", [("parquet", True, True), ("plain-text", False, False),
                                                          ("parquet", False, True), ("plain-text", True, False)])
def test_flow_logs_deliver_into_the_created_bucket_with_its_layout(file_format, hive, per_hour):
    rendering = s3(targets=(VPC_TARGET, SUBNET_TARGET), file_format=file_format, hive_compatible_partitions=hive,
                   per_hour_partition=per_hour)
    bucket = rendering.one(BUCKET)
    for target in (VPC_TARGET, SUBNET_TARGET):
        flow_log = named(rendering, f"lab-s3-{target.key}")
        assert flow_log.inputs["logDestinationType"] == "s3", flow_log.urn
        assert flow_log.inputs["logDestination"] == f"arn:aws:s3:::{rendering.outputs['bucketName']}", flow_log.urn
        assert flow_log.dependencies["logDestination"] == [bucket.urn], flow_log.urn
        assert flow_log.inputs["destinationOptions"] == {"fileFormat": file_format, "hiveCompatiblePartitions": hive,
                                                         "perHourPartition": per_hour}, flow_log.urn
        assert flow_log.options["dependsOn"] == [rendering.one("aws:s3/bucketPolicy:BucketPolicy").urn], flow_log.urn
        assert flow_log.parent == rendering.one(S3_COMPONENT).urn, flow_log.urn
    assert rendering.outputs["layout"] == [file_format, hive, per_hour]


def test_created_bucket_outputs():
    outputs = s3().outputs
    assert outputs["bucketArn"] == f"arn:aws:s3:::{outputs['bucketName']}", outputs
    assert outputs["bucketName"].startswith("lab-s3-bucket-"), outputs
    assert (outputs["keyPrefix"], outputs["accountId"]) == ("AWSLogs/", ACCOUNT_ID), outputs


@pytest.mark.parametrize("bucket_arn, bucket, prefix", [
    ("arn:aws:s3:::central-logs", "central-logs", "AWSLogs/"),
    ("arn:aws:s3:::central-logs/network", "central-logs", "network/AWSLogs/"),
    ("arn:aws:s3:::central-logs/network/vpc/", "central-logs", "network/vpc/AWSLogs/"),
    ("arn:aws:s3:::central-logs/team:::a", "central-logs", "team:::a/AWSLogs/"),
    ("arn:aws:s3:::central-logs/archiveX/", "central-logs", "archiveX/AWSLogs/"),
], ids=["bucket", "folder", "nested-folder-with-slash", "folder-with-colons", "folder-ending-in-x"])
def test_a_given_bucket_is_written_into_and_nothing_is_created(bucket_arn, bucket, prefix):
    rendering = s3(bucket_arn=bucket_arn)
    assert [r.type for r in rendering.registrations if r.type.startswith("aws:")] == [FLOW_LOG]
    flow_log = rendering.one(FLOW_LOG)
    assert flow_log.inputs["logDestination"] == bucket_arn and flow_log.options["dependsOn"] == [], flow_log.urn
    assert flow_log.parent == rendering.one(S3_COMPONENT).urn, flow_log.urn
    outputs = rendering.outputs
    assert (outputs["bucketName"], outputs["bucketArn"], outputs["keyPrefix"]) == (
        bucket, f"arn:aws:s3:::{bucket}", prefix), bucket_arn
    assert "aws:index/getPartition:getPartition" not in rendering.invokes


def test_s3_destination_registers_its_outputs(monkeypatch):
    seen = registered_outputs(monkeypatch)

    def build():
        S3FlowLogDestination("lab-s3", s3_args(targets=(VPC_TARGET, SUBNET_TARGET),
                                               bucket_arn="arn:aws:s3:::central-logs/network"))
        pulumi.export("registered", seen["lab-s3"])
    rendering = rendered(build)
    flow_log_ids = {target.key: named(rendering, f"lab-s3-{target.key}") for target in (VPC_TARGET, SUBNET_TARGET)}
    assert set(rendering.outputs["registered"]) == {"bucket_name", "bucket_arn", "key_prefix", "flow_log_ids"}
    registered = rendering.outputs["registered"]
    assert (registered["bucket_name"], registered["bucket_arn"], registered["key_prefix"]) == (
        "central-logs", "arn:aws:s3:::central-logs", "network/AWSLogs/"), registered
    assert sorted(registered["flow_log_ids"]) == sorted(flow_log_ids), registered
    assert all(value.startswith("fl-") for value in registered["flow_log_ids"].values()), registered


# Athena

ATHENA_COMPONENT = "vpcflowlogs:index:FlowLogAthena"
ATHENA_TAGS = {"Project": "vpc-flow-logs", "Environment": "lab"}
PARQUET = "org.apache.hadoop.hive.ql.io.parquet"


def athena_args(**overrides: Any) -> FlowLogAthenaArgs:
    args = dict(bucket_name="flow-log-records", key_prefix="vpc/AWSLogs/", log_fields=DEFAULT_FIELDS,
                hive_compatible_partitions=False, per_hour_partition=False, region=REGION, account_id=ACCOUNT_ID,
                vpc_cidr="10.0.0.0/16", results_retention_days=9, bytes_scanned_cutoff=MIN_BYTES_SCANNED_CUTOFF,
                tags=ATHENA_TAGS)
    return FlowLogAthenaArgs(**{**args, **overrides})


def athena(name: str = "lab-s3-athena", **overrides: Any) -> Rendering:
    def build():
        component = FlowLogAthena(name, athena_args(**overrides))
        pulumi.export("names", [component.database_name, component.table_name, component.workgroup_name,
                                component.results_bucket])
    return rendered(build)


DAY_RANGES = {"projection.year.type": "integer", "projection.year.range": "2024,2099", "projection.year.digits": "4",
              "projection.month.type": "integer", "projection.month.range": "1,12", "projection.month.digits": "2",
              "projection.day.type": "integer", "projection.day.range": "1,31", "projection.day.digits": "2"}
HOUR_RANGE = {"projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2"}
SERVICE = {"projection.aws_service.type": "enum", "projection.aws_service.values": "vpcflowlogs"}


@pytest.mark.parametrize("hive, per_hour, template, extra", [
    (False, False, "s3://records/AWSLogs/${aws_account_id}/vpcflowlogs/${aws_region}/${year}/${month}/${day}", {}),
    (False, True, "s3://records/AWSLogs/${aws_account_id}/vpcflowlogs/${aws_region}/${year}/${month}/${day}/${hour}",
     HOUR_RANGE),
    (True, False, "s3://records/AWSLogs/aws-account-id=${aws_account_id}/aws-service=${aws_service}/"
                  "aws-region=${aws_region}/year=${year}/month=${month}/day=${day}", SERVICE),
    (True, True, "s3://records/AWSLogs/aws-account-id=${aws_account_id}/aws-service=${aws_service}/"
                 "aws-region=${aws_region}/year=${year}/month=${month}/day=${day}/hour=${hour}",
     {**SERVICE, **HOUR_RANGE}),
], ids=["plain-per-day", "plain-per-hour", "hive-per-day", "hive-per-hour"])
def test_projection_parameters_are_complete(hive, per_hour, template, extra):
    assert location_template("records", "AWSLogs/", hive, per_hour) == template
    assert projection(ACCOUNT_ID, "eu-west-1", "records", "AWSLogs/", hive, per_hour) == {
        "EXTERNAL": "TRUE", "classification": "parquet", "projection.enabled": "true",
        "projection.aws_account_id.type": "enum", "projection.aws_account_id.values": ACCOUNT_ID,
        "projection.aws_region.type": "enum", "projection.aws_region.values": "eu-west-1",
        "storage.location.template": template, **DAY_RANGES, **extra}


@pytest.mark.parametrize("name, expected", [("lab-s3-athena_flow_logs", "lab_s3_athena_flow_logs"),
                                            ("Prod.Net/Logs_2", "prod_net_logs_2"), ("x" * 300, "x" * 255)])
def test_glue_names_are_lower_case_words_of_at_most_255(name, expected):
    assert glue_name(name) == expected


def test_a_field_aws_gives_no_parquet_type_is_a_string_column():
    assert glue_columns(("version", "resource-id", "packets")) == [
        ("version", "int"), ("resource_id", "string"), ("packets", "bigint")]


def test_glue_database_and_table_inputs_are_complete():
    rendering = athena(log_fields=("version", "srcport", "packets"), hive_compatible_partitions=True)
    database = rendering.one("aws:glue/catalogDatabase:CatalogDatabase")
    assert dict(database.inputs) == {"name": "lab_s3_athena_flow_logs", "tags": ATHENA_TAGS}, database.urn
    table = rendering.one("aws:glue/catalogTable:CatalogTable")
    assert dict(table.inputs) == {
        "databaseName": "lab_s3_athena_flow_logs", "name": "flow_logs", "tableType": "EXTERNAL_TABLE",
        "parameters": projection(ACCOUNT_ID, REGION, "flow-log-records", "vpc/AWSLogs/", True, False),
        "partitionKeys": [{"name": key, "type": "string"} for key in
                          ("aws_account_id", "aws_service", "aws_region", "year", "month", "day")],
        "storageDescriptor": {
            "location": "s3://flow-log-records/vpc/AWSLogs/",
            "inputFormat": f"{PARQUET}.MapredParquetInputFormat",
            "outputFormat": f"{PARQUET}.MapredParquetOutputFormat",
            "serDeInfo": {"serializationLibrary": f"{PARQUET}.serde.ParquetHiveSerDe",
                          "parameters": {"serialization.format": "1"}},
            "columns": [{"name": "version", "type": "int"}, {"name": "srcport", "type": "int"},
                        {"name": "packets", "type": "bigint"}]},
    }, table.urn
    assert table.dependencies["databaseName"] == [database.urn], table.urn


def test_table_projects_the_account_and_bucket_it_is_given_late():
    def build():
        account = pulumi.Output.from_input("210987654321")
        FlowLogAthena("lab-s3-athena", athena_args(account_id=account, bucket_name=pulumi.Output.from_input("late"),
                                                   per_hour_partition=True))
    table = rendered(build).one("aws:glue/catalogTable:CatalogTable")
    assert table.inputs["parameters"] == projection("210987654321", REGION, "late", "vpc/AWSLogs/", False, True), \
        table.urn
    assert table.inputs["storageDescriptor"]["location"] == "s3://late/vpc/AWSLogs/", table.urn


@pytest.mark.parametrize("kms_key_arn", [None, KMS_ARN], ids=["sse-s3", "sse-kms"])
def test_query_results_bucket_meets_the_flow_log_buckets_baseline(kms_key_arn):
    rendering = athena(kms_key_arn=kms_key_arn)
    results = named(rendering, "lab-s3-athena-query-results")
    assert dict(results.inputs) == {"tags": {**ATHENA_TAGS, "Name": "lab-s3-athena-query-results"},
                                    "forceDestroy": True}, results.urn
    bucket = rendering.outputs["names"][3]
    expected = created_bucket_expectations(bucket, kms_key_arn, prefix="lab-s3-athena-query-results",
                                           rule_id="expire-query-results", days=9,
                                           policy=tls_only_policy(f"arn:aws:s3:::{bucket}"))
    for name, (inputs, waits_for) in expected.items():
        registration = named(rendering, name)
        assert dict(registration.inputs) == inputs, registration.urn
        assert registration.options["dependsOn"] == [named(rendering, n).urn for n in waits_for], registration.urn
        assert registration.dependencies["bucket"] == [results.urn], registration.urn
    assert len(rendering.by_type(BUCKET)) == 1, [r.urn for r in rendering.by_type(BUCKET)]


def test_query_results_parts_renamed_to_the_baseline_keep_their_former_names_as_aliases(engine):
    seen = engine(lambda: FlowLogAthena("lab-s3-athena", athena_args()))
    # Name aliases only: pulumi-aws adds type aliases (BucketV2...) of its own.
    aliases = {urn.rsplit("::", 1)[1]: [alias.spec.name for alias in request.aliases if alias.spec.name]
               for urn, request in seen.requests.items()}
    assert {name: names for name, names in aliases.items() if names} == {
        "lab-s3-athena-query-results-public-access-block": ["lab-s3-athena-query-results-public-access"],
        "lab-s3-athena-query-results-lifecycle": ["lab-s3-athena-query-results-expiry"],
    }, aliases


def test_workgroup_inputs_are_complete():
    rendering = athena(bytes_scanned_cutoff=25_000_000)
    workgroup = rendering.one("aws:athena/workgroup:Workgroup")
    bucket = rendering.outputs["names"][3]
    assert dict(workgroup.inputs) == {
        "name": "lab-s3-athena-flow-logs", "forceDestroy": True,
        "tags": {**ATHENA_TAGS, "Name": "lab-s3-athena-flow-logs"},
        "configuration": {"enforceWorkgroupConfiguration": True, "publishCloudwatchMetricsEnabled": True,
                          "bytesScannedCutoffPerQuery": 25_000_000,
                          "resultConfiguration": {"outputLocation": f"s3://{bucket}/",
                                                  "encryptionConfiguration": {"encryptionOption": "SSE_S3"}}},
    }, workgroup.urn
    assert workgroup.dependencies["configuration"] == [named(rendering, "lab-s3-athena-query-results").urn]


def test_workgroup_encrypts_results_with_the_stacks_key_when_given_one():
    workgroup = athena(kms_key_arn=KMS_ARN).one("aws:athena/workgroup:Workgroup")
    assert workgroup.inputs["configuration"]["resultConfiguration"]["encryptionConfiguration"] == {
        "encryptionOption": "SSE_KMS", "kmsKeyArn": KMS_ARN}, workgroup.urn


def test_saved_queries_inputs_are_complete():
    rendering = athena(vpc_cidr="172.16.0.0/12")
    queries, _ = build_queries(DEFAULT_FIELDS, "172.16.0.0/12")
    database = rendering.one("aws:glue/catalogDatabase:CatalogDatabase")
    workgroup = rendering.one("aws:athena/workgroup:Workgroup")
    for query in queries:
        saved = named(rendering, f"lab-s3-athena-{query.name}-query")
        assert dict(saved.inputs) == {"name": f"lab-s3-athena/{query.title}", "description": query.title,
                                      "query": query.trino, "database": "lab_s3_athena_flow_logs",
                                      "workgroup": "lab-s3-athena-flow-logs"}, saved.urn
        assert saved.dependencies == {"database": [database.urn], "workgroup": [workgroup.urn]}, saved.urn
    assert len(rendering.by_type("aws:athena/namedQuery:NamedQuery")) == len(queries)
    assert_children_of(rendering, ATHENA_COMPONENT)


def test_athena_outputs_name_what_it_created(monkeypatch):
    seen = registered_outputs(monkeypatch)

    def build():
        component = FlowLogAthena("lab-s3-athena", athena_args())
        pulumi.export("names", [component.database_name, component.table_name, component.workgroup_name,
                                component.results_bucket])
        pulumi.export("registered", seen["lab-s3-athena"])
    outputs = rendered(build).outputs
    database, table, workgroup, bucket = outputs["names"]
    assert (database, table, workgroup) == ("lab_s3_athena_flow_logs", "flow_logs", "lab-s3-athena-flow-logs")
    assert bucket.startswith("lab-s3-athena-query-results-"), bucket
    assert outputs["registered"] == {"database_name": database, "table_name": table, "workgroup_name": workgroup,
                                     "results_bucket": bucket}


def test_the_smallest_cutoff_athena_accepts_is_accepted():
    workgroup = athena(bytes_scanned_cutoff=MIN_BYTES_SCANNED_CUTOFF).one("aws:athena/workgroup:Workgroup")
    assert workgroup.inputs["configuration"]["bytesScannedCutoffPerQuery"] == 10_000_000, workgroup.urn


def test_a_cutoff_below_athenas_minimum_names_component_value_and_minimum():
    with pytest.raises(pulumi.RunError) as error:
        athena(bytes_scanned_cutoff=9_999_999)
    assert str(error.value) == ("lab-s3-athena: bytes scanned cutoff 9999999 is below the 10000000 bytes "
                                "Athena accepts")


# Monitoring

MONITORING_COMPONENT = "vpcflowlogs:index:Monitoring"
GROUP = "/vpc-flow-logs/lab"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def monitoring_args(log_group_name: Any = GROUP, encrypt_topic: bool = False, **settings: Any) -> MonitoringArgs:
    return MonitoringArgs(log_group_name=log_group_name, log_fields=DEFAULT_FIELDS, vpc_cidr="10.0.0.0/16",
                          region=REGION, settings=lab_monitoring_settings(**settings), tags=TAGS,
                          encrypt_topic=encrypt_topic)


def monitoring(name: str = "lab-monitoring", config: dict[str, str] | None = None, mocks: Any = None,
               **overrides: Any) -> Rendering:
    def build():
        component = Monitoring(name, monitoring_args(**overrides))
        pulumi.export("dashboardName", component.dashboard_name)
        pulumi.export("topicArn", component.topic_arn)
    return rendered(build, config, mocks)


def subscription_options(**settings: Any) -> dict[str, pulumi.ResourceOptions]:
    """The options each e-mail subscription is registered with, as a stack transformation sees them."""
    seen: dict[str, pulumi.ResourceOptions] = {}

    def remember(args: pulumi.ResourceTransformationArgs):
        if args.type_ == SUBSCRIPTION:
            seen[args.name] = args.opts
        return None

    def build():
        pulumi.runtime.register_stack_transformation(remember)
        Monitoring("lab-monitoring", monitoring_args(**settings))
    rendered(build)
    return seen


def test_metric_filters_inputs_are_complete():
    rendering = monitoring()
    plan = monitoring_plan(DEFAULT_FIELDS, "10.0.0.0/16")
    for metric_filter in plan.filters:
        registration = named(rendering, f"lab-monitoring-{metric_filter.key}-filter")
        transformation = {"name": metric_filter.metric_name, "namespace": "VpcFlowLogs/lab-monitoring",
                          "value": metric_filter.value, "unit": metric_filter.unit}
        if metric_filter.default_value is not None:
            transformation["defaultValue"] = metric_filter.default_value
        if metric_filter.dimensions:
            transformation["dimensions"] = dict(metric_filter.dimensions)
        assert dict(registration.inputs) == {"logGroupName": GROUP, "pattern": metric_filter.pattern,
                                             "metricTransformation": transformation}, registration.urn
    assert len(rendering.by_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")) == len(plan.filters)


ALARMS = {
    "rejected-flows": ("RejectedFlows", 100,
                       "Security groups or network ACLs rejected many flows: a port scan, or a client that cannot "
                       "connect. Run the saved query 'Rejected traffic by port' to see the ports; open a port only "
                       "if the traffic is expected."),
    "rejected-packets": ("RejectedPackets", 1000,
                         "Many rejected packets: a flood, or a client retrying against a closed port. Run "
                         "'Rejected traffic by port' and 'Top talkers by bytes'; block persistent sources with a "
                         "network ACL."),
    "external-ssh": ("ExternalSshAccepted", 1,
                     "SSH (tcp/22) from outside the VPC was accepted. Run 'SSH sources outside the VPC'; if a "
                     "source is not yours, narrow sshAllowedCidrs and check the hosts' auth logs."),
}


def test_alarm_inputs_are_complete():
    rendering = monitoring()
    topic = rendering.one(TOPIC)
    topic_arn = rendering.outputs["topicArn"]
    for key, (metric, threshold, description) in ALARMS.items():
        alarm = named(rendering, f"lab-monitoring-{key}-alarm")
        assert dict(alarm.inputs) == {
            "namespace": "VpcFlowLogs/lab-monitoring", "metricName": metric, "statistic": "Sum",
            "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": threshold, "period": 300,
            "evaluationPeriods": 1, "treatMissingData": "notBreaching", "alarmDescription": description,
            "alarmActions": [topic_arn], "okActions": [topic_arn], "tags": {**TAGS, "Name": f"lab-monitoring-{key}"},
        }, alarm.urn
        assert alarm.dependencies == {"alarmActions": [topic.urn], "okActions": [topic.urn]}, alarm.urn
    assert len(rendering.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")) == len(ALARMS)


def test_unencrypted_topic_inputs_are_complete():
    rendering = monitoring()
    topic = rendering.one(TOPIC)
    assert dict(topic.inputs) == {"displayName": "VPC flow-log alarms (lab-monitoring)",
                                  "tags": {**TAGS, "Name": "lab-monitoring-alerts"}}, topic.urn
    assert not rendering.by_type("aws:kms/key:Key")
    assert rendering.invokes == []


def test_topic_key_policy_lets_the_account_administer_and_cloudwatch_publish():
    assert json.loads(topic_key_policy("aws-cn", "210987654321")) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersKey", "Effect": "Allow", "Principal": {"AWS": "arn:aws-cn:iam::210987654321:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": "210987654321"}}},
    ]}


def test_an_encrypted_topic_uses_a_rotating_key_of_its_own():
    config = {**lab_config(), "aws:region": "cn-north-1"}
    rendering = monitoring(config=config, encrypt_topic=True)
    key = rendering.one("aws:kms/key:Key")
    assert dict(key.inputs) == {
        "description": "Encrypts the VPC flow-log alarm topic of lab-monitoring", "enableKeyRotation": True,
        "deletionWindowInDays": 30, "policy": topic_key_policy("aws-cn", ACCOUNT_ID),
        "tags": {**TAGS, "Name": "lab-monitoring-alerts-key"}}, key.urn
    assert key.parent == rendering.one(MONITORING_COMPONENT).urn, key.urn
    topic = rendering.one(TOPIC)
    assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws-cn:kms:cn-north-1:"), topic.urn
    assert topic.dependencies["kmsMasterKeyId"] == [key.urn], topic.urn


def test_subscriptions_are_named_by_a_digest_of_the_address():
    digest = hashlib.sha256(b"ops@example.com").hexdigest()[:16]
    assert subscription_name("lab-monitoring", " Ops@Example.COM ") == f"lab-monitoring-alert-{digest}"


def test_each_distinct_address_is_subscribed_once_by_email():
    rendering = monitoring(alert_emails=("ops@example.com", "ops@example.com", "sec@example.com"))
    topic = rendering.one(TOPIC)
    for email in ("ops@example.com", "sec@example.com"):
        subscription = named(rendering, subscription_name("lab-monitoring", email))
        assert dict(subscription.inputs) == {"topic": rendering.outputs["topicArn"], "protocol": "email",
                                             "endpoint": email}, subscription.urn
        assert subscription.dependencies == {"topic": [topic.urn]}, subscription.urn
        assert subscription.parent == rendering.one(MONITORING_COMPONENT).urn, subscription.urn
    assert len(rendering.by_type(SUBSCRIPTION)) == 2


def test_subscriptions_keep_the_address_named_ones_as_aliases():
    options = subscription_options(alert_emails=("ops@example.com",))
    (subscription,) = options.values()
    assert [alias.name for alias in subscription.aliases] == ["lab-monitoring-alert-ops@example.com"], options


def test_a_secret_address_stays_secret_and_out_of_every_name():
    rendering = monitoring(alert_emails=("ops@example.com",), alert_emails_secret=True)
    subscription = rendering.one(SUBSCRIPTION)
    assert subscription.inputs["endpoint"] == SECRET_PLACEHOLDER, subscription.urn
    assert subscription.parent == rendering.one(MONITORING_COMPONENT).urn, subscription.urn
    options = subscription_options(alert_emails=("ops@example.com",), alert_emails_secret=True)
    assert all(not o.aliases for o in options.values()), options


class EndpointMocks(LabMocks):
    """Also keeps each subscription's endpoint as the provider would receive it."""

    def __init__(self) -> None:
        super().__init__(REGION)
        self.endpoints: list[Any] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == SUBSCRIPTION:
            self.endpoints.append(args.inputs.get("endpoint"))
        return super().new_resource(args)


def test_a_secret_address_is_still_the_address_the_provider_is_given():
    mocks = EndpointMocks()
    monitoring(mocks=mocks, alert_emails=("ops@example.com",), alert_emails_secret=True)
    assert mocks.endpoints == [{rpc._special_sig_key: rpc._special_secret_sig, "value": "ops@example.com"}]


def test_dashboard_inputs_are_complete():
    rendering = monitoring(name="lab.monitoring/eu")
    plan = monitoring_plan(DEFAULT_FIELDS, "10.0.0.0/16")
    settings = lab_monitoring_settings()
    dashboard = rendering.one("aws:cloudwatch/dashboard:Dashboard")
    alarms = {"rejected-flows": settings.rejected_flows, "rejected-packets": settings.rejected_packets,
              "external-ssh": settings.external_ssh}
    assert dict(dashboard.inputs) == {
        "dashboardName": "lab-monitoring-eu",
        "dashboardBody": dashboard_body(namespace="VpcFlowLogs/lab.monitoring/eu", region=REGION, log_group_name=GROUP,
                                        filters=plan.filters, queries=plan.queries, alarms=alarms),
    }, dashboard.urn
    assert rendering.outputs["dashboardName"] == "lab-monitoring-eu"


def test_dashboard_names_are_cut_to_255():
    assert valid_dashboard_name("a" * 300) == "a" * 255
    assert valid_dashboard_name("Lab_9-x y") == "Lab_9-x-y"


def test_query_definitions_inputs_are_complete():
    rendering = monitoring()
    plan = monitoring_plan(DEFAULT_FIELDS, "10.0.0.0/16")
    for query in plan.queries:
        registration = named(rendering, f"lab-monitoring-{query.key}-query")
        assert dict(registration.inputs) == {"name": f"lab-monitoring/{query.title}", "logGroupNames": [GROUP],
                                             "queryString": query.query}, registration.urn
    assert len(rendering.by_type("aws:cloudwatch/queryDefinition:QueryDefinition")) == len(plan.queries)
    assert_children_of(rendering, MONITORING_COMPONENT)


def test_the_plans_queries_tell_the_vpc_by_its_own_cidr():
    plan = monitoring_plan(DEFAULT_FIELDS, "10.1.0.0/16")
    outside = [query.title for query in plan.queries if 'isIpv4InSubnet(srcaddr, "10.1.0.0/16")' in query.query]
    assert outside == ["SSH sources outside the VPC"], [query.query for query in plan.queries]


def test_monitoring_registers_its_outputs(monkeypatch):
    seen = registered_outputs(monkeypatch)

    def build():
        component = Monitoring("lab-monitoring", monitoring_args())
        pulumi.export("registered", seen["lab-monitoring"])
        pulumi.export("topicArn", component.topic_arn)
    outputs = rendered(build).outputs
    assert outputs["registered"] == {"dashboard_name": "lab-monitoring", "topic_arn": outputs["topicArn"]}
    assert outputs["topicArn"].startswith(f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:lab-monitoring-alerts"), outputs


def test_a_format_monitoring_cannot_use_names_the_key_and_the_way_out():
    fields = tuple(f for f in DEFAULT_FIELDS if f != "packets")
    with pytest.raises(MissingFieldError) as cause:
        metric_filters(fields, "10.0.0.0/16")
    with pytest.raises(pulumi.RunError) as error:
        monitoring_plan(fields, "10.0.0.0/16")
    assert str(error.value) == (f"config vpc-flow-logs:logFormat cannot be monitored: {cause.value}. Add the "
                                "field(s) to logFormat, or set vpc-flow-logs:monitoring to false")
    assert error.value.__suppress_context__ and error.value.__cause__ is None


def test_a_vpc_block_monitoring_cannot_express_names_the_key_and_the_way_out():
    with pytest.raises(UnexpressibleCidrError) as cause:
        metric_filters(DEFAULT_FIELDS, "10.0.0.0/18")
    with pytest.raises(pulumi.RunError) as error:
        monitoring_plan(DEFAULT_FIELDS, "10.0.0.0/18")
    assert str(error.value) == (f"config vpc-flow-logs:vpcCidr = 10.0.0.0/18 cannot be monitored: {cause.value}; "
                                "or set vpc-flow-logs:monitoring to false")
    assert error.value.__suppress_context__ and error.value.__cause__ is None


# Web servers

WEB_COMPONENT = "vpcflowlogs:index:WebServers"
INSTANCE = "aws:ec2/instance:Instance"


class AmiPerParameterMocks(LabMocks):
    """Answers each SSM parameter with an AMI that names it, so the instance shows which parameter was read."""

    def call(self, args):
        if args.token == "aws:ssm/getParameter:getParameter":
            name = args.args["name"]
            return {"name": name, "type": "String", "value": f"ami-of:{name}", "id": name}
        return super().call(args)


def web_args(**overrides: Any) -> WebServersArgs:
    args = dict(vpc_id="vpc-0123", subnet_ids=["subnet-a", "subnet-b"], ssh_allowed_cidrs=["203.0.113.0/24"],
                http_allowed_cidrs=["0.0.0.0/0", "::/0"], instance_type="t3.micro", tags=TAGS)
    return WebServersArgs(**{**args, **overrides})


def web(config: dict[str, str] | None = None, mocks: Any = None, **overrides: Any) -> Rendering:
    return rendered(lambda: WebServers("lab-web", web_args(**overrides)), config, mocks)


def test_security_group_and_its_rules_are_complete():
    rendering = web()
    group = rendering.one("aws:ec2/securityGroup:SecurityGroup")
    assert dict(group.inputs) == {"vpcId": "vpc-0123", "description": "Lab web hosts: SSH and HTTP in, anything out",
                                  "tags": {**TAGS, "Name": "lab-web-sg"}}, group.urn
    rules = {
        "lab-web-ssh-in-0": {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "203.0.113.0/24",
                             "description": "SSH (22) from 203.0.113.0/24"},
        "lab-web-http-in-0": {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "0.0.0.0/0",
                              "description": "HTTP (80) from 0.0.0.0/0"},
        "lab-web-http-in-1": {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv6": "::/0",
                              "description": "HTTP (80) from ::/0"},
        "lab-web-all-out": {"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0",
                            "description": "All outbound, for package installs and replies"},
    }
    for name, inputs in rules.items():
        rule = named(rendering, name)
        group_id = rule.inputs.get("securityGroupId")
        assert dict(rule.inputs) == {**inputs, "securityGroupId": group_id, "tags": {**TAGS, "Name": name}}, rule.urn
        assert group_id.startswith("sg-") and rule.dependencies == {"securityGroupId": [group.urn]}, rule.urn
    rule_types = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert len([r for r in rendering.registrations if r.type in rule_types]) == len(rules)
    assert_children_of(rendering, WEB_COMPONENT)


def test_hosts_get_an_ssm_role_and_profile_instead_of_open_shells():
    config = {**lab_config(), "aws:region": "cn-north-1"}
    rendering = web(config)
    role = rendering.one("aws:iam/role:Role")
    assert dict(role.inputs) == {"assumeRolePolicy": EC2_TRUST_POLICY,
                                 "description": "Lab web hosts: SSM Session Manager instead of SSH",
                                 "tags": {**TAGS, "Name": "lab-web-ssm-role"}}, role.urn
    assert json.loads(EC2_TRUST_POLICY)["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    attachment = rendering.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    role_name = attachment.inputs["role"]
    assert role_name.startswith("lab-web-ssm-role-"), attachment.urn
    assert dict(attachment.inputs) == {"role": role_name,
                                       "policyArn": "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore"}
    assert attachment.dependencies == {"role": [role.urn]}, attachment.urn
    profile = rendering.one("aws:iam/instanceProfile:InstanceProfile")
    assert dict(profile.inputs) == {"role": role_name, "tags": {**TAGS, "Name": "lab-web-profile"}}
    assert profile.dependencies == {"role": [role.urn]}, profile.urn
    for registration in (role, attachment, profile):
        assert registration.parent == rendering.one(WEB_COMPONENT).urn, registration.urn


def test_instance_inputs_are_complete():
    rendering = web(ssh_public_key="ssh-ed25519 AAAAC3Nza lab@example")
    key_pair = rendering.one("aws:ec2/keyPair:KeyPair")
    assert dict(key_pair.inputs) == {"publicKey": "ssh-ed25519 AAAAC3Nza lab@example",
                                     "tags": {**TAGS, "Name": "lab-web-key"}}, key_pair.urn
    assert key_pair.parent == rendering.one(WEB_COMPONENT).urn, key_pair.urn
    group = rendering.one("aws:ec2/securityGroup:SecurityGroup")
    profile = rendering.one("aws:iam/instanceProfile:InstanceProfile")
    group_id = named(rendering, "lab-web-all-out").inputs["securityGroupId"]
    for index, subnet in enumerate(("subnet-a", "subnet-b")):
        host = named(rendering, f"lab-web-{index}")
        assert dict(host.inputs) == {
            "ami": AMI_ID, "instanceType": "t3.micro", "subnetId": subnet, "vpcSecurityGroupIds": [group_id],
            "associatePublicIpAddress": True, "iamInstanceProfile": host.inputs["iamInstanceProfile"],
            "keyName": host.inputs["keyName"], "userData": user_data(f"lab-web-{index}"),
            "userDataReplaceOnChange": True,
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required"},
            "rootBlockDevice": {"encrypted": True, "volumeType": "gp3"},
            "tags": {**TAGS, "Name": f"lab-web-{index}", "Exposure": "public"},
        }, host.urn
        assert host.dependencies == {"vpcSecurityGroupIds": [group.urn], "iamInstanceProfile": [profile.urn],
                                     "keyName": [key_pair.urn]}, host.urn
        assert host.parent == rendering.one(WEB_COMPONENT).urn, host.urn
    assert len(rendering.by_type(INSTANCE)) == 2


def test_private_hosts_get_no_public_address_and_no_exposure_tag():
    for host in web(public_hosts=False).by_type(INSTANCE):
        assert host.inputs["associatePublicIpAddress"] is False, host.urn
        assert host.inputs["tags"] == {**TAGS, "Name": host.name}, host.urn


@pytest.mark.parametrize("instance_type, arch", [("t3.micro", "x86_64"), ("t4g.small", "arm64"),
                                                 ("m7gd.large", "arm64"), ("g5.xlarge", "x86_64"),
                                                 ("a1.large", "arm64"), ("a1", "arm64"), ("t4g", "arm64"),
                                                 ("a10.large", "x86_64"), ("t4gx1.large", "x86_64")])
def test_hosts_boot_the_current_amazon_linux_for_their_architecture(instance_type, arch):
    rendering = web(mocks=AmiPerParameterMocks(REGION), instance_type=instance_type)
    assert ami_architecture(instance_type) == arch
    expected = f"ami-of:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
    for host in rendering.by_type(INSTANCE):
        assert host.inputs["ami"] == expected, host.urn


def test_options_of_hosts_started_after_a_resource():
    seen: dict[str, pulumi.ResourceOptions] = {}

    def remember(args: pulumi.ResourceTransformationArgs):
        seen[args.name] = args.opts
        return None

    def build():
        pulumi.runtime.register_stack_transformation(remember)
        marker = pulumi.CustomResource("test:index:Marker", "flow-log-stand-in")
        WebServers("lab-web", web_args(start_after=[marker]))
    rendering = rendered(build)
    marker = named(rendering, "flow-log-stand-in")
    for host in rendering.by_type(INSTANCE):
        assert host.options["dependsOn"] == [marker.urn], host.urn
        assert seen[host.name].ignore_changes == ["ami"], host.urn


def test_web_servers_register_their_outputs(monkeypatch):
    seen = registered_outputs(monkeypatch)

    def build():
        component = WebServers("lab-web", web_args())
        pulumi.export("registered", seen["lab-web"])
        pulumi.export("instanceIds", [component.instances[f"lab-web-{index}"].id for index in range(2)])
    rendering = rendered(build)
    registered = rendering.outputs["registered"]
    assert registered == {"security_group_id": named(rendering, "lab-web-all-out").inputs["securityGroupId"],
                          "instance_ids": rendering.outputs["instanceIds"]}, registered
    assert all(instance_id.startswith("i-") for instance_id in registered["instance_ids"]), registered


# Every component: the options its caller gives, and the provider its lookups go through

def invokes_with_provider(monkeypatch) -> list[tuple[str, str]]:
    """(token, provider reference) of each lookup, as the engine receives them."""
    seen: list[tuple[str, str]] = []
    original = RecordingMonitor.Invoke

    def remember(self, request):
        seen.append((request.tok, request.provider))
        return original(self, request)

    monkeypatch.setattr(RecordingMonitor, "Invoke", remember)
    return seen


COMPONENTS: dict[str, Callable[[pulumi.ResourceOptions], pulumi.ComponentResource]] = {
    "S3FlowLogDestination": lambda opts: S3FlowLogDestination("lab-s3", s3_args(), opts),
    "FlowLogAthena": lambda opts: FlowLogAthena("lab-s3-athena", athena_args(), opts),
    "Monitoring": lambda opts: Monitoring("lab-monitoring", monitoring_args(encrypt_topic=True), opts),
    "WebServers": lambda opts: WebServers("lab-web", web_args(), opts),
}
LOOKUPS = {
    "S3FlowLogDestination": {"aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getPartition:getPartition"},
    # The results bucket's baseline builds its policy's ARN in the stack's partition.
    "FlowLogAthena": {"aws:index/getPartition:getPartition"},
    "Monitoring": {"aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getPartition:getPartition"},
    "WebServers": {"aws:index/getPartition:getPartition", "aws:ssm/getParameter:getParameter"},
}


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_a_component_is_registered_with_the_options_its_caller_gives(component):
    def build():
        before = pulumi.CustomResource("test:index:Marker", "registered-first")
        COMPONENTS[component](pulumi.ResourceOptions(depends_on=[before]))
    rendering = rendered(build)
    registration = rendering.one(f"vpcflowlogs:index:{component}")
    assert registration.options["dependsOn"] == [named(rendering, "registered-first").urn], registration.urn


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_a_components_lookups_go_through_the_provider_its_caller_gives(component, monkeypatch):
    invokes = invokes_with_provider(monkeypatch)

    def build():
        provider = aws.Provider("elsewhere", region=REGION)
        COMPONENTS[component](pulumi.ResourceOptions(providers={"aws": provider}))
    rendering = rendered(build)
    provider = named(rendering, "elsewhere")
    assert {token for token, _ in invokes} == LOOKUPS[component], invokes
    for token, reference in invokes:
        assert reference.startswith(f"{provider.urn}::"), (component, token, reference)
