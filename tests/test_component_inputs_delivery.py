"""The network, flow-log delivery and target components, each pinned whole under Pulumi's mock runtime.

Every resource a component registers is compared with the complete plan it should produce: type,
parent, provider, inputs (an input taken from another resource's output shows as that resource's
name), options and aliases, plus the lookups it makes and the outputs it registers. A changed input,
option or name therefore shows up here as the plan `pulumi preview` would show differently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
import pulumi_aws as aws
import pytest
from google.protobuf import empty_pb2, json_format

from components.flow_log import FlowLogDelivery, log_key_policy
from components.network import Network, NetworkArgs
from components.targets import ResolvedTarget, resolve_targets
from config.settings import FlowLogTarget
from tests.conftest import lab_config
from tests.test_components import TAGS, VPC_TARGET, delivery_args, flow_log_options
from tests.test_program import FLOW_LOG_CONFIGURATION_INPUTS
from tools.render import ACCOUNT_ID, LabMocks, RecordingMonitor, Rendering, render

REGION = "ap-northeast-1"
# The provider a caller hands a component; its children and lookups must use it, not the default one.
CALLERS_PROVIDER = "callers-aws"
DEFAULT_OPTIONS = {"deleteBeforeReplace": False, "replaceOnChanges": [], "protect": False, "retainOnDelete": False,
                   "dependsOn": []}
LOG_GROUP = "/vpc-flow-logs/lab"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{LOG_GROUP}"
GIVEN_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/given"
TGW_TARGET = ResolvedTarget("tgw-0123456789abcdef0", "transit_gateway_id", "tgw-0123456789abcdef0", True)
LAB_VPC_TARGET = ResolvedTarget("lab-vpc", "vpc_id", "vpc-0fedcba9876543210")


def output_of(*names: str) -> str:
    """How a plan below shows an input that is another resource's output."""
    return "output of " + ", ".join(names)


@dataclass
class Engine:
    """What the engine received while a program ran: registrations, raw requests, lookups, outputs."""

    rendering: Rendering
    requests: dict[str, Any] = field(default_factory=dict)  # URN -> RegisterResource request
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # URN -> registered outputs
    lookups: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # (token, args, provider name)

    def plan(self, urn: str) -> dict[str, Any]:
        """One resource as `pulumi preview` would plan it, with references by resource name."""
        registration = next(r for r in self.rendering.registrations if r.urn == urn)
        request = self.requests[urn]
        inputs = {key: output_of(*(dep.rsplit("::", 1)[1] for dep in registration.dependencies[key]))
                  if key in registration.dependencies else _parsed(value)
                  for key, value in registration.inputs.items()}
        return {"type": registration.type,
                "parent": registration.parent.rsplit("::", 1)[1],
                "provider": _provider_name(request.provider),
                "inputs": inputs,
                "options": dict(registration.options, dependsOn=[u.rsplit("::", 1)[1]
                                                                 for u in registration.options["dependsOn"]]),
                "aliases": [alias.spec.name for alias in request.aliases]}

    def plans_under(self, component_type: str) -> dict[str, dict[str, Any]]:
        """Each resource of the component (and the component itself), by logical name."""
        return {r.name: self.plan(r.urn) for r in self.rendering.registrations
                if r.type == component_type or f"::{component_type}$" in r.urn}


def _parsed(value: Any) -> Any:
    """Policy documents as the JSON they encode, so a plan reads and compares as a document."""
    if isinstance(value, str) and value.startswith("{"):
        return json.loads(value)
    return value


def _provider_name(reference: str) -> str:
    """`urn:...::pulumi:providers:aws::<name>::<id>` -> <name>; the default provider is `default...`."""
    return reference.split("::")[-2] if reference else ""


@pytest.fixture
def engine(monkeypatch) -> Callable[..., Engine]:
    """Run a program under the lab's mocks and keep everything the engine was sent."""
    def run(program: Callable[[], Any], vpcs_by_tags: dict[str, list[str]] | None = None) -> Engine:
        seen = Engine(Rendering("lab", [], {}))
        register = RecordingMonitor.RegisterResource

        def register_resource(monitor, request):
            response = register(monitor, request)
            seen.requests[response.urn] = request
            return response

        def register_resource_outputs(monitor, request):
            seen.component_outputs[request.urn] = json_format.MessageToDict(request.outputs)
            return empty_pb2.Empty()

        class Lookups(LabMocks):
            def call(self, args):
                seen.lookups.append((args.token, dict(args.args), _provider_name(args.provider or "")))
                if vpcs_by_tags is not None and args.token == "aws:ec2/getVpcs:getVpcs":
                    return {"ids": vpcs_by_tags[json.dumps(args.args["tags"], sort_keys=True)], "id": REGION}
                return super().call(args)

        monkeypatch.setattr(RecordingMonitor, "RegisterResource", register_resource)
        monkeypatch.setattr(RecordingMonitor, "RegisterResourceOutputs", register_resource_outputs)
        seen.rendering = render("lab", lab_config(), mocks=Lookups(REGION), program=program)
        return seen
    return run


