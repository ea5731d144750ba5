"""Where the records live: kept long enough, encrypted, and out of reach of `pulumi destroy`."""

from __future__ import annotations

from pulumi_policy import (PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           Severity)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DEFAULT_MINIMUM_RETENTION_DAYS = 1


def log_group_retention(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    minimum = int((args.get_config() or {}).get("minimumRetentionDays", DEFAULT_MINIMUM_RETENTION_DAYS))
    retention = args.props.get("retentionInDays") or 0
    if retention == 0:
        report_violation(f"{LOG_GROUP} '{args.name}' never expires its records: set logRetentionDays to at least "
                         f"{minimum}.")
    elif retention < minimum:
        report_violation(f"{LOG_GROUP} '{args.name}' keeps records {int(retention)} days, less than the "
                         f"{minimum} required here: raise logRetentionDays to {minimum} or more.")


def log_group_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == LOG_GROUP and not args.props.get("kmsKeyId"):
        report_violation(f"{LOG_GROUP} '{args.name}' is not encrypted with a KMS key: set createLogKmsKey: true "
                         "or logKmsKeyArn.")


def log_group_protected(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == LOG_GROUP and not args.opts.protect:
        report_violation(f"{LOG_GROUP} '{args.name}' is not protected, so `pulumi destroy` deletes recorded "
                         "traffic: set protectLogs: true.")


POLICIES = [
    ResourceValidationPolicy(
        name="log-group-retention",
        description="Log groups expire records, after at least a configurable number of days.",
        validate=log_group_retention,
        config_schema=PolicyConfigSchema(properties={"minimumRetentionDays": {
            "type": "integer", "minimum": 1, "default": DEFAULT_MINIMUM_RETENTION_DAYS}}),
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:logRetentionDays to a CloudWatch value at or above the minimum.",
    ),
    ResourceValidationPolicy(
        name="log-group-encrypted",
        description="Log groups are encrypted with a KMS key.",
        validate=log_group_encrypted,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:createLogKmsKey to true, or logKmsKeyArn to an existing key.",
    ),
    ResourceValidationPolicy(
        name="log-group-protected",
        description="Log groups are protected against deletion.",
        validate=log_group_protected,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:protectLogs to true.",
    ),
]
