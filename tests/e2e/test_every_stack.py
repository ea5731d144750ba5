"""Every stack in config/ through the real engine and the stand-in provider, on a moto of its own.

For each stack, in order, on one deployed copy: preview under its pack config (no mandatory
violation, every policy decided, the same violations `make check` reports on the same file),
`up`, a preview that must find no changes, a tags-only change (updated in place), a traffic-type
change (only the flow logs replaced, each deleted first), and destroy (protected resources
refuse; after `state unprotect` they are retained in moto). `audit` runs on networks created in
moto first, swapped into its copy of the stack file: moto cannot take the documentation ids.

One class per stack, so `pytest -n 2 --dist loadscope` runs two stacks at a time; each class's
commands run once (its `run` fixture) and the tests read what they left.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator

import pytest
from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockCallArgs

from config.project import stack_file_of
from config.settings import settings_from_stack_file
from tests.e2e.conftest import fresh_moto_server, stack_engine
from tests.e2e.engine import REPO_ROOT, Engine
from tests.e2e.observe import (FLOW_LOG_TYPE, PREVIEW_NOTICE, check_report, error_messages, is_provider,
                               ops_by_urn, replaced, state_resources, steps, type_of, violations)
from tests.existing_networks import create_existing_networks
from tools.emulator import moto_client
from tools.render import LabMocks

# What the engine does for a delete-before-replace resource, in this order.
DELETE_FIRST = ["delete-replaced", "replace", "create-replacement"]
TAG_KEY = "vpc-flow-logs:tags.Rehearsal"
CHANGED_TRAFFIC_TYPE = "REJECT"


def pack_args(stack: str) -> tuple[str, ...]:
    return ("--policy-pack", "policies", "--policy-pack-config", f"policies/config/{stack}.json")


@dataclass
class StackRun:
    """What each step of one stack's rehearsal left: results, engine events, state and moto."""

    stack: str
    engine: Engine
    endpoint: str
    region: str
    checked: dict
    preview: subprocess.CompletedProcess[str]
    preview_events: list[dict]
    first_up: list[dict]
    no_changes: subprocess.CompletedProcess[str]
    tags_up: list[dict]
    replace_preview: list[dict]
    replace_up: list[dict]
    flow_logs_after_replace: list[dict]
    destroy: subprocess.CompletedProcess[str]
    destroy_events: list[dict]
    protected: list[dict] = field(default_factory=list)
    final_destroy: list[dict] = field(default_factory=list)
    left_in_state: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return moto_client(service, self.region, self.endpoint)


def flow_log_urns(events: list[dict]) -> set[str]:
    return {urn for _, urn in steps(events) if type_of(urn) == FLOW_LOG_TYPE}


def audit_changes(endpoint: str, region: str) -> dict[str, Any]:
    targets = create_existing_networks(moto_client("ec2", region, endpoint))
    return {"vpc-flow-logs:flowLogTargets": targets}


def rehearse(stack: str, work_dir: Path) -> Iterator[StackRun]:
    region = settings_from_stack_file(stack_file_of(stack)).region
    with fresh_moto_server() as endpoint:
        changes = audit_changes(endpoint, region) if stack == "audit" else {}
        engine = stack_engine(work_dir, endpoint, stack, changes)
        stack_file = engine.project_dir / stack_file_of(stack).relative_to(REPO_ROOT)
        report = check_report(str(stack_file))
        assert report.returncode in (0, 1), f"make check on {stack_file} exited {report.returncode}:\n{report.stderr}"
        preview, preview_events = engine.events("preview", "--json", *pack_args(stack), check=False)
        _, first_up = engine.events("up", "--yes", "--skip-preview")
        no_changes = engine.run("preview", "--expect-no-changes", check=False)
        engine.run("config", "set", "--path", TAG_KEY, "tags-only")
        _, tags_up = engine.events("up", "--yes", "--skip-preview")
        engine.run("config", "set", "vpc-flow-logs:trafficType", CHANGED_TRAFFIC_TYPE)
        _, replace_preview = engine.events("preview")
        _, replace_up = engine.events("up", "--yes", "--skip-preview")
        flow_logs = moto_client("ec2", region, endpoint).describe_flow_logs()["FlowLogs"]
        protected = [resource for resource in state_resources(engine) if resource.get("protect")]
        destroy, destroy_events = engine.events("destroy", "--yes", check=False)
        run = StackRun(stack, engine, endpoint, region, json.loads(report.stdout), preview, preview_events, first_up,
                       no_changes, tags_up, replace_preview, replace_up, flow_logs, destroy, destroy_events, protected)
        if protected:
            engine.run("state", "unprotect", "--all", "--yes")
            _, run.final_destroy = engine.events("destroy", "--yes")
        run.left_in_state = [resource["urn"] for resource in state_resources(engine)]
        yield run


