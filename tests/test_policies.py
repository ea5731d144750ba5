"""Each rule of the pack, compliant and violating, through the real analyzer protocol."""

from __future__ import annotations

import importlib
import sys

import pulumi_aws
import pytest

from tests.conftest import REPO_ROOT
from tests.policy_fixtures import (GROUP_ARN, TAGS, delivery, ingress_rule, instance, permissions, resource,
                                   security_group, trust, urn, vpc)
from tools.analyzer import PolicyPackSession, Violation

PACK = REPO_ROOT / "policies"
ALL_RULES = {
    "vpc-flow-logs-enabled", "flow-log-captures-rejects", "flow-log-replaced-not-updated",
    "flow-log-role-least-privilege", "log-group-retention", "log-group-encrypted", "log-group-protected",
    "ssh-not-open-to-world", "http-open-to-world", "ec2-imdsv2-required", "ec2-root-volume-encrypted",
    "security-group-rules-described", "default-security-group-closed", "required-tags",
    "metric-filter-matches-log-format",
}


@pytest.fixture(scope="module")
def pack():
    with PolicyPackSession(PACK, "test", policy_config={"all": "mandatory"}) as session:
        yield session


def found(session: PolicyPackSession, rule: str, resources: list[dict]) -> list[Violation]:
    return [v for v in session.analyze(resources) if v.policy == rule]


def assert_flags(session, rule: str, resources: list[dict], culprit_urn: str) -> None:
    violations = found(session, rule, resources)
    assert [v.urn for v in violations] == [culprit_urn], violations
    assert violations[0].enforcement == "mandatory" and violations[0].message


def assert_clean(session, rule: str, resources: list[dict]) -> None:
    assert found(session, rule, resources) == []


def test_pack_lists_every_rule_with_its_enforcement(pack):
    info = {policy.name: policy for policy in pack.info()}
    assert set(info) == ALL_RULES
    assert all(policy.enforcement == "mandatory" and policy.description for policy in info.values())


# vpc-flow-logs-enabled

def test_vpc_with_a_referencing_flow_log_passes(pack):
    assert_clean(pack, "vpc-flow-logs-enabled", delivery())


def test_vpc_named_but_not_referenced_by_a_flow_log_fails(pack):
    resources = delivery(linked_to_vpc=False)
    assert_flags(pack, "vpc-flow-logs-enabled", resources, resources[0]["urn"])


# flow-log-captures-rejects

@pytest.mark.parametrize("traffic_type", ["ALL", "REJECT"])
def test_flow_log_recording_rejects_passes(pack, traffic_type):
    assert_clean(pack, "flow-log-captures-rejects", delivery(traffic_type=traffic_type))


def test_flow_log_recording_only_accepts_fails(pack):
    resources = delivery(traffic_type="ACCEPT")
    assert_flags(pack, "flow-log-captures-rejects", resources, resources[-1]["urn"])


# flow-log-replaced-not-updated

def test_delete_before_replace_flow_log_passes(pack):
    assert_clean(pack, "flow-log-replaced-not-updated", delivery())


def test_flow_log_updated_in_place_fails(pack):
    resources = delivery(delete_before_replace=False)
    assert_flags(pack, "flow-log-replaced-not-updated", resources, resources[-1]["urn"])


# flow-log-role-least-privilege

def test_scoped_role_passes(pack):
    assert_clean(pack, "flow-log-role-least-privilege", delivery())


@pytest.mark.parametrize("resources", [
    delivery(trust_policy=trust(conditions=False)),
    delivery(trust_policy=trust(principal={"Service": ["vpc-flow-logs.amazonaws.com", "ec2.amazonaws.com"]})),
    delivery(trust_policy=trust(principal={"AWS": "*"})),
    delivery(policy=permissions(resource_arn="*")),
    delivery(policy=permissions(actions=["logs:*"])),
    delivery(policy=permissions(actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])),
], ids=["no-conditions", "second-service", "any-principal", "star-resource", "star-action", "create-log-group"])
def test_role_broader_than_delivery_fails(pack, resources):
    violations = found(pack, "flow-log-role-least-privilege", resources)
    role_urn = urn("aws:iam/role:Role", "role")
    assert violations and {v.urn for v in violations} == {role_urn}, violations


