"""Flow-log buckets: every bucket a flow log delivers into is private, encrypted, TLS-only,
writable only by this account's delivery, expiring and versioned; transit gateways log every 60 s."""

from __future__ import annotations

from functools import partial
from typing import Callable, Mapping

from pulumi_policy import (PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           Severity, StackValidationArgs, StackValidationPolicy)

from .common import as_list, as_written, label, of_type, policy_statements, referenced
from .flow_logs import CONFUSED_DEPUTY_KEYS, FLOW_LOG, TRANSIT_GATEWAY_INPUTS

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
PUBLIC_ACCESS_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def flow_log_buckets(resources: list[PolicyResource]) -> list[PolicyResource]:
    """Buckets that a flow log's logDestination depends on (by reference, never by name)."""
    found: dict[str, PolicyResource] = {}
    for flow_log in of_type(resources, FLOW_LOG):
        for bucket in referenced(flow_log, "logDestination", BUCKET):
            found[bucket.urn] = bucket
    return list(found.values())


def attached(resources: list[PolicyResource], bucket: PolicyResource, resource_type: str) -> list[PolicyResource]:
    """Sub-resources of a type whose `bucket` input depends on the bucket."""
    return [r for r in of_type(resources, resource_type) if bucket in referenced(r, "bucket", BUCKET)]


def judge_buckets(args: StackValidationArgs, report_violation: ReportViolation, resource_type: str,
                  problem: Callable[[list[PolicyResource]], str | None]) -> None:
    """A stack rule: each flow-log bucket's sub-resources of one type, judged by `problem`."""
    for bucket in flow_log_buckets(args.resources):
        found = problem(attached(args.resources, bucket, resource_type))
        if found:
            report_violation(f"{label(BUCKET, bucket.name)} receives flow logs but {found}.", bucket.urn)


def _public_access(blocks: list[PolicyResource]) -> str | None:
    if not any(all(block.props.get(key) is True for key in PUBLIC_ACCESS_SETTINGS) for block in blocks):
        return ("has no BucketPublicAccessBlock with all four settings true: add one (blockPublicAcls, "
                "blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets)")
    return None


