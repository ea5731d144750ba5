"""Every rule at its edges: a compliant fixture, a violating one, and the boundary between them.

Driven like tests/test_policies.py: hand-built registrations through the analyzer protocol into
the real pack, every rule mandatory; and each test once more with the same rule functions
called in this process (tests/policy_in_process.py), where a mutation run can follow them.
"""

from __future__ import annotations

import json
from contextlib import nullcontext

import pytest

from tests.policy_fixtures import (ACCOUNT, FLOW_LOG, INSTANCE, PACK, ROLE, TAGS, default_group, delivery,
                                   ingress_rule, inline_entry, instance, legacy_rule, log_group, permissions,
                                   replaced, resource, security_group, trust, vpc)
from tests.policy_in_process import InProcessPack
from tools.analyzer import PolicyPackSession

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
SOURCE_CONDITIONS = {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                     "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:ap-northeast-1:{ACCOUNT}:vpc-flow-log/*"}}


def flagged(session: PolicyPackSession, rule: str, resources: list[dict]) -> list[str]:
    """The names of the resources `rule` flags."""
    names = {r["urn"]: r["name"] for r in resources}
    return sorted(names.get(v.urn, v.urn) for v in session.analyze(resources) if v.policy == rule)


def with_inputs(registration: dict, **inputs) -> dict:
    """A copy with some inputs changed; None removes an input."""
    changed = {**registration["inputs"], **inputs}
    return {**registration, "inputs": {k: v for k, v in changed.items() if v is not None}}


def trust_document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: object, conditions: object = SOURCE_CONDITIONS, effect: str = "Allow") -> dict:
    return {"Effect": effect, "Action": "sts:AssumeRole", "Principal": principal, "Condition": conditions}


# flow-log-role-least-privilege: the trust policy

@pytest.mark.parametrize("principal", [
    {"Service": FLOW_LOGS_SERVICE, "AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    {"Service": FLOW_LOGS_SERVICE, "Federated": "cognito-identity.amazonaws.com"},
    {"Service": [FLOW_LOGS_SERVICE, FLOW_LOGS_SERVICE + ".evil"]},
    {"Service": "ec2.amazonaws.com"},
    "*",
], ids=["plus-account", "plus-federated", "plus-look-alike-service", "other-service", "star"])
def test_trust_adding_any_principal_beside_the_service_fails(pack, principal):
    flow = delivery(trust_policy=trust(principal=principal))
    assert flagged(pack, "flow-log-role-least-privilege", flow.resources) == ["role"], principal


@pytest.mark.parametrize("principal", [{"Service": FLOW_LOGS_SERVICE}, {"Service": [FLOW_LOGS_SERVICE]}],
                         ids=["string", "list-of-one"])
def test_trust_of_the_service_alone_passes_in_either_spelling(pack, principal):
    flow = delivery(trust_policy=trust(principal=principal))
    assert flagged(pack, "flow-log-role-least-privilege", flow.resources) == []


def test_a_second_allow_statement_for_another_principal_fails(pack):
    document = trust_document(allow({"Service": FLOW_LOGS_SERVICE}), allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    flow = delivery(trust_policy=document)
    (violation,) = [v for v in pack.analyze(flow.resources) if v.policy == "flow-log-role-least-privilege"]
    assert "not only vpc-flow-logs.amazonaws.com" in violation.message


def test_a_deny_statement_beside_the_service_is_not_a_grant(pack):
    document = trust_document(allow({"Service": FLOW_LOGS_SERVICE}), allow("*", conditions={}, effect="Deny"))
    assert flagged(pack, "flow-log-role-least-privilege", delivery(trust_policy=document).resources) == []


@pytest.mark.parametrize("document", [
    trust_document(allow({"Service": FLOW_LOGS_SERVICE}, effect="Deny")),
    trust_document(),
    "not json",
    json.dumps(["Statement"]),
], ids=["deny-only", "no-statements", "not-json", "not-an-object"])
def test_a_trust_policy_that_allows_nobody_fails(pack, document):
    flow = delivery(trust_policy=document)
    (violation,) = [v for v in pack.analyze(flow.resources) if v.policy == "flow-log-role-least-privilege"]
    assert "allows nobody" in violation.message and violation.urn == flow.role["urn"]


@pytest.mark.parametrize("conditions, missing", [
    ({"StringEquals": {"aws:SourceArn": "x"}}, "aws:SourceAccount"),
    ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, "aws:SourceArn"),
], ids=["only-source-arn", "only-source-account"])
def test_each_confused_deputy_condition_is_required(pack, conditions, missing):
    flow = delivery(trust_policy=trust(conditions=conditions))
    (violation,) = [v for v in pack.analyze(flow.resources) if v.policy == "flow-log-role-least-privilege"]
    assert f"no {missing} condition" in violation.message
    other = "aws:SourceArn" if missing == "aws:SourceAccount" else "aws:SourceAccount"
    assert f"no {other} condition" not in violation.message


# flow-log-role-least-privilege: the permissions

def test_exactly_the_delivery_actions_on_the_groups_streams_pass(pack):
    assert flagged(pack, "flow-log-role-least-privilege", delivery().resources) == []


def test_a_deny_with_wildcards_is_not_a_grant(pack):
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        json.loads(permissions())["Statement"][0],
        {"Effect": "Deny", "Action": "logs:*", "Resource": "*"}]})
    assert flagged(pack, "flow-log-role-least-privilege", delivery(policy=document).resources) == []


