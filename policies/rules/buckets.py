"""Buckets: every bucket the stack creates is private, encrypted (with the stack's KMS key when
any bucket uses one), TLS-only, expiring, rid of abandoned uploads and versioned; a bucket a flow
log delivers into is writable only by this account's delivery; transit gateways log every 60 s."""

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
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


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
                  problem: Callable[[list[PolicyResource]], str | None], flow_logs_only: bool = False) -> None:
    """A stack rule: each created bucket's (or flow-log bucket's) sub-resources of one type, judged by `problem`."""
    buckets = flow_log_buckets(args.resources) if flow_logs_only else of_type(args.resources, BUCKET)
    for bucket in buckets:
        found = problem(attached(args.resources, bucket, resource_type))
        if found:
            role = " receives flow logs but" if flow_logs_only else ""
            report_violation(f"{label(BUCKET, bucket.name)}{role} {found}.", bucket.urn)


def _public_access(blocks: list[PolicyResource]) -> str | None:
    if not any(all(block.props.get(key) is True for key in PUBLIC_ACCESS_SETTINGS) for block in blocks):
        return ("has no BucketPublicAccessBlock with all four settings true: add one (blockPublicAcls, "
                "blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets)")
    return None


def _algorithms(configurations: list[PolicyResource]) -> list:
    return [((rule or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            for configuration in configurations for rule in configuration.props.get("rules") or []]


def _encryption(configurations: list[PolicyResource]) -> str | None:
    if not any(algorithm in (*KMS_ALGORITHMS, "AES256") for algorithm in _algorithms(configurations)):
        return ("has no default encryption: add a BucketServerSideEncryptionConfiguration with sseAlgorithm "
                "aws:kms (the stack's log key) or AES256")
    return None


def _expiry(configurations: list[PolicyResource]) -> str | None:
    rules = [rule for configuration in configurations for rule in configuration.props.get("rules") or []]
    if not any(rule.get("status") == "Enabled" and (rule.get("expiration") or {}).get("days") for rule in rules):
        return ("has no enabled lifecycle rule that expires objects: add a BucketLifecycleConfiguration rule with "
                "expiration.days (a flow-log bucket's retentionDays; query results a week)")
    return None


def _aborts_uploads(configurations: list[PolicyResource]) -> str | None:
    rules = [rule for configuration in configurations for rule in configuration.props.get("rules") or []]
    if not any(rule.get("status") == "Enabled"
               and (rule.get("abortIncompleteMultipartUpload") or {}).get("daysAfterInitiation") for rule in rules):
        return ("keeps the parts of abandoned multipart uploads, which cost storage: add an enabled lifecycle rule "
                "with abortIncompleteMultipartUpload.daysAfterInitiation (components.bucket_baseline does)")
    return None


def encrypted_with_stack_key(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Where one created bucket is encrypted with a KMS key, the stack has a key: SSE-S3 elsewhere falls short."""
    buckets = of_type(args.resources, BUCKET)
    algorithms = {bucket.urn: _algorithms(attached(args.resources, bucket, ENCRYPTION)) for bucket in buckets}
    with_key = [bucket for bucket in buckets if set(algorithms[bucket.urn]) & set(KMS_ALGORITHMS)]
    for bucket in buckets:
        if with_key and "AES256" in algorithms[bucket.urn] and bucket not in with_key:
            report_violation(f"{label(BUCKET, bucket.name)} is encrypted with SSE-S3 (AES256) although the stack "
                             f"encrypts bucket '{with_key[0].name}' with its KMS key: give it the same key "
                             "(kms_key_arn). Without a stack key (no logKmsKeyArn, no createLogKmsKey) every bucket "
                             "uses SSE-S3 on purpose.", bucket.urn)


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
        name="bucket-public-access-blocked",
        description="Every bucket the stack creates has Block Public Access on, all four settings.",
        validate=partial(judge_buckets, resource_type=PUBLIC_ACCESS_BLOCK, problem=_public_access),
        severity=Severity.HIGH,
        remediation_steps="Add an aws.s3.BucketPublicAccessBlock with every setting true.",
    ),
    StackValidationPolicy(
        name="bucket-encrypted",
        description="Every bucket the stack creates encrypts objects by default (SSE-KMS or SSE-S3).",
        validate=partial(judge_buckets, resource_type=ENCRYPTION, problem=_encryption),
        severity=Severity.HIGH,
        remediation_steps="Add an aws.s3.BucketServerSideEncryptionConfiguration.",
    ),
    StackValidationPolicy(
        name="bucket-encrypted-with-stack-key",
        description="When the stack encrypts one created bucket with its KMS key, it encrypts every created bucket "
                    "with a KMS key.",
        validate=encrypted_with_stack_key,
        severity=Severity.MEDIUM,
        remediation_steps="Pass the stack's key (kms_key_arn) to every bucket the stack creates.",
    ),
    StackValidationPolicy(
        name="bucket-tls-only",
        description="Every bucket the stack creates has a policy denying requests without TLS.",
        validate=partial(judge_buckets, resource_type=BUCKET_POLICY, problem=_tls_only),
        severity=Severity.HIGH,
        remediation_steps="Deny s3:* when aws:SecureTransport is false.",
    ),
    StackValidationPolicy(
        name="flow-log-bucket-delivery-scoped",
        description="Every bucket a flow log delivers into lets delivery.logs.amazonaws.com write only under "
                    "aws:SourceAccount and aws:SourceArn conditions; other buckets have no delivery to scope.",
        validate=partial(judge_buckets, resource_type=BUCKET_POLICY, problem=_delivery_scoped, flow_logs_only=True),
        severity=Severity.HIGH,
        remediation_steps="Add both conditions to each delivery statement.",
    ),
    StackValidationPolicy(
        name="bucket-expires-objects",
        description="Every bucket the stack creates has an enabled lifecycle expiry.",
        validate=partial(judge_buckets, resource_type=LIFECYCLE, problem=_expiry),
        severity=Severity.HIGH,
        remediation_steps="Add a lifecycle rule with expiration.days.",
    ),
    StackValidationPolicy(
        name="bucket-aborts-incomplete-uploads",
        description="Every bucket the stack creates aborts incomplete multipart uploads.",
        validate=partial(judge_buckets, resource_type=LIFECYCLE, problem=_aborts_uploads),
        severity=Severity.MEDIUM,
        remediation_steps="Add abortIncompleteMultipartUpload.daysAfterInitiation to an enabled lifecycle rule.",
    ),
    StackValidationPolicy(
        name="bucket-versioned",
        description="Every bucket the stack creates is versioned.",
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