def exists_in_moto(run: StackRun, resource: dict) -> bool:
    """Whether moto still holds a protected resource (a log group, KMS key or bucket) after destroy."""
    kind, resource_id = type_of(resource["urn"]), resource["id"]
    try:
        if kind == "aws:cloudwatch/logGroup:LogGroup":
            groups = run.client("logs").describe_log_groups(logGroupNamePrefix=resource_id)["logGroups"]
            return any(group["logGroupName"] == resource_id for group in groups)
        if kind == "aws:kms/key:Key":
            return run.client("kms").describe_key(KeyId=resource_id)["KeyMetadata"]["KeyState"] == "Enabled"
        if kind == "aws:s3/bucket:Bucket":
            run.client("s3").head_bucket(Bucket=resource_id)
            return True
    except ClientError:
        return False
    raise AssertionError(f"{resource['urn']}: no way to look a protected {kind} up in moto")


@pytest.fixture(scope="class")
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackRun]:
    """The rehearsal of the requesting class's stack, run once for all its tests."""
    stack = request.cls.stack
    yield from rehearse(stack, tmp_path_factory.mktemp(f"stack-{stack}"))


def as_rendered_offline(run: StackRun, urn: str) -> str:
    """`urn` with each VPC found by tags named as `make check` names it: the gate answers the
    lookup offline with an id of its own (tools.render.LabMocks), the engine with moto's VPC."""
    for target in settings_from_stack_file(stack_file_of(run.stack)).flow_log_targets:
        if target.vpc_tags is None:
            continue
        tags = dict(target.vpc_tags)
        found = run.client("ec2").describe_vpcs(Filters=[{"Name": f"tag:{key}", "Values": [value]}
                                                        for key, value in tags.items()])["Vpcs"]
        offline = LabMocks(run.region).call(MockCallArgs("aws:ec2/getVpcs:getVpcs", {"tags": tags}, ""))
        for vpc, offline_id in zip(sorted(vpc["VpcId"] for vpc in found), offline["ids"]):
            urn = urn.replace(vpc, offline_id)
    return urn


