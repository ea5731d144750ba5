"""The flow log itself: every VPC has one, it records rejects, it is replaced, its role is narrow."""

from __future__ import annotations

from pulumi_policy import (ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity,
                           StackValidationArgs, StackValidationPolicy)

from .common import as_list, policy_statements, referenced

FLOW_LOG = "aws:ec2/flowLog:FlowLog"
VPC = "aws:ec2/vpc:Vpc"
ROLE = "aws:iam/role:Role"
FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"


def vpc_flow_logs_enabled(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    flow_logs = [r for r in args.resources if r.resource_type == FLOW_LOG]
    covered = {vpc.urn for flow_log in flow_logs for vpc in referenced(flow_log, "vpcId", VPC)}
    for vpc in args.resources:
        if vpc.resource_type == VPC and vpc.urn not in covered:
            report_violation(f"{VPC} '{vpc.name}' has no flow log: add an aws.ec2.FlowLog with vpc_id=vpc.id "
                             "(a reference, not a literal ID) delivering to a log group.", vpc.urn)


def flow_log_captures_rejects(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == FLOW_LOG and args.props.get("trafficType") not in ("ALL", "REJECT"):
        report_violation(f"{FLOW_LOG} '{args.name}' records trafficType {args.props.get('trafficType')!r}, which "
                         "misses rejected traffic: set trafficType to ALL (or REJECT).")


def flow_log_replaced_not_updated(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == FLOW_LOG and not args.opts.delete_before_replace:
        report_violation(f"{FLOW_LOG} '{args.name}' is not delete-before-replace: AWS cannot modify a flow log, and "
                         "create-before-delete fails with FlowLogAlreadyExists. Register it with "
                         "delete_before_replace=True and replace_on_changes=['*'].")


def _trust_problems(trust_policy) -> list[str]:
    problems = []
    statements = [s for s in policy_statements(trust_policy) if s.get("Effect") == "Allow"]
    if not statements:
        problems.append("its trust policy allows nobody")
    for statement in statements:
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if services != [FLOW_LOGS_SERVICE] or set(principal) != {"Service"}:
            problems.append(f"it trusts {principal!r}, not only {FLOW_LOGS_SERVICE}")
        conditions = {key for block in (statement.get("Condition") or {}).values() for key in block}
        for key in ("aws:SourceAccount", "aws:SourceArn"):
            if key not in conditions:
                problems.append(f"its trust policy lacks an {key} condition")
    return problems


def _permission_problems(document) -> list[str]:
    problems = []
    for statement in policy_statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action"))
        if any(action == "*" or action.endswith(":*") for action in actions):
            problems.append(f"it allows the wildcard action(s) {[a for a in actions if a.endswith('*')]}")
        if "logs:CreateLogGroup" in actions:
            problems.append("it allows logs:CreateLogGroup, which lets the service re-create a deleted group")
        if "*" in as_list(statement.get("Resource")):
            problems.append('it allows Resource "*"')
    return problems


def _role_policies(args: StackValidationArgs, role) -> list:
    """Documents granted to a role: inline policies, RolePolicy resources and attached Policy resources."""
    documents = [entry.get("policy") for entry in role.props.get("inlinePolicies") or []]
    for resource in args.resources:
        if resource.resource_type == "aws:iam/rolePolicy:RolePolicy" and role in referenced(resource, "role", ROLE):
            documents.append(resource.props.get("policy"))
        if (resource.resource_type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
                and role in referenced(resource, "role", ROLE)):
            documents += [policy.props.get("policy")
                          for policy in referenced(resource, "policyArn", "aws:iam/policy:Policy")]
    return documents


def flow_log_role_least_privilege(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for flow_log in (r for r in args.resources if r.resource_type == FLOW_LOG):
        for role in referenced(flow_log, "iamRoleArn", ROLE):
            problems = _trust_problems(role.props.get("assumeRolePolicy"))
            for document in _role_policies(args, role):
                problems += _permission_problems(document)
            for problem in problems:
                report_violation(f"{ROLE} '{role.name}' (used by flow log '{flow_log.name}'): {problem}. Trust only "
                                 f"{FLOW_LOGS_SERVICE} with aws:SourceAccount/aws:SourceArn conditions, and grant only "
                                 "logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogGroups and "
                                 "logs:DescribeLogStreams on '<log group arn>:*'.", role.urn)


POLICIES = [
    StackValidationPolicy(
        name="vpc-flow-logs-enabled",
        description="Every VPC is the target of a flow log (followed by reference, not by name).",
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
        description="Flow logs are registered delete-before-replace, since AWS cannot modify one.",
        validate=flow_log_replaced_not_updated,
        severity=Severity.MEDIUM,
        remediation_steps="Register the FlowLog with delete_before_replace=True and replace_on_changes=['*'].",
    ),
    StackValidationPolicy(
        name="flow-log-role-least-privilege",
        description="The flow-log role trusts only the flow-logs service, with confused-deputy conditions, "
                    "and grants no wildcard action or resource and no logs:CreateLogGroup.",
        validate=flow_log_role_least_privilege,
        severity=Severity.HIGH,
        remediation_steps="Scope the trust policy with aws:SourceAccount/aws:SourceArn and the permissions to "
                          "the four delivery actions on '<log group arn>:*'.",
    ),
]
