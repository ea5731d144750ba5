"""The policy pack, through the real analyzer protocol against the real `policies/` process.

Each rule has a compliant and a violating case (metric-filter-matches-log-format's generated filters
are with the monitoring tests), and at least one violating case whose whole message is pinned: the
resource's type and name, what is wrong, and the fix. Enforcement comes from Configure, as the CLI
sends it for a `--policy-pack-config` file.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import grpc
import pytest
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from tests.conftest import STACKS
from tests.policy_fixtures import (ACCOUNT, DEFAULT_COLUMNS, EGRESS_RULE, KMS_KEY, METRIC_FILTER, PACK, ROLE, SUBNET,
                                   TAGS, TOPIC, attached_policy, bucket_part, bucket_policy_document, compliant_stack,
                                   default_group, delivery, ingress_rule, inline_entry, instance, legacy_rule,
                                   log_group, managed_instance, permissions, replaced, resource, s3_delivery,
                                   s3_parquet_delivery, security_group, ssm_profile, trust, vpc, workgroup)
from tests.policy_in_process import InProcessPack
from tools.analyzer import PolicyPackError, PolicyPackSession, Violation, load_policy_config
from tools.render import UNKNOWN

ALL_RULES = {
    "vpc-flow-logs-enabled", "flow-log-captures-rejects", "flow-log-replaced-not-updated",
    "flow-log-role-least-privilege", "log-group-retention", "log-group-encrypted", "log-group-protected",
    "ssh-not-open-to-world", "http-open-to-world", "ec2-imdsv2-required", "ec2-root-volume-encrypted",
    "security-group-rules-described", "default-security-group-closed", "required-tags",
    "metric-filter-matches-log-format", "athena-workgroup-results-encrypted", "glue-table-matches-log-format",
    "world-ingress-only-to-services", "egress-unrestricted",
    "instance-ssm-managed", "public-exposure-declared", "alarm-topic-encrypted",
    "bucket-public-access-blocked", "bucket-encrypted", "bucket-encrypted-with-stack-key",
    "bucket-tls-only", "flow-log-bucket-delivery-scoped", "bucket-expires-objects", "bucket-aborts-incomplete-uploads",
    "bucket-versioned", "transit-gateway-flow-log-interval",
}
LAB_ADVISORY = {"ssh-not-open-to-world", "http-open-to-world", "log-group-encrypted", "log-group-protected",
                "egress-unrestricted", "alarm-topic-encrypted"}
ADVISORY_BY_STACK = {
    "lab": LAB_ADVISORY,
    "local": LAB_ADVISORY,
    "dev": {"http-open-to-world", "log-group-encrypted", "log-group-protected", "egress-unrestricted",
            "alarm-topic-encrypted"},
    "prod": {"http-open-to-world", "egress-unrestricted"},
    "audit": {"http-open-to-world", "egress-unrestricted"},
}
MINIMUM_RETENTION_BY_STACK = {"lab": 1, "local": 1, "dev": 30, "prod": 365, "audit": 90}


def violations_of(session: PolicyPackSession, rule: str, resources: list[dict]) -> list[Violation]:
    return [v for v in session.analyze(resources) if v.policy == rule]


def assert_flags(session: PolicyPackSession, rule: str, resources: list[dict], culprit: dict,
                 message: Optional[str] = None) -> Violation:
    """Exactly one violation of `rule`, on `culprit`, mandatory, its message opening with the culprit's
    type and name as `pulumi preview` lists them, and, when given, exactly `message`."""
    violations = violations_of(session, rule, resources)
    assert [v.urn for v in violations] == [culprit["urn"]], (rule, violations)
    (violation,) = violations
    assert violation.enforcement == "mandatory", (rule, culprit["urn"])
    assert violation.message.startswith(f"{culprit['type']} '{culprit['name']}'"), \
        (rule, culprit["urn"], violation.message)
    if message is not None:
        assert violation.message == message, (rule, culprit["urn"])
    return violation


def test_the_compliant_stack_passes_every_rule(pack):
    assert pack.analyze(compliant_stack()) == []


def test_pack_lists_every_rule_with_its_enforcement(analyzer_pack):
    policies = analyzer_pack.info()
    assert {p.name for p in policies} == ALL_RULES
    assert all(p.enforcement == "mandatory" and p.description for p in policies), policies


def test_unconfigured_pack_defaults_to_mandatory():
    with PolicyPackSession(PACK, "test") as session:
        assert {p.enforcement for p in session.info()} == {"mandatory"}
        (violation,) = violations_of(session, "log-group-encrypted", [log_group(kmsKeyId=None)])
        assert violation.enforcement == "mandatory"


# vpc-flow-logs-enabled

def test_vpc_that_a_flow_log_references_passes(pack):
    assert violations_of(pack, "vpc-flow-logs-enabled", delivery().resources) == []


def test_vpc_no_flow_log_references_fails_even_with_a_flow_log_around(pack):
    flow = delivery(linked_to_vpc=False)
    assert_flags(pack, "vpc-flow-logs-enabled", flow.resources, flow.vpc,
                 message="aws:ec2/vpc:Vpc 'vpc' is not the target of any flow log: add an aws.ec2.FlowLog with "
                         "vpc_id=vpc.id (the output, not a literal ID) delivering to a log group.")


def test_second_vpc_without_its_own_flow_log_fails(pack):
    second = vpc("second-vpc")
    assert_flags(pack, "vpc-flow-logs-enabled", [*delivery().resources, second], second)


# flow-log-captures-rejects

@pytest.mark.parametrize("traffic_type", ["ALL", "REJECT"])
def test_flow_log_recording_rejects_passes(pack, traffic_type):
    assert violations_of(pack, "flow-log-captures-rejects", delivery(traffic_type=traffic_type).resources) == []


def test_flow_log_recording_only_accepts_fails(pack):
    flow = delivery(traffic_type="ACCEPT")
    assert_flags(pack, "flow-log-captures-rejects", flow.resources, flow.flow_log,
                 message="aws:ec2/flowLog:FlowLog 'flow-log' records trafficType 'ACCEPT', which misses rejected "
                         "traffic: set vpc-flow-logs:trafficType to ALL (or REJECT).")


# flow-log-replaced-not-updated

def test_delete_before_replace_flow_log_passes(pack):
    assert violations_of(pack, "flow-log-replaced-not-updated", delivery().resources) == []


def test_flow_log_replaced_create_first_fails(pack):
    flow = delivery(delete_before_replace=False)
    assert_flags(pack, "flow-log-replaced-not-updated", flow.resources, flow.flow_log,
                 message="aws:ec2/flowLog:FlowLog 'flow-log' is not delete-before-replace: AWS cannot modify a "
                         "flow log, and creating the replacement first fails with FlowLogAlreadyExists. Register "
                         "it with delete_before_replace=True and replace_on_changes listing its configuration "
                         "inputs (not tags).")


# flow-log-role-least-privilege

def test_scoped_role_passes(pack):
    flow = delivery()
    assert violations_of(pack, "flow-log-role-least-privilege", flow.resources) == []
    assert violations_of(pack, "flow-log-role-least-privilege",
                         [*flow.resources, *attached_policy(flow.role)]) == []


def test_condition_keys_match_case_insensitively(pack):
    conditions = {"StringEquals": {"aws:sourceaccount": "123456789012"},
                  "ArnLike": {"AWS:SourceArn": "arn:aws:ec2:ap-northeast-1:123456789012:vpc-flow-log/*"}}
    flow = delivery(trust_policy=trust(conditions=conditions))
    assert violations_of(pack, "flow-log-role-least-privilege", flow.resources) == []


# Every message of flow-log-role-least-privilege on the role of `delivery()`: who it is, then its problems.
ROLE_USED_BY_FLOW_LOG = "aws:iam/role:Role 'role', used by flow log(s) flow-log: "
# ... and then the fix, the same whatever the problems.
ROLE_FIX = (". Trust only vpc-flow-logs.amazonaws.com with aws:SourceAccount and aws:SourceArn conditions, and "
            "grant only logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogGroups and "
            "logs:DescribeLogStreams on '<log group arn>:*'.")


@pytest.mark.parametrize("trust_policy, problems", [
    (trust(conditions={}), "its trust policy has no aws:SourceAccount condition; "
                           "its trust policy has no aws:SourceArn condition"),
    (trust(conditions={"StringEquals": {"aws:SourceAccount": "123456789012"}}),
     "its trust policy has no aws:SourceArn condition"),
    (trust(principal={"Service": ["vpc-flow-logs.amazonaws.com", "ec2.amazonaws.com"]}),
     "it trusts {'Service': ['vpc-flow-logs.amazonaws.com', 'ec2.amazonaws.com']}, "
     "not only vpc-flow-logs.amazonaws.com"),
    (trust(principal={"AWS": "*"}), "it trusts {'AWS': '*'}, not only vpc-flow-logs.amazonaws.com"),
], ids=["no-conditions", "no-source-arn", "second-service", "any-principal"])
def test_role_trusting_more_than_the_service_fails(pack, trust_policy, problems):
    flow = delivery(trust_policy=trust_policy)
    assert_flags(pack, "flow-log-role-least-privilege", flow.resources, flow.role,
                 message=ROLE_USED_BY_FLOW_LOG + problems + ROLE_FIX)


@pytest.mark.parametrize("policy, problems", [
    (permissions(resource_arn="*"), 'it allows Resource "*"'),
    (permissions(actions=["logs:*"]), "it allows the wildcard action(s) logs:*"),
    (permissions(actions=["*"]), "it allows the wildcard action(s) *"),
    (permissions(actions=["logs:CreateLogStream", "logs:Put*"]), "it allows the wildcard action(s) logs:Put*"),
    (permissions(actions=["logs:createloggroup", "logs:PutLogEvents"]),
     "it allows logs:CreateLogGroup, which lets the service re-create a deleted group"),
], ids=["star-resource", "logs-star", "star", "partial-wildcard", "create-log-group"])
def test_role_policy_granting_more_than_delivery_fails(pack, policy, problems):
    flow = delivery(policy=policy)
    assert_flags(pack, "flow-log-role-least-privilege", flow.resources, flow.role,
                 message=ROLE_USED_BY_FLOW_LOG + problems + ROLE_FIX)


def test_every_problem_of_the_role_is_listed_in_one_message(pack):
    flow = delivery(trust_policy=trust(conditions={}), policy=permissions(actions=["logs:*"], resource_arn="*"))
    assert_flags(pack, "flow-log-role-least-privilege", flow.resources, flow.role,
                 message=ROLE_USED_BY_FLOW_LOG + "its trust policy has no aws:SourceAccount condition; its trust "
                 "policy has no aws:SourceArn condition; it allows the wildcard action(s) logs:*; it allows "
                 'Resource "*"' + ROLE_FIX)


def test_inline_policy_granting_more_than_delivery_fails(pack):
    flow = delivery()
    role = {**flow.role, "inputs": {**flow.role["inputs"],
                                    "inlinePolicies": [{"name": "broad", "policy": permissions(resource_arn="*")}]}}
    assert_flags(pack, "flow-log-role-least-privilege", replaced(flow.resources, role), role,
                 message=ROLE_USED_BY_FLOW_LOG + 'it allows Resource "*"' + ROLE_FIX)


def test_attached_policy_granting_more_than_delivery_fails(pack):
    flow = delivery()
    resources = [*flow.resources, *attached_policy(flow.role, permissions(actions=["logs:*"]))]
    assert_flags(pack, "flow-log-role-least-privilege", resources, flow.role,
                 message=ROLE_USED_BY_FLOW_LOG + "it allows the wildcard action(s) logs:*" + ROLE_FIX)


def test_attached_managed_policy_that_cannot_be_read_fails(pack):
    flow = delivery()
    resources = [*flow.resources,
                 *attached_policy(flow.role, literal_arn="arn:aws:iam::aws:policy/CloudWatchLogsFullAccess")]
    assert_flags(pack, "flow-log-role-least-privilege", resources, flow.role,
                 message=ROLE_USED_BY_FLOW_LOG + "it attaches arn:aws:iam::aws:policy/CloudWatchLogsFullAccess, "
                 "which this stack does not define, so its permissions cannot be checked" + ROLE_FIX)


def test_role_of_two_flow_logs_names_both(pack):
    flow = delivery(policy=permissions(resource_arn="*"))
    second = {**flow.flow_log, "urn": flow.flow_log["urn"] + "-second", "name": "second-flow-log"}
    assert_flags(pack, "flow-log-role-least-privilege", [*flow.resources, second], flow.role,
                 message="aws:iam/role:Role 'role', used by flow log(s) flow-log, second-flow-log: "
                         'it allows Resource "*"' + ROLE_FIX)


def test_policy_of_an_unrelated_role_is_not_held_against_the_flow_log_role(pack):
    flow = delivery()
    other = resource(ROLE, "other-role", {"assumeRolePolicy": trust(principal={"Service": "ec2.amazonaws.com"}),
                                          "tags": TAGS})
    assert violations_of(pack, "flow-log-role-least-privilege",
                         [*flow.resources, other, *attached_policy(other, permissions(resource_arn="*"))]) == []


# log groups

def test_group_kept_long_enough_passes(pack):
    assert violations_of(pack, "log-group-retention", [log_group(retentionInDays=1)]) == []


@pytest.mark.parametrize("retention", [None, 0], ids=["absent", "zero"])
def test_group_that_never_expires_fails(pack, retention):
    group = log_group(retentionInDays=retention)
    assert_flags(pack, "log-group-retention", [group], group,
                 message="aws:cloudwatch/logGroup:LogGroup 'group' never expires its records (no retentionInDays): "
                         "set vpc-flow-logs:logRetentionDays to at least 1.")


@pytest.fixture(scope="module", params=["analyzer", "in-process"])
def month_minimum_pack(request):
    """The pack with log-group-retention asking for 30 days, through either path."""
    config = {"log-group-retention": {"minimumRetentionDays": 30}}
    if request.param == "in-process":
        yield InProcessPack(config)
        return
    with PolicyPackSession(PACK, "test", policy_config={"all": "mandatory", **config}) as session:
        yield session


def test_group_kept_fewer_days_than_the_minimum_fails(month_minimum_pack):
    group = log_group(retentionInDays=14)
    assert_flags(month_minimum_pack, "log-group-retention", [group], group,
                 message="aws:cloudwatch/logGroup:LogGroup 'group' keeps records 14 days, fewer than the 30 this "
                         "stack requires: raise vpc-flow-logs:logRetentionDays to 30 or more.")


def test_encrypted_group_passes(pack):
    assert violations_of(pack, "log-group-encrypted", [log_group()]) == []


def test_unencrypted_group_fails(pack):
    group = log_group(kmsKeyId=None)
    assert_flags(pack, "log-group-encrypted", [group], group,
                 message="aws:cloudwatch/logGroup:LogGroup 'group' is not encrypted with a KMS key: set "
                         "vpc-flow-logs:createLogKmsKey to true, or vpc-flow-logs:logKmsKeyArn to a key.")


def test_group_encrypted_by_a_declared_key_passes_while_the_keys_arn_is_unknown(analyzer_pack):
    key = resource(KMS_KEY, "logs-key", {"enableKeyRotation": True, "tags": TAGS})
    group = log_group(kmsKeyId=UNKNOWN)
    group["dependencies"] = {"kmsKeyId": [key["urn"]]}
    assert violations_of(analyzer_pack, "log-group-encrypted", [key, group]) == []


def test_group_keyed_by_an_unknown_that_is_no_declared_key_is_undecided(analyzer_pack):
    role = resource(ROLE, "role", {"tags": TAGS})
    group = log_group(kmsKeyId=UNKNOWN)
    group["dependencies"] = {"kmsKeyId": [role["urn"]]}
    (violation,) = violations_of(analyzer_pack, "log-group-encrypted", [role, group])
    assert (violation.enforcement, violation.urn, violation.unknown) == ("mandatory", group["urn"], ".kmsKeyId")


def test_protected_group_passes(pack):
    assert violations_of(pack, "log-group-protected", [log_group()]) == []


def test_unprotected_group_fails(pack):
    group = log_group(protect=False)
    assert_flags(pack, "log-group-protected", [group], group,
                 message="aws:cloudwatch/logGroup:LogGroup 'group' is not protected, so `pulumi destroy` deletes "
                         "the recorded traffic: set vpc-flow-logs:protectLogs to true.")


# ssh-not-open-to-world and http-open-to-world

@pytest.mark.parametrize("compliant", [
    ingress_rule("ssh-narrow", 22, "203.0.113.0/24"),
    ingress_rule("https-world", 443, "0.0.0.0/0"),
    security_group("udp-only", [inline_entry(22, "0.0.0.0/0", protocol="udp")]),
    legacy_rule("egress-only", "egress", 22, "0.0.0.0/0"),
], ids=lambda r: r["name"])
def test_ssh_not_reachable_from_the_world_passes(pack, compliant):
    assert violations_of(pack, "ssh-not-open-to-world", [compliant]) == []


@pytest.mark.parametrize("culprit", [
    ingress_rule("ssh-v4", 22, "0.0.0.0/0"),
    ingress_rule("ssh-v6", 22, "::/0"),
    ingress_rule("port-range", 0, "0.0.0.0/0", to_port=1024),
    ingress_rule("all-protocols", 0, "0.0.0.0/0", protocol="-1"),
    security_group("inline-v4", [inline_entry(22, "0.0.0.0/0")]),
    security_group("inline-v6", [inline_entry(80, "10.0.0.0/8"), inline_entry(22, "::/0")]),
    security_group("inline-all", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"],
                                   "description": "everything"}]),
    legacy_rule("legacy", "ingress", 22, "0.0.0.0/0"),
], ids=lambda r: r["name"])
def test_ssh_from_the_world_fails(pack, culprit):
    assert_flags(pack, "ssh-not-open-to-world", [culprit], culprit)


@pytest.mark.parametrize("culprit, message", [
    (ingress_rule("ssh-v4", 22, "0.0.0.0/0"),
     "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'ssh-v4' allows SSH (22) from 0.0.0.0/0: set "
     "vpc-flow-logs:sshAllowedCidrs to the office or bastion ranges that need it."),
    (security_group("both-families", [inline_entry(22, "::/0"), inline_entry(22, "0.0.0.0/0")]),
     "aws:ec2/securityGroup:SecurityGroup 'both-families' allows SSH (22) from 0.0.0.0/0 and ::/0: set "
     "vpc-flow-logs:sshAllowedCidrs to the office or bastion ranges that need it."),
], ids=["ingress-rule", "both-families"])
def test_ssh_message_names_the_sources_and_the_setting_to_narrow(pack, culprit, message):
    assert_flags(pack, "ssh-not-open-to-world", [culprit], culprit, message=message)


def test_http_from_a_range_passes(pack):
    assert violations_of(pack, "http-open-to-world", [ingress_rule("http-narrow", 80, "10.0.0.0/8")]) == []


@pytest.mark.parametrize("culprit", [
    ingress_rule("http-in", 80, "0.0.0.0/0"),
    security_group("web-sg", [inline_entry(80, "::/0")]),
    legacy_rule("legacy-http", "ingress", 80, "0.0.0.0/0"),
], ids=lambda r: r["name"])
def test_http_from_the_world_fails(pack, culprit):
    assert_flags(pack, "http-open-to-world", [culprit], culprit)


def test_http_message_names_the_source_and_the_setting_to_narrow(pack):
    culprit = legacy_rule("legacy-http", "ingress", 80, "0.0.0.0/0")
    assert_flags(pack, "http-open-to-world", [culprit], culprit,
                 message="aws:ec2/securityGroupRule:SecurityGroupRule 'legacy-http' allows HTTP (80) from "
                         "0.0.0.0/0: narrow vpc-flow-logs:httpAllowedCidrs, or serve HTTPS from a load balancer "
                         "instead.")


# instances

def test_hardened_instance_passes(pack):
    violations = pack.analyze([instance()])
    assert not [v for v in violations if v.policy in ("ec2-imdsv2-required", "ec2-root-volume-encrypted")]


def test_instance_accepting_imdsv1_fails(pack):
    culprit = instance(http_tokens="optional")
    assert_flags(pack, "ec2-imdsv2-required", [culprit], culprit,
                 message="aws:ec2/instance:Instance 'host' still answers IMDSv1 requests, which SSRF can abuse: "
                         "set metadata_options http_tokens='required'.")


def test_instance_with_unencrypted_root_volume_fails(pack):
    culprit = instance(encrypted=False)
    assert_flags(pack, "ec2-root-volume-encrypted", [culprit], culprit,
                 message="aws:ec2/instance:Instance 'host' has an unencrypted root volume: set root_block_device "
                         "encrypted=True.")


# world-ingress-only-to-services

@pytest.mark.parametrize("compliant", [
    ingress_rule("ssh-world", 22, "0.0.0.0/0"),
    ingress_rule("http-world-v6", 80, "::/0"),
    ingress_rule("rdp-office", 3389, "203.0.113.0/24"),
    security_group("web-sg", [inline_entry(80, "0.0.0.0/0"), inline_entry(5432, "10.0.0.0/8")]),
], ids=lambda r: r["name"])
def test_world_ingress_to_a_declared_service_passes(pack, compliant):
    assert violations_of(pack, "world-ingress-only-to-services", [compliant]) == []


@pytest.mark.parametrize("culprit", [
    ingress_rule("rdp-v4", 3389, "0.0.0.0/0"),
    ingress_rule("rdp-v6", 3389, "::/0"),
    ingress_rule("range-with-80", 80, "0.0.0.0/0", to_port=443),
    ingress_rule("all-protocols", 0, "::/0", protocol="-1"),
    ingress_rule("udp-80", 80, "0.0.0.0/0", protocol="udp"),
    security_group("inline-db", [inline_entry(5432, "0.0.0.0/0")]),
    legacy_rule("legacy-rdp", "ingress", 3389, "::/0"),
], ids=lambda r: r["name"])
def test_world_ingress_to_any_other_port_fails(pack, culprit):
    assert_flags(pack, "world-ingress-only-to-services", [culprit], culprit)


@pytest.mark.parametrize("culprit, message", [
    (ingress_rule("range-with-80", 80, "0.0.0.0/0", to_port=443),
     "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'range-with-80' opens tcp 80-443 to 0.0.0.0/0: "
     "only the declared services (tcp 22, 80) may be reachable from the internet; remove the rule or narrow its "
     "source."),
    (ingress_rule("all-protocols", 0, "::/0", protocol="-1"),
     "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'all-protocols' opens every protocol and port to "
     "::/0: only the declared services (tcp 22, 80) may be reachable from the internet; remove the rule or narrow "
     "its source."),
], ids=["port-range", "all-protocols"])
def test_world_ingress_message_names_what_is_open_and_the_declared_services(pack, culprit, message):
    assert_flags(pack, "world-ingress-only-to-services", [culprit], culprit, message=message)


def test_declared_service_ports_come_from_config():
    with PolicyPackSession(PACK, "test", policy_config={
            "all": "mandatory", "world-ingress-only-to-services": {"servicePorts": [443]}}) as session:
        https, http = ingress_rule("https", 443, "0.0.0.0/0"), ingress_rule("http", 80, "0.0.0.0/0")
        assert [v.urn for v in violations_of(session, "world-ingress-only-to-services", [https, http])] == \
            [http["urn"]]


# egress-unrestricted

def egress_rule(name: str, description: str, protocol: str = "-1", cidr: str = "0.0.0.0/0", port: int = 0) -> dict:
    inputs = {"securityGroupId": "sg-0123", "ipProtocol": protocol, "cidrIpv6" if ":" in cidr else "cidrIpv4": cidr,
              "description": description, "tags": TAGS}
    if protocol != "-1":
        inputs.update(fromPort=port, toPort=port)
    return resource(EGRESS_RULE, name, inputs)


@pytest.mark.parametrize("compliant", [
    egress_rule("https-out", "package mirrors", protocol="tcp", port=443),
    egress_rule("vpc-out", "inside the VPC", cidr="10.0.0.0/16"),
], ids=lambda r: r["name"])
def test_narrow_egress_is_not_reported(pack, compliant):
    assert violations_of(pack, "egress-unrestricted", [compliant]) == []


@pytest.mark.parametrize("culprit", [
    egress_rule("all-out", "package installs and replies"),
    egress_rule("all-out-v6", "package installs and replies", cidr="::/0"),
    security_group("inline-all-out", [], [{"protocol": "-1", "fromPort": 0, "toPort": 0,
                                           "cidrBlocks": ["0.0.0.0/0"], "description": "package installs and replies"}]),
], ids=lambda r: r["name"])
def test_unrestricted_egress_is_reported_with_its_reason(pack, culprit):
    violation = assert_flags(pack, "egress-unrestricted", [culprit], culprit)
    assert "'package installs and replies'" in violation.message


@pytest.mark.parametrize("culprit, message", [
    (egress_rule("all-out", "package installs and replies"),
     "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule 'all-out' allows every outbound port to 0.0.0.0/0, "
     "its stated reason: 'package installs and replies'. Accepted when the hosts need it (package installs from "
     "public repositories); narrow it to 443 and the VPC endpoints they use where they do not."),
    (egress_rule("silent-out", "", cidr="::/0"),
     "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule 'silent-out' allows every outbound port to ::/0, "
     "and says no reason. Accepted when the hosts need it (package installs from public repositories); narrow "
     "it to 443 and the VPC endpoints they use where they do not."),
], ids=["with-reason", "without-reason"])
def test_unrestricted_egress_message_quotes_its_reason_and_how_to_narrow_it(pack, culprit, message):
    assert_flags(pack, "egress-unrestricted", [culprit], culprit, message=message)


# instance-ssm-managed

def test_instance_with_an_ssm_profile_passes(pack):
    assert violations_of(pack, "instance-ssm-managed", managed_instance()) == []


def test_instance_without_a_profile_fails(pack):
    culprit = instance()
    assert_flags(pack, "instance-ssm-managed", [culprit], culprit,
                 message="aws:ec2/instance:Instance 'host' cannot be reached through SSM Session Manager: give it an "
                         "instance profile whose role has AmazonSSMManagedInstanceCore, so port 22 can stay "
                         "closed (sshAllowedCidrs: []).")


def test_instance_whose_profile_lacks_the_ssm_policy_fails(pack):
    profile = ssm_profile(policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    culprit = instance(profile_urn=profile[-1]["urn"])
    assert_flags(pack, "instance-ssm-managed", [*profile, culprit], culprit,
                 message="aws:ec2/instance:Instance 'host' cannot be reached through SSM Session Manager: give it an "
                         "instance profile whose role has AmazonSSMManagedInstanceCore, so port 22 can stay "
                         "closed (sshAllowedCidrs: []).")


# public-exposure-declared

@pytest.mark.parametrize("compliant", [
    instance("private"),
    instance("declared", associatePublicIpAddress=True, tags={**TAGS, "Exposure": "public"}),
    resource(SUBNET, "declared-subnet", {"mapPublicIpOnLaunch": True, "tags": {**TAGS, "Exposure": "public"}}),
    resource(SUBNET, "private-subnet", {"mapPublicIpOnLaunch": False, "tags": TAGS}),
], ids=lambda r: r["name"])
def test_declared_or_private_exposure_passes(pack, compliant):
    assert violations_of(pack, "public-exposure-declared", [compliant]) == []


@pytest.mark.parametrize("culprit, message", [
    (instance("undeclared", associatePublicIpAddress=True),
     "aws:ec2/instance:Instance 'undeclared' gives hosts public IPs (associatePublicIpAddress) without declaring "
     "it: set vpc-flow-logs:publicHosts (which tags it Exposure=public), or keep the hosts private."),
    (resource(SUBNET, "undeclared-subnet", {"mapPublicIpOnLaunch": True, "tags": TAGS}),
     "aws:ec2/subnet:Subnet 'undeclared-subnet' gives hosts public IPs (mapPublicIpOnLaunch) without declaring "
     "it: set vpc-flow-logs:publicHosts (which tags it Exposure=public), or keep the hosts private."),
], ids=["instance", "subnet"])
def test_undeclared_public_ips_fail(pack, culprit, message):
    assert_flags(pack, "public-exposure-declared", [culprit], culprit, message=message)


# alarm-topic-encrypted

def topic_key_policy(actions: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": actions,
         "Resource": "*"}]})


def encrypted_topic(actions: list[str]) -> list[dict]:
    key = resource(KMS_KEY, "alerts-key", {"policy": topic_key_policy(actions), "tags": TAGS})
    topic = resource(TOPIC, "alerts", {"kmsMasterKeyId": UNKNOWN, "tags": TAGS},
                     dependencies={"kmsMasterKeyId": [key["urn"]]})
    return [key, topic]


def test_topic_under_a_key_alarms_may_use_passes_with_the_arn_still_unknown(pack):
    assert violations_of(pack, "alarm-topic-encrypted", encrypted_topic(["kms:Decrypt", "kms:GenerateDataKey*"])) \
        == []


@pytest.mark.parametrize("key_id", [None, "alias/aws/sns"], ids=["unencrypted", "aws-managed-key"])
def test_topic_without_a_key_of_the_stack_fails(pack, key_id):
    culprit = resource(TOPIC, "alerts", {"tags": TAGS, **({"kmsMasterKeyId": key_id} if key_id else {})})
    assert_flags(pack, "alarm-topic-encrypted", [culprit], culprit,
                 message="aws:sns/topic:Topic 'alerts' is not encrypted with a key this stack manages: set "
                         "vpc-flow-logs:encryptAlarmTopic to true (alias/aws/sns would not let alarms publish).")


@pytest.mark.parametrize("granted, missing", [
    (["kms:Decrypt"], "kms:GenerateDataKey"),
    (["kms:DescribeKey"], "kms:Decrypt, kms:GenerateDataKey"),
], ids=["no-data-key", "neither"])
def test_topic_whose_key_does_not_let_alarms_publish_fails(pack, granted, missing):
    resources = encrypted_topic(granted)
    assert_flags(pack, "alarm-topic-encrypted", resources, resources[-1],
                 message="aws:sns/topic:Topic 'alerts' is encrypted with aws:kms/key:Key 'alerts-key', whose policy "
                         f"does not let cloudwatch.amazonaws.com call {missing}: alarms could not publish to it.")


# security-group-rules-described

def test_described_rules_pass(pack):
    described = [ingress_rule("ssh-in", 22, "203.0.113.0/24"), security_group("web-sg", [inline_entry(80, "::/0")]),
                 legacy_rule("legacy", "egress", 443, "0.0.0.0/0")]
    assert violations_of(pack, "security-group-rules-described", described) == []


@pytest.mark.parametrize("culprit", [
    ingress_rule("bare", 22, "203.0.113.0/24", description=" "),
    security_group("inline-ingress", [inline_entry(80, "10.0.0.0/8", description=None)]),
    security_group("inline-egress", [], [inline_entry(443, "0.0.0.0/0", description="")]),
    legacy_rule("legacy", "egress", 443, "0.0.0.0/0", description=""),
], ids=lambda r: r["name"])
def test_undescribed_rule_fails(pack, culprit):
    assert_flags(pack, "security-group-rules-described", [culprit], culprit)


def test_undescribed_rules_are_counted_in_the_message(pack):
    culprit = security_group("two-bare", [inline_entry(80, "10.0.0.0/8", description=None),
                                          inline_entry(22, "10.0.0.0/8")],
                             [inline_entry(443, "0.0.0.0/0", description=" ")])
    assert_flags(pack, "security-group-rules-described", [culprit], culprit,
                 message="aws:ec2/securityGroup:SecurityGroup 'two-bare' has 2 rule(s) without a description: give "
                         "every rule a description that says who needs it and why.")


# default-security-group-closed

def test_adopted_and_empty_default_group_passes(pack):
    network = vpc()
    assert violations_of(pack, "default-security-group-closed", [network, default_group(network["urn"])]) == []


def test_vpc_whose_default_group_is_not_adopted_fails(pack):
    network = vpc()
    assert_flags(pack, "default-security-group-closed", [network], network,
                 message="aws:ec2/vpc:Vpc 'vpc' leaves its default security group unmanaged, with AWS's allow-all "
                         "rules: adopt it with aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id) and no ingress or egress.")


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_default_group_with_inline_rules_fails(pack, direction):
    network = vpc()
    culprit = default_group(network["urn"], **{direction: [inline_entry(443, "0.0.0.0/0")]})
    assert_flags(pack, "default-security-group-closed", [network, culprit], culprit,
                 message="aws:ec2/defaultSecurityGroup:DefaultSecurityGroup 'default-sg' declares rules: remove "
                         "every ingress and egress entry, so nothing launched into it by default can talk.")


def test_rule_added_to_the_default_group_fails(pack):
    network = vpc()
    group = default_group(network["urn"])
    culprit = ingress_rule("into-default", 443, "10.0.0.0/8", group_urn=group["urn"])
    assert_flags(pack, "default-security-group-closed", [network, group, culprit], culprit,
                 message="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'into-default' adds a rule to "
                         "the default security group 'default-sg': attach it to a dedicated security group instead.")


# required-tags

def test_tagged_resources_pass(pack):
    assert violations_of(pack, "required-tags", compliant_stack()) == []


@pytest.mark.parametrize("tags, missing", [
    ({"Project": "vpc-flow-logs"}, "Environment"),
    ({"Environment": "test"}, "Project"),
    (None, "Project, Environment"),
], ids=["no-environment", "no-project", "no-tags"])
def test_resource_missing_a_required_tag_fails(pack, tags, missing):
    culprit = resource("aws:ec2/subnet:Subnet", "subnet", {"cidrBlock": "10.0.0.0/24", "tags": tags})
    assert_flags(pack, "required-tags", [culprit], culprit,
                 message=f"aws:ec2/subnet:Subnet 'subnet' lacks the tag(s) {missing}: pass it the settings' "
                         "base_tags (tags=settings.base_tags).")


def test_untaggable_resources_are_not_asked_for_tags(pack):
    untaggable = [resource("aws:cloudwatch/dashboard:Dashboard", "dashboard", {"dashboardBody": "{}"}),
                  resource("aws:iam/rolePolicy:RolePolicy", "policy", {"policy": permissions()})]
    assert violations_of(pack, "required-tags", untaggable) == []


def rule_module(name: str):
    """A rule module as the pack imports it, from its own directory."""
    sys.path.insert(0, str(PACK))
    try:
        return importlib.import_module(f"rules.{name}")
    finally:
        sys.path.remove(str(PACK))


def accepts_tags(type_token: str) -> bool:
    """Whether pulumi-aws's resource class for a type token takes `tags`."""
    _, module_path, class_name = type_token.split(":")
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    return "tags" in getattr(module, class_name)._internal_init.__code__.co_varnames


