"""The gate at `pulumi preview`: computed outputs unknown, the rules that matter still decide.

The program runs under `PreviewMocks` (lookups answered, every computed output unknown, as in
a real preview) and its registrations go to the policy pack through the analyzer protocol,
with the engine's unknown sentinel wherever a value is not known yet.
"""

from __future__ import annotations

import asyncio
import json
import runpy

import pulumi
import pytest

from config.settings import settings_from_stack_file, stack_file_of
from tests.conftest import STACKS, stack_config, stack_file
from tools import check
from tools.analyzer import PolicyPackSession, load_policy_config, unknown_at
from tools.check import POLICY_PACK, policy_config_path
from tools.render import PROGRAM, UNKNOWN, PreviewMocks, Registration, Rendering, render, render_stack_file

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


# --- `make check` at preview: undecided rules are reported, and a mandatory one fails the gate ----

BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def previewed_variant(stack: str, transformation=None) -> Rendering:
    """A stack as a preview of a new stack sees it, with one thing changed by a stack transformation."""
    def program():
        if transformation is not None:
            pulumi.runtime.register_stack_transformation(transformation)
        runpy.run_path(str(PROGRAM), run_name="__main__")
    return render(stack, stack_config(stack), program=program, preview=True)


def undecided(violations) -> list[tuple[str, str, str, str]]:
    return sorted((v.policy, v.enforcement, v.urn, v.unknown) for v in violations if v.undecided)


@pytest.mark.parametrize("stack", STACKS)
def test_no_rule_is_undecided_at_preview_of_a_new_stack(stack):
    rendering = render_stack_file(stack_file(stack), preview=True)
    assert undecided(check.analyze(rendering)) == []


def test_make_check_renders_each_stack_as_a_preview_of_a_new_stack():
    code, rendering, _ = check.check(stack_file("lab"))
    flow_logs = rendering.by_type("aws:ec2/flowLog:FlowLog")
    assert code == check.EXIT_OK and flow_logs and all(r.inputs["logDestination"] == UNKNOWN for r in flow_logs), \
        [(r.urn, r.inputs["logDestination"]) for r in flow_logs]


def test_the_gate_renders_the_bucket_policy_known_and_the_bucket_arn_unknown():
    rendering = render_stack_file(stack_file(STACK), preview=True)
    policies = rendering.by_type(BUCKET_POLICY)
    assert policies, f"{STACK} renders no bucket policy"
    for policy in policies:
        assert policy.inputs["bucket"] == UNKNOWN and UNKNOWN not in policy.inputs["policy"], (policy.urn,
                                                                                               policy.inputs)


def flow_log_bucket_policy(rendering: Rendering) -> Registration:
    """The flow-log bucket's policy (the Athena results bucket has one too), by its parent's type."""
    (policy,) = [r for r in rendering.by_type(BUCKET_POLICY)
                 if r.parent.split("::")[2].endswith(":S3FlowLogDestination")]
    return policy


def unknown_output() -> pulumi.Output:
    """An output whose value a preview cannot know, as one computed by a provider is."""
    loop = asyncio.get_event_loop()
    value, known = loop.create_future(), loop.create_future()
    value.set_result(None)
    known.set_result(False)
    return pulumi.Output(set(), value, known)


def from_an_output(key: str, resource_type: str):
    """A transformation that makes `key` of every `resource_type` depend on a value unknown at preview."""
    def transform(args: pulumi.ResourceTransformationArgs):
        if args.type_ == resource_type:
            return pulumi.ResourceTransformationResult({**args.props, key: unknown_output()}, args.opts)
        return None
    return transform


def test_a_resource_rule_reading_an_unknown_is_undecided_and_fails_naming_the_resource():
    rendering = previewed_variant(STACK, from_an_output("pattern", METRIC_FILTER))
    filters = sorted(r.urn for r in rendering.by_type(METRIC_FILTER))
    assert filters and undecided(check.analyze(rendering)) == [
        ("metric-filter-matches-log-format", "mandatory", urn, ".pattern") for urn in filters]


def test_a_stack_rule_reading_an_unknown_is_undecided_for_the_resource_that_holds_it():
    rendering = previewed_variant(STACK, from_an_output("policy", BUCKET_POLICY))
    policy = flow_log_bucket_policy(rendering)
    found = {(rule, urn, path) for rule, level, urn, path in undecided(check.analyze(rendering)) if level == "mandatory"}
    assert {("bucket-tls-only", policy.urn, ".policy"),
            ("flow-log-bucket-delivery-scoped", policy.urn, ".policy")} <= found, found


def test_a_mandatory_undecided_rule_fails_check_and_the_report_names_rule_resource_and_path(tmp_path, monkeypatch):
    rendering = previewed_variant(STACK, from_an_output("policy", BUCKET_POLICY))
    policy = flow_log_bucket_policy(rendering)
    monkeypatch.setattr(check, "render_stack_file", lambda path, preview: rendering)
    code, _, violations = check.check(stack_file(STACK))
    report = check.text_report(rendering, violations)
    assert code == check.EXIT_VIOLATIONS, report
    assert f"[mandatory] bucket-tls-only  {policy.urn}" in report and "value at .policy is unknown" in report, \
        report
    # Two rules on each of the two bucket policies: a stack rule's notice names no resource, so it is
    # reported for every resource whose input is unknown at the path it names.
    assert check.summary(rendering, violations).endswith("undecided at preview (4 mandatory)"), \
        check.summary(rendering, violations)


def test_an_advisory_undecided_rule_is_reported_but_passes(monkeypatch):
    rendering = previewed_variant("lab", from_an_output("policy", ROLE_POLICY))
    (role_policy,) = rendering.by_type(ROLE_POLICY)
    with PolicyPackSession(POLICY_PACK, "lab", policy_config={"all": "advisory"}) as session:
        violations = session.analyze([r.as_dict() for r in rendering.registrations])
    assert ("flow-log-role-least-privilege", "advisory", role_policy.urn, ".policy") in undecided(violations)
    assert not [v for v in violations if v.enforcement == "mandatory"], violations


@pytest.mark.parametrize("path, unknown", [(".policy", True), (".rules.0.kmsKeyId", True), (".rules.1.kmsKeyId", False),
                                           (".rules.0.sseAlgorithm", False), (".logging.targetBucket", True),
                                           (".tags.Name", False)])
def test_unknown_at_follows_the_path_and_stops_at_an_unknown_above_it(path, unknown):
    inputs = {"policy": UNKNOWN, "rules": [{"kmsKeyId": UNKNOWN, "sseAlgorithm": "aws:kms"}], "logging": UNKNOWN,
              "tags": {"Name": "n"}}
    assert unknown_at(inputs, path) is unknown, (path, inputs)