@pytest.mark.parametrize("actions, expected", [
    (["logs:CreateLogGroup"], "logs:CreateLogGroup"),
    (["logs:PutLogEvents", "logs:Describe*"], "wildcard action(s) logs:Describe*"),
], ids=["create-log-group-alone", "one-wildcard-among-many"])
def test_one_extra_action_is_enough_to_fail(pack, actions, expected):
    flow = delivery(policy=permissions(actions=actions))
    (violation,) = [v for v in pack.analyze(flow.resources) if v.policy == "flow-log-role-least-privilege"]
    assert expected in violation.message


def test_star_among_several_resources_fails(pack):
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": ["arn:aws:logs:::log-group:x:*", "*"]}]})
    flow = delivery(policy=document)
    assert flagged(pack, "flow-log-role-least-privilege", flow.resources) == ["role"]


def test_a_managed_policy_arn_on_the_role_itself_fails(pack):
    flow = delivery()
    managed = "arn:aws:iam::aws:policy/CloudWatchLogsFullAccess"
    role = with_inputs(flow.role, managedPolicyArns=[managed])
    (violation,) = [v for v in pack.analyze(replaced(flow.resources, role))
                    if v.policy == "flow-log-role-least-privilege"]
    assert managed in violation.message


def test_a_role_no_flow_log_uses_is_not_checked(pack):
    loose = resource(ROLE, "loose-role", {"assumeRolePolicy": trust(principal="*"), "tags": TAGS})
    assert flagged(pack, "flow-log-role-least-privilege", [*delivery().resources, loose]) == []


def test_two_flow_logs_on_one_role_are_both_named(pack):
    flow = delivery(trust_policy=trust(principal="*"))
    second = {**flow.flow_log, "urn": flow.flow_log["urn"] + "-2", "name": "flow-log-2"}
    (violation,) = [v for v in pack.analyze([*flow.resources, second])
                    if v.policy == "flow-log-role-least-privilege"]
    assert "flow log(s) flow-log, flow-log-2" in violation.message


# vpc-flow-logs-enabled

def test_a_flow_log_tied_to_the_vpc_by_another_property_does_not_count(pack):
    flow = delivery(linked_to_vpc=False)
    flow_log = {**flow.flow_log, "dependencies": {**flow.flow_log["dependencies"], "subnetId": [flow.vpc["urn"]]}}
    assert flagged(pack, "vpc-flow-logs-enabled", replaced(flow.resources, flow_log)) == ["vpc"]


def test_two_vpcs_each_with_a_flow_log_pass(pack):
    first, second = delivery(), delivery()
    renamed = {r["urn"]: r["urn"] + "-b" for r in second.resources}

    def rename(registration: dict) -> dict:
        dependencies = {k: [renamed.get(u, u) for u in v] for k, v in registration["dependencies"].items()}
        return {**registration, "urn": renamed[registration["urn"]], "name": registration["name"] + "-b",
                "dependencies": dependencies}
    resources = [*first.resources, *map(rename, second.resources)]
    assert flagged(pack, "vpc-flow-logs-enabled", resources) == []
    without_second_flow_log = [r for r in resources if r["urn"] != renamed[second.flow_log["urn"]]]
    assert flagged(pack, "vpc-flow-logs-enabled", without_second_flow_log) == ["vpc-b"]


# flow-log-captures-rejects and flow-log-replaced-not-updated

@pytest.mark.parametrize("traffic_type", [None, "all", "ACCEPT"], ids=["unset", "lower-case", "accept"])
def test_traffic_types_other_than_all_or_reject_fail(pack, traffic_type):
    flow = delivery()
    flow_log = with_inputs(flow.flow_log, trafficType=traffic_type)
    assert flagged(pack, "flow-log-captures-rejects", replaced(flow.resources, flow_log)) == ["flow-log"]


def test_the_rejects_rule_looks_only_at_flow_logs(pack):
    other = resource("aws:ec2/subnet:Subnet", "subnet", {"trafficType": "ACCEPT", "tags": TAGS})
    assert flagged(pack, "flow-log-captures-rejects", [other]) == []


