"""The rehearsal stand-in for the aws provider plugin, driven over gRPC as the engine drives it.

Each stand-in runs as the engine runs it: its launcher started with the engine's address as
the last argument, its port read from the first line of its stdout. Requests are provider_pb2
messages; what they did is read back from the moto server with plain boto3 clients.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import boto3
import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.flow_log import trust_policy
from components.web_servers import AL2023_AMI_PARAMETER
from tests.conftest import REPO_ROOT
from tests.moto_server import running_moto_server
from tools.emulator import DUMMY_CREDENTIALS
from tools.moto_local import stack_emulator
from tools.rehearsal_provider.launcher import PLUGIN_NAME, write_launcher
from tools.rehearsal_provider.server import properties, to_struct

REGION = stack_emulator().region
ENGINE_ADDRESS = "127.0.0.1:1"  # no engine listens in these tests; the stand-in only records it
START_SECONDS = 30
EXIT_SECONDS = 15
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
INSTANCE = "aws:ec2/instance:Instance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
REPLACE = provider_pb2.PropertyDiff.UPDATE_REPLACE
UPDATE = provider_pb2.PropertyDiff.UPDATE


# Starts the stand-in as the engine does, prints its pid once it has printed its port, and exits.
ORPHANING_PARENT = """
import subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
child.stdout.readline()
print(child.pid)
"""


class StandIn(NamedTuple):
    process: subprocess.Popen
    port: int
    stub: provider_pb2_grpc.ResourceProviderStub


def _start(launcher: Path) -> StandIn:
    """Start the launcher as the engine does and wait for the port on stdout's first line."""
    process = subprocess.Popen([str(launcher), ENGINE_ADDRESS], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    first_line = process.stdout.readline()
    if not first_line.strip().isdigit():
        _stop(process)
        raise AssertionError(f"{launcher} printed {first_line!r} instead of its port; stderr: {process.stderr.read()}")
    port = int(first_line)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=START_SECONDS)
    return StandIn(process, port, provider_pb2_grpc.ResourceProviderStub(channel))


def _stop(process: subprocess.Popen) -> None:
    """Kill the stand-in's process group if it still runs: nothing outlives the tests."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=EXIT_SECONDS)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_launcher(tmp_path_factory.mktemp("bin") / PLUGIN_NAME)


@pytest.fixture
def fresh_stand_in(launcher: Path) -> Iterator[StandIn]:
    stand_in = _start(launcher)
    try:
        yield stand_in
    finally:
        _stop(stand_in.process)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with running_moto_server() as url:
        yield url


def configure_request(url: str) -> provider_pb2.ConfigureRequest:
    """What the engine sends: the local stack's provider config, its endpoints moved to `url`."""
    endpoints = [{service: url for service in stack_emulator().endpoints}]
    return provider_pb2.ConfigureRequest(
        variables={"aws:config:region": REGION, "aws:config:endpoints": json.dumps(endpoints)},
        args=to_struct({"region": REGION, "endpoints": endpoints}), acceptSecrets=True, acceptResources=True,
        type="pulumi:providers:aws", name="default_7_51_1")


@pytest.fixture(scope="module")
def stand_in(launcher: Path, moto_url: str) -> Iterator[StandIn]:
    started = _start(launcher)
    try:
        started.stub.Configure(configure_request(moto_url))
        yield started
    finally:
        _stop(started.process)


@pytest.fixture(scope="module")
def aws(moto_url: str):
    """Plain boto3 clients on the test's moto server, independent of the stand-in's own."""
    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=moto_url, **DUMMY_CREDENTIALS)
    return client


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:local::vpc-flow-logs::{typ}::{name}"


