"""Flow-log bucket and log-group rules at their edges, and what the pack tells the CLI about every rule.

Driven like tests/test_policies.py: hand-built registrations through the analyzer protocol into the
real pack, every rule mandatory, and once more with the same rule functions called in this process
(tests/policy_in_process.py), where a mutation run can follow them.
"""

from __future__ import annotations

import json
from typing import Optional

import pytest
from pulumi_policy import PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.policy import PolicyCustomTimeouts

from policies.rules.buckets import LIFECYCLE, judge_buckets
from policies.rules.flow_logs import FLOW_LOG
from policies.rules.log_groups import log_group_retention
from tests.policy_fixtures import ACCOUNT, BUCKET, BUCKET_ARN, bucket_policy_document, log_group, resource, s3_delivery
from tests.policy_in_process import policy_resources, rule_policies

ENCRYPTION = "encryption"
DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


def messages(session, rule: str, resources: list[dict]) -> dict[str, str]:
    """URN -> message of each violation of `rule`."""
    return {v.urn: v.message for v in session.analyze(resources) if v.policy == rule}


def bucket_urn(resources: list[dict]) -> str:
    (bucket,) = [r for r in resources if r["type"] == BUCKET]
    return bucket["urn"]


def with_algorithm(algorithm: str) -> list[dict]:
    return s3_delivery(**{ENCRYPTION: {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]}})


