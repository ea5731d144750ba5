"""Pulumi mocks backed by moto: every registration becomes the AWS calls the provider would make.

`LabMocks` answers with plausible values; `MotoMocks` hands each resource to moto's model of
AWS through boto3, so AWS's own rules run: the VPC must exist before its flow log, IAM parses
the role's documents, a second identical flow log is refused. Dependent resources receive the
IDs and ARNs moto returned, and the tests then read the result back with describe/get calls.

Traffic stays on this machine: either moto's in-process mock (`moto.mock_aws()`, active around
the render) answers, or a moto server on 127.0.0.1 (`endpoint_url`). Any request that neither
answers is refused before it is sent.

Each resource type's handler also says what happens after creation, for the rehearsal stand-in
of the aws provider plugin (tools/rehearsal_provider/): which inputs AWS cannot change in place,
how each other input is updated, how the resource is read back and deleted. This stays the one
mapping from pulumi-aws types to AWS calls.

Anything this module does not know fails the render: a resource type or lookup without a
handler, an input a handler would not send, an unknown value. Where moto differs from AWS, the
handler says so next to the call; `NOT_IN_MOTO` lists the types moto cannot hold at all.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import uuid
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
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
    """How one resource type or lookup reaches moto, and the inputs it knows how to send.

    For resources, also their life after creation, as the provider manages it: the inputs AWS
    cannot change in place (a change replaces the resource; `replaces_if` holds inputs that do
    so only in some cases, each with its test of the old and new inputs), how each other input
    is changed in place, how the resource is read back and deleted.
    """

    apply: Callable[..., Any]
    inputs: frozenset[str]
    replaces: frozenset[str] = frozenset()
    replaces_if: Mapping[str, Callable[[Mapping[str, Any], Mapping[str, Any]], bool]] = field(default_factory=dict)
    updates: Mapping[str, Callable[..., None]] = field(default_factory=dict)
    read: Optional[Callable[..., Optional[Inputs]]] = None
    delete: Optional[Callable[..., None]] = None

    def replacing(self, keys: Iterable[str], olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """Those of the changed `keys` that AWS cannot change in place, going from `olds` to `news`."""
        return sorted(key for key in keys
                      if key in self.replaces or (key in self.replaces_if and self.replaces_if[key](olds, news)))


# One table per kind of request: Pulumi type token -> handler.
RESOURCES: dict[str, Handler] = {}
LOOKUPS: dict[str, Handler] = {}


def _handles(table: dict[str, Handler], token: str, *inputs: str) -> Callable:
    def register(apply: Callable) -> Callable:
        # Every pulumi-aws 7 resource and lookup takes `region`; MotoMocks routes on it.
        table[token] = Handler(apply, frozenset(inputs) | {"region"})
        return apply
    return register


def _lifecycle(token: str, *, replaces: Iterable[str], delete: Callable[..., None],
               read: Callable[..., Optional[Inputs]], updates: Optional[Mapping[str, Callable[..., None]]] = None,
               replaces_if: Optional[Mapping[str, Callable[[Mapping[str, Any], Mapping[str, Any]], bool]]] = None,
               ) -> None:
    """Complete a resource type's handler with how it is replaced, updated, read back and deleted."""
    # A resource moved to another region is a new resource.
    RESOURCES[token] = replace(RESOURCES[token], replaces=frozenset(replaces) | {"region"},
                               replaces_if=replaces_if or {}, updates=updates or {}, read=read, delete=delete)


def require_loopback(url: str) -> str:
    """`url` itself, if it names 127.0.0.1: the only address an emulator may live at."""
    if urlsplit(url).hostname != LOOPBACK:
        raise ValueError(f"{url} is not on {LOOPBACK}: only a local moto server may be used")
    return url


