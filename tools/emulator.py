"""Pulumi mocks backed by moto: every registration becomes the AWS calls the provider would make.

`LabMocks` answers with plausible values; `MotoMocks` hands each resource to moto's model of
AWS through boto3, so AWS's own rules run: the VPC must exist before its flow log, IAM parses
the role's documents, a second identical flow log is refused. Dependent resources receive the
IDs and ARNs moto returned, and the tests then read the result back with describe/get calls.

Traffic stays on this machine: either moto's in-process mock (`moto.mock_aws()`, active around
the render) answers, or a moto server on 127.0.0.1 (`endpoint_url`). Any request that neither
answers is refused before it is sent.

Anything this module does not know fails the render: a resource type or lookup without a
handler, an input a handler would not send, an unknown value. Where moto differs from AWS, the
handler says so next to the call; `NOT_IN_MOTO` lists the types moto cannot hold at all.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import uuid
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

LOOPBACK = "127.0.0.1"
# AWS managed policies (the hosts attach AmazonSSMManagedInstanceCore) exist in every account;
# moto creates them only when asked. Set before any IAM backend exists, here and in moto servers
# started from this process.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
# Dummy keys: moto accepts any; they keep boto3 from looking for real credentials.
DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}

QUERY_DEFINITION = "aws:cloudwatch/queryDefinition:QueryDefinition"
# Resource types moto 5.2.5 cannot hold, and why. Their handlers check what they can (that the
# resources they name exist) and record the registration in `MotoMocks.not_in_moto`.
NOT_IN_MOTO: Mapping[str, str] = {
    QUERY_DEFINITION: "moto implements no CloudWatch Logs PutQueryDefinition/DescribeQueryDefinitions",
}

Inputs = dict[str, Any]
Result = tuple[str, Inputs]


@dataclass(frozen=True)
class Handler:
    """How one resource type or lookup reaches moto, and the inputs it knows how to send."""

    apply: Callable[..., Any]
    inputs: frozenset[str]


# One table per kind of request: Pulumi type token -> handler.
RESOURCES: dict[str, Handler] = {}
LOOKUPS: dict[str, Handler] = {}


def _handles(table: dict[str, Handler], token: str, *inputs: str) -> Callable:
    def register(apply: Callable) -> Callable:
        # Every pulumi-aws 7 resource and lookup takes `region`; MotoMocks routes on it.
        table[token] = Handler(apply, frozenset(inputs) | {"region"})
        return apply
    return register


def require_loopback(url: str) -> str:
    """`url` itself, if it names 127.0.0.1: the only address an emulator may live at."""
    if urlsplit(url).hostname != LOOPBACK:
        raise ValueError(f"{url} is not on {LOOPBACK}: only a local moto server may be used")
    return url


def moto_client(service: str, region: str, endpoint_url: Optional[str] = None) -> Any:
    """A boto3 client that can only reach moto: in-process, or a server on 127.0.0.1."""
    client = boto3.client(service, region_name=region,
                          endpoint_url=None if endpoint_url is None else require_loopback(endpoint_url),
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30),
                          **DUMMY_CREDENTIALS)
    # botocore reaches this sender only when moto's in-process mock did not answer.
    client._endpoint.http_session = _LoopbackOnly(client._endpoint.http_session)
    return client


class MotoMocks(pulumi_mocks.Mocks):
    """Applies each registration and lookup to moto and returns what moto answered."""

    def __init__(self, region: str, endpoint_url: Optional[str] = None):
        self.region = region
        self.endpoint_url = None if endpoint_url is None else require_loopback(endpoint_url)
        # "<type> <name>" of each registration moto could not hold (see NOT_IN_MOTO).
        self.not_in_moto: list[str] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._account_id: Optional[str] = None
        # The SDK registers resources from worker threads; moto's model is not thread-safe.
        self._lock = threading.RLock()

    def client(self, service: str, region: Optional[str] = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = moto_client(service, key[1], self.endpoint_url)
        return self._clients[key]

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = self.client("sts").get_caller_identity()["Account"]
        return self._account_id

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
        handler = LOOKUPS.get(args.token)
        if handler is None:
            raise NotImplementedError(f"the moto emulator has no handler for the lookup {args.token}")
        inputs = _plain(args.args, args.token)
        with self._lock:
            return _apply(handler, args.token, inputs, self, inputs.get("region") or self.region)

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> Result:
        if not args.custom:
            return "", dict(args.inputs)  # a component: nothing in AWS
        if args.resource_id:
            raise NotImplementedError(f"{args.typ} {args.name}: reading or importing an existing resource "
                                      "is not emulated")
        handler = RESOURCES.get(args.typ)
        if handler is None:
            raise NotImplementedError(f"the moto emulator has no handler for the resource type {args.typ} "
                                      f"({args.name})")
        where = f"{args.typ} {args.name}"
        inputs = _plain(args.inputs, where)
        with self._lock:
            resource_id, outputs = _apply(handler, where, inputs,
                                          self, inputs.get("region") or self.region, args.name)
        # Inputs as registered (secrets stay secret), then what moto computed.
        return resource_id, {**args.inputs, **outputs}


def _apply(handler: Handler, where: str, inputs: Inputs, *leading: Any) -> Any:
    """`handler.apply(*leading, inputs)` if it sends every input; any refusal names `where`."""
    unknown = sorted(set(inputs) - handler.inputs)
    if unknown:
        raise NotImplementedError(f"{where}: the moto emulator does not send the input(s) {', '.join(unknown)}; "
                                  "teach its handler what the provider sends for them")
    try:
        return handler.apply(*leading, inputs)
    except NotImplementedError:
        raise
    except Exception as error:  # moto refused, or answered without what the handler needs
        raise RuntimeError(f"{where}: {error}") from error


class _LoopbackOnly:
    """botocore's HTTP sender, refusing any request that would leave the machine."""

    def __init__(self, sender: Any):
        self._sender = sender

    def send(self, request: Any) -> Any:
        if urlsplit(request.url).hostname != LOOPBACK:
            raise RuntimeError(f"refusing to send {request.url}: moto did not answer and only {LOOPBACK} may be "
                               "reached (activate moto.mock_aws() or pass a local endpoint_url)")
        return self._sender.send(request)

    def close(self) -> None:
        self._sender.close()