def with_policy(*statements: dict) -> list[dict]:
    return s3_delivery(policy={"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})})


# bucket-encrypted: the algorithms S3 applies by default

@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse", "AES256"])
def test_flow_log_bucket_encrypted_by_each_default_algorithm_passes(pack, algorithm):
    resources = with_algorithm(algorithm)
    assert messages(pack, "bucket-encrypted", resources) == {}, (bucket_urn(resources), algorithm)


@pytest.mark.parametrize("algorithm", ["AWS:KMS", "aes256", "aws:kms:dsse:x", ""])
def test_flow_log_bucket_with_an_unknown_algorithm_fails(pack, algorithm):
    resources = with_algorithm(algorithm)
    assert list(messages(pack, "bucket-encrypted", resources)) == [bucket_urn(resources)], algorithm


# bucket-tls-only: only a Deny on aws:SecureTransport false counts

TLS_CONDITION = {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("statement", [
    {"Sid": "DenyDelete", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": BUCKET_ARN},
    {"Sid": "AllowPlainText", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": f"{BUCKET_ARN}/*", "Condition": TLS_CONDITION},
], ids=["deny-without-the-tls-condition", "allow-under-the-tls-condition"])
def test_flow_log_bucket_without_a_deny_on_plain_requests_fails(pack, statement):
    delivery = json.loads(bucket_policy_document(tls_deny=False))["Statement"]
    resources = with_policy(*delivery, statement)
    assert list(messages(pack, "bucket-tls-only", resources)) == [bucket_urn(resources)], statement["Sid"]


# flow-log-bucket-delivery-scoped: a statement without a Sid is still reported

def test_unnamed_delivery_statement_without_conditions_is_reported_with_an_empty_name(pack):
    resources = with_policy({"Effect": "Allow", "Principal": {"Service": DELIVERY_SERVICE}, "Action": "s3:PutObject",
                             "Resource": f"{BUCKET_ARN}/AWSLogs/{ACCOUNT}/*"})
    urn = bucket_urn(resources)
    assert messages(pack, "flow-log-bucket-delivery-scoped", resources) == {
        urn: "aws:s3/bucket:Bucket 'flow-logs-bucket' receives flow logs but its delivery statement '' lacks the "
             "aws:SourceAccount and aws:SourceArn condition(s): scope it to this account's flow logs."}, urn


# log-group-retention without a config: the rule's own minimum of 1 day

def retention_violations(group: dict, config: Optional[dict]) -> list[str]:
    found: list[str] = []
    options = PolicyResourceOptions(protect=True, ignore_changes=[], delete_before_replace=False, aliases=[],
                                    custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])
    args = ResourceValidationArgs(group["type"], group["inputs"], group["urn"], group["name"], options, None, config)
    log_group_retention(args, lambda message, urn=None: found.append(message))
    return found


@pytest.mark.parametrize("config", [None, {}], ids=["no-config", "no-properties"])
def test_log_group_retention_without_a_configured_minimum_asks_for_one_day(config):
    """The engine passes no config for a policy whose --policy-pack-config entry has no properties."""
    assert retention_violations(log_group(retentionInDays=1), config) == [], config
    assert retention_violations(log_group(retentionInDays=None), config) == [
        "aws:cloudwatch/logGroup:LogGroup 'group' never expires its records (no retentionInDays): set "
        "vpc-flow-logs:logRetentionDays to at least 1."], config


# What GetAnalyzerInfo and every violation carry besides the message

@pytest.mark.parametrize("policy", rule_policies(), ids=lambda policy: policy.name)
def test_every_rule_declares_a_severity_and_remediation_steps(policy):
    assert policy.severity is not None, policy.name
    assert policy.remediation_steps, policy.name


def test_public_allow_statement_is_not_taken_for_a_delivery_statement(pack):
    """IAM writes "every principal" as the string "*", which names no service."""
    delivery = json.loads(bucket_policy_document())["Statement"]
    public_read = {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"{BUCKET_ARN}/*"}
    resources = with_policy(*delivery, public_read)
    assert messages(pack, "flow-log-bucket-delivery-scoped", resources) == {}, bucket_urn(resources)


def judged_and_reported(flow_logs_only: bool) -> tuple[list[list[str]], list[tuple[str, Optional[str]]], dict]:
    """What a bucket rule judges and reports on two created buckets, a flow log delivering into one."""
    records, other = resource(BUCKET, "records"), resource(BUCKET, "other")
    lifecycle = resource(LIFECYCLE, "records-lifecycle", dependencies={"bucket": [records["urn"]]})
    flow_log = resource(FLOW_LOG, "flow-log", dependencies={"logDestination": [records["urn"]]})
    judged: list[list[str]] = []
    reported: list[tuple[str, Optional[str]]] = []

    def problem(parts: list[PolicyResource]) -> Optional[str]:
        judged.append([part.name for part in parts])
        return "has a problem"

    judge_buckets(StackValidationArgs(policy_resources([other, lifecycle, records, flow_log]), {}),
                  lambda message, urn=None: reported.append((message, urn)), LIFECYCLE, problem,
                  flow_logs_only=flow_logs_only)
    return judged, reported, {"records": records["urn"], "other": other["urn"]}


def test_a_bucket_rule_judges_every_created_bucket_on_its_own_parts_and_names_it():
    judged, reported, urns = judged_and_reported(flow_logs_only=False)
    assert judged == [[], ["records-lifecycle"]], "each bucket is judged on its own parts"
    assert reported == [(f"{BUCKET} 'other' has a problem.", urns["other"]),
                        (f"{BUCKET} 'records' has a problem.", urns["records"])]


def test_a_flow_log_bucket_rule_judges_only_the_flow_logs_bucket_and_says_it_receives_flow_logs():
    judged, reported, urns = judged_and_reported(flow_logs_only=True)
    assert judged == [["records-lifecycle"]], "only the flow log's bucket is judged, on its own parts"
    assert reported == [(f"{BUCKET} 'records' receives flow logs but has a problem.", urns["records"])]


def test_a_bucket_rule_reports_nothing_when_the_problem_finds_none():
    records = resource(BUCKET, "records")
    flow_log = resource(FLOW_LOG, "flow-log", dependencies={"logDestination": [records["urn"]]})
    reported: list[str] = []
    judge_buckets(StackValidationArgs(policy_resources([records, flow_log]), {}),
                  lambda message, urn=None: reported.append(message), LIFECYCLE, lambda parts: None)
    assert reported == []