def test_taggable_types_are_those_the_sdk_tags():
    taggable = rule_module("tags").TAGGABLE_TYPES
    assert [t for t in taggable if not accepts_tags(t)] == []
    assert not accepts_tags("aws:cloudwatch/dashboard:Dashboard")


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_type_the_program_registers_is_checked(rendered, stack):
    registered = {r.type for r in rendered(stack).registrations if r.type.startswith("aws:")}
    unchecked = {t for t in registered if accepts_tags(t)} - rule_module("tags").TAGGABLE_TYPES
    assert unchecked == set()


# unknown values

def test_unknown_input_leaves_a_resource_rule_undecided_not_silent(analyzer_pack):
    flow = delivery(traffic_type=UNKNOWN)
    (violation,) = violations_of(analyzer_pack, "flow-log-captures-rejects", flow.resources)
    assert (violation.enforcement, violation.urn, violation.unknown) == ("mandatory", flow.flow_log["urn"],
                                                                         ".trafficType")
    assert "cannot be decided at preview" in violation.message


def test_unknown_input_leaves_a_stack_rule_undecided_not_silent(analyzer_pack):
    flow = delivery(trust_policy=UNKNOWN)
    (violation,) = violations_of(analyzer_pack, "flow-log-role-least-privilege", flow.resources)
    assert (violation.enforcement, violation.urn, violation.unknown) == ("mandatory", flow.role["urn"],
                                                                         ".assumeRolePolicy"), violation
    assert "cannot be decided at preview" in violation.message