def create(stand_in: StandIn, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    created = stand_in.stub.Create(provider_pb2.CreateRequest(
        urn=urn(typ, name), type=typ, name=name, properties=to_struct(inputs)))
    return created.id, properties(created.properties)


def diff(stand_in: StandIn, typ: str, olds: dict[str, Any], news: dict[str, Any],
         outputs: dict[str, Any] | None = None) -> provider_pb2.DiffResponse:
    return stand_in.stub.Diff(provider_pb2.DiffRequest(
        id="x-1", urn=urn(typ, "subject"), type=typ, name="subject", olds=to_struct({**olds, **(outputs or {})}),
        old_inputs=to_struct(olds), news=to_struct(news)))


def update(stand_in: StandIn, typ: str, name: str, resource_id: str, outputs: dict[str, Any],
           olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    updated = stand_in.stub.Update(provider_pb2.UpdateRequest(
        id=resource_id, urn=urn(typ, name), type=typ, name=name, olds=to_struct(outputs),
        old_inputs=to_struct(olds), news=to_struct(news)))
    return properties(updated.properties)


def delete(stand_in: StandIn, typ: str, name: str, resource_id: str, outputs: dict[str, Any]) -> None:
    stand_in.stub.Delete(provider_pb2.DeleteRequest(id=resource_id, urn=urn(typ, name), type=typ, name=name,
                                                    properties=to_struct(outputs)))


FLOW_LOG_INPUTS = {"vpcId": "vpc-1", "trafficType": "ALL", "logDestinationType": "cloud-watch-logs",
                   "logDestination": "arn:aws:logs:us-east-1:123456789012:log-group:/vpc-flow-logs/local",
                   "iamRoleArn": "arn:aws:iam::123456789012:role/delivery", "maxAggregationInterval": 60,
                   "tags": {"Name": "local-flow-logs-flow-log"}}
INSTANCE_INPUTS = {"ami": "ami-1", "instanceType": "t3.micro", "subnetId": "subnet-1",
                   "userData": "#!/bin/bash\n", "userDataReplaceOnChange": True, "tags": {"Name": "local-web-0"}}


# --- the plugin as the engine sees it ----------------------------------------------------------

def test_reports_the_pulumi_aws_version_the_program_requests(stand_in):
    pinned = [line.split("==")[1].strip() for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
              if line.startswith("pulumi-aws==")]
    assert stand_in.stub.GetPluginInfo(empty_pb2.Empty()).version == pinned[0], pinned


def test_an_interrupted_stand_in_exits_cleanly(fresh_stand_in):
    fresh_stand_in.process.send_signal(signal.SIGINT)  # what the engine sends when it is done
    assert fresh_stand_in.process.wait(timeout=EXIT_SECONDS) == 0, fresh_stand_in.process.stderr.read()


def test_a_stand_in_whose_engine_died_exits(launcher):
    """A stand-in outlives no engine: this parent exits once it has the port, leaving it orphaned."""
    parent = subprocess.run([sys.executable, "-c", ORPHANING_PARENT, str(launcher), ENGINE_ADDRESS],
                            capture_output=True, text=True, check=True, timeout=START_SECONDS)
    pid = int(parent.stdout)
    deadline = time.monotonic() + START_SECONDS
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = Path(f"/proc/{pid}").exists()
    if alive:
        os.killpg(pid, signal.SIGKILL)
    assert not alive, f"stand-in pid {pid} still ran {START_SECONDS} s after its parent exited"


def test_a_non_loopback_endpoint_is_refused_at_configure(fresh_stand_in):
    with pytest.raises(grpc.RpcError) as refused:
        fresh_stand_in.stub.Configure(configure_request("http://10.0.0.5:5000"))
    assert "http://10.0.0.5:5000 is not on 127.0.0.1" in refused.value.details(), refused.value.details()


def test_an_unconfigured_stand_in_sends_nothing(fresh_stand_in):
    with pytest.raises(grpc.RpcError) as refused:
        fresh_stand_in.stub.Invoke(provider_pb2.InvokeRequest(tok=CALLER_IDENTITY))
    assert "not configured" in refused.value.details(), refused.value.details()


def test_check_config_names_a_non_loopback_endpoint(stand_in):
    checked = stand_in.stub.CheckConfig(provider_pb2.CheckRequest(
        urn=urn("pulumi:providers:aws", "default"), news=to_struct(
            {"region": REGION, "endpoints": json.dumps([{"ec2": "http://192.0.2.1:5000"}])})))
    assert [(failure.property, "192.0.2.1" in failure.reason) for failure in checked.failures] == [
        ("endpoints", True)], checked.failures


def test_invoke_answers_caller_identity_from_moto(stand_in, aws):
    answered = stand_in.stub.Invoke(provider_pb2.InvokeRequest(tok=CALLER_IDENTITY))
    result = properties(getattr(answered, "return"))
    assert result["accountId"] == aws("sts").get_caller_identity()["Account"], result


def test_check_names_an_input_the_stand_in_would_not_send(stand_in):
    checked = stand_in.stub.Check(provider_pb2.CheckRequest(
        urn=urn(FLOW_LOG, "subject"), type=FLOW_LOG, name="subject",
        news=to_struct({**FLOW_LOG_INPUTS, "deliverCrossAccountRole": "arn:aws:iam::1:role/x"})))
    assert [failure.property for failure in checked.failures] == ["deliverCrossAccountRole"], checked.failures


BUCKET = "aws:s3/bucket:Bucket"


def checked_bucket_name(stand_in, olds: dict, news: dict) -> str:
    checked = stand_in.stub.Check(provider_pb2.CheckRequest(
        urn=urn(BUCKET, "records"), type=BUCKET, name="records", olds=to_struct(olds), news=to_struct(news)))
    return properties(checked.inputs).get("bucket", "")


def test_check_names_a_new_bucket_from_its_logical_name_as_pulumi_aws_does(stand_in):
    name = checked_bucket_name(stand_in, {}, {"tags": {"Name": "records"}})
    assert re.fullmatch(r"records-[0-9a-f]{7}", name), f"{BUCKET} 'records' checked as {name!r}"


def test_check_keeps_the_name_an_earlier_check_gave(stand_in):
    assert checked_bucket_name(stand_in, {"bucket": "records-1a2b3c4"}, {}) == "records-1a2b3c4"


def test_check_leaves_a_bucket_named_by_prefix_to_create(stand_in):
    assert checked_bucket_name(stand_in, {}, {"bucketPrefix": "records-"}) == ""


# --- Diff --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [("trafficType", "REJECT"), ("maxAggregationInterval", 600),
                                        ("logFormat", "${srcaddr} ${dstaddr}")])