def _encryption(configurations: list[PolicyResource]) -> str | None:
    algorithms = [((rule or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
                  for configuration in configurations for rule in configuration.props.get("rules") or []]
    if not any(algorithm in ("aws:kms", "aws:kms:dsse", "AES256") for algorithm in algorithms):
        return ("has no default encryption: add a BucketServerSideEncryptionConfiguration with sseAlgorithm "
                "aws:kms (the stack's log key) or AES256")
    return None


def _expiry(configurations: list[PolicyResource]) -> str | None:
    rules = [rule for configuration in configurations for rule in configuration.props.get("rules") or []]
    if not any(rule.get("status") == "Enabled" and (rule.get("expiration") or {}).get("days") for rule in rules):
        return ("has no enabled lifecycle rule that expires objects: add a BucketLifecycleConfiguration rule with "
                "expiration.days (the destination's retentionDays)")
    return None


def _versioning(configurations: list[PolicyResource]) -> str | None:
    if not any((c.props.get("versioningConfiguration") or {}).get("status") == "Enabled" for c in configurations):
        return "is not versioned: add a BucketVersioning with versioningConfiguration.status Enabled"
    return None


def _statements(policies: list[PolicyResource]) -> list[Mapping]:
    return [statement for policy in policies for statement in policy_statements(policy.props.get("policy"))]


def _tls_only(policies: list[PolicyResource]) -> str | None:
    for statement in _statements(policies):
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        if statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false":
            return None
    return ("accepts requests without TLS: add a bucket policy statement denying s3:* when "
            "aws:SecureTransport is false")


def _services(statement: Mapping) -> list:
    """The services a statement names; a principal such as "*" names none."""
    principal = statement.get("Principal")
    return as_list(principal.get("Service")) if isinstance(principal, Mapping) else []


def _delivery_scoped(policies: list[PolicyResource]) -> str | None:
    deliveries = [s for s in _statements(policies)
                  if s.get("Effect") == "Allow" and LOG_DELIVERY_SERVICE in _services(s)]
    if not deliveries:
        return f"its policy has no statement letting {LOG_DELIVERY_SERVICE} deliver: add AWS's delivery statements"
    for statement in deliveries:
        # IAM condition keys are case-insensitive.
        keys = {key.lower() for block in (statement.get("Condition") or {}).values() for key in block}
        missing = [key for key in CONFUSED_DEPUTY_KEYS if key.lower() not in keys]
        if missing:
            return (f"its delivery statement {statement.get('Sid', '')!r} lacks the {' and '.join(missing)} "
                    "condition(s): scope it to this account's flow logs")
    return None


def transit_gateway_flow_log_interval(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != FLOW_LOG or not any(args.props.get(key) for key in TRANSIT_GATEWAY_INPUTS):
        return
    interval = args.props.get("maxAggregationInterval")
    if interval != 60:
        report_violation(f"{label(FLOW_LOG, args.name)} logs a transit gateway with maxAggregationInterval "
                         f"{as_written(interval)!r}: AWS takes only 60 for transit gateways; set vpc-flow-logs:aggregationInterval "
                         "to 60.")


POLICIES = [
    StackValidationPolicy(
        name="flow-log-bucket-public-access-blocked",
        description="Every bucket a flow log delivers into has Block Public Access on, all four settings.",
        validate=partial(judge_buckets, resource_type=PUBLIC_ACCESS_BLOCK, problem=_public_access),
        severity=Severity.HIGH,
        remediation_steps="Add an aws.s3.BucketPublicAccessBlock with every setting true.",
    ),
    StackValidationPolicy(
        name="flow-log-bucket-encrypted",
        description="Every flow-log bucket encrypts objects by default (SSE-KMS or SSE-S3).",
        validate=partial(judge_buckets, resource_type=ENCRYPTION, problem=_encryption),
        severity=Severity.HIGH,
        remediation_steps="Add an aws.s3.BucketServerSideEncryptionConfiguration.",
    ),
    StackValidationPolicy(
        name="flow-log-bucket-tls-only",
        description="Every flow-log bucket's policy denies requests without TLS.",
        validate=partial(judge_buckets, resource_type=BUCKET_POLICY, problem=_tls_only),
        severity=Severity.HIGH,
        remediation_steps="Deny s3:* when aws:SecureTransport is false.",
    ),
    StackValidationPolicy(
        name="flow-log-bucket-delivery-scoped",
        description="Every flow-log bucket lets delivery.logs.amazonaws.com write only under aws:SourceAccount and "
                    "aws:SourceArn conditions.",
        validate=partial(judge_buckets, resource_type=BUCKET_POLICY, problem=_delivery_scoped),
        severity=Severity.HIGH,
        remediation_steps="Add both conditions to each delivery statement.",
    ),
    StackValidationPolicy(
        name="flow-log-bucket-expires-records",
        description="Every flow-log bucket has an enabled lifecycle expiry.",
        validate=partial(judge_buckets, resource_type=LIFECYCLE, problem=_expiry),
        severity=Severity.HIGH,
        remediation_steps="Add a lifecycle rule with expiration.days.",
    ),
    StackValidationPolicy(
        name="flow-log-bucket-versioned",
        description="Every flow-log bucket is versioned.",
        validate=partial(judge_buckets, resource_type=VERSIONING, problem=_versioning),
        severity=Severity.HIGH,
        remediation_steps="Add an aws.s3.BucketVersioning with status Enabled.",
    ),
    ResourceValidationPolicy(
        name="transit-gateway-flow-log-interval",
        description="Transit gateway flow logs aggregate every 60 seconds, the only interval AWS accepts for them.",
        validate=transit_gateway_flow_log_interval,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:aggregationInterval to 60.",
    ),
]
