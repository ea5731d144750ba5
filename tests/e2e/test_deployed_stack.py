"""Scenarios a-c: preview under the policy pack, `pulumi up`, and a second `pulumi up`, on one stack.

The three commands run once, in order, on one moto server; the tests only read what they left
(their event logs, the exported state, moto). Scenarios that change the stack have their own.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.conftest import fresh_moto_server, local_stack_engine
from tests.e2e.engine import REPO_ROOT, Engine
from tests.e2e.observe import (LOG_GROUP_URN, POLICY_PACK_ARGS, PREVIEW_NOTICE, Moto, check_report,
                               flow_log_summary, is_provider, outputs, resource_id, steps, violations)

WEB_SG_URN = "urn:pulumi:local::vpc-flow-logs::vpcflowlogs:index:WebServers$aws:ec2/securityGroup:SecurityGroup::local-web-sg"


@dataclass(frozen=True)
class Rehearsal:
    engine: Engine
    moto: Moto
    preview: subprocess.CompletedProcess[str]
    preview_events: list[dict]
    first_up: list[dict]
    second_up: list[dict]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    with fresh_moto_server() as endpoint:
        engine = local_stack_engine(tmp_path_factory.mktemp("rehearsal"), endpoint)
        preview, preview_events = engine.events("preview", "-s", "local", "--json", *POLICY_PACK_ARGS, check=False)
        _, first_up = engine.events("up", "--yes", "--skip-preview")
        _, second_up = engine.events("up", "--yes", "--skip-preview")
        yield Rehearsal(engine, Moto(endpoint), preview, preview_events, first_up, second_up)


@pytest.fixture(scope="module")
def checked() -> dict:
    """`make check STACK=local` as JSON."""
    report = check_report("config/Pulumi.local.yaml")
    assert report.returncode == 0, f"make check STACK=local exited {report.returncode}:\n{report.stderr}"
    return json.loads(report.stdout)


def test_preview_plans_the_urns_make_check_renders(rehearsal: Rehearsal, checked: dict) -> None:
    assert rehearsal.preview.returncode == 0, rehearsal.preview.stdout + rehearsal.preview.stderr
    planned = {step["urn"] for step in json.loads(rehearsal.preview.stdout)["steps"] if not is_provider(step["urn"])}
    rendered = {resource["urn"] for resource in checked["resources"]}
    assert planned == rendered, (f"planned by pulumi preview only: {sorted(planned - rendered)}\n"
                                 f"rendered by make check only: {sorted(rendered - planned)}")


def test_preview_reports_the_violations_make_check_reports(rehearsal: Rehearsal, checked: dict) -> None:
    reported = violations(rehearsal.preview_events)
    expected = {(v["policy"], v["enforcement"], v["urn"]) for v in checked["violations"]}
    assert reported == expected, (f"pulumi preview only: {sorted(reported - expected)}\n"
                                  f"make check only: {sorted(expected - reported)}")


def test_every_policy_decides_at_preview(rehearsal: Rehearsal) -> None:
    """The role's policy, the trust policy and the filter patterns are known before anything exists."""
    undecided = sorted({event["policyEvent"]["policyName"] for event in rehearsal.preview_events
                        if event.get("policyEvent", {}).get("message", "").startswith(PREVIEW_NOTICE)})
    assert undecided == [], f"policies the engine could not run during preview: {undecided}"


def test_up_creates_every_planned_resource(rehearsal: Rehearsal) -> None:
    planned = {step["urn"] for step in json.loads(rehearsal.preview.stdout)["steps"] if not is_provider(step["urn"])}
    not_created = sorted({urn for urn in planned} - {urn for op, urn in steps(rehearsal.first_up) if op == "create"})
    other_ops = sorted((op, urn) for op, urn in steps(rehearsal.first_up) if op != "create")
    assert not not_created and not other_ops, f"not created: {not_created}; other steps: {other_ops}"


def test_one_flow_log_delivers_the_vpc_to_the_group(rehearsal: Rehearsal) -> None:
    stack = outputs(rehearsal.engine)
    flow_logs = rehearsal.moto.flow_logs()
    assert len(flow_logs) == 1, f"moto holds {len(flow_logs)} flow logs: {[flow_log_summary(f) for f in flow_logs]}"
    actual = {key: flow_logs[0].get(key) for key in ("FlowLogId", "ResourceId", "LogGroupName", "TrafficType",
                                                     "MaxAggregationInterval", "DeliverLogsPermissionArn")}
    expected = {"FlowLogId": stack["flowLogId"], "ResourceId": stack["vpcId"], "LogGroupName": stack["logGroupName"],
                "TrafficType": "ALL", "MaxAggregationInterval": 60, "DeliverLogsPermissionArn": stack["flowLogRoleArn"]}
    assert actual == expected, "the flow log in moto"


def test_log_group_keeps_the_configured_retention(rehearsal: Rehearsal) -> None:
    name = outputs(rehearsal.engine)["logGroupName"]
    group = rehearsal.moto.log_group(name)
    assert group is not None and group.get("retentionInDays") == 7, f"{LOG_GROUP_URN} in moto ({name}): {group}"


def test_role_is_trusted_by_flow_logs_and_may_write_the_group(rehearsal: Rehearsal) -> None:
    role_name = outputs(rehearsal.engine)["flowLogRoleArn"].rsplit("/", 1)[-1]
    trust = rehearsal.moto.iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    principals = [statement["Principal"] for statement in trust["Statement"]]
    assert principals == [{"Service": "vpc-flow-logs.amazonaws.com"}], f"role {role_name} trusts {principals}"
    policies = rehearsal.moto.iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    assert len(policies) == 1, f"role {role_name} has inline policies {policies}"
    document = rehearsal.moto.iam.get_role_policy(RoleName=role_name, PolicyName=policies[0])["PolicyDocument"]
    group_name = outputs(rehearsal.engine)["logGroupName"]
    resources = [resource for statement in document["Statement"] for resource in
                 ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])]
    assert resources and all(f":log-group:{group_name}:" in resource for resource in resources), \
        f"role {role_name} policy {policies[0]} grants on {resources}"


def test_web_security_group_allows_what_the_stack_configures(rehearsal: Rehearsal) -> None:
    group_id = resource_id(rehearsal.engine, WEB_SG_URN)
    rules = rehearsal.moto.ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]
    actual = sorted((rule["IsEgress"], rule["IpProtocol"], rule.get("FromPort"), rule.get("CidrIpv4")) for rule in rules)
    expected = sorted([(False, "tcp", 22, "0.0.0.0/0"), (False, "tcp", 80, "0.0.0.0/0"), (True, "-1", -1, "0.0.0.0/0")])
    assert actual == expected, f"{WEB_SG_URN} ({group_id}) rules in moto"


def test_instances_run_as_configured(rehearsal: Rehearsal) -> None:
    stack = outputs(rehearsal.engine)
    reservations = rehearsal.moto.ec2.describe_instances(InstanceIds=stack["instanceIds"])["Reservations"]
    instances = sorted((i["InstanceType"], i["SubnetId"], i["State"]["Name"], i["MetadataOptions"]["HttpTokens"])
                       for reservation in reservations for i in reservation["Instances"])
    expected = sorted(("t3.micro", subnet, "running", "required") for subnet in stack["subnetIds"])
    assert instances == expected, f"instances {stack['instanceIds']} in moto"


def test_second_up_changes_nothing(rehearsal: Rehearsal) -> None:
    changed = [(op, urn) for op, urn in steps(rehearsal.second_up) if op != "same"]
    assert steps(rehearsal.second_up) and not changed, f"second pulumi up: steps other than same: {changed}"
