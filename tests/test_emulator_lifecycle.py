"""Resources after their creation in moto: updated in place, read back, deleted.

The prod stack (every resource type of the program but the key pair) is deployed into moto
in-process through `MotoMocks`, then each resource goes through the handlers a provider's
Update, Read and Delete use (the rehearsal stand-in's). Deletions are checked with plain boto3
describe/get calls.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple

import boto3
import pytest
from moto import mock_aws

from config.settings import settings_from_stack_file
from tests.conftest import stack_file
from tools.emulator import RESOURCES, MotoMocks
from tools.render import render_stack_file

STACK = "prod"


class Created(NamedTuple):
    typ: str
    name: str
    resource_id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


class RecordingMocks(MotoMocks):
    """MotoMocks that remember each resource they created, in creation order."""

    def __init__(self, region: str):
        super().__init__(region)
        self.created: list[Created] = []

    def new_resource(self, args):
        resource_id, outputs = super().new_resource(args)
        if args.custom:
            self.created.append(Created(args.typ, args.name, resource_id, dict(args.inputs), outputs))
        return resource_id, outputs


@pytest.fixture(scope="module")
def deployed() -> Iterator[RecordingMocks]:
    with mock_aws():
        mocks = RecordingMocks(settings_from_stack_file(stack_file(STACK)).region)
        render_stack_file(stack_file(STACK), mocks)
        yield mocks


def test_every_resource_type_says_how_it_is_read_back_and_deleted():
    incomplete = sorted(token for token, handler in RESOURCES.items() if handler.read is None or handler.delete is None)
    assert incomplete == [], f"resource types without a read or delete handler: {incomplete}"


def test_a_tags_change_is_applied_in_place_to_every_tagged_resource(deployed):
    not_applied = []
    for resource in deployed.created:
        if "tags" not in RESOURCES[resource.typ].inputs:
            continue
        news = {**resource.inputs, "tags": {**resource.inputs.get("tags", {}), "Rehearsal": "retagged"}}
        deployed.update(resource.typ, resource.name, resource.resource_id, resource.outputs, news, ["tags"])
        found = deployed.read(resource.typ, resource.name, resource.resource_id, resource.outputs)
        if (found or {}).get("tags", {}).get("Rehearsal") != "retagged":
            not_applied.append(f"{resource.typ} {resource.name}")
    assert not_applied == [], f"tags not changed in moto: {not_applied}"


def test_destroying_in_reverse_creation_order_leaves_none_of_the_stack(deployed):
    for resource in reversed(deployed.created):
        deployed.delete(resource.typ, resource.name, resource.resource_id, resource.outputs)
    ids = {resource.typ: resource.resource_id for resource in deployed.created}
    region = deployed.region
    ec2, logs = boto3.client("ec2", region_name=region), boto3.client("logs", region_name=region)
    left = {
        "vpcs": [vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"] if vpc["VpcId"] == ids["aws:ec2/vpc:Vpc"]],
        "instances": [instance["InstanceId"] for reservation in ec2.describe_instances()["Reservations"]
                      for instance in reservation["Instances"] if instance["State"]["Name"] != "terminated"],
        "flow logs": [flow_log["FlowLogId"] for flow_log in ec2.describe_flow_logs()["FlowLogs"]],
        "log groups": [group["logGroupName"] for group in logs.describe_log_groups()["logGroups"]],
        "roles": [role["RoleName"] for role in boto3.client("iam", region_name=region).list_roles()["Roles"]],
        "topics": boto3.client("sns", region_name=region).list_topics()["Topics"],
        "alarms": [alarm["AlarmName"] for alarm in
                   boto3.client("cloudwatch", region_name=region).describe_alarms()["MetricAlarms"]],
        # AWS deletes a key only after its window: until then it is pending deletion.
        "key not pending deletion": [key_id for key_id in [ids["aws:kms/key:Key"]] if boto3.client(
            "kms", region_name=region).describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] != "PendingDeletion"],
    }
    assert {kind: found for kind, found in left.items() if found} == {}, left