# enforcement from Configure

def test_configure_sets_levels_and_properties():
    config = {"all": "advisory", "log-group-encrypted": "mandatory", "log-group-protected": "disabled",
              "log-group-retention": {"minimumRetentionDays": 365}}
    with PolicyPackSession(PACK, "test", policy_config=config) as session:
        levels = {p.name: p.enforcement for p in session.info()}
        assert (levels["log-group-encrypted"], levels["log-group-protected"], levels["log-group-retention"]) \
            == ("mandatory", "disabled", "advisory")
        group = log_group(kmsKeyId=None, protect=False, retentionInDays=30)
        found = {(v.policy, v.enforcement) for v in session.analyze([group])}
        assert found == {("log-group-encrypted", "mandatory"), ("log-group-retention", "advisory")}
        assert violations_of(session, "log-group-retention", [log_group(retentionInDays=400)]) == []


@pytest.mark.parametrize("config, error", [
    ({"log-group-retention": {"minimumRetentionDays": 0}}, "log-group-retention: 0 is less than the minimum of 1"),
    ({"no-such-rule": {"threshold": 1}}, "no-such-rule"),
    ({"all": "strict"}, "'strict' is not one of advisory, mandatory, remediate, disabled"),
    ({"required-tags": 1}, "must be a string or object"),
], ids=["below-schema-minimum", "unknown-rule-without-level", "bad-level", "bad-value"])
def test_invalid_config_is_refused_before_analysis(config, error):
    with pytest.raises(PolicyPackError, match=re.escape(error)):
        with PolicyPackSession(PACK, "test", policy_config=config):
            pass