def under_callers_provider() -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(providers={"aws": aws.Provider(CALLERS_PROVIDER, region=REGION)})


# Network

def network_program(public: bool = True, subnets=("10.0.0.0/24", "10.0.1.0/24")) -> Callable[[], None]:
    def program():
        network = Network("lab", NetworkArgs("10.0.0.0/16", list(subnets), TAGS, public=public),
                          under_callers_provider())
        pulumi.export("vpc", network.vpc.id)
        pulumi.export("subnets", [subnet.id for subnet in network.subnets])
        pulumi.export("zones", network.availability_zones)
    return program


def network_child(type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "parent": "lab", "provider": CALLERS_PROVIDER, "inputs": inputs,
            "options": DEFAULT_OPTIONS, "aliases": []}


def expected_network(public: bool) -> dict[str, dict[str, Any]]:
    def subnet(index: int, zone: str) -> dict[str, Any]:
        tags = {**TAGS, "Name": f"lab-public-{index} ({zone})", **({"Exposure": "public"} if public else {})}
        return network_child("aws:ec2/subnet:Subnet", {
            "vpcId": output_of("lab-vpc"), "cidrBlock": f"10.0.{index}.0/24", "availabilityZone": zone,
            "mapPublicIpOnLaunch": public, "tags": tags})

    def association(index: int) -> dict[str, Any]:
        return network_child("aws:ec2/routeTableAssociation:RouteTableAssociation", {
            "subnetId": output_of(f"lab-public-{index}"), "routeTableId": output_of("lab-public-rt")})

    return {
        "lab": {"type": "vpcflowlogs:index:Network", "parent": "vpc-flow-logs-lab", "provider": "", "inputs": {},
                "options": DEFAULT_OPTIONS, "aliases": []},
        "lab-vpc": network_child("aws:ec2/vpc:Vpc", {
            "cidrBlock": "10.0.0.0/16", "enableDnsSupport": True, "enableDnsHostnames": True,
            "tags": {**TAGS, "Name": "lab-vpc"}}),
        "lab-default-sg": network_child("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {
            "vpcId": output_of("lab-vpc"), "ingress": [], "egress": [],
            "tags": {**TAGS, "Name": "lab-default-sg (closed)"}}),
        "lab-igw": network_child("aws:ec2/internetGateway:InternetGateway", {
            "vpcId": output_of("lab-vpc"), "tags": {**TAGS, "Name": "lab-igw"}}),
        "lab-public-rt": network_child("aws:ec2/routeTable:RouteTable", {
            "vpcId": output_of("lab-vpc"), "tags": {**TAGS, "Name": "lab-public-rt"}}),
        "lab-internet-route": network_child("aws:ec2/route:Route", {
            "routeTableId": output_of("lab-public-rt"), "destinationCidrBlock": "0.0.0.0/0",
            "gatewayId": output_of("lab-igw")}),
        "lab-public-0": subnet(0, f"{REGION}a"),
        "lab-public-0-rta": association(0),
        "lab-public-1": subnet(1, f"{REGION}c"),
        "lab-public-1-rta": association(1),
    }


@pytest.mark.parametrize("public", [True, False], ids=["public", "private"])
def test_network_registers_exactly_its_plan(engine, public):
    plans = engine(network_program(public)).plans_under("vpcflowlogs:index:Network")
    expected = expected_network(public)
    assert sorted(plans) == sorted(expected), sorted(set(plans) ^ set(expected))
    for name, plan in plans.items():
        assert plan == expected[name], f"{name}: {plan}"


def test_network_looks_up_available_zones_through_the_callers_provider(engine):
    lookups = engine(network_program()).lookups
    assert lookups == [("aws:index/getAvailabilityZones:getAvailabilityZones", {"state": "available"},
                        CALLERS_PROVIDER)], lookups


