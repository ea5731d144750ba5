"""Security groups: what may reach the hosts, that every rule says why, and that the default group is shut."""

from __future__ import annotations

from pulumi_policy import (PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           Severity, StackValidationArgs, StackValidationPolicy)

from .common import (DEFAULT_SECURITY_GROUP, STANDALONE_RULES, VPC, as_written, egress_entries, ingress_entries, label,
                     of_type, referenced, rule_entries)

SSH_PORT, HTTP_PORT = 22, 80
# The services the hosts declare (the article's SSH and web server); config `servicePorts`.
SERVICE_PORTS = [SSH_PORT, HTTP_PORT]


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


def world_ingress_only_to_services(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """World-open ingress must be exactly one declared TCP service port: not a range, not all protocols."""
    services = set((args.get_config() or {}).get("servicePorts", SERVICE_PORTS))
    for entry in ingress_entries(args.resource_type, args.props):
        sources = " and ".join(sorted(set(entry.world_cidrs())))
        if not sources:
            continue
        single_service = (entry.protocol in ("tcp", "6") and entry.from_port == entry.to_port
                          and entry.from_port in services)
        if not single_service:
            what = ("every protocol and port" if entry.protocol in ("-1", "all")
                    else f"{entry.protocol} {entry.from_port}-{entry.to_port}")
            ports = ", ".join(str(as_written(port)) for port in sorted(services))
            report_violation(f"{label(args.resource_type, args.name)} opens {what} to {sources}: only the "
                             f"declared services (tcp {ports}) may be reachable from the internet; remove the rule "
                             "or narrow its source.")


def egress_unrestricted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for entry in egress_entries(args.resource_type, args.props):
        if entry.unrestricted():
            reason = f"its stated reason: {entry.description!r}" if entry.description else "and says no reason"
            report_violation(f"{label(args.resource_type, args.name)} allows every outbound port to "
                             f"{' and '.join(sorted(set(entry.world_cidrs())))}, {reason}. Accepted when the hosts "
                             "need it (package installs from public repositories); narrow it to 443 and the VPC "
                             "endpoints they use where they do not.")


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
        name="world-ingress-only-to-services",
        description="Ingress from 0.0.0.0/0 or ::/0 reaches only the declared service ports, one TCP port each.",
        validate=world_ingress_only_to_services,
        severity=Severity.HIGH,
        remediation_steps="Remove world-open rules for other ports (3389, ranges, all protocols) or narrow them.",
        config_schema=PolicyConfigSchema(properties={
            "servicePorts": {"type": "array", "items": {"type": "integer"}, "default": SERVICE_PORTS}}),
    ),
    ResourceValidationPolicy(
        name="egress-unrestricted",
        description="Egress to every port of 0.0.0.0/0 or ::/0 is reported with the reason the rule states.",
        validate=egress_unrestricted,
        severity=Severity.LOW,
        remediation_steps="Keep it when hosts need public repositories; otherwise allow 443 and VPC endpoints.",
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