@pytest.fixture(scope="module")
def stack_packs():
    """A session per `policies/config/<stack>.json`, as `make check` and the CLI configure it."""
    sessions = {path.stem: PolicyPackSession(PACK, path.stem, policy_config=load_policy_config(path))
                for path in sorted((PACK / "config").glob("*.json"))}
    with ExitStack() as cleanup:
        for session in sessions.values():
            cleanup.callback(session.close)
        with ThreadPoolExecutor() as pool:
            list(pool.map(PolicyPackSession.__enter__, sessions.values()))
        yield sessions


def test_every_stack_has_a_policy_config(stack_packs):
    assert set(stack_packs) == set(ADVISORY_BY_STACK)


@pytest.mark.parametrize("stack", sorted(ADVISORY_BY_STACK))
def test_stack_config_sets_the_documented_levels(stack_packs, stack):
    levels = {p.name: p.enforcement for p in stack_packs[stack].info()}
    assert {name for name, level in levels.items() if level == "advisory"} == ADVISORY_BY_STACK[stack]
    assert {name for name, level in levels.items() if level != "advisory"} == ALL_RULES - ADVISORY_BY_STACK[stack]
    assert set(levels.values()) == {"advisory", "mandatory"}


@pytest.mark.parametrize("stack", sorted(MINIMUM_RETENTION_BY_STACK))
def test_stack_config_sets_the_retention_minimum(stack_packs, stack):
    minimum = MINIMUM_RETENTION_BY_STACK[stack]
    assert violations_of(stack_packs[stack], "log-group-retention", [log_group(retentionInDays=minimum)]) == []
    if minimum > 1:
        (violation,) = violations_of(stack_packs[stack], "log-group-retention",
                                     [log_group(retentionInDays=minimum - 1)])
        assert violation.enforcement == "mandatory" and str(minimum) in violation.message


