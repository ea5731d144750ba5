"""Security groups: what may reach the hosts, that every rule says why, and that the default group is shut."""

from __future__ import annotations

from pulumi_policy import (ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity,
                           StackValidationArgs, StackValidationPolicy)

from .common import (DEFAULT_SECURITY_GROUP, STANDALONE_RULES, VPC, ingress_entries, label, of_type, referenced,
                     rule_entries)

SSH_PORT, HTTP_PORT = 22, 80


def _world_sources(args: ResourceValidationArgs, port: int) -> str:
    """The world-wide CIDRs that may reach `port` through this resource's ingress, joined for a message."""
    cidrs = {cidr for entry in ingress_entries(args.resource_type, args.props) if entry.covers(port)
             for cidr in entry.world_cidrs()}
    return " and ".join(sorted(cidrs))


def ssh_not_open_to_world(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    sources = _world_sources(args, SSH_PORT)
    if sources:
        report_violation(f"{label(args.resource_type, args.name)} allows SSH (22) from {sources}: "
                         "set vpc-flow-logs:sshAllowedCidrs to the office or bastion ranges that need it.")


def http_open_to_world(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    sources = _world_sources(args, HTTP_PORT)
    if sources:
        report_violation(f"{label(args.resource_type, args.name)} allows HTTP (80) from {sources}: "
                         "narrow vpc-flow-logs:httpAllowedCidrs, or serve HTTPS from a load balancer instead.")


def security_group_rules_described(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    undescribed = [entry for entry in rule_entries(args.resource_type, args.props)
                   if not str(entry.get("description") or "").strip()]
    if undescribed:
        report_violation(f"{label(args.resource_type, args.name)} has {len(undescribed)} rule(s) without a "
                         "description: give every rule a description that says who needs it and why.")


def default_security_group_closed(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    default_groups = of_type(args.resources, DEFAULT_SECURITY_GROUP)
    for vpc in of_type(args.resources, VPC):
        if not any(vpc in referenced(group, "vpcId", VPC) for group in default_groups):
            report_violation(f"{label(VPC, vpc.name)} leaves its default security group unmanaged, with AWS's "
                             "allow-all rules: adopt it with aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id) and no "
                             "ingress or egress.", vpc.urn)
    for group in default_groups:
        if group.props.get("ingress") or group.props.get("egress"):
            report_violation(f"{label(DEFAULT_SECURITY_GROUP, group.name)} declares rules: remove every ingress "
                             "and egress entry, so nothing launched into it by default can talk.", group.urn)
    for rule in (r for r in args.resources if r.resource_type in STANDALONE_RULES):
        for group in referenced(rule, "securityGroupId", DEFAULT_SECURITY_GROUP):
            report_violation(f"{label(rule.resource_type, rule.name)} adds a rule to the default security group "
                             f"'{group.name}': attach it to a dedicated security group instead.", rule.urn)


POLICIES = [
    ResourceValidationPolicy(
        name="ssh-not-open-to-world",
        description="No security group allows SSH (22) from 0.0.0.0/0 or ::/0.",
        validate=ssh_not_open_to_world,
        severity=Severity.HIGH,
        remediation_steps="Set vpc-flow-logs:sshAllowedCidrs to the narrow ranges that need SSH.",
    ),
    ResourceValidationPolicy(
        name="http-open-to-world",
        description="No security group allows HTTP (80) from 0.0.0.0/0 or ::/0.",
        validate=http_open_to_world,
        severity=Severity.LOW,
        remediation_steps="Narrow vpc-flow-logs:httpAllowedCidrs, or serve HTTPS from a load balancer.",
    ),
    ResourceValidationPolicy(
        name="security-group-rules-described",
        description="Every security-group rule, inline or standalone, has a description.",
        validate=security_group_rules_described,
        severity=Severity.LOW,
        remediation_steps="Add a description to each ingress and egress rule.",
    ),
    StackValidationPolicy(
        name="default-security-group-closed",
        description="Every VPC's default security group is adopted and has no rules.",
        validate=default_security_group_closed,
        severity=Severity.MEDIUM,
        remediation_steps="Adopt it with aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id) and no ingress or egress.",
    ),
]