class EveryStack:
    stack: ClassVar[str]

    def test_preview_under_the_pack_passes(self, run: StackRun) -> None:
        mandatory = sorted(v for v in violations(run.preview_events) if v[1] == "mandatory")
        assert run.preview.returncode == 0 and not mandatory, \
            f"{run.stack}: preview exited {run.preview.returncode}; mandatory violations {mandatory}\n" \
            f"{run.preview.stderr[-3000:]}"

    def test_every_policy_decides_at_preview(self, run: StackRun) -> None:
        undecided = sorted({(event["policyEvent"]["policyName"], event["policyEvent"].get("resourceUrn", ""))
                            for event in run.preview_events
                            if event.get("policyEvent", {}).get("message", "").startswith(PREVIEW_NOTICE)})
        assert undecided == [], f"{run.stack}: policies the engine could not run during preview: {undecided}"

    def test_preview_plans_the_urns_make_check_renders(self, run: StackRun) -> None:
        planned = {as_rendered_offline(run, step["urn"]) for step in json.loads(run.preview.stdout)["steps"]
                   if not is_provider(step["urn"])}
        rendered = {resource["urn"] for resource in run.checked["resources"]}
        assert planned == rendered, (f"{run.stack}: planned by pulumi preview only: {sorted(planned - rendered)}\n"
                                     f"rendered by make check only: {sorted(rendered - planned)}")

    def test_gate_and_engine_report_the_same_violations(self, run: StackRun) -> None:
        reported = {(policy, level, as_rendered_offline(run, urn)) for policy, level, urn in violations(run.preview_events)}
        expected = {(v["policy"], v["enforcement"], v["urn"]) for v in run.checked["violations"]}
        assert reported == expected, (f"{run.stack}: pulumi preview only: {sorted(reported - expected)}\n"
                                      f"make check only: {sorted(expected - reported)}")

    def test_up_creates_every_planned_resource(self, run: StackRun) -> None:
        planned = {step["urn"] for step in json.loads(run.preview.stdout)["steps"] if not is_provider(step["urn"])}
        created = {urn for op, urn in steps(run.first_up) if op == "create"}
        others = sorted((op, urn) for op, urn in steps(run.first_up) if op != "create")
        assert planned == created and not others, \
            f"{run.stack}: not created {sorted(planned - created)}; other steps {others}"

    def test_a_second_preview_expects_no_changes(self, run: StackRun) -> None:
        assert run.no_changes.returncode == 0, \
            f"{run.stack}: preview --expect-no-changes exited {run.no_changes.returncode}\n" \
            f"{run.no_changes.stdout[-3000:]}{run.no_changes.stderr[-2000:]}"

    def test_a_tags_change_updates_the_flow_logs_in_place(self, run: StackRun) -> None:
        ops = ops_by_urn(run.tags_up)
        flow_logs = flow_log_urns(run.tags_up)
        assert flow_logs and all(ops[urn] == ["update"] for urn in flow_logs), \
            f"{run.stack}: flow-log steps for a tags change: { {urn: ops[urn] for urn in flow_logs} }"
        assert not replaced(run.tags_up), f"{run.stack}: replaced for a tags change: {sorted(replaced(run.tags_up))}"

    def test_a_traffic_type_change_replaces_only_the_flow_logs_deleting_first(self, run: StackRun) -> None:
        ops = ops_by_urn(run.replace_preview)
        flow_logs = flow_log_urns(run.replace_preview)
        assert flow_logs and all(ops[urn] == DELETE_FIRST for urn in flow_logs), \
            f"{run.stack}: flow-log steps: { {urn: ops[urn] for urn in flow_logs} }"
        assert replaced(run.replace_preview) == flow_logs, \
            f"{run.stack}: replaced besides the flow logs: {sorted(replaced(run.replace_preview) - flow_logs)}"

    def test_after_the_replacement_moto_holds_each_flow_log_once_with_the_new_type(self, run: StackRun) -> None:
        types = sorted((flow_log["ResourceId"], flow_log.get("LogDestinationType"), flow_log["TrafficType"])
                       for flow_log in run.flow_logs_after_replace)
        expected_count = len(flow_log_urns(run.replace_up))
        assert len(types) == expected_count and {t for _, _, t in types} == {CHANGED_TRAFFIC_TYPE}, \
            f"{run.stack}: flow logs in moto after the replacement: {types} (expected {expected_count})"

    def test_destroy_refuses_protected_resources_and_retains_them_after_unprotect(self, run: StackRun) -> None:
        protected = sorted(resource["urn"] for resource in run.protected)
        protects_logs = settings_from_stack_file(stack_file_of(run.stack)).protect_logs
        assert bool(protected) == protects_logs, f"{run.stack}: protectLogs {protects_logs}, protected {protected}"
        if not protected:
            assert run.destroy.returncode == 0, f"{run.stack}: destroy exited {run.destroy.returncode}"
        else:
            errors = error_messages(run.destroy_events)
            assert run.destroy.returncode != 0 and any("protect" in error for error in errors), \
                f"{run.stack}: destroy of protected {protected} exited {run.destroy.returncode}; errors {errors}"
            gone = [resource["urn"] for resource in run.protected if not exists_in_moto(run, resource)]
            assert not gone, f"{run.stack}: protected resources deleted from moto despite retainOnDelete: {gone}"
        assert run.left_in_state == [], f"{run.stack}: left in the state after destroy: {run.left_in_state}"


class TestLab(EveryStack):
    stack = "lab"


class TestDev(EveryStack):
    stack = "dev"


class TestProd(EveryStack):
    stack = "prod"


class TestAudit(EveryStack):
    stack = "audit"


class TestLocal(EveryStack):
    stack = "local"
