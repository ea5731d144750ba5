"""The flow log itself: every VPC has one, it records rejects, it is replaced, its role is narrow."""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import (PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           Severity, StackValidationArgs, StackValidationPolicy)

from .common import VPC, as_list, label, of_type, policy_statements, referenced

FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
CONFUSED_DEPUTY_KEYS = ("aws:SourceAccount", "aws:SourceArn")
DELIVERY_ACTIONS = "logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogGroups and logs:DescribeLogStreams"


def vpc_flow_logs_enabled(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    covered = {vpc.urn for flow_log in of_type(args.resources, FLOW_LOG)
               for vpc in referenced(flow_log, "vpcId", VPC)}
    for vpc in of_type(args.resources, VPC):
        if vpc.urn not in covered:
            report_violation(f"{label(VPC, vpc.name)} is not the target of any flow log: add an aws.ec2.FlowLog "
                             "with vpc_id=vpc.id (the output, not a literal ID) delivering to a log group.", vpc.urn)


# Transit gateway flow logs take no traffic type: AWS records all of their traffic.
TRANSIT_GATEWAY_INPUTS = ("transitGatewayId", "transitGatewayAttachmentId")


def flow_log_captures_rejects(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != FLOW_LOG or any(args.props.get(key) for key in TRANSIT_GATEWAY_INPUTS):
        return
    traffic_type = args.props.get("trafficType")
    if traffic_type not in ("ALL", "REJECT"):
        report_violation(f"{label(FLOW_LOG, args.name)} records trafficType {traffic_type!r}, which misses "
                         "rejected traffic: set vpc-flow-logs:trafficType to ALL (or REJECT).")


def flow_log_replaced_not_updated(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == FLOW_LOG and not args.opts.delete_before_replace:
        report_violation(f"{label(FLOW_LOG, args.name)} is not delete-before-replace: AWS cannot modify a flow "
                         "log, and creating the replacement first fails with FlowLogAlreadyExists. Register it "
                         "with delete_before_replace=True and replace_on_changes listing its configuration "
                         "inputs (not tags).")


def _trust_problems(trust_policy: Any) -> list[str]:
    allows = [s for s in policy_statements(trust_policy) if s.get("Effect") == "Allow"]
    if not allows:
        return ["its trust policy allows nobody"]
    problems = []
    for statement in allows:
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if services != [FLOW_LOGS_SERVICE] or set(principal) != {"Service"}:
            problems.append(f"it trusts {principal!r}, not only {FLOW_LOGS_SERVICE}")
        # IAM condition keys are case-insensitive.
        keys = {key.lower() for block in (statement.get("Condition") or {}).values() for key in block}
        problems += [f"its trust policy has no {key} condition" for key in CONFUSED_DEPUTY_KEYS
                     if key.lower() not in keys]
    return problems


def _permission_problems(document: Any) -> list[str]:
    problems = []
    for statement in policy_statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(action) for action in as_list(statement.get("Action"))]
        wildcards = [action for action in actions if "*" in action]
        if wildcards:
            problems.append(f"it allows the wildcard action(s) {', '.join(wildcards)}")
        # IAM action names are case-insensitive.
        if "logs:createloggroup" in (action.lower() for action in actions):
            problems.append("it allows logs:CreateLogGroup, which lets the service re-create a deleted group")
        if "*" in as_list(statement.get("Resource")):
            problems.append('it allows Resource "*"')
    return problems


def _policy_problems(resources: list[PolicyResource], role: PolicyResource) -> list[str]:
    """Problems in what the role is granted: inline, RolePolicy and attached Policy documents.

    A managed policy this stack does not define cannot be read, so attaching one is a problem
    in itself (the usual culprit grants logs:* on *).
    """
    documents = [entry.get("policy") for entry in role.props.get("inlinePolicies") or []]
    unreadable = list(as_list(role.props.get("managedPolicyArns")))
    for role_policy in of_type(resources, ROLE_POLICY):
        if role in referenced(role_policy, "role", ROLE):
            documents.append(role_policy.props.get("policy"))
    for attachment in of_type(resources, POLICY_ATTACHMENT):
        if role in referenced(attachment, "role", ROLE):
            policies = referenced(attachment, "policyArn", POLICY)
            documents += [policy.props.get("policy") for policy in policies]
            if not policies:
                unreadable.append(attachment.props.get("policyArn"))
    problems = [problem for document in documents for problem in _permission_problems(document)]
    return problems + [f"it attaches {arn}, which this stack does not define, so its permissions cannot be "
                       "checked" for arn in unreadable]


def flow_log_role_least_privilege(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    users: dict[str, list[str]] = {}
    roles: dict[str, PolicyResource] = {}
    for flow_log in of_type(args.resources, FLOW_LOG):
        for role in referenced(flow_log, "iamRoleArn", ROLE):
            roles[role.urn] = role
            users.setdefault(role.urn, []).append(flow_log.name)
    for urn, role in roles.items():
        problems = _trust_problems(role.props.get("assumeRolePolicy")) + _policy_problems(args.resources, role)
        if problems:
            report_violation(
                f"{label(ROLE, role.name)}, used by flow log(s) {', '.join(users[urn])}: {'; '.join(problems)}. "
                f"Trust only {FLOW_LOGS_SERVICE} with {' and '.join(CONFUSED_DEPUTY_KEYS)} conditions, and grant "
                f"only {DELIVERY_ACTIONS} on '<log group arn>:*'.", urn)


POLICIES = [
    StackValidationPolicy(
        name="vpc-flow-logs-enabled",
        description="Every VPC is the target of a flow log, linked by reference (vpcId), not by name.",
        validate=vpc_flow_logs_enabled,
        severity=Severity.HIGH,
        remediation_steps="Add an aws.ec2.FlowLog whose vpc_id is the VPC's id output.",
    ),
    ResourceValidationPolicy(
        name="flow-log-captures-rejects",
        description="Flow logs record rejected traffic (trafficType ALL or REJECT).",
        validate=flow_log_captures_rejects,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:trafficType to ALL.",
    ),
    ResourceValidationPolicy(
        name="flow-log-replaced-not-updated",
        description="Flow logs are registered delete-before-replace, since AWS cannot modify one in place.",
        validate=flow_log_replaced_not_updated,
        severity=Severity.MEDIUM,
        remediation_steps="Register the FlowLog with delete_before_replace=True and replace_on_changes listing its "
                          "configuration inputs (not tags).",
    ),
    StackValidationPolicy(
        name="flow-log-role-least-privilege",
        description="A flow log's role trusts only the flow-logs service, under aws:SourceAccount and "
                    "aws:SourceArn conditions, and is granted no wildcard action or resource and no "
                    "logs:CreateLogGroup.",
        validate=flow_log_role_least_privilege,
        severity=Severity.HIGH,
        remediation_steps="Scope the trust policy with aws:SourceAccount and aws:SourceArn, and grant only the "
                          "four delivery actions on '<log group arn>:*' in a policy the stack defines.",
    ),
]