def test_delete_before_replace_is_asked_only_of_flow_logs(pack):
    others = [resource(INSTANCE, "host", instance()["inputs"]), log_group()]
    assert flagged(pack, "flow-log-replaced-not-updated", others) == []
    flow = delivery(delete_before_replace=False)
    assert flagged(pack, "flow-log-replaced-not-updated", flow.resources) == ["flow-log"]


# instances

def test_an_instance_without_metadata_options_allows_imdsv1_and_fails(pack):
    culprit = with_inputs(instance(), metadataOptions=None)
    assert flagged(pack, "ec2-imdsv2-required", [culprit]) == ["host"]


@pytest.mark.parametrize("options", [{}, {"httpEndpoint": "enabled"}, {"httpTokens": "optional"},
                                     {"httpTokens": "Required"}],
                         ids=["empty", "endpoint-only", "optional", "capitalised"])
def test_metadata_options_short_of_required_tokens_fail(pack, options):
    culprit = with_inputs(instance(), metadataOptions=options)
    assert flagged(pack, "ec2-imdsv2-required", [culprit]) == ["host"]


def test_required_tokens_pass_with_any_other_options(pack):
    host = with_inputs(instance(), metadataOptions={"httpTokens": "required", "httpEndpoint": "enabled",
                                                    "httpPutResponseHopLimit": 2})
    assert flagged(pack, "ec2-imdsv2-required", [host]) == []


@pytest.mark.parametrize("device", [None, {}, {"encrypted": False}, {"volumeType": "gp3"}],
                         ids=["absent", "empty", "false", "unset"])
def test_a_root_volume_not_marked_encrypted_fails(pack, device):
    culprit = with_inputs(instance(), rootBlockDevice=device)
    assert flagged(pack, "ec2-root-volume-encrypted", [culprit]) == ["host"]


def test_instance_rules_look_only_at_instances(pack):
    other = resource("aws:ec2/launchTemplate:LaunchTemplate", "template", {"tags": TAGS})
    violations = {v.policy for v in pack.analyze([other])}
    assert not violations & {"ec2-imdsv2-required", "ec2-root-volume-encrypted"}, violations


# log groups

@pytest.mark.parametrize("driver", ["analyzer", "in-process"])
def test_retention_at_the_configured_minimum_passes_and_one_below_fails(driver):
    properties = {"log-group-retention": {"minimumRetentionDays": 30}}
    with (PolicyPackSession(PACK, "test", policy_config={"all": "mandatory", **properties})
          if driver == "analyzer" else nullcontext(InProcessPack(properties))) as session:
        assert flagged(session, "log-group-retention", [log_group(retentionInDays=30)]) == []
        assert flagged(session, "log-group-retention", [log_group(retentionInDays=60)]) == []
        (violation,) = [v for v in session.analyze([log_group(retentionInDays=29)])
                        if v.policy == "log-group-retention"]
        assert "keeps records 29 days, fewer than the 30" in violation.message


def test_default_minimum_retention_is_one_day(pack):
    assert flagged(pack, "log-group-retention", [log_group(retentionInDays=1)]) == []
    (violation,) = [v for v in pack.analyze([log_group(retentionInDays=0)]) if v.policy == "log-group-retention"]
    assert "never expires" in violation.message and "at least 1." in violation.message


@pytest.mark.parametrize("key_id", ["", None], ids=["empty", "absent"])
def test_a_group_without_a_key_fails(pack, key_id):
    assert flagged(pack, "log-group-encrypted", [log_group(kmsKeyId=key_id)]) == ["group"]


def test_log_group_rules_look_only_at_log_groups(pack):
    other = resource("aws:s3/bucket:Bucket", "bucket", {"tags": TAGS})
    violations = {v.policy for v in pack.analyze([other])}
    assert not violations & {"log-group-retention", "log-group-encrypted", "log-group-protected"}, violations


# ssh-not-open-to-world and http-open-to-world: the port range and the sources

@pytest.mark.parametrize("from_port, to_port, flagged_", [
    (22, 22, True), (21, 22, True), (22, 23, True), (0, 65535, True),
    (23, 1024, False), (0, 21, False),
], ids=lambda value: str(value))
def test_ssh_port_range_edges(pack, from_port, to_port, flagged_):
    rule = ingress_rule("range", from_port, "0.0.0.0/0", to_port=to_port)
    assert flagged(pack, "ssh-not-open-to-world", [rule]) == (["range"] if flagged_ else [])


@pytest.mark.parametrize("from_port, to_port, flagged_", [(80, 80, True), (79, 81, True), (81, 443, False),
                                                          (0, 79, False)], ids=lambda value: str(value))
