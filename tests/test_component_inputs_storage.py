"""The S3 destination, Athena, monitoring and web-server components, each alone under Pulumi's mock runtime,
pinned on the complete inputs, options and outputs they register: what a plan of them would show."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

import pulumi
import pytest

from components.athena import (MIN_BYTES_SCANNED_CUTOFF, FlowLogAthena, FlowLogAthenaArgs, glue_columns, glue_name,
                               location_template, projection)
from components.monitoring import (Monitoring, MonitoringArgs, monitoring_plan, subscription_name, topic_key_policy,
                                   valid_dashboard_name)
from components.s3_destination import S3FlowLogDestination, S3FlowLogDestinationArgs, bucket_policy
from components.targets import ResolvedTarget
from components.web_servers import EC2_TRUST_POLICY, WebServers, WebServersArgs, ami_architecture, user_data
from config.settings import SECRET_PLACEHOLDER, Destination, ObjectLock
from flowlogs.dashboard import dashboard_body
from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.queries import build_queries
from tests.conftest import lab_config
from tests.test_components import TAGS, VPC_TARGET, flow_log_options
from tests.test_monitoring import lab_monitoring_settings
from tools.render import ACCOUNT_ID, AMI_ID, LabMocks, Registration, Rendering, render

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


def created_bucket_expectations(bucket: str, kms_key_arn: str | None) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Each hardening resource of a created bucket: its complete inputs and what it waits for."""
    encryption_default = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": kms_key_arn} if kms_key_arn else {
        "sseAlgorithm": "AES256"}
    encryption_rule = {"applyServerSideEncryptionByDefault": encryption_default,
                       **({"bucketKeyEnabled": True} if kms_key_arn else {})}
    return {
        "lab-s3-public-access-block": ({"bucket": bucket, "blockPublicAcls": True, "blockPublicPolicy": True,
                                        "ignorePublicAcls": True, "restrictPublicBuckets": True}, []),
        "lab-s3-ownership": ({"bucket": bucket, "rule": {"objectOwnership": "BucketOwnerEnforced"}}, []),
        "lab-s3-versioning": ({"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}}, []),
        "lab-s3-encryption": ({"bucket": bucket, "rules": [encryption_rule]}, []),
        "lab-s3-lifecycle": ({"bucket": bucket, "rules": [{
            "id": "expire-flow-log-records", "status": "Enabled", "filter": {"prefix": ""},
            "expiration": {"days": 30}, "noncurrentVersionExpiration": {"noncurrentDays": 1},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}, ["lab-s3-versioning"]),
        "lab-s3-policy": ({"bucket": bucket, "policy": bucket_policy("aws", ACCOUNT_ID, REGION,
                                                                      f"arn:aws:s3:::{bucket}")},
                          ["lab-s3-ownership", "lab-s3-public-access-block"]),
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
], ids=["bucket", "folder", "nested-folder-with-slash"])
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
