"""Security groups, flow-log roles, alarm keys and metric filters, at the shapes the other rule tests leave out.

Egress in each resource shape AWS accepts (ports as AWS reports them, the legacy rule's "all"),
service ports from config, role documents past the first statement, key policies that look like a
grant but are not one, and the space-delimited pattern reader on quoting and escapes. Rule tests
run through the analyzer protocol and once more in this process (tests/policy_in_process.py), with
the `pack` fixture of tests/test_policy_edges.py.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from policies.rules import metric_filters
from policies.rules.common import as_written
from tests.policy_fixtures import (ACCOUNT, EGRESS_RULE, GROUP_ARN, INGRESS_RULE, KMS_KEY, LEGACY_RULE, METRIC_FILTER,
                                   TAGS, TOPIC, attached_policy, delivery, ingress_rule, inline_entry,
                                   permissions, resource, security_group)
from tests.policy_in_process import InProcessPack
from tools.analyzer import Violation


def violations_of(session: Any, rule: str, resources: list[dict]) -> list[Violation]:
    return [v for v in session.analyze(resources) if v.policy == rule]


def flagged_urns(session: Any, rule: str, resources: list[dict]) -> list[str]:
    return [v.urn for v in violations_of(session, rule, resources)]


def only_message(session: Any, rule: str, resources: list[dict], culprit: dict) -> str:
    """The message of the one violation of `rule`, which must name `culprit`."""
    violations = violations_of(session, rule, resources)
    assert [v.urn for v in violations] == [culprit["urn"]], (rule, culprit["urn"], violations)
    return violations[0].message


# egress-unrestricted, in every resource shape

def egress_rule(name: str, protocol: str, from_port: Optional[int], to_port: Optional[int],
                cidr: str = "0.0.0.0/0") -> dict:
    inputs: dict[str, Any] = {"securityGroupId": "sg-0123", "ipProtocol": protocol, "cidrIpv4": cidr,
                              "description": "package installs", "tags": TAGS}
    if from_port is not None:
        inputs.update(fromPort=from_port, toPort=to_port)
    return resource(EGRESS_RULE, name, inputs)


def legacy(name: str, direction: str, protocol: str, from_port: int, to_port: int,
           description: str = "package installs") -> dict:
    return resource(LEGACY_RULE, name, {"type": direction, "protocol": protocol, "fromPort": from_port,
                                        "toPort": to_port, "cidrBlocks": ["0.0.0.0/0"], "securityGroupId": "sg-0123",
                                        "description": description})


@pytest.mark.parametrize("culprit", [
    egress_rule("tcp-every-port", "tcp", 0, 65535),
    egress_rule("all-as-aws-reports-it", "-1", -1, -1),
    legacy("legacy-all-zero-ports", "egress", "-1", 0, 0),
    legacy("legacy-all-by-name", "egress", "all", 0, 0),
], ids=lambda r: r["name"])
def test_egress_to_every_port_of_the_internet_is_reported_in_every_shape(pack, culprit):
    assert flagged_urns(pack, "egress-unrestricted", [culprit]) == [culprit["urn"]], culprit["urn"]


@pytest.mark.parametrize("compliant", [
    egress_rule("tcp-from-port-1", "tcp", 1, 65535),
    egress_rule("tcp-up-to-443", "tcp", 0, 443),
    legacy("legacy-ingress-all", "ingress", "-1", 0, 0),
], ids=lambda r: r["name"])
def test_egress_short_of_every_port_or_not_egress_at_all_is_not_reported(pack, compliant):
    assert flagged_urns(pack, "egress-unrestricted", [compliant]) == [], compliant["urn"]


def test_legacy_egress_rule_message_quotes_its_reason(pack):
    culprit = legacy("legacy-egress", "egress", "-1", 0, 0, description="yum mirrors")
    message = only_message(pack, "egress-unrestricted", [culprit], culprit)
    assert "to 0.0.0.0/0, its stated reason: 'yum mirrors'." in message, (culprit["urn"], message)


def test_dual_stack_egress_message_names_both_world_ranges(pack):
    culprit = security_group("dual-stack-sg", [], [{"protocol": "-1", "fromPort": 0, "toPort": 0,
                                                    "cidrBlocks": ["0.0.0.0/0"], "ipv6CidrBlocks": ["::/0"],
                                                    "description": "package installs"}])
    message = only_message(pack, "egress-unrestricted", [culprit], culprit)
    assert "allows every outbound port to 0.0.0.0/0 and ::/0, its stated reason" in message, (culprit["urn"], message)


# world-ingress-only-to-services

WORLD_INGRESS = "world-ingress-only-to-services"


def test_service_ports_from_config_replace_the_defaults_in_process():
    configured = InProcessPack({WORLD_INGRESS: {"servicePorts": [443]}})
    https, http = ingress_rule("https", 443, "0.0.0.0/0"), ingress_rule("http", 80, "0.0.0.0/0")
    assert flagged_urns(configured, WORLD_INGRESS, [https, http]) == [http["urn"]]


def test_tcp_given_by_its_protocol_number_is_a_service_port(pack):
    by_number = ingress_rule("ssh-protocol-6", 22, "0.0.0.0/0", protocol="6")
    assert flagged_urns(pack, WORLD_INGRESS, [by_number]) == [], by_number["urn"]


def test_world_entry_after_a_private_one_is_still_checked(pack):
    group = security_group("mixed-sg", [inline_entry(5432, "10.0.0.0/8"), inline_entry(3389, "0.0.0.0/0")])
    assert flagged_urns(pack, WORLD_INGRESS, [group]) == [group["urn"]]


@pytest.mark.parametrize("culprit, opens", [
    (security_group("dual-stack-sg", [{"protocol": "tcp", "fromPort": 3389, "toPort": 3389,
                                       "cidrBlocks": ["0.0.0.0/0"], "ipv6CidrBlocks": ["::/0"],
                                       "description": "remote desktop"}]),
     "opens tcp 3389-3389 to 0.0.0.0/0 and ::/0:"),
    (legacy("legacy-all-in", "ingress", "all", 0, 0), "opens every protocol and port to 0.0.0.0/0:"),
    (resource(INGRESS_RULE, "icmp-no-ports", {"securityGroupId": "sg-0123", "ipProtocol": "icmp",
                                              "cidrIpv4": "0.0.0.0/0", "description": "ping", "tags": TAGS}),
     "opens icmp 0-65535 to 0.0.0.0/0:"),
], ids=["both-world-ranges", "legacy-all", "icmp-without-ports"])
def test_world_ingress_message_names_the_protocol_ports_and_sources(pack, culprit, opens):
    message = only_message(pack, WORLD_INGRESS, [culprit], culprit)
    assert f"'{culprit['name']}' {opens}" in message, (culprit["urn"], message)


# alarm-topic-encrypted: what counts as letting CloudWatch alarms use the key

def topic_under_key(statement: dict) -> list[dict]:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Resource": "*", **statement}]})
    key = resource(KMS_KEY, "alerts-key", {"policy": policy, "tags": TAGS})
    topic = resource(TOPIC, "alerts", {"kmsMasterKeyId": "arn:aws:kms:ap-northeast-1:123456789012:key/k",
                                       "tags": TAGS}, dependencies={"kmsMasterKeyId": [key["urn"]]})
    return [key, topic]


ALARMS = {"Service": "cloudwatch.amazonaws.com"}


@pytest.mark.parametrize("statement, missing", [
    ({"Effect": "Deny", "Principal": ALARMS, "Action": "kms:*"}, "kms:Decrypt, kms:GenerateDataKey"),
    ({"Effect": "Allow", "Principal": "*", "Action": "kms:*"}, "kms:Decrypt, kms:GenerateDataKey"),
    ({"Effect": "Allow", "Principal": ALARMS, "Action": ["kms:Decrypts", "kms:GenerateDataKeys"]},
     "kms:Decrypt, kms:GenerateDataKey"),
    ({"Effect": "Allow", "Principal": ALARMS, "Action": "kms:D*"}, "kms:GenerateDataKey"),
], ids=["deny", "any-principal-not-the-service", "misspelled-actions", "prefix-wildcard"])
def test_key_policy_that_does_not_grant_the_alarms_service_both_actions_fails(pack, statement, missing):
    resources = topic_under_key(statement)
    message = only_message(pack, "alarm-topic-encrypted", resources, resources[-1])
    assert f"does not let cloudwatch.amazonaws.com call {missing}:" in message, (resources[-1]["urn"], message)


@pytest.mark.parametrize("actions", [["kms:*"], ["*"], ["kms:Decrypt", "kms:Generate*"], ["KMS:DECRYPT",
                                                                                           "kms:generatedatakey"]],
                         ids=["service-wildcard", "everything", "prefix-wildcard", "any-case"])
def test_key_policy_granting_the_alarms_service_both_actions_passes(pack, actions):
    resources = topic_under_key({"Effect": "Allow", "Principal": ALARMS, "Action": actions})
    assert flagged_urns(pack, "alarm-topic-encrypted", resources) == [], actions


def test_every_topic_is_checked_after_an_unencrypted_one(pack):
    plain = resource(TOPIC, "plain", {"tags": TAGS})
    key, topic = topic_under_key({"Effect": "Allow", "Principal": ALARMS, "Action": "kms:Decrypt"})
    assert flagged_urns(pack, "alarm-topic-encrypted", [plain, key, topic]) == [plain["urn"], topic["urn"]]


# metric-filter-matches-log-format

DEFAULT_NAMES = ["version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
                 "packets", "bytes", "start", "end", "action", "log_status"]


def metric_filter(name: str, group: dict, pattern: str) -> dict:
    return resource(METRIC_FILTER, name, {"logGroupName": "/vpc-flow-logs/test", "pattern": pattern,
                                          "metricTransformation": {"name": name, "value": "1"}},
                    dependencies={"logGroupName": [group["urn"]]})


def test_pattern_may_spell_fields_with_dashes_as_the_format_does(pack):
    flow = delivery()
    dashed = metric_filter("dashed", flow.group, "[" + ", ".join(n.replace("_", "-") for n in DEFAULT_NAMES) + "]")
    assert flagged_urns(pack, "metric-filter-matches-log-format", [*flow.resources, dashed]) == []


def test_filter_after_a_term_pattern_is_still_checked(pack):
    flow = delivery()
    term = metric_filter("term", flow.group, '"REJECT"')
    short = metric_filter("short", flow.group, "[version, account_id]")
    assert flagged_urns(pack, "metric-filter-matches-log-format", [*flow.resources, term, short]) == [short["urn"]]


@pytest.mark.parametrize("names, difference", [
    (DEFAULT_NAMES, None),
    ([n.replace("_", "-") for n in DEFAULT_NAMES], None),
    (DEFAULT_NAMES[:1] + DEFAULT_NAMES[2:], "field 2 of the records is 'account-id', but the pattern names "
                                            "'interface_id' there"),
    (["account_id", "version", *DEFAULT_NAMES[2:]], "field 1 of the records is 'version', but the pattern names "
                                                    "'account_id' there"),
    (DEFAULT_NAMES[:-1], "the pattern names 13 fields, the records have 14"),
    ([*DEFAULT_NAMES, "vpc_id"], "the pattern names 15 fields, the records have 14"),
], ids=["underscores", "dashes", "missing", "swapped", "one-short", "one-extra"])
def test_difference_names_the_first_misplaced_field_or_the_counts(names, difference):
    assert metric_filters._difference(tuple(names), metric_filters.DEFAULT_FIELDS) == difference, names


@pytest.mark.parametrize("text, terms", [
    ('"a,b",c', ['"a,b"', "c"]),
    ('a="x\\",y",b', ['a="x\\",y"', "b"]),
    ("a=%x\\%,y%,b", ["a=%x\\%,y%", "b"]),
    ("EXTRA, X", ["EXTRA", " X"]),
    ('a="%,%",b', ['a="%,%"', "b"]),
], ids=["leading-quote", "escaped-quote", "escaped-percent", "capitals", "percent-inside-quotes"])
def test_top_level_terms_split_only_on_commas_outside_quotes_and_regexes(text, terms):
    assert metric_filters._top_level_terms(text) == terms, text


@pytest.mark.parametrize("pattern", [None, "", '{ $.action = "REJECT" }', "ERROR [x]", "[a, b"],
                         ids=["absent", "blank", "json", "term-ending-in-bracket", "unclosed"])
def test_patterns_that_are_not_space_delimited_have_no_fields(pattern):
    assert metric_filters.pattern_fields(pattern) is None, pattern


def test_empty_term_keeps_its_position():
    assert metric_filters.pattern_fields("[a, , c]") == ("a", "", "c")


# flow-log-role-least-privilege: every statement and every document of the role

ROLE_RULE = "flow-log-role-least-privilege"


def role_message(session: Any, flow: Any, extra: tuple[dict, ...] = ()) -> str:
    return only_message(session, ROLE_RULE, [*flow.resources, *extra], flow.role)


def test_allow_after_a_deny_statement_is_still_checked(pack):
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "logs:DeleteLogGroup", "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:*", "Resource": f"{GROUP_ARN}:*"}]})
    message = role_message(pack, delivery(policy=document))
    assert "it allows the wildcard action(s) logs:*" in message, message


def test_message_lists_every_wildcard_action(pack):
    message = role_message(pack, delivery(policy=permissions(["logs:Put*", "logs:Create*"])))
    assert "it allows the wildcard action(s) logs:Put*, logs:Create*. Trust only" in message, message


def test_role_policy_is_checked_beside_an_attached_policy(pack):
    flow = delivery(policy=permissions(["logs:*"]))
    message = role_message(pack, flow, tuple(attached_policy(flow.role)))
    assert "it allows the wildcard action(s) logs:*" in message, message


def test_trust_policy_that_allows_nobody_is_named_so(pack):
    flow = delivery(trust_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    assert "used by flow log(s) flow-log: its trust policy allows nobody. Trust only" in role_message(pack, flow)


@pytest.mark.parametrize("value, written", [
    (600.0, 600), (22.0, 22), (0.5, 0.5), (600, 600), ("60", "60"), (None, None),
], ids=["float-600", "float-22", "fraction", "int", "text", "unset"])
def test_numbers_print_as_the_stack_file_wrote_them(value, written):
    """The analyzer protocol carries every number as a float; messages print whole ones as integers."""
    shown = as_written(value)
    assert (shown, type(shown)) == (written, type(written)), value
