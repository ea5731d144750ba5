"""Scenarios d-g: config changes, a mandatory policy, protected logs and an invalid value.

Each test deploys (or tries to) its own `local` stack on its own moto server, so none depends
on another's order or leftovers.
"""

from __future__ import annotations

import pytest

from tests.e2e.engine import Engine
from tests.e2e.observe import (LOG_GROUP_URN, POLICY_PACK_ARGS, Moto, check_report,
                               error_messages, flow_log_summary, ops_by_urn, outputs, replaced, state_resources,
                               steps, the_flow_log, violations)

# What the engine does for a delete-before-replace resource, in this order.
DELETE_FIRST = ["delete-replaced", "replace", "create-replacement"]


@pytest.fixture
def moto(moto_endpoint: str) -> Moto:
    return Moto(moto_endpoint)


def deploy(engine: Engine) -> None:
    engine.run("up", "--yes", "--skip-preview")


def only_flow_log(moto: Moto, vpc_id: str) -> dict:
    flow_logs = moto.flow_logs()
    assert len(flow_logs) == 1 and flow_logs[0]["ResourceId"] == vpc_id, \
        f"moto should hold one flow log on {vpc_id}: {[flow_log_summary(f) for f in flow_logs]}"
    return flow_logs[0]


def test_traffic_type_change_plans_the_flow_log_replaced_delete_first(local_engine: Engine) -> None:
    deploy(local_engine)
    local_engine.run("config", "set", "vpc-flow-logs:trafficType", "REJECT")
    _, events = local_engine.events("preview")
    ops, flow_log = ops_by_urn(events), the_flow_log(ops_by_urn(events))
    assert ops[flow_log] == DELETE_FIRST, f"{flow_log} steps in the preview: {ops[flow_log]}"
    assert replaced(events) == {flow_log}, f"replaced in the preview: {sorted(replaced(events))}"


def test_traffic_type_change_leaves_one_flow_log_with_the_new_type(local_engine: Engine, moto: Moto) -> None:
    deploy(local_engine)
    before = outputs(local_engine)["flowLogId"]
    local_engine.run("config", "set", "vpc-flow-logs:trafficType", "REJECT")
    deploy(local_engine)
    flow_log = only_flow_log(moto, outputs(local_engine)["vpcId"])
    assert (flow_log["TrafficType"], flow_log["FlowLogId"] != before) == ("REJECT", True), \
        f"flow log after up: {flow_log_summary(flow_log)} (was {before})"


def test_format_and_interval_change_replaces_only_the_flow_log(local_engine: Engine, moto: Moto) -> None:
    deploy(local_engine)
    log_format = "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${action}"
    local_engine.run("config", "set", "vpc-flow-logs:logFormat", log_format)
    local_engine.run("config", "set", "vpc-flow-logs:aggregationInterval", "600")
    _, events = local_engine.events("up", "--yes", "--skip-preview")
    ops, urn = ops_by_urn(events), the_flow_log(ops_by_urn(events))
    assert ops[urn] == DELETE_FIRST, f"{urn} steps in the up: {ops[urn]}"
    assert replaced(events) == {urn}, f"replaced in the up: {sorted(replaced(events))}"
    flow_log = only_flow_log(moto, outputs(local_engine)["vpcId"])
    assert (flow_log["LogFormat"], flow_log["MaxAggregationInterval"]) == (log_format, 600), \
        f"{urn} after up: {flow_log_summary(flow_log)}"


def test_tags_change_updates_the_flow_log_in_place(local_engine: Engine, moto: Moto) -> None:
    deploy(local_engine)
    before = outputs(local_engine)["flowLogId"]
    local_engine.run("config", "set", "--path", "vpc-flow-logs:tags.Owner", "network-team")
    _, events = local_engine.events("up", "--yes", "--skip-preview")
    ops, urn = ops_by_urn(events), the_flow_log(ops_by_urn(events))
    assert ops[urn] == ["update"] and not replaced(events), \
        f"{urn} steps: {ops[urn]}; replaced: {sorted(replaced(events))}"
    flow_log = only_flow_log(moto, outputs(local_engine)["vpcId"])
    tags = {tag["Key"]: tag["Value"] for tag in flow_log.get("Tags", [])}
    assert (flow_log["FlowLogId"], tags.get("Owner")) == (before, "network-team"), \
        f"{urn} after up: {flow_log_summary(flow_log)}, tags {tags} (was {before})"


def test_mandatory_violation_stops_preview_before_anything_exists(local_engine: Engine, moto: Moto) -> None:
    local_engine.run("config", "set", "vpc-flow-logs:trafficType", "ACCEPT")
    result, events = local_engine.events("preview", *POLICY_PACK_ARGS, check=False)
    mandatory = {violation for violation in violations(events) if violation[1] == "mandatory"}
    flow_log = the_flow_log(urn for _, urn in steps(events))
    assert result.returncode != 0 and mandatory == {("flow-log-captures-rejects", "mandatory", flow_log)}, \
        f"preview exited {result.returncode}, mandatory violations {mandatory}"
    assert "flow-log-captures-rejects" in result.stdout, f"the rule is not named in the output:\n{result.stdout}"
    assert not state_resources(local_engine), f"stack export: {[r['urn'] for r in state_resources(local_engine)]}"
    assert (moto.flow_logs(), moto.project_vpcs(), moto.role_names()) == ([], [], []), "moto is not empty"


@pytest.fixture
def protected_stack(local_engine: Engine) -> Engine:
    local_engine.run("config", "set", "vpc-flow-logs:protectLogs", "true")
    deploy(local_engine)
    return local_engine


def test_destroy_refuses_the_protected_log_group(protected_stack: Engine, moto: Moto) -> None:
    name = outputs(protected_stack)["logGroupName"]
    result, events = protected_stack.events("destroy", "--yes", check=False)
    errors = error_messages(events)
    assert result.returncode != 0 and any(LOG_GROUP_URN in error and "protect" in error for error in errors), \
        f"destroy exited {result.returncode}; errors: {errors}"
    assert LOG_GROUP_URN in {r["urn"] for r in state_resources(protected_stack)}, "the log group left the state"
    assert moto.log_group(name) is not None, f"{LOG_GROUP_URN} ({name}) is gone from moto"


def test_unprotected_destroy_retains_the_log_group(protected_stack: Engine, moto: Moto) -> None:
    name = outputs(protected_stack)["logGroupName"]
    protected_stack.run("state", "unprotect", LOG_GROUP_URN, "--yes")
    protected_stack.run("destroy", "--yes")
    assert not state_resources(protected_stack), \
        f"left in the state: {[r['urn'] for r in state_resources(protected_stack)]}"
    assert moto.log_group(name) is not None, f"{LOG_GROUP_URN} ({name}) was deleted from moto despite retainOnDelete"
    assert moto.flow_logs() == [], f"flow logs left in moto: {[flow_log_summary(f) for f in moto.flow_logs()]}"


def test_invalid_value_fails_preview_with_the_make_check_message(local_engine: Engine) -> None:
    local_engine.run("config", "set", "vpc-flow-logs:trafficType", "EVERYTHING")
    result, events = local_engine.events("preview", check=False)
    stack_file = local_engine.project_dir / "config" / "Pulumi.local.yaml"
    checked = check_report(str(stack_file))
    check_message = checked.stderr.strip().removeprefix(f"{stack_file}: ")
    errors = error_messages(events)
    assert result.returncode != 0 and checked.returncode == 2 and errors[:1] == [check_message], \
        f"preview exited {result.returncode}, errors {errors}; make check exited {checked.returncode}: {checked.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, f"a traceback was printed:\n{result.stdout}"