# log groups

def group(**inputs) -> dict:
    protect = inputs.pop("protect", False)
    return resource("aws:cloudwatch/logGroup:LogGroup", "group", {"tags": TAGS, **inputs}, protect=protect)


def test_group_with_retention_passes(pack):
    assert_clean(pack, "log-group-retention", [group(retentionInDays=7)])


@pytest.mark.parametrize("inputs", [{}, {"retentionInDays": 0}])
def test_group_that_never_expires_fails(pack, inputs):
    assert_flags(pack, "log-group-retention", [group(**inputs)], urn("aws:cloudwatch/logGroup:LogGroup", "group"))


def test_retention_minimum_is_configurable():
    config = {"all": "mandatory", "log-group-retention": {"minimumRetentionDays": 365}}
    with PolicyPackSession(PACK, "test", policy_config=config) as session:
        violations = found(session, "log-group-retention", [group(retentionInDays=30)])
        assert len(violations) == 1 and "365" in violations[0].message
        assert_clean(session, "log-group-retention", [group(retentionInDays=400)])


def test_encrypted_group_passes(pack):
    assert_clean(pack, "log-group-encrypted", [group(kmsKeyId="arn:aws:kms:ap-northeast-1:1:key/k")])


def test_unencrypted_group_fails(pack):
    assert_flags(pack, "log-group-encrypted", [group()], urn("aws:cloudwatch/logGroup:LogGroup", "group"))


def test_protected_group_passes(pack):
    assert_clean(pack, "log-group-protected", [group(protect=True)])


def test_unprotected_group_fails(pack):
    assert_flags(pack, "log-group-protected", [group()], urn("aws:cloudwatch/logGroup:LogGroup", "group"))


# ssh / http

def test_ssh_from_a_narrow_range_passes(pack):
    assert_clean(pack, "ssh-not-open-to-world", [ingress_rule("ssh", 22, "203.0.113.0/24")])


@pytest.mark.parametrize("culprit", [
    ingress_rule("ssh-v4", 22, "0.0.0.0/0"),
    ingress_rule("ssh-v6", 22, "::/0"),
    ingress_rule("range", 0, "0.0.0.0/0", to_port=1024),
    ingress_rule("all-protocols", -1, "0.0.0.0/0", protocol="-1"),
    security_group("inline", [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"],
                               "description": "ssh"}]),
    resource("aws:ec2/securityGroupRule:SecurityGroupRule", "legacy",
             {"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"],
              "securityGroupId": "sg-0123", "description": "ssh"}),
], ids=lambda r: r["name"])
def test_ssh_from_the_world_fails(pack, culprit):
    assert_flags(pack, "ssh-not-open-to-world", [culprit], culprit["urn"])


def test_http_from_a_range_passes(pack):
    assert_clean(pack, "http-open-to-world", [ingress_rule("http", 80, "10.0.0.0/8")])


def test_http_from_the_world_is_reported(pack):
    culprit = ingress_rule("http", 80, "0.0.0.0/0")
    assert_flags(pack, "http-open-to-world", [culprit], culprit["urn"])


# instances

def test_hardened_instance_passes(pack):
    assert_clean(pack, "ec2-imdsv2-required", [instance("host")])
    assert_clean(pack, "ec2-root-volume-encrypted", [instance("host")])


def test_imdsv1_instance_fails(pack):
    culprit = instance("host", http_tokens="optional")
    assert_flags(pack, "ec2-imdsv2-required", [culprit], culprit["urn"])


def test_unencrypted_root_volume_fails(pack):
    culprit = instance("host", encrypted=False)
    assert_flags(pack, "ec2-root-volume-encrypted", [culprit], culprit["urn"])


