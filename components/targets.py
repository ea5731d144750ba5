"""Flow-log targets with known ids, and the one way every destination registers a flow log on one."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from config.settings import PROJECT, TARGET_KINDS, FlowLogTarget

# Every input that configures a flow log, read from the provider's own FlowLogArgs so that a
# property added by a provider upgrade is covered too. AWS cannot modify any of them in place.
# Tags are left out: AWS updates a flow log's tags in place, and replacing it for a tag edit
# would leave a gap in the records until the new flow log delivers.
FLOW_LOG_CONFIGURATION: tuple[str, ...] = tuple(
    name for name in inspect.signature(aws.ec2.FlowLogArgs.__init__).parameters
    if name not in ("__self__", "tags"))


@dataclass(frozen=True)
class ResolvedTarget:
    """A target whose id is known when the program runs (or is the lab VPC's output)."""

    key: str  # names its flow logs: the target's id, or "lab-vpc"
    input_name: str  # the FlowLog input that takes the id: vpc_id, subnet_id, ...
    resource_id: pulumi.Input[str]
    transit_gateway: bool = False


@dataclass(frozen=True)
class FlowLogOptions:
    """What every flow log of the stack records, whatever its target and destination."""

    traffic_type: str
    aggregation_interval: int
    log_format: Optional[str]
    tags: Mapping[str, str]


def resolve_targets(targets: Sequence[FlowLogTarget]) -> list[ResolvedTarget]:
    """The configured targets with ids; `vpcTags` looked up now, before anything registers.

    A tag set that matches no VPC, or a VPC named twice, is a config error naming the entry.
    """
    resolved: list[ResolvedTarget] = []
    named_by: dict[str, str] = {}
    for target in targets:
        if target.vpc_tags is not None:
            tags = dict(target.vpc_tags)
            ids = sorted(aws.ec2.get_vpcs(tags=tags).ids)
            if not ids:
                raise pulumi.RunError(f"config {PROJECT}:flowLogTargets.vpcTags = {json.dumps(tags)} is invalid: "
                                      "it matches no VPC in this account and region; correct the tags or name "
                                      "the VPC by vpcId")
            found = [(vpc_id, f"vpcTags {json.dumps(tags)}") for vpc_id in ids]
            input_name = "vpc_id"
        else:
            found = [(target.resource_id or "", f"{target.kind} {target.resource_id}")]
            input_name = TARGET_KINDS[target.kind][0]
        for resource_id, label in found:
            if resource_id in named_by:
                raise pulumi.RunError(f"config {PROJECT}:flowLogTargets names {resource_id} twice "
                                      f"({named_by[resource_id]} "
                                      f"and {label}): list each target once")
            named_by[resource_id] = label
            resolved.append(ResolvedTarget(resource_id, input_name, resource_id, target.is_transit_gateway))
    return resolved


def register_flow_log(name: str, target: ResolvedTarget, options: FlowLogOptions, destination: Mapping[str, Any],
                      opts: pulumi.ResourceOptions) -> aws.ec2.FlowLog:
    """One flow log of `target` into `destination` (the FlowLog's destination inputs)."""
    return aws.ec2.FlowLog(
        name,
        **{target.input_name: target.resource_id},
        # Transit gateway flow logs record all traffic; AWS refuses a traffic type for them.
        traffic_type=None if target.transit_gateway else options.traffic_type,
        max_aggregation_interval=options.aggregation_interval,
        log_format=options.log_format,
        tags={**options.tags, "Name": name},
        **destination,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            # AWS cannot modify a flow log's configuration: a change to it is a delete and a
            # re-create. Tags are not in the list, so a tag edit updates in place.
            replace_on_changes=list(FLOW_LOG_CONFIGURATION),
            # Create-before-delete would fail with FlowLogAlreadyExists while the old flow log
            # still targets the same resource and destination, so delete it first.
            delete_before_replace=True,
        )),
    )