def test_a_flow_log_change_is_a_replacement(stand_in, key, value):
    answer = diff(stand_in, FLOW_LOG, FLOW_LOG_INPUTS, {**FLOW_LOG_INPUTS, key: value})
    assert (list(answer.diffs), list(answer.replaces), answer.detailedDiff[key].kind) == ([key], [key], REPLACE), \
        f"{FLOW_LOG} {key}: {answer}"


def test_a_flow_log_tags_change_is_an_update(stand_in):
    answer = diff(stand_in, FLOW_LOG, FLOW_LOG_INPUTS, {**FLOW_LOG_INPUTS, "tags": {"Name": "renamed"}})
    assert (list(answer.diffs), list(answer.replaces), answer.detailedDiff["tags"].kind) == (["tags"], [], UPDATE), \
        f"{FLOW_LOG} tags: {answer}"


@pytest.mark.parametrize("key, value", [("ami", "ami-2"), ("subnetId", "subnet-2")])
def test_an_instance_placement_change_is_a_replacement(stand_in, key, value):
    answer = diff(stand_in, INSTANCE, INSTANCE_INPUTS, {**INSTANCE_INPUTS, key: value})
    assert list(answer.replaces) == [key], f"{INSTANCE} {key}: {answer}"


@pytest.mark.parametrize("replace_on_change, replaces", [(True, ["userData"]), (False, [])])
def test_instance_user_data_replaces_only_with_user_data_replace_on_change(stand_in, replace_on_change, replaces):
    olds = {**INSTANCE_INPUTS, "userDataReplaceOnChange": replace_on_change}
    answer = diff(stand_in, INSTANCE, olds, {**olds, "userData": "#!/bin/bash\necho changed\n"})
    assert (list(answer.diffs), list(answer.replaces)) == (["userData"], replaces), f"{INSTANCE} userData: {answer}"


def test_unchanged_inputs_are_no_diff_whatever_the_outputs(stand_in):
    """No perpetual diff: outputs AWS computed and the engine's `__defaults` are not inputs."""
    answer = diff(stand_in, FLOW_LOG, {**FLOW_LOG_INPUTS, "__defaults": []}, dict(FLOW_LOG_INPUTS),
                  outputs={"arn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/fl-1", "id": "fl-1"})
    assert (answer.changes, list(answer.diffs)) == (provider_pb2.DiffResponse.DIFF_NONE, []), answer