# security-group-rules-described

def test_described_rules_pass(pack):
    assert_clean(pack, "security-group-rules-described", [ingress_rule("ssh", 22, "203.0.113.0/24")])


@pytest.mark.parametrize("culprit", [
    ingress_rule("bare", 22, "203.0.113.0/24", description=""),
    security_group("inline", [{"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["10.0.0.0/8"]}]),
], ids=lambda r: r["name"])
def test_undescribed_rule_fails(pack, culprit):
    assert_flags(pack, "security-group-rules-described", [culprit], culprit["urn"])


# default-security-group-closed

def default_group(vpc_urn: str, **inputs) -> dict:
    return resource("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg",
                    {"vpcId": "vpc-0123", "tags": TAGS, **inputs}, dependencies={"vpcId": [vpc_urn]})


def test_adopted_and_empty_default_group_passes(pack):
    network = vpc()
    assert_clean(pack, "default-security-group-closed", [network, default_group(network["urn"])])


def test_unadopted_default_group_fails(pack):
    network = vpc()
    assert_flags(pack, "default-security-group-closed", [network], network["urn"])


def test_default_group_with_rules_fails(pack):
    network = vpc()
    culprit = default_group(network["urn"], egress=[{"protocol": "-1", "fromPort": 0, "toPort": 0,
                                                     "cidrBlocks": ["0.0.0.0/0"]}])
    assert_flags(pack, "default-security-group-closed", [network, culprit], culprit["urn"])


# required-tags

def test_tagged_resource_passes(pack):
    assert_clean(pack, "required-tags", [vpc()])


def test_resource_missing_environment_tag_fails(pack):
    culprit = resource("aws:ec2/vpc:Vpc", "untagged", {"tags": {"Project": "vpc-flow-logs"}})
    assert_flags(pack, "required-tags", [culprit], culprit["urn"])


def test_untaggable_resource_is_not_asked_for_tags(pack):
    assert_clean(pack, "required-tags", [resource("aws:iam/rolePolicy:RolePolicy", "p", {"policy": "{}"})])


def taggable_types() -> frozenset[str]:
    sys.path.insert(0, str(PACK))
    try:
        return importlib.import_module("rules.tags").TAGGABLE_TYPES
    finally:
        sys.path.remove(str(PACK))


def sdk_class(type_token: str):
    package, module_path, name = type_token.split(":")
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    return getattr(module, name)


def test_taggable_types_really_accept_tags():
    for type_token in taggable_types():
        assert "tags" in sdk_class(type_token)._internal_init.__code__.co_varnames, type_token


@pytest.mark.parametrize("stack", ["lab", "prod"])
def test_every_tagged_resource_of_the_program_is_known_taggable(rendered, stack):
    tagged = {r.type for r in rendered(stack).registrations if "tags" in r.inputs}
    assert tagged <= taggable_types(), tagged - taggable_types()


# enforcement

def test_configure_turns_a_rule_advisory():
    config = {"all": "mandatory", "log-group-encrypted": "advisory"}
    with PolicyPackSession(PACK, "test", policy_config=config) as session:
        (violation,) = found(session, "log-group-encrypted", [group()])
        assert violation.enforcement == "advisory"


def test_configure_disables_a_rule():
    with PolicyPackSession(PACK, "test", policy_config={"log-group-encrypted": "disabled"}) as session:
        assert_clean(session, "log-group-encrypted", [group()])


def test_policy_pack_is_built_only_in_main():
    builders = [path.relative_to(PACK).as_posix() for path in PACK.rglob("*.py")
                if "PolicyPack(" in path.read_text()]
    assert builders == ["__main__.py"]


def test_rules_import_without_serving():
    sys.path.insert(0, str(PACK))
    try:
        rules = importlib.import_module("rules")
    finally:
        sys.path.remove(str(PACK))
    assert {policy.name for policy in rules.POLICIES} == ALL_RULES
