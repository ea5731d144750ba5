"""The gate at `pulumi preview`: computed outputs unknown, the rules that matter still decide.

The program runs under `PreviewMocks` (lookups answered, every computed output unknown, as in
a real preview) and its registrations go to the policy pack through the analyzer protocol,
with the engine's unknown sentinel wherever a value is not known yet.
"""

from __future__ import annotations

import json

import pytest

from config.settings import settings_from_stack_file, stack_file_of
from tools.analyzer import PolicyPackSession, load_policy_config
from tools.check import POLICY_PACK, policy_config_path
from tools.render import UNKNOWN, PreviewMocks, render_stack_file

STACK = "prod"
DECIDED_AT_PREVIEW = ("flow-log-role-least-privilege", "metric-filter-matches-log-format")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"


@pytest.fixture(scope="module")
def previewed() -> list[dict]:
    path = stack_file_of(STACK)
    rendering = render_stack_file(path, PreviewMocks(settings_from_stack_file(path).region))
    return [registration.as_dict() for registration in rendering.registrations]


@pytest.fixture(scope="module")
def pack():
    with PolicyPackSession(POLICY_PACK, STACK, policy_config=load_policy_config(policy_config_path(STACK))) as session:
        yield session


def rule_violations(pack: PolicyPackSession, resources: list[dict], rule: str) -> list:
    return [violation for violation in pack.analyze(resources) if violation.policy == rule]


def replaced_input(resources: list[dict], name: str, key: str, value: str) -> list[dict]:
    found = [r for r in resources if r["name"] == name]
    assert found, f"no resource named {name}"
    return [{**r, "inputs": {**r["inputs"], key: value}} if r["name"] == name else r for r in resources]


def test_computed_outputs_are_unknown_as_in_a_real_preview(previewed):
    flow_logs = [r for r in previewed if r["type"] == "aws:ec2/flowLog:FlowLog"]
    assert flow_logs and all(r["inputs"]["logDestination"] == UNKNOWN for r in flow_logs), \
        [(r["urn"], r["inputs"]["logDestination"]) for r in flow_logs]


@pytest.mark.parametrize("rule", DECIDED_AT_PREVIEW)
def test_the_rule_decides_at_preview_on_the_programs_own_resources(pack, previewed, rule):
    assert rule_violations(pack, previewed, rule) == []


def test_a_wildcard_delivery_policy_is_refused_at_preview(pack, previewed):
    (role_policy,) = [r for r in previewed if r["type"] == ROLE_POLICY]
    wildcard = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})
    (violation,) = rule_violations(pack, replaced_input(previewed, role_policy["name"], "policy", wildcard),
                                   "flow-log-role-least-privilege")
    assert violation.enforcement == "mandatory" and "logs:*" in violation.message, violation.message


def test_a_filter_that_does_not_fit_the_format_is_refused_at_preview(pack, previewed):
    metric_filter = next(r for r in previewed if r["type"] == METRIC_FILTER and r["inputs"]["pattern"].startswith("["))
    wrong = "[version, srcaddr, account_id, ...]"
    violations = rule_violations(pack, replaced_input(previewed, metric_filter["name"], "pattern", wrong),
                                 "metric-filter-matches-log-format")
    assert [(v.enforcement, v.urn) for v in violations] == [("mandatory", metric_filter["urn"])], violations