def test_an_unknown_input_during_preview_counts_as_changed(stand_in):
    answer = diff(stand_in, FLOW_LOG, FLOW_LOG_INPUTS, {**FLOW_LOG_INPUTS, "vpcId": rpc.UNKNOWN})
    assert list(answer.replaces) == ["vpcId"], f"{FLOW_LOG} vpcId unknown: {answer}"


def test_a_secret_input_equal_to_its_old_value_is_no_diff(stand_in):
    olds = {**INSTANCE_INPUTS, "userData": "#!/bin/bash\n"}
    answer = diff(stand_in, INSTANCE, olds, {**olds, "userData": rpc.wrap_rpc_secret("#!/bin/bash\n")})
    assert list(answer.diffs) == [], f"{INSTANCE} userData: {answer}"


# --- applied to moto ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vpc(stand_in) -> tuple[str, dict[str, Any]]:
    return create(stand_in, VPC, "local-vpc", {"cidrBlock": "10.0.0.0/16", "tags": {"Name": "local-vpc"}})


@pytest.fixture(scope="module")
def subnet(stand_in, vpc) -> tuple[str, dict[str, Any]]:
    return create(stand_in, SUBNET, "local-public-0",
                  {"vpcId": vpc[0], "cidrBlock": "10.0.0.0/24", "availabilityZone": f"{REGION}a",
                   "mapPublicIpOnLaunch": True})


@pytest.fixture(scope="module")
def delivery(stand_in, vpc) -> dict[str, tuple[str, dict[str, Any]]]:
    """A log group, a role and the flow log delivering into the group."""
    account = properties(getattr(stand_in.stub.Invoke(provider_pb2.InvokeRequest(tok=CALLER_IDENTITY)),
                                 "return"))["accountId"]
    group = create(stand_in, LOG_GROUP, "local-log-group", {"name": "/vpc-flow-logs/stand-in", "retentionInDays": 7})
    role = create(stand_in, ROLE, "local-role", {"assumeRolePolicy": trust_policy("aws", account, REGION)})
    flow_log = create(stand_in, FLOW_LOG, "local-flow-log", {
        **FLOW_LOG_INPUTS, "vpcId": vpc[0], "logDestination": group[1]["arn"], "iamRoleArn": role[1]["arn"]})
    return {"group": group, "role": role, "flow_log": flow_log}


def test_a_created_flow_log_is_in_moto_with_its_id_and_arn(delivery, aws):
    flow_log_id, outputs = delivery["flow_log"]
    (held,) = aws("ec2").describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"]
    assert (held["TrafficType"], outputs["arn"].endswith(f"vpc-flow-log/{flow_log_id}")) == ("ALL", True), outputs


def test_a_created_instance_reports_what_the_program_reads(stand_in, subnet, aws):
    ami = properties(getattr(stand_in.stub.Invoke(provider_pb2.InvokeRequest(
        tok="aws:ssm/getParameter:getParameter",
        args=to_struct({"name": AL2023_AMI_PARAMETER.format(arch="x86_64")}))), "return"))["value"]
    instance_id, outputs = create(stand_in, INSTANCE, "local-web-0", {
        **INSTANCE_INPUTS, "ami": ami, "subnetId": subnet[0], "associatePublicIpAddress": True})
    (held,) = aws("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    assert {key: outputs.get(key) for key in ("publicIp", "privateIp", "primaryNetworkInterfaceId",
                                               "availabilityZone", "subnetId")} == {
        "publicIp": held["PublicIpAddress"], "privateIp": held["PrivateIpAddress"],
        "primaryNetworkInterfaceId": held["NetworkInterfaces"][0]["NetworkInterfaceId"],
        "availabilityZone": held["Placement"]["AvailabilityZone"], "subnetId": subnet[0]}, outputs


