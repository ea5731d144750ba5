"""What a scenario reads back: the engine's event log and state, and moto through boto3."""

from __future__ import annotations

import json
import subprocess
from typing import Any, Iterable

from tests.e2e.engine import REPO_ROOT, VENV, Engine
from tools.emulator import moto_client

REGION = "us-east-1"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
FLOW_LOG_TYPE = "aws:ec2/flowLog:FlowLog"
LOG_GROUP_URN = ("urn:pulumi:local::vpc-flow-logs::vpcflowlogs:index:FlowLogDelivery"
                 "$aws:cloudwatch/logGroup:LogGroup::local-flow-logs-log-group")
POLICY_PACK_ARGS = ("--policy-pack", "policies", "--policy-pack-config", "policies/config/local.json")
# The engine's notice that a policy could not run on unknown values during preview: not a violation.
PREVIEW_NOTICE = "can't run policy"


def is_provider(urn: str) -> bool:
    return urn.split("::")[2].startswith(PROVIDER_TYPE_PREFIX)


def type_of(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1]


def the_flow_log(urns: Iterable[str]) -> str:
    """The one flow log URN among `urns` (its logical name follows the program, not this test)."""
    flow_logs = sorted({urn for urn in urns if type_of(urn) == FLOW_LOG_TYPE})
    assert len(flow_logs) == 1, f"expected one {FLOW_LOG_TYPE} among {sorted(urns)}"
    return flow_logs[0]


def steps(events: list[dict]) -> list[tuple[str, str]]:
    """(op, urn) of every step the engine began, providers left out, in event order."""
    return [(event["resourcePreEvent"]["metadata"]["op"], event["resourcePreEvent"]["metadata"]["urn"])
            for event in events
            if "resourcePreEvent" in event and not is_provider(event["resourcePreEvent"]["metadata"]["urn"])]


def ops_by_urn(events: list[dict]) -> dict[str, list[str]]:
    ops: dict[str, list[str]] = {}
    for op, urn in steps(events):
        ops.setdefault(urn, []).append(op)
    return ops


def replaced(events: list[dict]) -> set[str]:
    """URNs with any replacement step."""
    return {urn for op, urn in steps(events) if "replace" in op}


def error_messages(events: list[dict]) -> list[str]:
    return [event["diagnosticEvent"]["message"].rstrip("\n") for event in events
            if event.get("diagnosticEvent", {}).get("severity") == "error"]


def violations(events: list[dict]) -> set[tuple[str, str, str]]:
    """(policy, enforcement, urn) of each policy violation the engine reported."""
    return {(event["policyEvent"]["policyName"], event["policyEvent"]["enforcementLevel"],
             event["policyEvent"]["resourceUrn"])
            for event in events
            if "policyEvent" in event and not event["policyEvent"]["message"].startswith(PREVIEW_NOTICE)}


def state_resources(engine: Engine) -> list[dict]:
    """The non-provider resources of `pulumi stack export`."""
    deployment = engine.document("stack", "export")["deployment"]
    return [resource for resource in deployment.get("resources", []) if not is_provider(resource["urn"])]


def resource_id(engine: Engine, urn: str) -> str:
    ids = {resource["urn"]: resource.get("id") for resource in state_resources(engine)}
    assert ids.get(urn), f"{urn} has no id in `pulumi stack export`: {sorted(ids)}"
    return ids[urn]


def check_report(stack_file: str) -> subprocess.CompletedProcess[str]:
    """`make check` on one stack file, as JSON (run as the Makefile runs it)."""
    return subprocess.run([str(VENV / "bin" / "python"), "-m", "tools.check", "--format", "json", stack_file],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


class Moto:
    """boto3 clients on one moto server at 127.0.0.1 (moto_client refuses any other address)."""

    def __init__(self, endpoint: str):
        self.ec2 = moto_client("ec2", REGION, endpoint)
        self.logs = moto_client("logs", REGION, endpoint)
        self.iam = moto_client("iam", REGION, endpoint)

    def flow_logs(self) -> list[dict[str, Any]]:
        return self.ec2.describe_flow_logs()["FlowLogs"]

    def log_group(self, name: str) -> dict[str, Any] | None:
        groups = self.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        return next((group for group in groups if group["logGroupName"] == name), None)

    def project_vpcs(self) -> list[dict[str, Any]]:
        """VPCs this project created (moto's default VPC is not one)."""
        return self.ec2.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["vpc-flow-logs"]}])["Vpcs"]

    def role_names(self) -> list[str]:
        return [role["RoleName"] for role in self.iam.list_roles()["Roles"]]


def outputs(engine: Engine) -> dict[str, Any]:
    return engine.document("stack", "output", "--json")


def flow_log_summary(flow_log: dict[str, Any]) -> str:
    return json.dumps({key: flow_log.get(key) for key in
                       ("FlowLogId", "ResourceId", "TrafficType", "MaxAggregationInterval", "LogFormat",
                        "LogGroupName")})