def test_network_outputs_are_the_vpc_its_subnets_and_their_zones(engine):
    run = engine(network_program())
    vpc_id = run.rendering.by_type("aws:ec2/subnet:Subnet")[0].inputs["vpcId"]
    # In subnet order (lab-public-0-rta, lab-public-1-rta...), whatever order the engine received them in.
    subnet_ids = [r.inputs["subnetId"] for r in sorted(
        run.rendering.by_type("aws:ec2/routeTableAssociation:RouteTableAssociation"), key=lambda r: r.name)]
    assert run.component_outputs["urn:pulumi:lab::vpc-flow-logs::vpcflowlogs:index:Network::lab"] == {
        "vpc_id": vpc_id, "subnet_ids": subnet_ids}, run.component_outputs
    assert run.rendering.outputs == {"vpc": vpc_id, "subnets": subnet_ids,
                                     "zones": [f"{REGION}a", f"{REGION}c"]}, run.rendering.outputs


def test_a_subnet_in_every_available_zone_is_allowed(engine):
    zones = [f"{REGION}a", f"{REGION}c", f"{REGION}d"]
    run = engine(network_program(subnets=("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24")))
    assert run.rendering.outputs["zones"] == zones, run.rendering.outputs


def test_more_subnets_than_zones_is_refused_word_for_word(engine):
    message = (f"config vpc-flow-logs:subnetCidrs lists 4 subnets but the region has only 3 available AZs "
               f"({REGION}a, {REGION}c, {REGION}d): list at most 3 subnets")
    with pytest.raises(pulumi.RunError, match=f"^{re.escape(message)}$"):
        engine(network_program(subnets=("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")))


# Flow-log delivery into CloudWatch Logs

