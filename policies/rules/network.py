"""Security-group rules: what may reach the hosts, and that every rule says why."""

from __future__ import annotations

from pulumi_policy import (ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           Severity, StackValidationArgs, StackValidationPolicy)

from .common import (EGRESS_RULE_TYPE, INGRESS_RULE_TYPE, INLINE_RULE_TYPES, LEGACY_RULE_TYPE, WORLD_CIDRS,
                     ingress_entries, referenced)

SSH_PORT, HTTP_PORT = 22, 80


def _world_open(args: ResourceValidationArgs, port: int) -> bool:
    return any(entry.covers(port) and entry.open_to_world() for entry in ingress_entries(args.resource_type, args.props))


def ssh_not_open_to_world(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if _world_open(args, SSH_PORT):
        report_violation(f"{args.resource_type} '{args.name}' allows SSH (22) from {' or '.join(WORLD_CIDRS)}: "
                         "set sshAllowedCidrs to your office or bastion range.")


def http_open_to_world(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if _world_open(args, HTTP_PORT):
        report_violation(f"{args.resource_type} '{args.name}' allows HTTP (80) from the whole internet: "
                         "narrow httpAllowedCidrs, or put the hosts behind a load balancer with HTTPS.")


def security_group_rules_described(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type in INLINE_RULE_TYPES:
        entries = list(args.props.get("ingress") or []) + list(args.props.get("egress") or [])
    elif args.resource_type in (INGRESS_RULE_TYPE, EGRESS_RULE_TYPE, LEGACY_RULE_TYPE):
        entries = [args.props]
    else:
        return
    undescribed = sum(1 for entry in entries if not str(entry.get("description") or "").strip())
    if undescribed:
        report_violation(f"{args.resource_type} '{args.name}' has {undescribed} rule(s) without a description: "
                         "give every rule a description that says who needs it and why.")


def default_security_group_closed(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    default_groups = [r for r in args.resources
                      if r.resource_type == "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"]
    for vpc in (r for r in args.resources if r.resource_type == "aws:ec2/vpc:Vpc"):
        adopted = [group for group in default_groups
                   if vpc in referenced(group, "vpcId", "aws:ec2/vpc:Vpc")]
        if not adopted:
            report_violation(f"aws:ec2/vpc:Vpc '{vpc.name}' leaves its default security group unmanaged: adopt it "
                             "with aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id, ingress=[], egress=[]).", vpc.urn)
        for group in adopted:
            if group.props.get("ingress") or group.props.get("egress"):
                report_violation(f"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup '{group.name}' has rules: "
                                 "remove every ingress and egress entry so nothing can use it.", group.urn)


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
        description="Reports HTTP (80) open to the whole internet.",
        validate=http_open_to_world,
        severity=Severity.LOW,
        remediation_steps="Narrow vpc-flow-logs:httpAllowedCidrs, or serve HTTPS from a load balancer.",
    ),
    ResourceValidationPolicy(
        name="security-group-rules-described",
        description="Every security-group rule has a description.",
        validate=security_group_rules_described,
        severity=Severity.LOW,
        remediation_steps="Add a description to each ingress and egress rule.",
    ),
    StackValidationPolicy(
        name="default-security-group-closed",
        description="Every VPC's default security group is adopted and left with no rules.",
        validate=default_security_group_closed,
        severity=Severity.MEDIUM,
        remediation_steps="Adopt it with aws.ec2.DefaultSecurityGroup and no ingress or egress.",
    ),
]