def readme_levels() -> dict[str, dict[str, str]]:
    """The lab/dev/prod columns of the README's rule table."""
    rules_section = (PACK / "README.md").read_text().split("\n## Rules\n", 1)[1]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|[^|]*\| (\w+)[^|]* \| (\w+)[^|]* \| (\w+)[^|]* \|",
                      rules_section, re.MULTILINE)
    return {name: {"lab": lab, "dev": dev, "prod": prod} for name, lab, dev, prod in rows}


def test_readme_table_matches_the_configs(stack_packs):
    documented = readme_levels()
    assert set(documented) == ALL_RULES
    for stack in ("lab", "dev", "prod"):
        actual = {p.name: p.enforcement for p in stack_packs[stack].info()}
        assert {name: levels[stack] for name, levels in documented.items()} == actual, stack


def test_load_policy_config_refuses_a_bad_level(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"log-group-retention": {"enforcementLevel": "warn"}}))
    with pytest.raises(PolicyPackError, match=r"bad\.json.*'warn' is not one of"):
        load_policy_config(path)


# the pack's structure

def test_only_main_builds_the_policy_pack():
    builders = sorted(p.relative_to(PACK).as_posix() for p in PACK.rglob("*.py") if "PolicyPack(" in p.read_text())
    assert builders == ["__main__.py"]