def test_http_port_range_edges(pack, from_port, to_port, flagged_):
    rule = ingress_rule("range", from_port, "::/0", to_port=to_port)
    assert flagged(pack, "http-open-to-world", [rule]) == (["range"] if flagged_ else [])


@pytest.mark.parametrize("cidr", ["0.0.0.0/1", "128.0.0.0/1", "::/1", "10.0.0.0/8"])
def test_wide_but_not_world_sources_pass(pack, cidr):
    assert flagged(pack, "ssh-not-open-to-world", [ingress_rule("wide", 22, cidr)]) == []


@pytest.mark.parametrize("protocol", ["6", "TCP", "all"])
def test_other_spellings_of_tcp_and_all_protocols_count(pack, protocol):
    group = security_group("spelled", [{**inline_entry(22, "0.0.0.0/0"), "protocol": protocol}])
    assert flagged(pack, "ssh-not-open-to-world", [group]) == ["spelled"]


def test_ports_default_to_every_port_when_absent(pack):
    entry = {"protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"], "description": "no ports given"}
    assert flagged(pack, "ssh-not-open-to-world", [security_group("portless", [entry])]) == ["portless"]


def test_the_message_names_every_world_source(pack):
    group = security_group("both", [inline_entry(22, "0.0.0.0/0"), inline_entry(22, "::/0")])
    (violation,) = [v for v in pack.analyze([group]) if v.policy == "ssh-not-open-to-world"]
    assert "from ::/0 and 0.0.0.0/0" in violation.message or "from 0.0.0.0/0 and ::/0" in violation.message


def test_an_egress_legacy_rule_on_80_passes_and_ingress_fails(pack):
    assert flagged(pack, "http-open-to-world", [legacy_rule("out", "egress", 80, "0.0.0.0/0")]) == []
    assert flagged(pack, "http-open-to-world", [legacy_rule("in", "ingress", 80, "0.0.0.0/0")]) == ["in"]


# security-group-rules-described

def test_a_one_character_description_passes(pack):
    assert flagged(pack, "security-group-rules-described", [ingress_rule("short", 22, "10.0.0.0/8",
                                                                         description="x")]) == []


def test_the_message_counts_the_undescribed_rules(pack):
    group = security_group("two-bare", [inline_entry(80, "10.0.0.0/8", description=None)],
                           [inline_entry(443, "0.0.0.0/0", description="\t")])
    (violation,) = [v for v in pack.analyze([group]) if v.policy == "security-group-rules-described"]
    assert "has 2 rule(s) without a description" in violation.message


def test_an_unrelated_resource_has_no_rules_to_describe(pack):
    assert flagged(pack, "security-group-rules-described", [vpc()]) == []


# default-security-group-closed

def test_a_default_group_of_another_vpc_does_not_close_this_one(pack):
    first, second = vpc("first"), vpc("second")
    assert flagged(pack, "default-security-group-closed", [first, second, default_group(first["urn"])]) == ["second"]


def test_a_rule_on_a_dedicated_group_passes(pack):
    network = vpc()
    group = default_group(network["urn"])
    dedicated = security_group("web-sg", [])
    rule = ingress_rule("web-in", 443, "10.0.0.0/8", group_urn=dedicated["urn"])
    assert flagged(pack, "default-security-group-closed", [network, group, dedicated, rule]) == []


# required-tags

@pytest.mark.parametrize("tags, flagged_", [
    ({"Project": "vpc-flow-logs", "Environment": "test"}, False),
    ({"Project": "vpc-flow-logs", "Environment": "test", "Owner": "ops"}, False),
    ({"Project": "vpc-flow-logs", "Environment": ""}, True),
    ({"Project": "", "Environment": "test"}, True),
    ({"project": "vpc-flow-logs", "environment": "test"}, True),
], ids=["both", "both-and-more", "empty-environment", "empty-project", "lower-case-names"])
def test_required_tag_edges(pack, tags, flagged_):
    subnet = resource("aws:ec2/subnet:Subnet", "subnet", {"cidrBlock": "10.0.0.0/24", "tags": tags})
    assert flagged(pack, "required-tags", [subnet]) == (["subnet"] if flagged_ else [])


def test_the_message_names_each_missing_tag(pack):
    subnet = resource("aws:ec2/subnet:Subnet", "subnet", {"cidrBlock": "10.0.0.0/24", "tags": {}})
    (violation,) = [v for v in pack.analyze([subnet]) if v.policy == "required-tags"]
    assert "lacks the tag(s) Project, Environment" in violation.message


@pytest.mark.parametrize("type_", [FLOW_LOG, ROLE, "aws:kms/key:Key", "aws:sns/topic:Topic"])
def test_taggable_types_are_asked_for_tags(pack, type_):
    untagged = resource(type_, "untagged", {})
    assert flagged(pack, "required-tags", [untagged]) == ["untagged"], type_
