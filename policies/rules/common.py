"""Helpers the rules share: finding resources, following references, policy documents, ingress."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

from pulumi_policy import PolicyResource

VPC = "aws:ec2/vpc:Vpc"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INLINE_RULE_HOLDERS = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
STANDALONE_RULES = (INGRESS_RULE, EGRESS_RULE, LEGACY_RULE)
WORLD_CIDRS = ("0.0.0.0/0", "::/0")


def of_type(resources: Iterable[PolicyResource], resource_type: str) -> list[PolicyResource]:
    return [resource for resource in resources if resource.resource_type == resource_type]


def referenced(resource: PolicyResource, prop: str, resource_type: str) -> list[PolicyResource]:
    """Resources of a type that a property of `resource` depends on.

    Following the engine's property dependencies ties resources by reference, so a literal ID
    or a look-alike name never counts as a link.
    """
    return of_type(resource.property_dependencies.get(prop, []), resource_type)


def as_list(value: Any) -> list:
    """A value that IAM or the provider allows as one item or a list, as a list.

    The SDK hands lists over as read-only proxies, not `list`, so single items are told apart
    by being strings or mappings.
    """
    if value is None:
        return []
    if isinstance(value, (str, Mapping)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def policy_statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document given as JSON text (what the engine receives)."""
    if not isinstance(document, str):
        return []
    try:
        parsed = json.loads(document)
    except json.JSONDecodeError:
        return []
    statements = as_list(parsed.get("Statement")) if isinstance(parsed, dict) else []
    return [statement for statement in statements if isinstance(statement, Mapping)]


@dataclass(frozen=True)
class Ingress:
    """One ingress permission, whichever resource shape declared it."""

    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]

    def covers(self, port: int) -> bool:
        """Protocol "-1" opens every port; a TCP range opens every port inside it."""
        if self.protocol in ("-1", "all"):
            return True
        return self.protocol in ("tcp", "6") and self.from_port <= port <= self.to_port

    def world_cidrs(self) -> list[str]:
        return [cidr for cidr in self.cidrs if cidr in WORLD_CIDRS]


def _ingress(props: Mapping[str, Any], protocol_key: str, cidrs: list) -> Ingress:
    def port(key: str, default: int) -> int:
        return int(props[key]) if props.get(key) is not None else default
    return Ingress(str(props.get(protocol_key, "")).lower(), port("fromPort", 0), port("toPort", 65535),
                   tuple(cidr for cidr in cidrs if cidr))


def _block_cidrs(props: Mapping[str, Any]) -> list:
    return as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks"))


def ingress_entries(resource_type: str, props: Mapping[str, Any]) -> Iterator[Ingress]:
    """Ingress from a security group's inline rules or from a standalone rule resource."""
    if resource_type in INLINE_RULE_HOLDERS:
        for entry in props.get("ingress") or []:
            yield _ingress(entry, "protocol", _block_cidrs(entry))
    elif resource_type == INGRESS_RULE:
        yield _ingress(props, "ipProtocol", [props.get("cidrIpv4"), props.get("cidrIpv6")])
    elif resource_type == LEGACY_RULE and props.get("type") == "ingress":
        yield _ingress(props, "protocol", _block_cidrs(props))


def _egress(props: Mapping[str, Any], protocol_key: str, cidrs: list, description: Any) -> "Egress":
    entry = _ingress(props, protocol_key, cidrs)
    return Egress(entry.protocol, entry.from_port, entry.to_port, entry.cidrs, str(description or "").strip())


@dataclass(frozen=True)
class Egress(Ingress):
    """One egress permission, with the description that says why the hosts need it."""

    description: str = ""

    def unrestricted(self) -> bool:
        """Every protocol, or every port, to the whole internet."""
        every_port = self.protocol in ("-1", "all") or (self.from_port <= 0 and self.to_port >= 65535)
        return every_port and bool(self.world_cidrs())


def egress_entries(resource_type: str, props: Mapping[str, Any]) -> Iterator[Egress]:
    """Egress from a security group's inline rules or from a standalone rule resource."""
    if resource_type in INLINE_RULE_HOLDERS:
        for entry in props.get("egress") or []:
            yield _egress(entry, "protocol", _block_cidrs(entry), entry.get("description"))
    elif resource_type == EGRESS_RULE:
        yield _egress(props, "ipProtocol", [props.get("cidrIpv4"), props.get("cidrIpv6")], props.get("description"))
    elif resource_type == LEGACY_RULE and props.get("type") == "egress":
        yield _egress(props, "protocol", _block_cidrs(props), props.get("description"))


def rule_entries(resource_type: str, props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every rule a resource declares, ingress and egress: its inline entries, or itself."""
    if resource_type in INLINE_RULE_HOLDERS:
        return [*(props.get("ingress") or []), *(props.get("egress") or [])]
    if resource_type in STANDALONE_RULES:
        return [props]
    return []


def as_written(value: Any) -> Any:
    """A whole number as the stack file wrote it: the analyzer protocol carries every number as a float."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def label(resource_type: str, name: str) -> str:
    """How every message names a resource: its type and logical name, as `pulumi preview` lists it."""
    return f"{resource_type} '{name}'"