def test_a_tags_change_is_applied_in_place_in_moto(stand_in, aws):
    inputs = {"cidrBlock": "10.1.0.0/16", "tags": {"Name": "before", "Dropped": "yes"}}
    vpc_id, outputs = create(stand_in, VPC, "retagged-vpc", inputs)
    update(stand_in, VPC, "retagged-vpc", vpc_id, outputs, inputs, {**inputs, "tags": {"Name": "after"}})
    (held,) = aws("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert {tag["Key"]: tag["Value"] for tag in held.get("Tags", [])} == {"Name": "after"}, f"{VPC} {vpc_id}"


def test_a_retention_change_is_applied_in_place_in_moto(stand_in, aws):
    inputs = {"name": "/vpc-flow-logs/retention", "retentionInDays": 7}
    group_name, outputs = create(stand_in, LOG_GROUP, "retention-group", inputs)
    update(stand_in, LOG_GROUP, "retention-group", group_name, outputs, inputs, {**inputs, "retentionInDays": 30})
    (held,) = aws("logs").describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
    assert held.get("retentionInDays") == 30, f"{LOG_GROUP} {group_name}: {held}"


def test_an_update_that_moto_cannot_apply_fails_naming_the_input(stand_in):
    with pytest.raises(grpc.RpcError) as refused:
        olds = {"subnetId": "subnet-1", "routeTableId": "rtb-1"}
        update(stand_in, ASSOCIATION, "local-public-0-rta", "rtbassoc-1", olds, olds, {**olds, "routeTableId": "rtb-2"})
    assert "changing routeTableId in place is not emulated" in refused.value.details(), refused.value.details()


def test_read_returns_what_moto_holds(stand_in, delivery):
    group_name, outputs = delivery["group"]
    read = stand_in.stub.Read(provider_pb2.ReadRequest(
        id=group_name, urn=urn(LOG_GROUP, "local-log-group"), type=LOG_GROUP, name="local-log-group",
        properties=to_struct(outputs), inputs=to_struct({"name": group_name, "retentionInDays": 7})))
    assert (read.id, properties(read.inputs)["retentionInDays"]) == (group_name, 7), read


def test_delete_removes_the_flow_log_from_moto_and_read_then_finds_nothing(stand_in, delivery, aws):
    flow_log_id, outputs = delivery["flow_log"]
    delete(stand_in, FLOW_LOG, "local-flow-log", flow_log_id, outputs)
    assert aws("ec2").describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"] == [], flow_log_id
    read = stand_in.stub.Read(provider_pb2.ReadRequest(
        id=flow_log_id, urn=urn(FLOW_LOG, "local-flow-log"), type=FLOW_LOG, name="local-flow-log",
        properties=to_struct(outputs)))
    assert read.id == "", f"{FLOW_LOG} {flow_log_id} read back after delete: {read}"


def test_delete_removes_the_role_from_moto(stand_in, delivery, aws):
    role_name, outputs = delivery["role"]
    delete(stand_in, ROLE, "local-role", role_name, outputs)
    names = [role["RoleName"] for role in aws("iam").list_roles()["Roles"]]
    assert role_name not in names, f"{ROLE} {role_name} still in {names}"


def test_a_preview_create_sends_nothing_and_keeps_unknowns(stand_in, aws):
    before = len(aws("ec2").describe_subnets()["Subnets"])
    created = stand_in.stub.Create(provider_pb2.CreateRequest(
        urn=urn(SUBNET, "previewed"), type=SUBNET, name="previewed", preview=True,
        properties=to_struct({"vpcId": rpc.UNKNOWN, "cidrBlock": "10.9.0.0/24"})))
    assert (created.id, created.properties["vpcId"], len(aws("ec2").describe_subnets()["Subnets"])) == (
        "", rpc.UNKNOWN, before), created



def test_a_secret_input_is_applied_in_clear_and_stays_secret_in_the_outputs(stand_in, aws):
    group_name, outputs = create(stand_in, LOG_GROUP, "secret-group",
                                 {"name": "/vpc-flow-logs/secret", "retentionInDays": rpc.wrap_rpc_secret(14)})
    (held,) = aws("logs").describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
    assert (held.get("retentionInDays"), rpc.is_rpc_secret(outputs["retentionInDays"])) == (14, True), outputs


@pytest.mark.parametrize("change, replaces", [({"encrypted": False}, ["rootBlockDevice"]), ({"volumeSize": 20}, [])])
def test_an_instance_root_volume_is_replaced_only_to_change_its_encryption(stand_in, change, replaces):
    olds = {**INSTANCE_INPUTS, "rootBlockDevice": {"encrypted": True, "volumeType": "gp3"}}
    answer = diff(stand_in, INSTANCE, olds, {**olds, "rootBlockDevice": {**olds["rootBlockDevice"], **change}})
    assert (list(answer.diffs), list(answer.replaces)) == (["rootBlockDevice"], replaces), \
        f"{INSTANCE} rootBlockDevice {change}: {answer}"