def single_endpoint(endpoints: Iterable[Mapping[str, str]], where: str) -> str:
    """The one loopback URL every entry of a stack's `aws:endpoints` names."""
    urls = sorted({url for entry in endpoints for url in entry.values()})
    if len(urls) != 1:
        raise ValueError(f"{where}: aws:endpoints must all name one emulator URL, found {urls or 'none'}")
    return require_loopback(urls[0])


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
        handler, where = _resource_handler(args.typ, args.name)
        inputs = _plain(args.inputs, where)
        with self._lock:
            resource_id, outputs = _apply(handler, where, inputs,
                                          self, inputs.get("region") or self.region, args.name)
        # Inputs as registered (secrets stay secret), then what moto computed.
        return resource_id, {**args.inputs, **outputs}

    # The resource's life after creation, for a provider that manages it across updates (the
    # rehearsal provider in tools/rehearsal_provider/). Values arrive as the engine sends them.

    def update(self, typ: str, name: str, resource_id: str, olds: Inputs, news: Inputs, keys: Iterable[str]) -> None:
        """Change the inputs `keys` of a resource in place, as the provider's Update does."""
        handler, where = _resource_handler(typ, name)
        replacing = handler.replacing(keys, olds, news)
        if replacing:
            raise NotImplementedError(f"{where}: AWS cannot change {', '.join(replacing)} in place; "
                                      "the resource must be replaced")
        missing = sorted(set(keys) - set(handler.updates))
        if missing:
            raise NotImplementedError(f"{where}: changing {', '.join(missing)} in place is not emulated")
        plain_olds, plain_news = _plain(olds, where), _plain(news, where)
        with self._lock:
            for key in sorted(keys):
                _attempt(where, handler.updates[key], self, plain_news.get("region") or self.region,
                         resource_id, plain_olds, plain_news)

    def read(self, typ: str, name: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
        """What moto holds of a resource now (over `state`), or None if it is gone."""
        handler, where = _resource_handler(typ, name)
        plain = _plain(state, where)
        with self._lock:
            found = _attempt(where, handler.read, self, plain.get("region") or self.region, resource_id, plain)
        return None if found is None else {**state, **found}

    def delete(self, typ: str, name: str, resource_id: str, state: Inputs) -> None:
        handler, where = _resource_handler(typ, name)
        plain = _plain(state, where)
        with self._lock:
            try:
                _attempt(where, handler.delete, self, plain.get("region") or self.region, resource_id, plain)
            except RuntimeError as error:
                # As the provider does: a resource already gone counts as deleted.
                if not _is_not_found(error.__cause__):
                    raise


def _resource_handler(typ: str, name: str) -> tuple[Handler, str]:
    handler = RESOURCES.get(typ)
    if handler is None:
        raise NotImplementedError(f"the moto emulator has no handler for the resource type {typ} ({name})")
    return handler, f"{typ} {name}"


def _apply(handler: Handler, where: str, inputs: Inputs, *leading: Any) -> Any:
    """`handler.apply(*leading, inputs)` if it sends every input; any refusal names `where`."""
    unknown = sorted(set(inputs) - handler.inputs)
    if unknown:
        raise NotImplementedError(f"{where}: the moto emulator does not send the input(s) {', '.join(unknown)}; "
                                  "teach its handler what the provider sends for them")
    return _attempt(where, handler.apply, *leading, inputs)


def _attempt(where: str, call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)`; any refusal names `where`."""
    try:
        return call(*args)
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


# The names pulumi-aws gives in Check when the program sets neither the name nor a prefix: the name
# is then among the inputs the engine plans with, so known at preview (bucket names are lower-case).
AUTONAMED_AT_CHECK = {"aws:s3/bucket:Bucket": ("bucket", "bucketPrefix")}


def autonamed_at_check(typ: str, logical_name: str, news: Inputs, olds: Inputs,
                       unique: Callable[[str], str] = lambda logical_name: _autoname(logical_name, None)) -> Inputs:
    """A resource's inputs as the provider's Check returns them: an auto-named resource keeps the
    name its last Check gave it, or is given one by `unique`."""
    name_key, prefix_key = AUTONAMED_AT_CHECK.get(typ, (None, None))
    if name_key is None or news.get(name_key) or news.get(prefix_key):
        return news
    return {**news, name_key: olds.get(name_key) or unique(logical_name).lower()}


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
    return f"arn:{partition_of(region)['partition']}:ec2:{region}:{mocks.account_id}:{kind}/{resource_id}"


def partition_of(region: str) -> dict[str, str]:
    """What `aws.get_partition` answers in a region, from botocore's own partition table."""
    for partition in botocore.session.get_session().get_data("endpoints")["partitions"]:
        if region in partition["regions"] or re.match(partition["regionRegex"], region):
            return {"id": partition["partition"], "partition": partition["partition"],
                    "dnsSuffix": partition["dnsSuffix"],
                    "reverseDnsPrefix": ".".join(reversed(partition["dnsSuffix"].split(".")))}
    raise NotImplementedError(f"no AWS partition holds the region {region}")


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


@_handles(LOOKUPS, "aws:index/getPartition:getPartition")
def _partition(mocks: MotoMocks, region: str, args: Inputs) -> dict[str, Any]:
    return partition_of(region)


@_handles(LOOKUPS, "aws:ec2/getVpcs:getVpcs", "tags", "filters")
def _vpcs(mocks: MotoMocks, region: str, args: Inputs) -> dict[str, Any]:
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in (args.get("tags") or {}).items()]
    filters += [{"Name": entry["name"], "Values": entry["values"]} for entry in args.get("filters") or []]
    vpcs = mocks.client("ec2", region).describe_vpcs(**_present(Filters=filters or None))["Vpcs"]
    return {"id": region, "ids": [vpc["VpcId"] for vpc in vpcs], "tags": args.get("tags")}


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


DESTINATION_OPTIONS = {"fileFormat": "FileFormat", "hiveCompatiblePartitions": "HiveCompatiblePartitions",
                       "perHourPartition": "PerHourPartition"}


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
        DestinationOptions=_renamed(inputs.get("destinationOptions"), DESTINATION_OPTIONS, "destinationOptions")
        or None,
        TagSpecifications=_tag_specifications("vpc-flow-log", inputs.get("tags")))


@_handles(RESOURCES, "aws:ec2/flowLog:FlowLog", *FLOW_LOG_TARGETS, "trafficType", "logDestinationType",
          "logDestination", "iamRoleArn", "maxAggregationInterval", "logFormat", "destinationOptions", "tags")
def _flow_log(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    created = mocks.client("ec2", region).create_flow_logs(**create_flow_logs_request(inputs))
    if created["Unsuccessful"]:
        raise RuntimeError(f"CreateFlowLogs refused: {created['Unsuccessful']}")
    (flow_log_id,) = created["FlowLogIds"]
    return flow_log_id, {"arn": _ec2_arn(mocks, region, "vpc-flow-log", flow_log_id)}


@_handles(RESOURCES, "aws:cloudwatch/logGroup:LogGroup", "name", "namePrefix", "retentionInDays", "kmsKeyId",
          "logGroupClass", "skipDestroy", "deletionProtectionEnabled", "tags")
def _log_group(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    logs = mocks.client("logs", region)
    group_name = _autoname(name, inputs.get("name"), inputs.get("namePrefix"))
    logs.create_log_group(**_present(logGroupName=group_name, kmsKeyId=inputs.get("kmsKeyId"),
                                     logGroupClass=inputs.get("logGroupClass"), tags=inputs.get("tags"),
                                     deletionProtectionEnabled=inputs.get("deletionProtectionEnabled")))
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


# --- after creation: what replaces a resource, and how it is updated, read back and deleted ------
# Update handlers take (mocks, region, resource_id, olds, news): the state before, the new inputs.
# Read handlers return what moto holds now (merged over the state), or None if it is gone.

def _is_not_found(error: Exception) -> bool:
    if not isinstance(error, ClientError):
        return False
    code = error.response["Error"]["Code"]
    # S3 says NoSuchBucket, NoSuchBucketPolicy, ...; HeadBucket only its HTTP status.
    return "NotFound" in code or code.startswith("NoSuch") or code in {"404", "ResourceNotFoundException"}


def _read_or_gone(read: Callable[..., Optional[Inputs]]) -> Callable[..., Optional[Inputs]]:
    """`read`, answering None where moto says the resource does not exist."""
    def reading(*args: Any) -> Optional[Inputs]:
        try:
            return read(*args)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise
    return reading


def _provider_only(*_: Any) -> None:
    """A setting of the provider's own (e.g. what to do on delete): AWS has nothing to change."""


def _set_or_clear(service: str, key: str, put: Callable[[Any, str, Any], Any],
                  clear: Callable[[Any, str], Any]) -> Callable[..., None]:
    """An input AWS sets with `put(client, id, value)`, and clears with `clear(client, id)` once unset."""
    def update(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
        client = mocks.client(service, region)
        if news.get(key):
            put(client, resource_id, news[key])
        else:
            clear(client, resource_id)
    return update


def _tags_read(state: Inputs, tags: Optional[list[Mapping[str, str]]]) -> Inputs:
    """Tags as AWS lists them, if the resource has or had any."""
    found = {tag["Key"]: tag["Value"] for tag in tags or []}
    return {"tags": found} if found or state.get("tags") else {}


def _tags_via(service: str, untag: Callable[[Any, str, Inputs, list[str]], Any],
              tag: Callable[[Any, str, Inputs, dict[str, str]], Any]) -> Callable[..., None]:
    """Tags changed in place: `untag(client, id, olds, keys)` the dropped ones, `tag(...)` the rest."""
    def update(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
        client = mocks.client(service, region)
        old, new = olds.get("tags") or {}, news.get("tags") or {}
        removed = sorted(set(old) - set(new))
        if removed:
            untag(client, resource_id, olds, removed)
        changed = {key: value for key, value in new.items() if old.get(key) != value}
        if changed:
            tag(client, resource_id, olds, changed)
    return update


def _ec2_tags(id_output: Optional[str] = None) -> Callable[..., None]:
    """CreateTags/DeleteTags on the ID (or on the output `id_output`)."""
    def target(resource_id: str, olds: Inputs) -> list[str]:
        return [olds[id_output] if id_output else resource_id]
    return _tags_via("ec2", lambda ec2, resource_id, olds, keys: ec2.delete_tags(
                         Resources=target(resource_id, olds), Tags=[{"Key": key} for key in keys]),
                     lambda ec2, resource_id, olds, tags: ec2.create_tags(
                         Resources=target(resource_id, olds), Tags=_tag_list(tags)))


def _ec2_read(describe: str, ids_parameter: str, listed_as: str) -> Callable[..., Optional[Inputs]]:
    """Read an EC2 resource back with `describe`(`ids_parameter`=[id]): its tags, or None if gone."""
    @_read_or_gone
    def read(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
        found = getattr(mocks.client("ec2", region), describe)(**{ids_parameter: [resource_id]})[listed_as]
        return _tags_read(state, found[0].get("Tags")) if found else None
    return read


def _vpc_attribute(attribute: str) -> Callable[..., None]:
    def update(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
        mocks.client("ec2", region).modify_vpc_attribute(
            VpcId=resource_id, **{VPC_ATTRIBUTES[attribute]: {"Value": bool(news.get(attribute))}})
    return update


_lifecycle("aws:ec2/vpc:Vpc", replaces=("cidrBlock", "instanceTenancy"),
           updates={"tags": _ec2_tags(), **{attribute: _vpc_attribute(attribute) for attribute in VPC_ATTRIBUTES}},
           read=_ec2_read("describe_vpcs", "VpcIds", "Vpcs"),
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).delete_vpc(VpcId=resource_id))


def _map_public_ip(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    mocks.client("ec2", region).modify_subnet_attribute(
        SubnetId=resource_id, MapPublicIpOnLaunch={"Value": bool(news.get("mapPublicIpOnLaunch"))})


_lifecycle("aws:ec2/subnet:Subnet", replaces=("vpcId", "cidrBlock", "availabilityZone"),
           updates={"tags": _ec2_tags(), "mapPublicIpOnLaunch": _map_public_ip},
           read=_ec2_read("describe_subnets", "SubnetIds", "Subnets"),
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).delete_subnet(
               SubnetId=resource_id))


def _detach_gateway(ec2: Any, gateway_id: str) -> None:
    (gateway,) = ec2.describe_internet_gateways(InternetGatewayIds=[gateway_id])["InternetGateways"]
    for attachment in gateway.get("Attachments", []):
        ec2.detach_internet_gateway(InternetGatewayId=gateway_id, VpcId=attachment["VpcId"])


def _move_gateway(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    ec2 = mocks.client("ec2", region)
    _detach_gateway(ec2, resource_id)
    if news.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=resource_id, VpcId=news["vpcId"])


def _delete_gateway(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    ec2 = mocks.client("ec2", region)
    _detach_gateway(ec2, resource_id)
    ec2.delete_internet_gateway(InternetGatewayId=resource_id)


_lifecycle("aws:ec2/internetGateway:InternetGateway", replaces=(),
           updates={"tags": _ec2_tags(), "vpcId": _move_gateway},
           read=_ec2_read("describe_internet_gateways", "InternetGatewayIds", "InternetGateways"),
           delete=_delete_gateway)

_lifecycle("aws:ec2/routeTable:RouteTable", replaces=("vpcId",), updates={"tags": _ec2_tags()},
           read=_ec2_read("describe_route_tables", "RouteTableIds", "RouteTables"),
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).delete_route_table(
               RouteTableId=resource_id))


def _replace_route_target(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    mocks.client("ec2", region).replace_route(RouteTableId=news["routeTableId"],
                                              DestinationCidrBlock=news["destinationCidrBlock"],
                                              GatewayId=news["gatewayId"])


@_read_or_gone
def _read_route(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    (table,) = mocks.client("ec2", region).describe_route_tables(RouteTableIds=[state["routeTableId"]])["RouteTables"]
    routes = [route for route in table["Routes"] if route.get("DestinationCidrBlock") == state["destinationCidrBlock"]]
    return {"gatewayId": routes[0].get("GatewayId")} if routes else None


_lifecycle("aws:ec2/route:Route", replaces=("routeTableId", "destinationCidrBlock"),
           updates={"gatewayId": _replace_route_target}, read=_read_route,
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).delete_route(
               RouteTableId=state["routeTableId"], DestinationCidrBlock=state["destinationCidrBlock"]))


@_read_or_gone
def _read_association(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    tables = mocks.client("ec2", region).describe_route_tables(
        Filters=[{"Name": "association.route-table-association-id", "Values": [resource_id]}])["RouteTables"]
    return {"routeTableId": tables[0]["RouteTableId"]} if tables else None


# AWS moves an association to another table under a new association ID, which an update cannot
# report back, so changing routeTableId is not emulated.
_lifecycle("aws:ec2/routeTableAssociation:RouteTableAssociation", replaces=("subnetId",), read=_read_association,
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).disassociate_route_table(
               AssociationId=resource_id))

# The provider leaves the default group to its VPC on delete: it only stops managing it.
_lifecycle("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", replaces=("vpcId",), updates={"tags": _ec2_tags()},
           read=_ec2_read("describe_security_groups", "GroupIds", "SecurityGroups"), delete=_provider_only)

_lifecycle("aws:ec2/securityGroup:SecurityGroup", replaces=("name", "namePrefix", "description", "vpcId"),
           updates={"tags": _ec2_tags(), "revokeRulesOnDelete": _provider_only},
           read=_ec2_read("describe_security_groups", "GroupIds", "SecurityGroups"),
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).delete_security_group(
               GroupId=resource_id))


def _modify_rule(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    """ModifySecurityGroupRules with the whole new rule, as the provider sends it."""
    mocks.client("ec2", region).modify_security_group_rules(
        GroupId=news["securityGroupId"], SecurityGroupRules=[{"SecurityGroupRuleId": resource_id,
                                                              "SecurityGroupRule": _present(
            IpProtocol=news["ipProtocol"],
            FromPort=news.get("fromPort") if news["ipProtocol"] != "-1" else None,
            ToPort=news.get("toPort") if news["ipProtocol"] != "-1" else None,
            CidrIpv4=news.get("cidrIpv4"), CidrIpv6=news.get("cidrIpv6"), PrefixListId=news.get("prefixListId"),
            ReferencedGroupId=news.get("referencedSecurityGroupId"), Description=news.get("description"))}])


def _revoke_rule(direction: str) -> Callable[..., None]:
    def delete(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
        ec2 = mocks.client("ec2", region)
        revoke = ec2.revoke_security_group_ingress if direction == "ingress" else ec2.revoke_security_group_egress
        revoke(GroupId=state["securityGroupId"], SecurityGroupRuleIds=[resource_id])
    return delete


for _direction, _token in (("ingress", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
                           ("egress", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")):
    _lifecycle(_token, replaces=("securityGroupId",),
               updates={"tags": _ec2_tags(), **{key: _modify_rule for key in RULE_INPUTS
                                                if key not in {"securityGroupId", "tags"}}},
               read=_ec2_read("describe_security_group_rules", "SecurityGroupRuleIds", "SecurityGroupRules"),
               delete=_revoke_rule(_direction))

_lifecycle("aws:ec2/keyPair:KeyPair", replaces=("keyName", "keyNamePrefix", "publicKey"),
           updates={"tags": _ec2_tags("keyPairId")},
           read=_ec2_read("describe_key_pairs", "KeyNames", "KeyPairs"),
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).delete_key_pair(
               KeyName=resource_id))


def _instance_attribute(change: Callable[[Any, str, Inputs], None]) -> Callable[..., None]:
    """An attribute AWS changes only while the instance is stopped: stop, change, start."""
    def update(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
        ec2 = mocks.client("ec2", region)
        ec2.stop_instances(InstanceIds=[resource_id])
        change(ec2, resource_id, news)
        ec2.start_instances(InstanceIds=[resource_id])
    return update


def _metadata_options(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    mocks.client("ec2", region).modify_instance_metadata_options(
        InstanceId=resource_id, **_renamed(news.get("metadataOptions"), METADATA_OPTIONS, "metadataOptions"))


@_read_or_gone
def _read_instance(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    reservations = mocks.client("ec2", region).describe_instances(InstanceIds=[resource_id])["Reservations"]
    if not reservations:
        return None
    (instance,) = reservations[0]["Instances"]
    if instance["State"]["Name"] in {"shutting-down", "terminated"}:
        return None
    return {**_tags_read(state, instance.get("Tags")), **_present(
        instanceType=instance["InstanceType"], subnetId=instance.get("SubnetId"),
        availabilityZone=instance["Placement"]["AvailabilityZone"], privateIp=instance.get("PrivateIpAddress"),
        publicIp=instance.get("PublicIpAddress"), instanceState=instance["State"]["Name"])}


_lifecycle("aws:ec2/instance:Instance",
           replaces=("ami", "subnetId", "associatePublicIpAddress", "keyName"),
           replaces_if={
               "userData": lambda olds, news: bool(news.get("userDataReplaceOnChange")),
               # AWS resizes or retypes a root volume in place (not emulated), but cannot encrypt it.
               "rootBlockDevice": lambda olds, news: any(
                   (olds.get("rootBlockDevice") or {}).get(key) != (news.get("rootBlockDevice") or {}).get(key)
                   for key in ("encrypted", "kmsKeyId")),
           },
           updates={
               "tags": _ec2_tags(),
               "instanceType": _instance_attribute(lambda ec2, instance_id, news: ec2.modify_instance_attribute(
                   InstanceId=instance_id, InstanceType={"Value": news["instanceType"]})),
               "userData": _instance_attribute(lambda ec2, instance_id, news: ec2.modify_instance_attribute(
                   InstanceId=instance_id, UserData={"Value": (news.get("userData") or "").encode()})),
               "vpcSecurityGroupIds": lambda mocks, region, resource_id, olds, news: mocks.client(
                   "ec2", region).modify_instance_attribute(InstanceId=resource_id,
                                                            Groups=news.get("vpcSecurityGroupIds") or []),
               "metadataOptions": _metadata_options,
               "userDataReplaceOnChange": _provider_only,
           },
           read=_read_instance,
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).terminate_instances(
               InstanceIds=[resource_id]))


@_read_or_gone
def _read_flow_log(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    found = mocks.client("ec2", region).describe_flow_logs(FlowLogIds=[resource_id])["FlowLogs"]
    if not found:
        return None
    (flow_log,) = found
    return {**_tags_read(state, flow_log.get("Tags")), **_present(
        trafficType=flow_log.get("TrafficType"), maxAggregationInterval=flow_log.get("MaxAggregationInterval"),
        logDestinationType=flow_log.get("LogDestinationType"), logDestination=flow_log.get("LogDestination"))}


# AWS has no ModifyFlowLogs: anything but the tags is a new flow log.
_lifecycle("aws:ec2/flowLog:FlowLog",
           replaces=RESOURCES["aws:ec2/flowLog:FlowLog"].inputs - {"tags", "tagsAll"},
           updates={"tags": _ec2_tags()}, read=_read_flow_log,
           delete=lambda mocks, region, resource_id, state: mocks.client("ec2", region).delete_flow_logs(
               FlowLogIds=[resource_id]))


@_read_or_gone
def _read_log_group(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    groups = mocks.client("logs", region).describe_log_groups(logGroupNamePrefix=resource_id)["logGroups"]
    group = next((group for group in groups if group["logGroupName"] == resource_id), None)
    if group is None:
        return None
    tags = mocks.client("logs", region).list_tags_for_resource(resourceArn=state["arn"])["tags"]
    return {**({"tags": tags} if tags or state.get("tags") else {}),
            **_present(retentionInDays=group.get("retentionInDays"), kmsKeyId=group.get("kmsKeyId"))}


def _delete_log_group(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    # skipDestroy: the provider forgets the group and leaves it, with its records, in the account.
    if not state.get("skipDestroy"):
        mocks.client("logs", region).delete_log_group(logGroupName=resource_id)


_lifecycle("aws:cloudwatch/logGroup:LogGroup", replaces=("name", "namePrefix", "logGroupClass"),
           updates={
               "retentionInDays": _set_or_clear(
                   "logs", "retentionInDays",
                   lambda logs, group_name, days: logs.put_retention_policy(logGroupName=group_name,
                                                                            retentionInDays=days),
                   lambda logs, group_name: logs.delete_retention_policy(logGroupName=group_name)),
               "kmsKeyId": _set_or_clear(
                   "logs", "kmsKeyId",
                   lambda logs, group_name, key: logs.associate_kms_key(logGroupName=group_name, kmsKeyId=key),
                   lambda logs, group_name: logs.disassociate_kms_key(logGroupName=group_name)),
               "tags": _tags_via(
                   "logs", lambda logs, group_name, olds, keys: logs.untag_resource(resourceArn=olds["arn"],
                                                                                    tagKeys=keys),
                   lambda logs, group_name, olds, tags: logs.tag_resource(resourceArn=olds["arn"], tags=tags)),
               "skipDestroy": _provider_only,
           },
           read=_read_log_group, delete=_delete_log_group)


@_read_or_gone
def _read_kms_key(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    kms = mocks.client("kms", region)
    key = kms.describe_key(KeyId=resource_id)["KeyMetadata"]
    if key["KeyState"] == "PendingDeletion":
        return None
    tags = [{"Key": tag["TagKey"], "Value": tag["TagValue"]}
            for tag in kms.list_resource_tags(KeyId=resource_id)["Tags"]]
    return {**_tags_read(state, tags), **_present(description=key.get("Description"))}


_lifecycle("aws:kms/key:Key", replaces=("keyUsage", "customerMasterKeySpec", "multiRegion"),
           updates={
               "description": lambda mocks, region, resource_id, olds, news: mocks.client(
                   "kms", region).update_key_description(KeyId=resource_id, Description=news.get("description", "")),
               "policy": lambda mocks, region, resource_id, olds, news: mocks.client("kms", region).put_key_policy(
                   KeyId=resource_id, PolicyName="default", Policy=news["policy"]),
               "enableKeyRotation": _set_or_clear(
                   "kms", "enableKeyRotation", lambda kms, key_id, _: kms.enable_key_rotation(KeyId=key_id),
                   lambda kms, key_id: kms.disable_key_rotation(KeyId=key_id)),
               "tags": _tags_via(
                   "kms", lambda kms, key_id, olds, keys: kms.untag_resource(KeyId=key_id, TagKeys=keys),
                   lambda kms, key_id, olds, tags: kms.tag_resource(KeyId=key_id, Tags=[
                       {"TagKey": key, "TagValue": value} for key, value in tags.items()])),
               "deletionWindowInDays": _provider_only,
           },
           read=_read_kms_key,
           # AWS never deletes a key at once: it schedules the deletion after the window.
           delete=lambda mocks, region, resource_id, state: mocks.client("kms", region).schedule_key_deletion(
               KeyId=resource_id, PendingWindowInDays=state.get("deletionWindowInDays", 30)))


def _update_role(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    mocks.client("iam", region).update_role(**_present(
        RoleName=resource_id, Description=news.get("description", ""),
        MaxSessionDuration=news.get("maxSessionDuration")))


@_read_or_gone
def _read_role(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    role = mocks.client("iam", region).get_role(RoleName=resource_id)["Role"]
    return {**_tags_read(state, role.get("Tags")), "arn": role["Arn"], **_present(description=role.get("Description"))}


def _delete_role(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    iam = mocks.client("iam", region)
    if state.get("forceDetachPolicies"):
        for policy_name in iam.list_role_policies(RoleName=resource_id)["PolicyNames"]:
            iam.delete_role_policy(RoleName=resource_id, PolicyName=policy_name)
    iam.delete_role(RoleName=resource_id)


_lifecycle("aws:iam/role:Role", replaces=("name", "namePrefix", "path"),
           updates={
               "assumeRolePolicy": lambda mocks, region, resource_id, olds, news: mocks.client(
                   "iam", region).update_assume_role_policy(RoleName=resource_id,
                                                            PolicyDocument=news["assumeRolePolicy"]),
               "description": _update_role,
               "maxSessionDuration": _update_role,
               "permissionsBoundary": _set_or_clear(
                   "iam", "permissionsBoundary",
                   lambda iam, role_name, arn: iam.put_role_permissions_boundary(RoleName=role_name,
                                                                                 PermissionsBoundary=arn),
                   lambda iam, role_name: iam.delete_role_permissions_boundary(RoleName=role_name)),
               "tags": _tags_via(
                   "iam", lambda iam, role_name, olds, keys: iam.untag_role(RoleName=role_name, TagKeys=keys),
                   lambda iam, role_name, olds, tags: iam.tag_role(RoleName=role_name, Tags=_tag_list(tags))),
               "forceDetachPolicies": _provider_only,
           },
           read=_read_role, delete=_delete_role)


def _role_and_policy(resource_id: str) -> tuple[str, str]:
    role_name, policy_name = resource_id.split(":", 1)
    return role_name, policy_name


@_read_or_gone
def _read_role_policy(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    role_name, policy_name = _role_and_policy(resource_id)
    document = mocks.client("iam", region).get_role_policy(RoleName=role_name, PolicyName=policy_name)
    # boto3 hands the document back parsed; the state keeps the provider's string unless it differs.
    held = document["PolicyDocument"]
    return {} if held == json.loads(state["policy"]) else {"policy": json.dumps(held)}


def _put_role_policy(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    role_name, policy_name = _role_and_policy(resource_id)
    mocks.client("iam", region).put_role_policy(RoleName=role_name, PolicyName=policy_name,
                                                PolicyDocument=news["policy"])


def _delete_role_policy(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    role_name, policy_name = _role_and_policy(resource_id)
    mocks.client("iam", region).delete_role_policy(RoleName=role_name, PolicyName=policy_name)


_lifecycle("aws:iam/rolePolicy:RolePolicy", replaces=("role", "name", "namePrefix"),
           updates={"policy": _put_role_policy}, read=_read_role_policy, delete=_delete_role_policy)


@_read_or_gone
def _read_role_policy_attachment(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    attached = mocks.client("iam", region).list_attached_role_policies(RoleName=state["role"])["AttachedPolicies"]
    return {} if any(policy["PolicyArn"] == state["policyArn"] for policy in attached) else None


_lifecycle("aws:iam/rolePolicyAttachment:RolePolicyAttachment", replaces=("role", "policyArn"),
           read=_read_role_policy_attachment,
           delete=lambda mocks, region, resource_id, state: mocks.client("iam", region).detach_role_policy(
               RoleName=state["role"], PolicyArn=state["policyArn"]))


@_read_or_gone
def _read_instance_profile(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    profile = mocks.client("iam", region).get_instance_profile(InstanceProfileName=resource_id)["InstanceProfile"]
    roles = [role["RoleName"] for role in profile["Roles"]]
    # GetInstanceProfile carries the tags (moto has no ListInstanceProfileTags).
    return {**_tags_read(state, profile.get("Tags")), **_present(role=roles[0] if roles else None)}


def _swap_instance_profile_role(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    """A profile holds at most one role: the old one leaves before the new one joins."""
    iam = mocks.client("iam", region)
    if olds.get("role"):
        iam.remove_role_from_instance_profile(InstanceProfileName=resource_id, RoleName=olds["role"])
    if news.get("role"):
        iam.add_role_to_instance_profile(InstanceProfileName=resource_id, RoleName=news["role"])


def _delete_instance_profile(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    iam = mocks.client("iam", region)
    # AWS refuses to delete a profile that still holds a role.
    for role in iam.get_instance_profile(InstanceProfileName=resource_id)["InstanceProfile"]["Roles"]:
        iam.remove_role_from_instance_profile(InstanceProfileName=resource_id, RoleName=role["RoleName"])
    iam.delete_instance_profile(InstanceProfileName=resource_id)


_lifecycle("aws:iam/instanceProfile:InstanceProfile", replaces=("name", "namePrefix", "path"),
           updates={
               "role": _swap_instance_profile_role,
               "tags": _tags_via(
                   "iam", lambda iam, profile, olds, keys: iam.untag_instance_profile(
                       InstanceProfileName=profile, TagKeys=keys),
                   lambda iam, profile, olds, tags: iam.tag_instance_profile(
                       InstanceProfileName=profile, Tags=_tag_list(tags))),
           },
           read=_read_instance_profile, delete=_delete_instance_profile)


def _topic_attribute(key: str) -> Callable[..., None]:
    def update(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
        mocks.client("sns", region).set_topic_attributes(TopicArn=resource_id, AttributeName=TOPIC_ATTRIBUTES[key],
                                                         AttributeValue=_attribute(news.get(key, "")))
    return update


@_read_or_gone
def _read_topic(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    sns = mocks.client("sns", region)
    sns.get_topic_attributes(TopicArn=resource_id)
    return _tags_read(state, sns.list_tags_for_resource(ResourceArn=resource_id)["Tags"])


_lifecycle("aws:sns/topic:Topic", replaces=("name", "namePrefix", "fifoTopic"),
           updates={
               "tags": _tags_via(
                   "sns", lambda sns, topic_arn, olds, keys: sns.untag_resource(ResourceArn=topic_arn, TagKeys=keys),
                   lambda sns, topic_arn, olds, tags: sns.tag_resource(ResourceArn=topic_arn, Tags=_tag_list(tags))),
               **{key: _topic_attribute(key) for key in TOPIC_ATTRIBUTES if key != "fifoTopic"},
           },
           read=_read_topic,
           delete=lambda mocks, region, resource_id, state: mocks.client("sns", region).delete_topic(
               TopicArn=resource_id))


def _subscription_attribute(key: str) -> Callable[..., None]:
    def update(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
        mocks.client("sns", region).set_subscription_attributes(
            SubscriptionArn=resource_id, AttributeName=SUBSCRIPTION_ATTRIBUTES[key],
            AttributeValue=_attribute(news.get(key, "")))
    return update


@_read_or_gone
def _read_subscription(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    mocks.client("sns", region).get_subscription_attributes(SubscriptionArn=resource_id)
    return {}


_lifecycle("aws:sns/topicSubscription:TopicSubscription", replaces=("topic", "protocol", "endpoint"),
           updates={"confirmationTimeoutInMinutes": _provider_only, "endpointAutoConfirms": _provider_only,
                    **{key: _subscription_attribute(key) for key in SUBSCRIPTION_ATTRIBUTES}},
           read=_read_subscription,
           delete=lambda mocks, region, resource_id, state: mocks.client("sns", region).unsubscribe(
               SubscriptionArn=resource_id))


def _put_again(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs, *,
               create: Callable[..., Result], name_input: str) -> None:
    """Resources whose Put call overwrites: the create handler again, under the same name."""
    create(mocks, region, resource_id, {**news, name_input: resource_id})


@_read_or_gone
def _read_metric_filter(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    filters = mocks.client("logs", region).describe_metric_filters(
        logGroupName=state["logGroupName"], filterNamePrefix=resource_id)["metricFilters"]
    found = [entry for entry in filters if entry["filterName"] == resource_id]
    return {"pattern": found[0]["filterPattern"]} if found else None


_lifecycle("aws:cloudwatch/logMetricFilter:LogMetricFilter", replaces=("name", "logGroupName"),
           updates={key: lambda *args: _put_again(*args, create=_log_metric_filter, name_input="name")
                    for key in ("pattern", "metricTransformation")},
           read=_read_metric_filter,
           delete=lambda mocks, region, resource_id, state: mocks.client("logs", region).delete_metric_filter(
               logGroupName=state["logGroupName"], filterName=resource_id))


@_read_or_gone
def _read_alarm(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    cloudwatch = mocks.client("cloudwatch", region)
    alarms = cloudwatch.describe_alarms(AlarmNames=[resource_id])["MetricAlarms"]
    if not alarms:
        return None
    tags = cloudwatch.list_tags_for_resource(ResourceARN=alarms[0]["AlarmArn"])["Tags"]
    return {**_tags_read(state, tags), "threshold": alarms[0]["Threshold"]}


_lifecycle("aws:cloudwatch/metricAlarm:MetricAlarm", replaces=("name",),
           updates={
               "tags": _tags_via(
                   "cloudwatch", lambda cloudwatch, alarm_name, olds, keys: cloudwatch.untag_resource(
                       ResourceARN=olds["arn"], TagKeys=keys),
                   lambda cloudwatch, alarm_name, olds, tags: cloudwatch.tag_resource(
                       ResourceARN=olds["arn"], Tags=_tag_list(tags))),
               **{key: lambda *args: _put_again(*args, create=_metric_alarm, name_input="name")
                  for key in (*METRIC_ALARM, "dimensions") if key != "name"},
           },
           read=_read_alarm,
           delete=lambda mocks, region, resource_id, state: mocks.client("cloudwatch", region).delete_alarms(
               AlarmNames=[resource_id]))


@_read_or_gone
def _read_dashboard(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    return {"dashboardBody": mocks.client("cloudwatch", region).get_dashboard(
        DashboardName=resource_id)["DashboardBody"]}


_lifecycle("aws:cloudwatch/dashboard:Dashboard", replaces=("dashboardName",),
           updates={"dashboardBody": lambda *args: _put_again(*args, create=_dashboard, name_input="dashboardName")},
           read=_read_dashboard,
           delete=lambda mocks, region, resource_id, state: mocks.client("cloudwatch", region).delete_dashboards(
               DashboardNames=[resource_id]))


def _query_definition_gone(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    # Not in moto (NOT_IN_MOTO): nothing was held, so nothing is deleted.
    mocks.not_in_moto.append(f"{QUERY_DEFINITION} {resource_id} (delete)")


def _query_definition_unread(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    raise NotImplementedError(f"{QUERY_DEFINITION} {resource_id}: {NOT_IN_MOTO[QUERY_DEFINITION]}, so it cannot "
                              "be read back")


_lifecycle(QUERY_DEFINITION, replaces=(), read=_query_definition_unread, delete=_query_definition_gone)


# --- flow-log bucket -----------------------------------------------------------------------------

@_handles(RESOURCES, "aws:s3/bucket:Bucket", "bucket", "bucketPrefix", "objectLockEnabled", "forceDestroy", "tags")
def _bucket(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    # As the provider auto-names: lower-case, since bucket names allow nothing else.
    bucket = _autoname(name, inputs.get("bucket"), inputs.get("bucketPrefix")).lower()
    s3 = mocks.client("s3", region)
    s3.create_bucket(**_present(
        Bucket=bucket,
        # us-east-1 is the one region that refuses a LocationConstraint naming itself.
        CreateBucketConfiguration={"LocationConstraint": region} if region != "us-east-1" else None,
        ObjectLockEnabledForBucket=inputs.get("objectLockEnabled")))
    if inputs.get("tags"):
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tag_list(inputs["tags"])})
    return bucket, {"bucket": bucket, "arn": f"arn:{partition_of(region)['partition']}:s3:::{bucket}",
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com", "region": region}


PUBLIC_ACCESS_BLOCK = {"blockPublicAcls": "BlockPublicAcls", "blockPublicPolicy": "BlockPublicPolicy",
                       "ignorePublicAcls": "IgnorePublicAcls", "restrictPublicBuckets": "RestrictPublicBuckets"}


@_handles(RESOURCES, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket", *PUBLIC_ACCESS_BLOCK)
def _bucket_public_access_block(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    settings = {PUBLIC_ACCESS_BLOCK[key]: value for key, value in inputs.items() if key in PUBLIC_ACCESS_BLOCK}
    mocks.client("s3", region).put_public_access_block(Bucket=inputs["bucket"],
                                                       PublicAccessBlockConfiguration=settings)
    return inputs["bucket"], {}


@_handles(RESOURCES, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "bucket", "rule")
def _bucket_ownership_controls(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    rule = _renamed(inputs["rule"], {"objectOwnership": "ObjectOwnership"}, f"{name} rule")
    mocks.client("s3", region).put_bucket_ownership_controls(Bucket=inputs["bucket"],
                                                             OwnershipControls={"Rules": [rule]})
    return inputs["bucket"], {}


@_handles(RESOURCES, "aws:s3/bucketVersioning:BucketVersioning", "bucket", "versioningConfiguration")
def _bucket_versioning(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    configuration = _renamed(inputs["versioningConfiguration"], {"status": "Status", "mfaDelete": "MFADelete"},
                             f"{name} versioningConfiguration")
    mocks.client("s3", region).put_bucket_versioning(Bucket=inputs["bucket"], VersioningConfiguration=configuration)
    return inputs["bucket"], {}


SSE_DEFAULT = {"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}


@_handles(RESOURCES, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "bucket", "rules")
def _bucket_encryption(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    rules = [_present(
        ApplyServerSideEncryptionByDefault=_renamed(rule.get("applyServerSideEncryptionByDefault"), SSE_DEFAULT,
                                                    f"{name} rules"),
        BucketKeyEnabled=rule.get("bucketKeyEnabled")) for rule in inputs["rules"]]
    mocks.client("s3", region).put_bucket_encryption(Bucket=inputs["bucket"],
                                                     ServerSideEncryptionConfiguration={"Rules": rules})
    return inputs["bucket"], {}


LIFECYCLE_RULE = {"id": "ID", "status": "Status", "filter": "Filter", "expiration": "Expiration",
                  "noncurrentVersionExpiration": "NoncurrentVersionExpiration",
                  "abortIncompleteMultipartUpload": "AbortIncompleteMultipartUpload"}
LIFECYCLE_BLOCKS = {"prefix": "Prefix", "days": "Days", "noncurrentDays": "NoncurrentDays",
                    "daysAfterInitiation": "DaysAfterInitiation"}


@_handles(RESOURCES, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "bucket", "rules")
def _bucket_lifecycle(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    rules = []
    for rule in inputs["rules"]:
        renamed = _renamed(rule, LIFECYCLE_RULE, f"{name} rules")
        rules.append({key: _renamed(value, LIFECYCLE_BLOCKS, f"{name} rules {key}") if isinstance(value, dict)
                      else value for key, value in renamed.items()})
    mocks.client("s3", region).put_bucket_lifecycle_configuration(Bucket=inputs["bucket"],
                                                                  LifecycleConfiguration={"Rules": rules})
    return inputs["bucket"], {}


@_handles(RESOURCES, "aws:s3/bucketPolicy:BucketPolicy", "bucket", "policy")
def _bucket_policy(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    mocks.client("s3", region).put_bucket_policy(Bucket=inputs["bucket"], Policy=inputs["policy"])
    return inputs["bucket"], {}


@_handles(RESOURCES, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "bucket", "rule",
          "objectLockEnabled")
def _bucket_object_lock(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    retention = _renamed(inputs["rule"]["defaultRetention"], {"mode": "Mode", "days": "Days", "years": "Years"},
                         f"{name} rule defaultRetention")
    mocks.client("s3", region).put_object_lock_configuration(
        Bucket=inputs["bucket"], ObjectLockConfiguration={
            "ObjectLockEnabled": inputs.get("objectLockEnabled", "Enabled"),
            "Rule": {"DefaultRetention": retention}})
    return inputs["bucket"], {}


# --- Athena over the flow-log bucket -------------------------------------------------------------

@_handles(RESOURCES, "aws:glue/catalogDatabase:CatalogDatabase", "name", "description", "tags")
def _glue_database(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    mocks.client("glue", region).create_database(
        DatabaseInput=_present(Name=inputs["name"], Description=inputs.get("description")),
        **_present(Tags=inputs.get("tags")))
    arn = f"arn:{partition_of(region)['partition']}:glue:{region}:{mocks.account_id}:database/{inputs['name']}"
    return f"{mocks.account_id}:{inputs['name']}", {"name": inputs["name"], "arn": arn}


SERDE = {"serializationLibrary": "SerializationLibrary", "parameters": "Parameters", "name": "Name"}
COLUMN = {"name": "Name", "type": "Type", "comment": "Comment"}
STORAGE_DESCRIPTOR = {"location": "Location", "inputFormat": "InputFormat", "outputFormat": "OutputFormat",
                      "serDeInfo": "SerdeInfo", "columns": "Columns", "compressed": "Compressed",
                      "parameters": "Parameters"}


def _glue_table_input(name: str, inputs: Inputs) -> dict[str, Any]:
    """Glue's TableInput from the provider's inputs: what CreateTable and UpdateTable both take whole."""
    where = f"{name} storageDescriptor"
    storage = _renamed(inputs.get("storageDescriptor"), STORAGE_DESCRIPTOR, where)
    if "SerdeInfo" in storage:
        storage["SerdeInfo"] = _renamed(storage["SerdeInfo"], SERDE, where)
    storage["Columns"] = [_renamed(column, COLUMN, where) for column in storage.get("Columns", [])]
    return _present(
        Name=inputs["name"], Description=inputs.get("description"), TableType=inputs.get("tableType"),
        Parameters=inputs.get("parameters"), StorageDescriptor=storage,
        PartitionKeys=[_renamed(key, COLUMN, f"{name} partitionKeys") for key in inputs.get("partitionKeys", [])])


@_handles(RESOURCES, "aws:glue/catalogTable:CatalogTable", "databaseName", "name", "tableType", "parameters",
          "partitionKeys", "storageDescriptor", "description")
def _glue_table(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    mocks.client("glue", region).create_table(DatabaseName=inputs["databaseName"],
                                              TableInput=_glue_table_input(name, inputs))
    return f"{mocks.account_id}:{inputs['databaseName']}:{inputs['name']}", {"name": inputs["name"]}


WORKGROUP_CONFIGURATION = {"enforceWorkgroupConfiguration": "EnforceWorkGroupConfiguration",
                           "publishCloudwatchMetricsEnabled": "PublishCloudWatchMetricsEnabled",
                           "bytesScannedCutoffPerQuery": "BytesScannedCutoffPerQuery",
                           "resultConfiguration": "ResultConfiguration",
                           "requesterPaysEnabled": "RequesterPaysEnabled"}
RESULT_CONFIGURATION = {"outputLocation": "OutputLocation", "encryptionConfiguration": "EncryptionConfiguration"}
RESULT_ENCRYPTION = {"encryptionOption": "EncryptionOption", "kmsKeyArn": "KmsKey"}


@_handles(RESOURCES, "aws:athena/workgroup:Workgroup", "name", "description", "configuration", "state",
          "forceDestroy", "tags")
def _athena_workgroup(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    where = f"{name} configuration"
    configuration = _renamed(inputs.get("configuration"), WORKGROUP_CONFIGURATION, where)
    if "ResultConfiguration" in configuration:
        result = _renamed(configuration["ResultConfiguration"], RESULT_CONFIGURATION, where)
        if "EncryptionConfiguration" in result:
            result["EncryptionConfiguration"] = _renamed(result["EncryptionConfiguration"], RESULT_ENCRYPTION, where)
        configuration["ResultConfiguration"] = result
    athena = mocks.client("athena", region)
    athena.create_work_group(**_present(Name=inputs["name"], Description=inputs.get("description"),
                                        Configuration=configuration, Tags=_tag_list(inputs.get("tags"))))
    arn = f"arn:{partition_of(region)['partition']}:athena:{region}:{mocks.account_id}:workgroup/{inputs['name']}"
    return inputs["name"], {"name": inputs["name"], "arn": arn}


@_handles(RESOURCES, "aws:athena/namedQuery:NamedQuery", "name", "database", "workgroup", "query", "description")
def _athena_named_query(mocks: MotoMocks, region: str, name: str, inputs: Inputs) -> Result:
    athena = mocks.client("athena", region)
    query_id = athena.create_named_query(**_present(
        Name=inputs["name"], Database=inputs["database"], WorkGroup=inputs.get("workgroup"),
        QueryString=inputs["query"], Description=inputs.get("description")))["NamedQueryId"]
    return query_id, {}


# --- after creation: flow-log bucket and Athena ---------------------------------------------------

@_read_or_gone
def _read_bucket(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    s3 = mocks.client("s3", region)
    s3.head_bucket(Bucket=resource_id)
    try:
        tags = s3.get_bucket_tagging(Bucket=resource_id)["TagSet"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchTagSet":
            raise
        tags = []
    return _tags_read(state, tags)


def _delete_bucket(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    s3 = mocks.client("s3", region)
    # forceDestroy: the provider empties the bucket, every version included, before deleting it.
    if state.get("forceDestroy"):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=resource_id):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=resource_id, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=resource_id)


# A bucket's name is its identity, and AWS enables object lock only when it creates a bucket.
_lifecycle("aws:s3/bucket:Bucket", replaces=("bucket", "bucketPrefix", "objectLockEnabled"),
           updates={"tags": _set_or_clear(
               "s3", "tags",
               lambda s3, bucket, tags: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tag_list(tags)}),
               lambda s3, bucket: s3.delete_bucket_tagging(Bucket=bucket)),
               "forceDestroy": _provider_only},
           read=_read_bucket, delete=_delete_bucket)


def _bucket_setting(token: str, create: Callable[..., Result], *, get: str, back: Callable[[Inputs, Inputs], Inputs],
                    delete: Callable[..., None], replaces: tuple[str, ...] = ("bucket",)) -> None:
    """A bucket sub-resource whose Put call overwrites: every input but the bucket is updated by putting it
    again; it is read back with `get`(Bucket=id), mapped to the provider's inputs by `back`(response, state)."""
    @_read_or_gone
    def read(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
        return back(getattr(mocks.client("s3", region), get)(Bucket=resource_id), state)
    _lifecycle(token, replaces=replaces, read=read, delete=delete,
               updates={key: lambda *args: _put_again(*args, create=create, name_input="bucket")
                        for key in RESOURCES[token].inputs - set(replaces)})


def _s3_call(call: str, **parameters: Any) -> Callable[..., None]:
    """A delete that is one S3 call on the bucket."""
    def delete(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
        getattr(mocks.client("s3", region), call)(Bucket=resource_id, **parameters)
    return delete


def _exists(response: Inputs, state: Inputs) -> Inputs:
    """Read back as present, the nested settings left as the state has them."""
    return {}


_bucket_setting("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", _bucket_public_access_block,
                get="get_public_access_block",
                back=lambda response, state: {key: response["PublicAccessBlockConfiguration"].get(api, False)
                                              for key, api in PUBLIC_ACCESS_BLOCK.items()},
                delete=_s3_call("delete_public_access_block"))
_bucket_setting("aws:s3/bucketOwnershipControls:BucketOwnershipControls", _bucket_ownership_controls,
                get="get_bucket_ownership_controls",
                back=lambda response, state: {"rule": {
                    "objectOwnership": response["OwnershipControls"]["Rules"][0]["ObjectOwnership"]}},
                delete=_s3_call("delete_bucket_ownership_controls"))
# AWS cannot switch versioning off once on: the provider suspends it on delete.
_bucket_setting("aws:s3/bucketVersioning:BucketVersioning", _bucket_versioning, get="get_bucket_versioning",
                back=lambda response, state: {"versioningConfiguration": {
                    **state.get("versioningConfiguration", {}), "status": response.get("Status", "Disabled")}},
                delete=_s3_call("put_bucket_versioning", VersioningConfiguration={"Status": "Suspended"}))
_bucket_setting("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                _bucket_encryption, get="get_bucket_encryption", back=_exists,
                delete=_s3_call("delete_bucket_encryption"))
_bucket_setting("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", _bucket_lifecycle,
                get="get_bucket_lifecycle_configuration", back=_exists, delete=_s3_call("delete_bucket_lifecycle"))
# S3 hands the policy back in its own spacing: the state keeps the provider's string unless it differs.
_bucket_setting("aws:s3/bucketPolicy:BucketPolicy", _bucket_policy, get="get_bucket_policy",
                back=lambda response, state: {} if json.loads(response["Policy"]) == json.loads(state["policy"])
                else {"policy": response["Policy"]},
                delete=_s3_call("delete_bucket_policy"))
# Object lock, once enabled, stays: the provider's delete only drops the default retention.
_bucket_setting("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", _bucket_object_lock,
                get="get_object_lock_configuration", back=_exists, replaces=("bucket", "objectLockEnabled"),
                delete=_s3_call("put_object_lock_configuration",
                                ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}))


@_read_or_gone
def _read_glue_database(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    glue = mocks.client("glue", region)
    database = glue.get_database(Name=state["name"])["Database"]
    tags = glue.get_tags(ResourceArn=state["arn"])["Tags"]
    return {**({"tags": tags} if tags or state.get("tags") else {}),
            **_present(description=database.get("Description"))}


_lifecycle("aws:glue/catalogDatabase:CatalogDatabase", replaces=("name",),
           updates={
               "description": lambda mocks, region, resource_id, olds, news: mocks.client(
                   "glue", region).update_database(Name=olds["name"], DatabaseInput=_present(
                       Name=olds["name"], Description=news.get("description"))),
               "tags": _tags_via(
                   "glue", lambda glue, database_id, olds, keys: glue.untag_resource(ResourceArn=olds["arn"],
                                                                                    TagsToRemove=keys),
                   lambda glue, database_id, olds, tags: glue.tag_resource(ResourceArn=olds["arn"], TagsToAdd=tags)),
           },
           read=_read_glue_database,
           delete=lambda mocks, region, resource_id, state: mocks.client("glue", region).delete_database(
               Name=state["name"]))


def _update_glue_table(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    mocks.client("glue", region).update_table(DatabaseName=news["databaseName"],
                                              TableInput=_glue_table_input(resource_id, news))


@_read_or_gone
def _read_glue_table(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    table = mocks.client("glue", region).get_table(DatabaseName=state["databaseName"], Name=state["name"])["Table"]
    return _present(tableType=table.get("TableType"))


# Glue identifies a table by its database and name; UpdateTable rewrites the rest whole.
_lifecycle("aws:glue/catalogTable:CatalogTable", replaces=("databaseName", "name"),
           updates={key: _update_glue_table
                    for key in RESOURCES["aws:glue/catalogTable:CatalogTable"].inputs - {"databaseName", "name"}},
           read=_read_glue_table,
           delete=lambda mocks, region, resource_id, state: mocks.client("glue", region).delete_table(
               DatabaseName=state["databaseName"], Name=state["name"]))


def _workgroup_not_updated(mocks: MotoMocks, region: str, resource_id: str, olds: Inputs, news: Inputs) -> None:
    raise NotImplementedError(f"aws:athena/workgroup:Workgroup {resource_id}: moto implements no Athena "
                              "UpdateWorkGroup, so its description, configuration and state cannot change in place")


@_read_or_gone
def _read_workgroup(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    athena = mocks.client("athena", region)
    if not athena.get_work_group(WorkGroup=resource_id).get("WorkGroup"):
        return None
    # moto answers a resource without tags with an error rather than an empty list.
    listed = athena.list_tags_for_resource(ResourceARN=state["arn"]) if state.get("tags") else {}
    return _tags_read(state, listed.get("Tags"))


_lifecycle("aws:athena/workgroup:Workgroup", replaces=("name",),
           updates={
               "tags": _tags_via(
                   "athena", lambda athena, name, olds, keys: athena.untag_resource(ResourceARN=olds["arn"],
                                                                                   TagKeys=keys),
                   lambda athena, name, olds, tags: athena.tag_resource(ResourceARN=olds["arn"],
                                                                        Tags=_tag_list(tags))),
               "forceDestroy": _provider_only,
               **{key: _workgroup_not_updated for key in ("description", "configuration", "state")},
           },
           read=_read_workgroup,
           # forceDestroy: the workgroup goes with its saved queries and query history.
           delete=lambda mocks, region, resource_id, state: mocks.client("athena", region).delete_work_group(
               WorkGroup=resource_id, RecursiveDeleteOption=bool(state.get("forceDestroy"))))


@_read_or_gone
def _read_named_query(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> Optional[Inputs]:
    query = mocks.client("athena", region).get_named_query(NamedQueryId=resource_id).get("NamedQuery")
    return _present(query=query.get("QueryString")) if query else None


def _named_query_left(mocks: MotoMocks, region: str, resource_id: str, state: Inputs) -> None:
    # moto implements no Athena DeleteNamedQuery: the query stays in moto, and the run says so.
    mocks.not_in_moto.append(f"aws:athena/namedQuery:NamedQuery {resource_id} (delete)")


# The provider changes nothing of a saved query in place: each input is a new query.
_lifecycle("aws:athena/namedQuery:NamedQuery", replaces=RESOURCES["aws:athena/namedQuery:NamedQuery"].inputs,
           read=_read_named_query, delete=_named_query_left)