def _plain(value: Any, where: str) -> Any:
    """Inputs as AWS receives them: secrets unwrapped; an unknown value cannot be applied."""
    if isinstance(value, Unknown):
        raise NotImplementedError(f"{where}: an input is unknown, which AWS cannot be sent")
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value), where)
    if isinstance(value, dict):
        return {key: _plain(item, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, where) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double; boto3 wants integers
    return value


def _present(**params: Any) -> dict[str, Any]:
    """API parameters without the unset ones, as the provider omits them."""
    return {key: value for key, value in params.items() if value is not None}


def _renamed(value: Optional[Mapping[str, Any]], names: Mapping[str, str], where: str) -> dict[str, Any]:
    """A nested input block under the API's names; a field with no API name fails loudly."""
    unknown = sorted(set(value or {}) - set(names))
    if unknown:
        raise NotImplementedError(f"{where}: the moto emulator does not send {', '.join(unknown)}")
    return {names[key]: item for key, item in (value or {}).items()}


def _autoname(logical_name: str, name: Optional[str], prefix: Optional[str] = None) -> str:
    """The provider's auto-naming: the name if set, else a prefix or the logical name made unique."""
    if name:
        return name
    return f"{prefix}{secrets.token_hex(13)}" if prefix else f"{logical_name}-{secrets.token_hex(4)[:7]}"


def _tag_list(tags: Optional[Mapping[str, str]]) -> Optional[list[dict[str, str]]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()] if tags else None


def _tag_specifications(resource_type: str, tags: Optional[Mapping[str, str]]) -> Optional[list[dict]]:
    return [{"ResourceType": resource_type, "Tags": _tag_list(tags)}] if tags else None


def _attribute(value: Any) -> str:
    """SNS attributes are strings: booleans lower-case, documents as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _ec2_arn(mocks: MotoMocks, region: str, kind: str, resource_id: str) -> str:
    return f"arn:aws:ec2:{region}:{mocks.account_id}:{kind}/{resource_id}"


# --- lookups -------------------------------------------------------------------------------------

@_handles(LOOKUPS, "aws:index/getAvailabilityZones:getAvailabilityZones",
          "state", "allAvailabilityZones", "excludeNames", "excludeZoneIds")
def _availability_zones(mocks: MotoMocks, region: str, args: Inputs) -> dict[str, Any]:
    zones = mocks.client("ec2", region).describe_availability_zones(**_present(
        AllAvailabilityZones=args.get("allAvailabilityZones"),
        Filters=[{"Name": "state", "Values": [args["state"]]}] if args.get("state") else None,
    ))["AvailabilityZones"]
    zones = [zone for zone in zones if zone["ZoneName"] not in args.get("excludeNames", [])
             and zone["ZoneId"] not in args.get("excludeZoneIds", [])]
    return {"id": region, "names": [zone["ZoneName"] for zone in zones],
            "zoneIds": [zone["ZoneId"] for zone in zones],
            "groupNames": sorted({zone.get("GroupName", region) for zone in zones})}


@_handles(LOOKUPS, "aws:index/getCallerIdentity:getCallerIdentity")
def _caller_identity(mocks: MotoMocks, region: str, args: Inputs) -> dict[str, Any]:
    identity = mocks.client("sts", region).get_caller_identity()
    return {"id": identity["Account"], "accountId": identity["Account"], "arn": identity["Arn"],
            "userId": identity["UserId"]}


@_handles(LOOKUPS, "aws:ssm/getParameter:getParameter", "name", "withDecryption")
def _ssm_parameter(mocks: MotoMocks, region: str, args: Inputs) -> dict[str, Any]:
    # moto ships AWS's public parameters, e.g. the current Amazon Linux 2023 AMI per region.
    parameter = mocks.client("ssm", region).get_parameter(
        Name=args["name"], WithDecryption=args.get("withDecryption", True))["Parameter"]
    return {"id": parameter["Name"], "name": parameter["Name"], "arn": parameter["ARN"],
            "type": parameter["Type"], "value": parameter["Value"], "insecureValue": parameter["Value"],
            "version": parameter["Version"], "withDecryption": args.get("withDecryption", True)}


# --- network -------------------------------------------------------------------------------------

VPC_ATTRIBUTES = {"enableDnsSupport": "EnableDnsSupport", "enableDnsHostnames": "EnableDnsHostnames"}


@_handles(RESOURCES, "aws:ec2/vpc:Vpc", "cidrBlock", "instanceTenancy", "tags", *VPC_ATTRIBUTES)
def _vpc(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    ec2 = mocks.client("ec2", region)
    vpc = ec2.create_vpc(**_present(CidrBlock=inputs["cidrBlock"], InstanceTenancy=inputs.get("instanceTenancy"),
                                    TagSpecifications=_tag_specifications("vpc", inputs.get("tags"))))["Vpc"]
    for attribute, parameter in VPC_ATTRIBUTES.items():
        if attribute in inputs:
            ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], **{parameter: {"Value": inputs[attribute]}})
    default_group = _default_security_group(ec2, vpc["VpcId"])
    main_table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                                    {"Name": "association.main", "Values": ["true"]}])
    return vpc["VpcId"], {"arn": _ec2_arn(mocks, region, "vpc", vpc["VpcId"]), "ownerId": vpc["OwnerId"],
                          "defaultSecurityGroupId": default_group["GroupId"],
                          "mainRouteTableId": main_table["RouteTables"][0]["RouteTableId"],
                          "dhcpOptionsId": vpc["DhcpOptionsId"]}


@_handles(RESOURCES, "aws:ec2/subnet:Subnet", "vpcId", "cidrBlock", "availabilityZone", "mapPublicIpOnLaunch",
          "tags")
def _subnet(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    ec2 = mocks.client("ec2", region)
    subnet = ec2.create_subnet(**_present(
        VpcId=inputs["vpcId"], CidrBlock=inputs["cidrBlock"], AvailabilityZone=inputs.get("availabilityZone"),
        TagSpecifications=_tag_specifications("subnet", inputs.get("tags"))))["Subnet"]
    if inputs.get("mapPublicIpOnLaunch"):
        ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    return subnet["SubnetId"], {"arn": subnet["SubnetArn"], "availabilityZone": subnet["AvailabilityZone"],
                                "availabilityZoneId": subnet["AvailabilityZoneId"], "ownerId": subnet["OwnerId"]}


@_handles(RESOURCES, "aws:ec2/internetGateway:InternetGateway", "vpcId", "tags")
def _internet_gateway(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    ec2 = mocks.client("ec2", region)
    gateway = ec2.create_internet_gateway(**_present(
        TagSpecifications=_tag_specifications("internet-gateway", inputs.get("tags"))))["InternetGateway"]
    if inputs.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=inputs["vpcId"])
    return gateway["InternetGatewayId"], {
        "arn": _ec2_arn(mocks, region, "internet-gateway", gateway["InternetGatewayId"]),
        "ownerId": gateway["OwnerId"]}


@_handles(RESOURCES, "aws:ec2/routeTable:RouteTable", "vpcId", "tags")
def _route_table(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    table = mocks.client("ec2", region).create_route_table(**_present(
        VpcId=inputs["vpcId"], TagSpecifications=_tag_specifications("route-table", inputs.get("tags"))))["RouteTable"]
    return table["RouteTableId"], {"arn": _ec2_arn(mocks, region, "route-table", table["RouteTableId"]),
                                   "ownerId": table["OwnerId"]}


@_handles(RESOURCES, "aws:ec2/route:Route", "routeTableId", "destinationCidrBlock", "gatewayId")
def _route(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    mocks.client("ec2", region).create_route(RouteTableId=inputs["routeTableId"],
                                             DestinationCidrBlock=inputs["destinationCidrBlock"],
                                             GatewayId=inputs["gatewayId"])
    # A route has no ID in AWS; the provider's is the table plus a hash of the destination.
    route_id = f"r-{inputs['routeTableId']}{zlib.crc32(inputs['destinationCidrBlock'].encode())}"
    return route_id, {"origin": "CreateRoute", "state": "active"}


@_handles(RESOURCES, "aws:ec2/routeTableAssociation:RouteTableAssociation", "subnetId", "routeTableId")
def _route_table_association(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    association = mocks.client("ec2", region).associate_route_table(
        RouteTableId=inputs["routeTableId"], SubnetId=inputs["subnetId"])
    return association["AssociationId"], {}


def _default_security_group(ec2: Any, vpc_id: str) -> dict[str, Any]:
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                     {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    return group


def _revoke_all_rules(ec2: Any, group: Mapping[str, Any]) -> None:
    """Remove every rule a group has, as the provider does to the rules AWS adds by itself."""
    for key, revoke in (("IpPermissions", ec2.revoke_security_group_ingress),
                        ("IpPermissionsEgress", ec2.revoke_security_group_egress)):
        permissions = [{field: value for field, value in permission.items() if value != []}
                       for permission in group.get(key, [])]
        if permissions:
            revoke(GroupId=group["GroupId"], IpPermissions=permissions)


@_handles(RESOURCES, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "vpcId", "ingress", "egress", "tags")
def _adopted_default_security_group(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    if inputs.get("ingress") or inputs.get("egress"):
        raise NotImplementedError("rules declared on the default security group are not emulated; "
                                  "only adopting it closed (ingress=[], egress=[])")
    ec2 = mocks.client("ec2", region)
    group = _default_security_group(ec2, inputs["vpcId"])
    _revoke_all_rules(ec2, group)
    if inputs.get("tags"):
        ec2.create_tags(Resources=[group["GroupId"]], Tags=_tag_list(inputs["tags"]))
    return group["GroupId"], {"arn": group["SecurityGroupArn"], "name": group["GroupName"],
                              "description": group["Description"], "ownerId": group["OwnerId"]}


@_handles(RESOURCES, "aws:ec2/securityGroup:SecurityGroup", "name", "namePrefix", "description", "vpcId",
          "revokeRulesOnDelete", "tags")
def _security_group(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    ec2 = mocks.client("ec2", region)
    group_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    group_id = ec2.create_security_group(**_present(
        GroupName=group_name, Description=inputs.get("description", "Managed by Pulumi"), VpcId=inputs.get("vpcId"),
        TagSpecifications=_tag_specifications("security-group", inputs.get("tags"))))["GroupId"]
    # AWS gives a new group an allow-all egress rule; the provider revokes it so that only
    # declared rules exist.
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    _revoke_all_rules(ec2, group)
    return group_id, {"arn": group["SecurityGroupArn"], "name": group_name, "ownerId": group["OwnerId"]}


def _security_group_rule(direction: str) -> Callable[..., Result]:
    def apply(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
        ec2 = mocks.client("ec2", region)
        description = _present(Description=inputs.get("description"))
        permission = _present(
            IpProtocol=inputs["ipProtocol"],
            # AWS rejects ports with protocol -1 (all traffic).
            FromPort=inputs.get("fromPort") if inputs["ipProtocol"] != "-1" else None,
            ToPort=inputs.get("toPort") if inputs["ipProtocol"] != "-1" else None,
            IpRanges=[{"CidrIp": inputs["cidrIpv4"], **description}] if inputs.get("cidrIpv4") else None,
            Ipv6Ranges=[{"CidrIpv6": inputs["cidrIpv6"], **description}] if inputs.get("cidrIpv6") else None,
            PrefixListIds=[{"PrefixListId": inputs["prefixListId"], **description}]
            if inputs.get("prefixListId") else None,
            UserIdGroupPairs=[{"GroupId": inputs["referencedSecurityGroupId"], **description}]
            if inputs.get("referencedSecurityGroupId") else None,
        )
        authorize = (ec2.authorize_security_group_ingress if direction == "ingress"
                     else ec2.authorize_security_group_egress)
        (rule,) = authorize(**_present(
            GroupId=inputs["securityGroupId"], IpPermissions=[permission],
            TagSpecifications=_tag_specifications("security-group-rule", inputs.get("tags"))))["SecurityGroupRules"]
        rule_id = rule["SecurityGroupRuleId"]
        return rule_id, {"securityGroupRuleId": rule_id,
                         "arn": _ec2_arn(mocks, region, "security-group-rule", rule_id)}
    return apply


RULE_INPUTS = ("securityGroupId", "ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "prefixListId",
               "referencedSecurityGroupId", "description", "tags")
_handles(RESOURCES, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", *RULE_INPUTS)(
    _security_group_rule("ingress"))
_handles(RESOURCES, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", *RULE_INPUTS)(
    _security_group_rule("egress"))


# --- hosts ---------------------------------------------------------------------------------------

@_handles(RESOURCES, "aws:ec2/keyPair:KeyPair", "keyName", "keyNamePrefix", "publicKey", "tags")
def _key_pair(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    key_name = _autoname(name, inputs.get("keyName"), inputs.get("keyNamePrefix"))
    key = mocks.client("ec2", region).import_key_pair(**_present(
        KeyName=key_name, PublicKeyMaterial=inputs["publicKey"].encode(),
        TagSpecifications=_tag_specifications("key-pair", inputs.get("tags"))))
    return key_name, {"keyName": key_name, "keyPairId": key["KeyPairId"], "fingerprint": key["KeyFingerprint"],
                      "arn": _ec2_arn(mocks, region, "key-pair", key_name)}


METADATA_OPTIONS = {"httpEndpoint": "HttpEndpoint", "httpTokens": "HttpTokens",
                    "httpPutResponseHopLimit": "HttpPutResponseHopLimit",
                    "httpProtocolIpv6": "HttpProtocolIpv6", "instanceMetadataTags": "InstanceMetadataTags"}
ROOT_BLOCK_DEVICE = {"encrypted": "Encrypted", "volumeType": "VolumeType", "volumeSize": "VolumeSize",
                     "kmsKeyId": "KmsKeyId", "deleteOnTermination": "DeleteOnTermination", "iops": "Iops",
                     "throughput": "Throughput"}


@_handles(RESOURCES, "aws:ec2/instance:Instance", "ami", "instanceType", "subnetId", "vpcSecurityGroupIds",
          "associatePublicIpAddress", "keyName", "userData", "userDataReplaceOnChange", "metadataOptions",
          "rootBlockDevice", "iamInstanceProfile", "tags")
def _instance(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    ec2 = mocks.client("ec2", region)
    (image,) = ec2.describe_images(ImageIds=[inputs["ami"]])["Images"]
    root = {"DeleteOnTermination": True, **_renamed(inputs.get("rootBlockDevice"), ROOT_BLOCK_DEVICE,
                                                    f"{name} rootBlockDevice")}
    # AWS sizes an unsized root volume from the AMI's snapshot; moto insists on a size.
    (image_root,) = [device for device in image["BlockDeviceMappings"]
                     if device["DeviceName"] == image["RootDeviceName"]]
    root.setdefault("VolumeSize", image_root["Ebs"]["VolumeSize"])
    groups = inputs.get("vpcSecurityGroupIds")
    if "associatePublicIpAddress" in inputs:
        # As the provider does: an explicit public-IP choice is made on the primary interface.
        placement: dict[str, Any] = {"NetworkInterfaces": [_present(
            DeviceIndex=0, SubnetId=inputs.get("subnetId"), Groups=groups,
            AssociatePublicIpAddress=inputs["associatePublicIpAddress"])]}
    else:
        placement = _present(SubnetId=inputs.get("subnetId"), SecurityGroupIds=groups)
    (launched,) = ec2.run_instances(**_present(
        ImageId=inputs["ami"], InstanceType=inputs["instanceType"], MinCount=1, MaxCount=1,
        KeyName=inputs.get("keyName"), UserData=inputs.get("userData"),
        IamInstanceProfile={"Name": inputs["iamInstanceProfile"]} if inputs.get("iamInstanceProfile") else None,
        MetadataOptions=_renamed(inputs.get("metadataOptions"), METADATA_OPTIONS, f"{name} metadataOptions") or None,
        BlockDeviceMappings=[{"DeviceName": image["RootDeviceName"], "Ebs": root}],
        TagSpecifications=_tag_specifications("instance", inputs.get("tags")),
        **placement))["Instances"]
    (instance,) = ec2.describe_instances(InstanceIds=[launched["InstanceId"]])["Reservations"][0]["Instances"]
    return instance["InstanceId"], _present(
        arn=_ec2_arn(mocks, region, "instance", instance["InstanceId"]),
        availabilityZone=instance["Placement"]["AvailabilityZone"],
        subnetId=instance["SubnetId"],
        privateIp=instance["PrivateIpAddress"], privateDns=instance["PrivateDnsName"],
        publicIp=instance.get("PublicIpAddress"), publicDns=instance.get("PublicDnsName"),
        primaryNetworkInterfaceId=instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
        instanceState=instance["State"]["Name"])


# --- flow-log delivery ---------------------------------------------------------------------------

FLOW_LOG_TARGETS = {"vpcId": "VPC", "subnetId": "Subnet", "eniId": "NetworkInterface"}


def create_flow_logs_request(inputs: Inputs) -> dict[str, Any]:
    """The CreateFlowLogs parameters for a FlowLog's inputs, as the provider sends them.

    Plus LogGroupName, for moto only: moto keys flow logs and finds the group by that name
    (getmoto/moto#6369: FlowLogAlreadyExists when it is unset; in moto 5.2.5, without it every
    flow log reports DeliverLogsStatus FAILED). AWS itself takes one or the other.
    """
    (target,) = [key for key in FLOW_LOG_TARGETS if inputs.get(key)]
    destination = inputs.get("logDestination")
    destination_type = inputs.get("logDestinationType", "cloud-watch-logs")
    return _present(
        ResourceIds=[inputs[target]], ResourceType=FLOW_LOG_TARGETS[target],
        TrafficType=inputs.get("trafficType"), LogDestinationType=destination_type, LogDestination=destination,
        LogGroupName=destination.split(":log-group:", 1)[1]
        if destination and destination_type == "cloud-watch-logs" else None,
        DeliverLogsPermissionArn=inputs.get("iamRoleArn"),
        MaxAggregationInterval=inputs.get("maxAggregationInterval"), LogFormat=inputs.get("logFormat"),
        TagSpecifications=_tag_specifications("vpc-flow-log", inputs.get("tags")))


@_handles(RESOURCES, "aws:ec2/flowLog:FlowLog", *FLOW_LOG_TARGETS, "trafficType", "logDestinationType",
          "logDestination", "iamRoleArn", "maxAggregationInterval", "logFormat", "tags")
def _flow_log(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    created = mocks.client("ec2", region).create_flow_logs(**create_flow_logs_request(inputs))
    if created["Unsuccessful"]:
        raise RuntimeError(f"CreateFlowLogs refused: {created['Unsuccessful']}")
    (flow_log_id,) = created["FlowLogIds"]
    return flow_log_id, {"arn": _ec2_arn(mocks, region, "vpc-flow-log", flow_log_id)}


@_handles(RESOURCES, "aws:cloudwatch/logGroup:LogGroup", "name", "namePrefix", "retentionInDays", "kmsKeyId",
          "logGroupClass", "skipDestroy", "tags")
def _log_group(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    logs = mocks.client("logs", region)
    group_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    logs.create_log_group(**_present(logGroupName=group_name, kmsKeyId=inputs.get("kmsKeyId"),
                                     logGroupClass=inputs.get("logGroupClass"), tags=inputs.get("tags")))
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=group_name, retentionInDays=inputs["retentionInDays"])
    (group,) = [g for g in logs.describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
                if g["logGroupName"] == group_name]
    # The provider trims the ":*" DescribeLogGroups appends; flow logs want the bare ARN.
    return group_name, {"name": group_name, "arn": group["arn"].removesuffix(":*")}


@_handles(RESOURCES, "aws:kms/key:Key", "description", "policy", "enableKeyRotation", "deletionWindowInDays",
          "keyUsage", "customerMasterKeySpec", "multiRegion", "tags")
def _kms_key(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    kms = mocks.client("kms", region)
    key = kms.create_key(**_present(
        Description=inputs.get("description"), Policy=inputs.get("policy"),
        KeyUsage=inputs.get("keyUsage", "ENCRYPT_DECRYPT"),
        KeySpec=inputs.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT"), MultiRegion=inputs.get("multiRegion"),
        Tags=[{"TagKey": k, "TagValue": v} for k, v in inputs["tags"].items()] if inputs.get("tags") else None,
    ))["KeyMetadata"]
    if inputs.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return key["KeyId"], {"keyId": key["KeyId"], "arn": key["Arn"]}


@_handles(RESOURCES, "aws:iam/role:Role", "name", "namePrefix", "assumeRolePolicy", "description", "path",
          "maxSessionDuration", "permissionsBoundary", "forceDetachPolicies", "tags")
def _role(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    iam = mocks.client("iam", region)
    role_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    role = iam.create_role(**_present(
        RoleName=role_name, AssumeRolePolicyDocument=inputs["assumeRolePolicy"], Description=inputs.get("description"),
        Path=inputs.get("path"), MaxSessionDuration=inputs.get("maxSessionDuration"),
        PermissionsBoundary=inputs.get("permissionsBoundary"), Tags=_tag_list(inputs.get("tags"))))["Role"]
    # AWS validates the trust policy on CreateRole; moto only on UpdateAssumeRolePolicy, so send
    # the same document through it.
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=inputs["assumeRolePolicy"])
    return role_name, {"name": role_name, "arn": role["Arn"], "uniqueId": role["RoleId"],
                       "createDate": role["CreateDate"].isoformat()}


@_handles(RESOURCES, "aws:iam/rolePolicy:RolePolicy", "role", "policy", "name", "namePrefix")
def _role_policy(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    policy_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    mocks.client("iam", region).put_role_policy(RoleName=inputs["role"], PolicyName=policy_name,
                                                PolicyDocument=inputs["policy"])
    return f"{inputs['role']}:{policy_name}", {"name": policy_name}


@_handles(RESOURCES, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "role", "policyArn")
def _role_policy_attachment(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    mocks.client("iam", region).attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
    return f"{inputs['role']}-{inputs['policyArn']}", {}


@_handles(RESOURCES, "aws:iam/instanceProfile:InstanceProfile", "name", "namePrefix", "path", "role", "tags")
def _instance_profile(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    iam = mocks.client("iam", region)
    profile_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    profile = iam.create_instance_profile(**_present(InstanceProfileName=profile_name, Path=inputs.get("path"),
                                                     Tags=_tag_list(inputs.get("tags"))))["InstanceProfile"]
    if inputs.get("role"):
        iam.add_role_to_instance_profile(InstanceProfileName=profile_name, RoleName=inputs["role"])
    return profile_name, {"name": profile_name, "arn": profile["Arn"], "uniqueId": profile["InstanceProfileId"]}


# --- monitoring ----------------------------------------------------------------------------------

TOPIC_ATTRIBUTES = {"displayName": "DisplayName", "policy": "Policy", "kmsMasterKeyId": "KmsMasterKeyId",
                    "deliveryPolicy": "DeliveryPolicy", "fifoTopic": "FifoTopic",
                    "contentBasedDeduplication": "ContentBasedDeduplication",
                    "signatureVersion": "SignatureVersion", "tracingConfig": "TracingConfig"}


@_handles(RESOURCES, "aws:sns/topic:Topic", "name", "namePrefix", "tags", *TOPIC_ATTRIBUTES)
def _topic(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    topic_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    attributes = {TOPIC_ATTRIBUTES[key]: _attribute(value) for key, value in inputs.items() if key in TOPIC_ATTRIBUTES}
    arn = mocks.client("sns", region).create_topic(**_present(
        Name=topic_name, Attributes=attributes or None, Tags=_tag_list(inputs.get("tags"))))["TopicArn"]
    return arn, {"name": topic_name, "arn": arn, "owner": mocks.account_id}


SUBSCRIPTION_ATTRIBUTES = {"filterPolicy": "FilterPolicy", "filterPolicyScope": "FilterPolicyScope",
                           "rawMessageDelivery": "RawMessageDelivery", "redrivePolicy": "RedrivePolicy",
                           "deliveryPolicy": "DeliveryPolicy", "subscriptionRoleArn": "SubscriptionRoleArn"}


@_handles(RESOURCES, "aws:sns/topicSubscription:TopicSubscription", "topic", "protocol", "endpoint",
          "confirmationTimeoutInMinutes", "endpointAutoConfirms", *SUBSCRIPTION_ATTRIBUTES)
def _topic_subscription(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    sns = mocks.client("sns", region)
    attributes = {SUBSCRIPTION_ATTRIBUTES[key]: _attribute(value)
                  for key, value in inputs.items() if key in SUBSCRIPTION_ATTRIBUTES}
    arn = sns.subscribe(**_present(TopicArn=inputs["topic"], Protocol=inputs["protocol"], Endpoint=inputs["endpoint"],
                                   Attributes=attributes or None, ReturnSubscriptionArn=True))["SubscriptionArn"]
    # moto confirms e-mail subscriptions at once; AWS waits for the recipient's click.
    state = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    return arn, {"arn": arn, "ownerId": state["Owner"], "pendingConfirmation": state["PendingConfirmation"] == "true"}


METRIC_TRANSFORMATION = {"name": "metricName", "namespace": "metricNamespace", "value": "metricValue",
                         "defaultValue": "defaultValue", "unit": "unit", "dimensions": "dimensions"}


def _require_log_groups(mocks: MotoMocks, region: str, names: list[str]) -> None:
    """AWS refuses a filter or query on a group that does not exist; moto does not check."""
    logs = mocks.client("logs", region)
    for group_name in names:
        found = logs.describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
        if group_name not in [group["logGroupName"] for group in found]:
            raise RuntimeError(f"ResourceNotFoundException: the log group {group_name} does not exist")


@_handles(RESOURCES, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "name", "logGroupName", "pattern",
          "metricTransformation")
def _log_metric_filter(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    _require_log_groups(mocks, region, [inputs["logGroupName"]])
    transformation = _renamed(inputs["metricTransformation"], METRIC_TRANSFORMATION, f"{name} metricTransformation")
    if "defaultValue" in transformation:  # a string input, a number in the API
        transformation["defaultValue"] = float(transformation["defaultValue"])
    filter_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    mocks.client("logs", region).put_metric_filter(
        logGroupName=inputs["logGroupName"], filterName=filter_name, filterPattern=inputs["pattern"],
        metricTransformations=[transformation])
    return filter_name, {"name": filter_name}


METRIC_ALARM = {"name": "AlarmName", "alarmDescription": "AlarmDescription", "actionsEnabled": "ActionsEnabled",
                "alarmActions": "AlarmActions", "okActions": "OKActions",
                "insufficientDataActions": "InsufficientDataActions", "metricName": "MetricName",
                "namespace": "Namespace", "statistic": "Statistic", "extendedStatistic": "ExtendedStatistic",
                "period": "Period", "unit": "Unit", "evaluationPeriods": "EvaluationPeriods",
                "datapointsToAlarm": "DatapointsToAlarm", "threshold": "Threshold",
                "comparisonOperator": "ComparisonOperator", "treatMissingData": "TreatMissingData",
                "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile"}


@_handles(RESOURCES, "aws:cloudwatch/metricAlarm:MetricAlarm", "dimensions", "tags", *METRIC_ALARM)
def _metric_alarm(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    cloudwatch = mocks.client("cloudwatch", region)
    alarm_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    alarm = {METRIC_ALARM[key]: value for key, value in inputs.items() if key in METRIC_ALARM}
    cloudwatch.put_metric_alarm(**_present(
        **{**alarm, "AlarmName": alarm_name},
        Dimensions=[{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()]
        if inputs.get("dimensions") else None,
        Tags=_tag_list(inputs.get("tags"))))
    (described,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    return alarm_name, {"name": alarm_name, "arn": described["AlarmArn"]}


@_handles(RESOURCES, "aws:cloudwatch/dashboard:Dashboard", "dashboardName", "dashboardBody")
def _dashboard(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    cloudwatch = mocks.client("cloudwatch", region)
    cloudwatch.put_dashboard(DashboardName=inputs["dashboardName"], DashboardBody=inputs["dashboardBody"])
    arn = cloudwatch.get_dashboard(DashboardName=inputs["dashboardName"])["DashboardArn"]
    return inputs["dashboardName"], {"dashboardArn": arn}


@_handles(RESOURCES, QUERY_DEFINITION, "name", "queryString", "logGroupNames")
def _query_definition(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    # Not in moto (NOT_IN_MOTO): check the groups it names, hold nothing, say so.
    _require_log_groups(mocks, region, inputs.get("logGroupNames", []))
    mocks.not_in_moto.append(f"{QUERY_DEFINITION} {name}")
    query_id = str(uuid.uuid4())
    return query_id, {"queryDefinitionId": query_id}
