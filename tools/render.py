"""Run the real program under Pulumi's mock runtime and record what the engine would receive.

`make check`, the tests and the emulator-backed tests all render through `render()`, so
there is one definition of "what this stack registers": URN, type, name, parent, inputs,
options and property dependencies, exactly as carried by each RegisterResource request.
"""

from __future__ import annotations

import gc
import hashlib
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
from google.protobuf import json_format
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS, set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from config.project import resolve_stack_config
from config.settings import PROJECT, SECRET_PLACEHOLDER, settings_from_config
from tools.emulator import autonamed_at_check, partition_of

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROGRAM = PROJECT_ROOT / "__main__.py"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
UNKNOWN = "[unknown]"


@dataclass(frozen=True)
class Registration:
    """One RegisterResource request, in the shape `make check FORMAT=json` prints."""

    urn: str
    type: str
    name: str
    parent: str
    inputs: Mapping[str, Any]
    options: Mapping[str, Any]
    dependencies: Mapping[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent,
                "inputs": dict(self.inputs), "options": dict(self.options),
                "dependencies": dict(self.dependencies)}


@dataclass
class Rendering:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    invokes: list[str] = field(default_factory=list)

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.by_type(type_)
        assert len(found) == 1, f"expected one {type_}, got {[r.urn for r in found]}"
        return found[0]


def _as_engine_value(value: Any) -> Any:
    """A wire value as readable JSON: secrets hidden, resource references as their URN."""
    if isinstance(value, dict):
        signature = value.get(rpc._special_sig_key)
        if signature == rpc._special_secret_sig:
            return SECRET_PLACEHOLDER
        if signature == rpc._special_resource_sig:
            return value.get("urn", UNKNOWN)
        if signature == rpc._special_output_value_sig:
            return SECRET_PLACEHOLDER if value.get("secret") else _as_engine_value(value.get("value", UNKNOWN))
        return {key: _as_engine_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_engine_value(item) for item in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps each registration as the engine receives it."""

    def __init__(self, mocks: pulumi_mocks.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.invokes: list[str] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the SDK's mock qualifies children of the stack with its type too."""
        if parent.split("::")[2:3] == [ROOT_STACK_TYPE]:
            parent = ""
        return super().make_urn(parent, type_, name)

    def Invoke(self, request):
        self.invokes.append(request.tok)
        return super().Invoke(request)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        property_dependencies = {key: sorted(deps.urns)
                                 for key, deps in request.propertyDependencies.items() if deps.urns}
        via_properties = {urn for urns in property_dependencies.values() for urn in urns}
        inputs = json_format.MessageToDict(request.object)
        self.registrations.append(Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            inputs=_as_engine_value(inputs),
            options={
                "deleteBeforeReplace": request.deleteBeforeReplace,
                "replaceOnChanges": list(request.replaceOnChanges),
                "protect": request.protect,
                "retainOnDelete": request.retainOnDelete,
                "dependsOn": sorted(set(request.dependencies) - via_properties),
            },
            dependencies=property_dependencies,
        ))
        return response


ACCOUNT_ID = "123456789012"
AMI_ID = "ami-0123456789abcdef0"


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


def _bucket_autoname(logical_name: str) -> str:
    """The name an unnamed bucket gets, stable per logical name (bucket names are lower-case)."""
    return f"{logical_name}-{_short_hash(logical_name)[:8]}".lower()