DELIVERY = "lab-flow-logs"
DELIVERY_URN = f"urn:pulumi:lab::vpc-flow-logs::vpcflowlogs:index:FlowLogDelivery::{DELIVERY}"
TRUST_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow",
    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
    "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                  "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:vpc-flow-log/*"}},
}]}
DELIVERY_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DeliverFlowLogsToThisGroup",
    "Effect": "Allow",
    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
    "Resource": f"{LOG_GROUP_ARN}:*",
}]}
ACCOUNT_ADMINISTERS_KEY = {"Sid": "AccountAdministersKey", "Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "kms:*", "Resource": "*"}
LOGS_ENCRYPT_THIS_GROUP = {
    "Sid": "CloudWatchLogsEncryptsThisGroup",
    "Effect": "Allow",
    "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    "Resource": "*",
    "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": LOG_GROUP_ARN}},
}
LOG_DELIVERY_ENCRYPTS_RECORDS = {
    "Sid": "LogDeliveryEncryptsThisAccountsFlowLogRecords",
    "Effect": "Allow",
    "Principal": {"Service": "delivery.logs.amazonaws.com"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                  "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:*"}},
}
KEEP = {**DEFAULT_OPTIONS, "protect": True, "retainOnDelete": True}


def delivery_child(type_: str, inputs: dict[str, Any], options: dict[str, Any] = DEFAULT_OPTIONS,
                   aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": type_, "parent": DELIVERY, "provider": CALLERS_PROVIDER, "inputs": inputs, "options": options,
            "aliases": list(aliases)}


def flow_log_plan(target: ResolvedTarget, target_input: str, aliases: tuple[str, ...] = (),
                  **recorded) -> dict[str, Any]:
    name = f"{DELIVERY}-{target.key}"
    return delivery_child("aws:ec2/flowLog:FlowLog", {
        target_input: target.resource_id, **recorded, "tags": {**TAGS, "Name": name},
        "logDestinationType": "cloud-watch-logs", "logDestination": output_of(f"{DELIVERY}-log-group"),
        "iamRoleArn": output_of(f"{DELIVERY}-role"),
    }, {**DEFAULT_OPTIONS, "deleteBeforeReplace": True, "replaceOnChanges": sorted(FLOW_LOG_CONFIGURATION_INPUTS),
        "dependsOn": [f"{DELIVERY}-delivery"]}, aliases)


def common_delivery_plans() -> dict[str, dict[str, Any]]:
    return {
        DELIVERY: {"type": "vpcflowlogs:index:FlowLogDelivery", "parent": "vpc-flow-logs-lab", "provider": "",
                   "inputs": {}, "options": DEFAULT_OPTIONS, "aliases": []},
        f"{DELIVERY}-role": delivery_child("aws:iam/role:Role", {
            "description": "Assumed by VPC Flow Logs to deliver records into one log group",
            "assumeRolePolicy": TRUST_POLICY, "tags": {**TAGS, "Name": f"{DELIVERY}-role"}}),
        f"{DELIVERY}-delivery": delivery_child("aws:iam/rolePolicy:RolePolicy", {
            "role": output_of(f"{DELIVERY}-role"), "policy": DELIVERY_POLICY},
            {**DEFAULT_OPTIONS, "dependsOn": [f"{DELIVERY}-log-group"]}),
    }


# Each case: the delivery's args, and the plans of the resources that differ between cases.
DELIVERY_CASES = {
    "given key, lab VPC and a transit gateway": (
        dict(targets=[LAB_VPC_TARGET, TGW_TARGET], kms_key_arn=GIVEN_KEY),
        {
            f"{DELIVERY}-log-group": delivery_child("aws:cloudwatch/logGroup:LogGroup", {
                "name": LOG_GROUP, "retentionInDays": 7, "kmsKeyId": GIVEN_KEY,
                "tags": {**TAGS, "Name": LOG_GROUP}}),
            # The lab VPC's flow log keeps the URN it had under the component's own name.
            f"{DELIVERY}-lab-vpc": flow_log_plan(LAB_VPC_TARGET, "vpcId", (f"{DELIVERY}-flow-log",),
                                                 trafficType="ALL", maxAggregationInterval=60),
            # A transit gateway's flow log records all traffic: AWS refuses a traffic type for it.
            f"{DELIVERY}-tgw-0123456789abcdef0": flow_log_plan(TGW_TARGET, "transitGatewayId",
                                                               maxAggregationInterval=60),
        },
    ),
    "created key that also encrypts the S3 records, protected logs": (
        dict(create_kms_key=True, protect_logs=True, key_encrypts_s3_records=True,
             flow_logs=flow_log_options(traffic_type="REJECT", aggregation_interval=600,
                                        log_format="${version} ${srcaddr} ${action}")),
        {
            f"{DELIVERY}-logs-key": delivery_child("aws:kms/key:Key", {
                "description": f"Encrypts the VPC flow-log group {LOG_GROUP}",
                "enableKeyRotation": True, "deletionWindowInDays": 30,
                "policy": {"Version": "2012-10-17", "Statement": [
                    ACCOUNT_ADMINISTERS_KEY, LOGS_ENCRYPT_THIS_GROUP, LOG_DELIVERY_ENCRYPTS_RECORDS]},
                "tags": {**TAGS, "Name": f"{DELIVERY}-logs-key"}}, KEEP),
            f"{DELIVERY}-log-group": delivery_child("aws:cloudwatch/logGroup:LogGroup", {
                "name": LOG_GROUP, "retentionInDays": 7, "kmsKeyId": output_of(f"{DELIVERY}-logs-key"),
                "deletionProtectionEnabled": True, "tags": {**TAGS, "Name": LOG_GROUP}}, KEEP),
            f"{DELIVERY}-vpc-0123456789abcdef0": flow_log_plan(
                VPC_TARGET, "vpcId", trafficType="REJECT", maxAggregationInterval=600,
                logFormat="${version} ${srcaddr} ${action}"),
        },
    ),
}


def delivery_program(**overrides) -> Callable[[], None]:
    def program():
        flow_logs = FlowLogDelivery(DELIVERY, delivery_args(**overrides), under_callers_provider())
        pulumi.export("log_group", flow_logs.log_group.name)
        pulumi.export("role", flow_logs.role.arn)
        pulumi.export("kms_key_arn", flow_logs.kms_key_arn)
        pulumi.export("flow_logs", {key: flow_log.id for key, flow_log in flow_logs.flow_logs.items()})
    return program


@pytest.mark.parametrize("overrides, differing", DELIVERY_CASES.values(), ids=DELIVERY_CASES)
def test_flow_log_delivery_registers_exactly_its_plan(engine, overrides, differing):
    plans = engine(delivery_program(**overrides)).plans_under("vpcflowlogs:index:FlowLogDelivery")
    expected = {**common_delivery_plans(), **differing}
    assert sorted(plans) == sorted(expected), sorted(set(plans) ^ set(expected))
    for name, plan in plans.items():
        assert plan == expected[name], f"{name}: {plan}"


def test_flow_log_delivery_looks_up_account_and_partition_through_the_callers_provider(engine):
    lookups = engine(delivery_program()).lookups
    assert sorted(lookups) == [("aws:index/getCallerIdentity:getCallerIdentity", {}, CALLERS_PROVIDER),
                               ("aws:index/getPartition:getPartition", {}, CALLERS_PROVIDER)], lookups


def test_flow_log_delivery_outputs_name_the_group_role_key_and_each_flow_log(engine):
    run = engine(delivery_program(targets=[LAB_VPC_TARGET, TGW_TARGET], kms_key_arn=GIVEN_KEY))
    role_arn = run.rendering.by_type("aws:ec2/flowLog:FlowLog")[0].inputs["iamRoleArn"]
    registered = run.component_outputs[DELIVERY_URN]
    assert {key: registered.get(key) for key in ("log_group_name", "role_arn")} == {
        "log_group_name": LOG_GROUP, "role_arn": role_arn}, registered
    flow_log_ids = registered["flow_log_ids"]
    assert sorted(flow_log_ids) == ["lab-vpc", "tgw-0123456789abcdef0"], registered
    assert all(re.fullmatch(r"fl-[0-9a-f]{17}", flow_log_id) for flow_log_id in flow_log_ids.values()), registered
    assert run.rendering.outputs == {"log_group": LOG_GROUP, "role": role_arn, "kms_key_arn": GIVEN_KEY,
                                     "flow_logs": flow_log_ids}, run.rendering.outputs


def test_a_key_policy_leaves_log_delivery_out_unless_the_key_encrypts_s3_records():
    partition = aws.GetPartitionResult(dns_suffix="amazonaws.com", id="aws", partition="aws",
                                       reverse_dns_prefix="com.amazonaws")
    policy = json.loads(log_key_policy(partition, ACCOUNT_ID, REGION, LOG_GROUP))
    assert policy == {"Version": "2012-10-17", "Statement": [ACCOUNT_ADMINISTERS_KEY, LOGS_ENCRYPT_THIS_GROUP]}, policy


# Targets

def resolved(targets: list[FlowLogTarget], engine, vpcs_by_tags: dict[str, list[str]]) -> list[ResolvedTarget]:
    found: list[ResolvedTarget] = []
    engine(lambda: found.extend(resolve_targets(targets)), vpcs_by_tags)
    return found


def test_each_target_kind_resolves_to_its_flow_log_input(engine):
    targets = [FlowLogTarget("vpcId", "vpc-0123456789abcdef0"), FlowLogTarget("subnetId", "subnet-01234567"),
               FlowLogTarget("eniId", "eni-0123456789abcdef0"), FlowLogTarget("transitGatewayId", "tgw-01234567"),
               FlowLogTarget("transitGatewayAttachmentId", "tgw-attach-01234567"),
               FlowLogTarget("vpcTags", vpc_tags={"Team": "payments"})]
    # Every VPC carrying the tags, in id order whatever order the lookup answers in.
    found = resolved(targets, engine, {'{"Team": "payments"}': ["vpc-0bbbbbbbbbbbbbbbb", "vpc-0aaaaaaaaaaaaaaaa"]})
    assert found == [
        ResolvedTarget("vpc-0123456789abcdef0", "vpc_id", "vpc-0123456789abcdef0", False),
        ResolvedTarget("subnet-01234567", "subnet_id", "subnet-01234567", False),
        ResolvedTarget("eni-0123456789abcdef0", "eni_id", "eni-0123456789abcdef0", False),
        ResolvedTarget("tgw-01234567", "transit_gateway_id", "tgw-01234567", True),
        ResolvedTarget("tgw-attach-01234567", "transit_gateway_attachment_id", "tgw-attach-01234567", True),
        ResolvedTarget("vpc-0aaaaaaaaaaaaaaaa", "vpc_id", "vpc-0aaaaaaaaaaaaaaaa", False),
        ResolvedTarget("vpc-0bbbbbbbbbbbbbbbb", "vpc_id", "vpc-0bbbbbbbbbbbbbbbb", False),
    ], found


REFUSED_TARGETS = {
    "tags matching no VPC": (
        [FlowLogTarget("vpcTags", vpc_tags={"Team": "payments"})], {'{"Team": "payments"}': []},
        'config vpc-flow-logs:flowLogTargets.vpcTags = {"Team": "payments"} is invalid: it matches no VPC in this '
        "account and region; correct the tags or name the VPC by vpcId"),
    "a VPC named by id and found by tags": (
        [FlowLogTarget("vpcId", "vpc-0aaaaaaaaaaaaaaaa"), FlowLogTarget("vpcTags", vpc_tags={"Team": "payments"})],
        {'{"Team": "payments"}': ["vpc-0aaaaaaaaaaaaaaaa"]},
        'config vpc-flow-logs:flowLogTargets names vpc-0aaaaaaaaaaaaaaaa twice (vpcId vpc-0aaaaaaaaaaaaaaaa and '
        'vpcTags {"Team": "payments"}): list each target once'),
}


@pytest.mark.parametrize("targets, vpcs_by_tags, message", REFUSED_TARGETS.values(), ids=REFUSED_TARGETS)
def test_unresolvable_targets_are_refused_word_for_word(engine, targets, vpcs_by_tags, message):
    with pytest.raises(pulumi.RunError, match=f"^{re.escape(message)}$"):
        resolved(targets, engine, vpcs_by_tags)
