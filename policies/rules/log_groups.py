"""Where the records live: kept long enough, encrypted, and out of reach of `pulumi destroy`."""

from __future__ import annotations

from pulumi_policy import (PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           Severity, StackValidationArgs, StackValidationPolicy)

from .common import label, of_type, referenced

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
DEFAULT_MINIMUM_RETENTION_DAYS = 1


def log_group_retention(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    minimum = int((args.get_config() or {}).get("minimumRetentionDays", DEFAULT_MINIMUM_RETENTION_DAYS))
    retention = int(args.props.get("retentionInDays") or 0)
    if retention == 0:
        report_violation(f"{label(LOG_GROUP, args.name)} never expires its records (no retentionInDays): set "
                         f"vpc-flow-logs:logRetentionDays to at least {minimum}.")
    elif retention < minimum:
        report_violation(f"{label(LOG_GROUP, args.name)} keeps records {retention} days, fewer than the "
                         f"{minimum} this stack requires: raise vpc-flow-logs:logRetentionDays to {minimum} or more.")


def log_group_encrypted(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Encrypted by a key the stack declares (its ARN is unknown until the key exists, but the
    reference is known at preview), or by a key ARN given as a value."""
    for group in of_type(args.resources, LOG_GROUP):
        if referenced(group, "kmsKeyId", KMS_KEY):
            continue
        if not group.props.get("kmsKeyId"):
            report_violation(f"{label(LOG_GROUP, group.name)} is not encrypted with a KMS key: set "
                             "vpc-flow-logs:createLogKmsKey to true, or vpc-flow-logs:logKmsKeyArn to a key.",
                             group.urn)


def log_group_protected(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == LOG_GROUP and not args.opts.protect:
        report_violation(f"{label(LOG_GROUP, args.name)} is not protected, so `pulumi destroy` deletes the "
                         "recorded traffic: set vpc-flow-logs:protectLogs to true.")


POLICIES = [
    ResourceValidationPolicy(
        name="log-group-retention",
        description="Log groups expire their records, and keep them at least minimumRetentionDays.",
        validate=log_group_retention,
        config_schema=PolicyConfigSchema(properties={"minimumRetentionDays": {
            "type": "integer", "minimum": 1, "default": DEFAULT_MINIMUM_RETENTION_DAYS}}),
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:logRetentionDays to a CloudWatch retention at or above the minimum.",
    ),
    StackValidationPolicy(
        name="log-group-encrypted",
        description="Log groups are encrypted with a KMS key.",
        validate=log_group_encrypted,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:createLogKmsKey to true, or vpc-flow-logs:logKmsKeyArn to a key.",
    ),
    ResourceValidationPolicy(
        name="log-group-protected",
        description="Log groups are protected against deletion.",
        validate=log_group_protected,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:protectLogs to true.",
    ),
]