class LabMocks(pulumi_mocks.Mocks):
    """Inputs plus the computed values AWS would return: IDs, ARNs, addresses.

    Values are derived from resource names so that renders are stable. Lookups are answered
    by token; an unknown lookup fails loudly rather than returning something plausible.
    """

    def __init__(self, region: str):
        if region not in RegionsAndZonesBackend.zones:
            raise pulumi.RunError(f"config aws:region = {region!r} is not an AWS region: use one of "
                                  + ", ".join(sorted(RegionsAndZonesBackend.zones)))
        self.region = region
        # Each region's real zones, as moto ships them, so the gate counts AZs as AWS would.
        self.zones = RegionsAndZonesBackend.zones[region]
        self.partition = partition_of(region)["partition"]
        self.subnets_by_id: dict[str, dict[str, Any]] = {}

    def call(self, args: pulumi_mocks.MockCallArgs):
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [zone.name for zone in self.zones], "zoneIds": [zone.zone_id for zone in self.zones],
                    "id": self.region}
        if args.token == "aws:ec2/getVpcs:getVpcs":
            # One VPC per tag set, its id derived from the tags, so renders are stable.
            tags = json.dumps(args.args.get("tags") or {}, sort_keys=True)
            return {"ids": [f"vpc-{_short_hash('getVpcs', tags)}"], "id": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return partition_of(self.region)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:{self.partition}:iam::{ACCOUNT_ID}:user/deployer",
                    "userId": "AIDAEXAMPLE", "id": ACCOUNT_ID}
        if args.token == "aws:ssm/getParameter:getParameter":
            return {"name": args.args["name"], "type": "String", "value": AMI_ID, "id": args.args["name"]}
        raise NotImplementedError(f"no mock for the lookup {args.token}")

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        inputs = dict(args.inputs)
        token = args.typ.split(":")[-1]
        prefix = {"Vpc": "vpc", "Subnet": "subnet", "InternetGateway": "igw", "RouteTable": "rtb",
                  "SecurityGroup": "sg", "DefaultSecurityGroup": "sg", "Instance": "i", "FlowLog": "fl",
                  "SecurityGroupIngressRule": "sgr", "SecurityGroupEgressRule": "sgr", "KeyPair": "key",
                  "RouteTableAssociation": "rtbassoc"}.get(token, token.lower())
        resource_id = f"{prefix}-{_short_hash(args.typ, args.name)}"
        state: dict[str, Any] = {**inputs}
        name = inputs.get("name") or f"{args.name}-{_short_hash(args.name)[:7]}"
        if token == "LogGroup":
            resource_id = name
            state.update(name=name, arn=f"arn:{self.partition}:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}")
        elif token in ("Role", "Policy"):
            resource_id = name
            state.update(name=name, arn=f"arn:{self.partition}:iam::{ACCOUNT_ID}:{token.lower()}/{name}")
        elif token == "Key":
            state.update(arn=f"arn:{self.partition}:kms:{self.region}:{ACCOUNT_ID}:key/{resource_id}",
                         keyId=resource_id)
        elif token == "Topic":
            resource_id = f"arn:{self.partition}:sns:{self.region}:{ACCOUNT_ID}:{name}"
            state.update(name=name, arn=resource_id)
        elif token == "Bucket":
            # Bucket names are global and lower-case; S3 ARNs carry neither region nor account.
            resource_id = inputs.get("bucket") or _bucket_autoname(args.name)
            state.update(bucket=resource_id, arn=f"arn:{self.partition}:s3:::{resource_id}")
        elif token == "KeyPair":
            state.update(keyName=inputs.get("keyName") or name)
        elif token == "Subnet":
            self.subnets_by_id[resource_id] = state
        elif token == "Instance":
            subnet = self.subnets_by_id.get(inputs.get("subnetId", ""), {})
            network = subnet.get("cidrBlock", "10.0.0.0/24").rsplit(".", 1)[0]
            host = 10 + int(_short_hash(args.name), 16) % 200
            state.update(
                availabilityZone=subnet.get("availabilityZone", f"{self.region}a"),
                privateIp=f"{network}.{host}",
                # Documentation range (RFC 5737): never a real host.
                publicIp=f"203.0.113.{host}",
                primaryNetworkInterfaceId=f"eni-{_short_hash(args.name, 'eni')}",
            )
        state.setdefault("arn", f"arn:{self.partition}:{args.typ.split(':')[1].split('/')[0]}:{self.region}:"
                                f"{ACCOUNT_ID}:{token.lower()}/{resource_id}")
        return resource_id, state


class PreviewMocks(LabMocks):
    """What a real `pulumi preview` knows of resources not yet created: lookups are answered and
    each resource echoes its inputs, with the names the provider gives in Check, but every other
    computed output (IDs, ARNs, addresses) is unknown."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        # Outputs missing from a preview's answer resolve as unknown; so does an empty ID.
        return "", autonamed_at_check(args.typ, args.name, dict(args.inputs), {}, unique=_bucket_autoname)


def render(stack: str, config: Mapping[str, str], secret_keys: Sequence[str] = (),
           mocks: Optional[pulumi_mocks.Mocks] = None,
           program: Callable[[], Any] = lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
           preview: bool = False) -> Rendering:
    """Run `program` (the real `__main__.py` by default) for one stack under mocks.

    Without `mocks`, resources answer as created (`LabMocks`) or, with `preview`, as a preview of
    a new stack sees them (`PreviewMocks`). Settings are validated first, so bad config raises
    `pulumi.RunError` before anything is registered, as it does under the CLI.
    """
    settings = settings_from_config(stack, config)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    set_root_resource(None)  # type: ignore[arg-type]
    monitor = RecordingMonitor(mocks or (PreviewMocks if preview else LabMocks)(settings.region))
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    try:
        _sync_await(run_pulumi_func(program))
    except BaseException:
        # A program that fails midway leaves futures whose exceptions nobody retrieves; drop
        # them now rather than let the garbage collector log them into a later test.
        SETTINGS.rpc_manager.clear()
        SETTINGS.outputs.clear()
        gc.collect()
        raise
    root = pulumi.runtime.settings.get_root_resource()
    outputs = _sync_await(pulumi.Output.from_input(root.outputs).future()) or {}
    return Rendering(stack=stack, registrations=monitor.registrations, outputs=outputs, invokes=monitor.invokes)


def render_stack_file(path: Path, mocks: Optional[pulumi_mocks.Mocks] = None, preview: bool = False) -> Rendering:
    """Render the program for a `Pulumi.<stack>.yaml` with the config the CLI would hand it, never
    decrypting its secrets."""
    config = resolve_stack_config(path)
    return render(config.stack, dict(config.values), config.secret_keys, mocks, preview=preview)
