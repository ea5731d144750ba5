"""Helpers the rules share: policy documents, ingress entries, property references."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

from pulumi_policy import PolicyResource

WORLD_CIDRS = ("0.0.0.0/0", "::/0")


def resource_name(resource: PolicyResource) -> str:
    return f"{resource.resource_type} '{resource.name}'"


def policy_statements(document: Any) -> list[dict]:
    """The statements of an IAM policy document given as JSON text or data."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return []
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def as_list(value: Any) -> list:
    """A value that IAM or the provider allows as one item or a list, as a list.

    The analyzer hands lists over wrapped in read-only proxies, so test for strings, not lists.
    """
    if value is None:
        return []
    if isinstance(value, (str, dict)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def referenced(resource: PolicyResource, prop: str, resource_type: str) -> list[PolicyResource]:
    """Resources of a type that a property of `resource` depends on (references, not names)."""
    return [dep for dep in resource.property_dependencies.get(prop, []) if dep.resource_type == resource_type]


@dataclass(frozen=True)
class Ingress:
    """One ingress permission, whatever resource shape declared it."""

    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]
    description: Optional[str]

    def covers(self, port: int) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        return self.protocol in ("tcp", "6") and self.from_port <= port <= self.to_port

    def open_to_world(self) -> bool:
        return any(cidr in WORLD_CIDRS for cidr in self.cidrs)


INLINE_RULE_TYPES = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
INGRESS_RULE_TYPE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE_TYPE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE_TYPE = "aws:ec2/securityGroupRule:SecurityGroupRule"


def _entry(props: Mapping[str, Any], protocol_key: str, cidrs: list) -> Ingress:
    def port(key: str, default: int) -> int:
        return int(props[key]) if props.get(key) is not None else default
    return Ingress(str(props.get(protocol_key, "")).lower(), port("fromPort", 0), port("toPort", 65535),
                   tuple(c for c in cidrs if c), props.get("description"))


def _inline_cidrs(props: Mapping[str, Any]) -> list:
    return as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks"))


def ingress_entries(resource_type: str, props: Mapping[str, Any]) -> Iterator[Ingress]:
    """Ingress from a SecurityGroup's inline rules or from a standalone rule resource."""
    if resource_type in INLINE_RULE_TYPES:
        for entry in props.get("ingress") or []:
            yield _entry(entry, "protocol", _inline_cidrs(entry))
    elif resource_type == INGRESS_RULE_TYPE:
        yield _entry(props, "ipProtocol", [props.get("cidrIpv4"), props.get("cidrIpv6")])
    elif resource_type == LEGACY_RULE_TYPE and props.get("type") == "ingress":
        yield _entry(props, "protocol", _inline_cidrs(props))