def test_rule_modules_import_without_serving():
    """Importing every rule module returns at once (a PolicyPack would serve forever) with all the rules."""
    script = ("import importlib, pkgutil, rules\n"
              "names = [p.name for m in pkgutil.iter_modules(rules.__path__)\n"
              "         for p in getattr(importlib.import_module('rules.' + m.name), 'POLICIES', [])]\n"
              "print(' '.join(names))")
    result = subprocess.run([sys.executable, "-c", script], cwd=PACK, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    names = result.stdout.split()
    assert sorted(names) == sorted(ALL_RULES)


# the client's failures

def write_pack(directory: Path, main: str) -> Path:
    (directory / "__main__.py").write_text(textwrap.dedent(main))
    return directory


def test_pack_that_fails_to_start_raises_with_its_output(tmp_path):
    broken = write_pack(tmp_path, "raise ImportError('no module named rules_that_moved')\n")
    with pytest.raises(PolicyPackError, match=r"(?s)did not start.*exited with code 1.*rules_that_moved"):
        with PolicyPackSession(broken, "test"):
            pass


def test_pack_that_never_prints_a_port_times_out(tmp_path):
    silent = write_pack(tmp_path, """\
        import sys, time
        print("warming up", file=sys.stderr, flush=True)
        time.sleep(60)
        """)
    with pytest.raises(PolicyPackError, match=r"(?s)printed no port within 5 s.*was stopped.*warming up"):
        with PolicyPackSession(silent, "test", startup_timeout=5):
            pass


def test_pack_that_dies_mid_session_raises():
    with PolicyPackSession(PACK, "test") as session:
        session._process.kill()
        with pytest.raises(PolicyPackError, match=r"(?s)stopped answering during Analyze.*exited with code -9"):
            session.analyze([vpc()])


def test_what_the_pack_logs_to_the_engine_is_kept_and_errors_fail_the_analysis():
    with PolicyPackSession(PACK, "test") as session, grpc.insecure_channel(session.engine_address) as channel:
        engine = engine_pb2_grpc.EngineStub(channel)
        engine.Log(engine_pb2.LogRequest(severity=engine_pb2.INFO, message="checked 3 groups"))
        assert "info: checked 3 groups" in session.logs
        assert session.analyze([log_group()]) == []
        engine.Log(engine_pb2.LogRequest(severity=engine_pb2.ERROR, message="rule crashed"))
        with pytest.raises(PolicyPackError, match="error: rule crashed"):
            session.analyze([log_group()])


# athena-workgroup-results-encrypted

def test_enforced_workgroup_with_encrypted_results_passes(pack):
    assert violations_of(pack, "athena-workgroup-results-encrypted", [workgroup()]) == []


@pytest.mark.parametrize("culprit, message", [
    (workgroup(enforce=False),
     "aws:athena/workgroup:Workgroup 'workgroup' does not enforce its configuration (enforceWorkgroupConfiguration), "
     "so a client can send results elsewhere."),
    (workgroup(encryption=None),
     "aws:athena/workgroup:Workgroup 'workgroup' encrypts results with 'None', not one of SSE_S3, SSE_KMS, CSE_KMS."),
    (workgroup(enforce=False, encryption=None),
     "aws:athena/workgroup:Workgroup 'workgroup' does not enforce its configuration (enforceWorkgroupConfiguration), "
     "so a client can send results elsewhere; and encrypts results with 'None', not one of SSE_S3, SSE_KMS, "
     "CSE_KMS."),
], ids=["not enforced", "unencrypted", "both"])
def test_workgroup_that_lets_results_leave_unencrypted_fails(pack, culprit, message):
    assert_flags(pack, "athena-workgroup-results-encrypted", [culprit], culprit, message=message)


# glue-table-matches-log-format

def test_glue_table_with_the_default_formats_columns_passes(pack):
    assert violations_of(pack, "glue-table-matches-log-format", s3_parquet_delivery(DEFAULT_COLUMNS)) == []


def test_glue_table_with_a_custom_formats_columns_passes(pack):
    resources = s3_parquet_delivery(["srcaddr", "dstaddr", "vpc_id"], log_format="${srcaddr} ${dstaddr} ${vpc-id}")
    assert violations_of(pack, "glue-table-matches-log-format", resources) == []


@pytest.mark.parametrize("columns", [
    DEFAULT_COLUMNS[:-1],
    [DEFAULT_COLUMNS[1], DEFAULT_COLUMNS[0], *DEFAULT_COLUMNS[2:]],
    [*DEFAULT_COLUMNS, "vpc_id"],
], ids=["missing", "reordered", "extra"])
def test_glue_table_whose_columns_differ_from_the_format_fails(pack, columns):
    resources = s3_parquet_delivery(columns)
    table = resources[-1]
    violation = assert_flags(pack, "glue-table-matches-log-format", resources, table)
    assert "'s3-flow-log'" in violation.message, violation.message


def test_glue_table_message_lists_both_column_orders_and_the_fix(pack):
    resources = s3_parquet_delivery(["srcaddr", "vpc_id"], log_format="${srcaddr} ${dstaddr} ${vpc-id}")
    assert_flags(pack, "glue-table-matches-log-format", resources, resources[-1],
                 message="aws:glue/catalogTable:CatalogTable 'records-table' reads bucket 'records', where flow log "
                         "'s3-flow-log' writes records with the columns [srcaddr, dstaddr, vpc_id], but its columns "
                         "are [srcaddr, vpc_id]. Build the columns from the flow log's fields "
                         "(components.athena.glue_columns), in logFormat order.")
# metric-filter-matches-log-format (the generated filters' cases are with the monitoring tests)

def metric_filter(group: dict, pattern: str) -> dict:
    return resource(METRIC_FILTER, "rejects", {"logGroupName": "/vpc-flow-logs/test", "pattern": pattern,
                                               "metricTransformation": {"name": "RejectedFlows", "value": "1"}},
                    dependencies={"logGroupName": [group["urn"]]})


DEFAULT_PATTERN_NAMES = ("version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, "
                         "bytes, start, end, action, log_status")


def test_metric_filter_naming_the_default_fields_passes(pack):
    flow = delivery()
    filter_ = metric_filter(flow.group, f"[{DEFAULT_PATTERN_NAMES.replace('action', 'action=REJECT')}]")
    assert violations_of(pack, "metric-filter-matches-log-format", [*flow.resources, filter_]) == []


@pytest.mark.parametrize("pattern, difference", [
    (f"[{DEFAULT_PATTERN_NAMES.replace('account_id, ', '')}]",
     "field 2 of the records is 'account-id', but the pattern names 'interface_id' there"),
    (f"[{DEFAULT_PATTERN_NAMES}, vpc_id]", "the pattern names 15 fields, the records have 14"),
], ids=["missing-field", "extra-field"])
def test_metric_filter_message_names_the_difference_and_the_fields_in_order(pack, pattern, difference):
    flow = delivery()
    culprit = metric_filter(flow.group, pattern)
    assert_flags(pack, "metric-filter-matches-log-format", [*flow.resources, culprit], culprit,
                 message="aws:cloudwatch/logMetricFilter:LogMetricFilter 'rejects' does not fit the records that "
                         f"flow log 'flow-log' writes into log group 'group': {difference}. Name every field of the "
                         "format, in order: [version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, "
                         "protocol, packets, bytes, start, end, action, log_status], with conditions on the fields "
                         "that matter; generate the pattern from the format (flowlogs.patterns) rather than by "
                         "hand.")


# flow-log buckets

BUCKET_RULES = {
    "bucket-public-access-blocked": "publicAccessBlock",
    "bucket-encrypted": "encryption",
    "bucket-expires-objects": "lifecycle",
    "bucket-versioned": "versioning",
    "bucket-aborts-incomplete-uploads": "lifecycle",
}


def the_bucket(resources: list[dict]) -> dict:
    (bucket,) = [r for r in resources if r["type"] == "aws:s3/bucket:Bucket"]
    return bucket


@pytest.mark.parametrize("rule", [*BUCKET_RULES, "bucket-tls-only", "flow-log-bucket-delivery-scoped"])
def test_hardened_flow_log_bucket_passes(pack, rule):
    assert violations_of(pack, rule, s3_delivery()) == []


@pytest.mark.parametrize("rule, part, message", [
    ("bucket-public-access-blocked", "publicAccessBlock",
     "aws:s3/bucket:Bucket 'flow-logs-bucket' has no BucketPublicAccessBlock with all four "
     "settings true: add one (blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets)."),
    ("bucket-encrypted", "encryption",
     "aws:s3/bucket:Bucket 'flow-logs-bucket' has no default encryption: add a "
     "BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms (the stack's log key) or AES256."),
    ("bucket-expires-objects", "lifecycle",
     "aws:s3/bucket:Bucket 'flow-logs-bucket' has no enabled lifecycle rule that expires "
     "objects: add a BucketLifecycleConfiguration rule with expiration.days (a flow-log bucket's retentionDays; "
     "query results a week)."),
    ("bucket-versioned", "versioning",
     "aws:s3/bucket:Bucket 'flow-logs-bucket' is not versioned: add a BucketVersioning with "
     "versioningConfiguration.status Enabled."),
    ("bucket-aborts-incomplete-uploads", "lifecycle",
     "aws:s3/bucket:Bucket 'flow-logs-bucket' keeps the parts of abandoned multipart uploads, which cost storage: "
     "add an enabled lifecycle rule with abortIncompleteMultipartUpload.daysAfterInitiation "
     "(components.bucket_baseline does)."),
], ids=["public-access-blocked", "encrypted", "expires-records", "versioned", "aborts-incomplete-uploads"])
def test_flow_log_bucket_missing_its_hardening_fails(pack, rule, part, message):
    resources = s3_delivery(without=(part,))
    assert_flags(pack, rule, resources, the_bucket(resources), message=message)


@pytest.mark.parametrize("rule, part, inputs", [
    ("bucket-public-access-blocked", "publicAccessBlock",
     {"blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True, "restrictPublicBuckets": True}),
    ("bucket-expires-objects", "lifecycle", {"rules": [{"id": "off", "status": "Disabled",
                                                                 "expiration": {"days": 30}}]}),
    ("bucket-versioned", "versioning", {"versioningConfiguration": {"status": "Suspended"}}),
    ("bucket-aborts-incomplete-uploads", "lifecycle", {"rules": [{"id": "expire", "status": "Enabled",
                                                                  "expiration": {"days": 30}}]}),
    ("bucket-aborts-incomplete-uploads", "lifecycle", {"rules": [
        {"id": "off", "status": "Disabled", "expiration": {"days": 30},
         "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}),
])
def test_flow_log_bucket_hardening_switched_off_fails(pack, rule, part, inputs):
    resources = s3_delivery(**{part: inputs})
    assert_flags(pack, rule, resources, the_bucket(resources))


def test_flow_log_bucket_without_a_tls_deny_fails(pack):
    resources = s3_delivery(policy={"policy": bucket_policy_document(tls_deny=False)})
    assert_flags(pack, "bucket-tls-only", resources, the_bucket(resources),
                 message="aws:s3/bucket:Bucket 'flow-logs-bucket' accepts requests without "
                         "TLS: add a bucket policy statement denying s3:* when aws:SecureTransport is false.")


def test_flow_log_bucket_delivery_without_confused_deputy_conditions_fails(pack):
    resources = s3_delivery(policy={"policy": bucket_policy_document(conditions=False)})
    assert_flags(pack, "flow-log-bucket-delivery-scoped", resources, the_bucket(resources),
                 message="aws:s3/bucket:Bucket 'flow-logs-bucket' receives flow logs but its delivery statement "
                         "'AWSLogDeliveryWrite' lacks the aws:SourceAccount and aws:SourceArn condition(s): scope "
                         "it to this account's flow logs.")


def test_flow_log_bucket_without_a_policy_lacks_a_delivery_statement(pack):
    resources = s3_delivery(without=("policy",))
    assert_flags(pack, "flow-log-bucket-delivery-scoped", resources, the_bucket(resources),
                 message="aws:s3/bucket:Bucket 'flow-logs-bucket' receives flow logs but its policy has no statement "
                         "letting delivery.logs.amazonaws.com deliver: add AWS's delivery statements.")


def beside_a_bucket_encrypted_with(algorithm: str, resources: list[dict]) -> tuple[list[dict], dict]:
    """`resources` and a second created bucket, `results`, encrypted by default with `algorithm`."""
    results = resource("aws:s3/bucket:Bucket", "results", {"tags": TAGS})
    encryption = bucket_part(results, "aws:s3/bucketServerSideEncryptionConfiguration:"
                             "BucketServerSideEncryptionConfiguration", "results-encryption",
                             {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]})
    return [*resources, results, encryption], results


def test_a_bucket_on_sse_s3_beside_one_on_the_stacks_kms_key_fails_with_the_reason(pack):
    resources, results = beside_a_bucket_encrypted_with("AES256", s3_delivery(encryption={"rules": [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "key"}}]}))
    assert_flags(pack, "bucket-encrypted-with-stack-key", resources, results,
                 message="aws:s3/bucket:Bucket 'results' is encrypted with SSE-S3 (AES256) although the stack "
                         "encrypts bucket 'flow-logs-bucket' with its KMS key: give it the same key (kms_key_arn). "
                         "Without a stack key (no logKmsKeyArn, no createLogKmsKey) every bucket uses SSE-S3 on "
                         "purpose.")


@pytest.mark.parametrize("first, second", [("AES256", "AES256"), ("aws:kms", "aws:kms"), ("aws:kms", "aws:kms:dsse")])
def test_buckets_all_on_sse_s3_or_all_on_kms_pass_the_stack_key_rule(pack, first, second):
    resources, _ = beside_a_bucket_encrypted_with(second, s3_delivery(encryption={"rules": [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": first}}]}))
    assert violations_of(pack, "bucket-encrypted-with-stack-key", resources) == []


def without_flow_log(resources: list[dict]) -> list[dict]:
    return [r for r in resources if r["type"] != "aws:ec2/flowLog:FlowLog"]


@pytest.mark.parametrize("rule", BUCKET_RULES)
def test_a_bucket_no_flow_log_delivers_into_is_judged_by_the_baseline_too(pack, rule):
    resources = without_flow_log(s3_delivery(without=(BUCKET_RULES[rule],)))
    assert_flags(pack, rule, resources, the_bucket(resources))


def test_a_bucket_no_flow_log_delivers_into_has_no_delivery_to_scope(pack):
    resources = without_flow_log(s3_delivery(without=("policy",)))
    assert violations_of(pack, "flow-log-bucket-delivery-scoped", resources) == []


# transit-gateway-flow-log-interval

def tgw_flow_log(interval: int) -> dict:
    flow = delivery().flow_log
    inputs = {key: value for key, value in flow["inputs"].items() if key not in ("vpcId", "trafficType")}
    return {**flow, "inputs": {**inputs, "transitGatewayId": "tgw-0123456789abcdef0",
                               "maxAggregationInterval": interval}}


def test_transit_gateway_flow_log_at_60_seconds_passes(pack):
    assert violations_of(pack, "transit-gateway-flow-log-interval", [tgw_flow_log(60)]) == []


def test_transit_gateway_flow_log_at_600_seconds_fails(pack):
    flow_log = tgw_flow_log(600)
    assert "aggregationInterval" in assert_flags(pack, "transit-gateway-flow-log-interval", [flow_log],
                                                 flow_log).message


def test_transit_gateway_interval_message_names_the_interval_and_the_setting(pack):
    flow_log = tgw_flow_log(600)
    assert_flags(pack, "transit-gateway-flow-log-interval", [flow_log], flow_log,
                 message="aws:ec2/flowLog:FlowLog 'flow-log' logs a transit gateway with maxAggregationInterval "
                         "600: AWS takes only 60 for transit gateways; set vpc-flow-logs:aggregationInterval to 60.")


def test_transit_gateway_flow_log_without_a_traffic_type_is_not_a_missed_reject(pack):
    assert violations_of(pack, "flow-log-captures-rejects", [tgw_flow_log(60)]) == []
