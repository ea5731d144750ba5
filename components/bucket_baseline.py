"""The baseline every bucket the stack creates meets, in one place.

Public access blocked, ACLs off, versioned, encrypted by default (SSE-KMS with the stack's key
when there is one, SSE-S3 otherwise), a lifecycle that expires objects, their noncurrent
versions and abandoned multipart uploads, and a bucket policy that denies requests without TLS.
The flow-log bucket and the Athena query-results bucket both call `harden_bucket`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.arns import s3_bucket_arn

# Parts of an upload abandoned by an interrupted writer still cost money until removed.
ABORT_INCOMPLETE_UPLOADS_DAYS = 7
# With versioning on, a removed or expired object stays as a noncurrent version; drop those too.
NONCURRENT_VERSION_DAYS = 1


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    """Deny every S3 action on the bucket and its objects over plain HTTP."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def tls_only_policy(bucket_arn: str) -> str:
    """A bucket policy with the TLS-only deny and nothing else."""
    return json.dumps({"Version": "2012-10-17", "Statement": [tls_only_statement(bucket_arn)]})


@dataclass(frozen=True)
class BucketHardening:
    """The resources that harden one bucket; later resources wait on some of them."""

    versioning: aws.s3.BucketVersioning
    policy: aws.s3.BucketPolicy


def harden_bucket(name: str, bucket: aws.s3.Bucket, parent: pulumi.Resource, *,
                  kms_key_arn: Optional[pulumi.Input[str]], expiration_days: int, lifecycle_rule_id: str,
                  policy: Callable[[str], str] = tls_only_policy,
                  former_names: Mapping[str, str] | None = None) -> BucketHardening:
    """Every baseline resource of `bucket`, named `<name>-<part>` and children of `parent`.

    `policy` builds the bucket policy from the bucket's ARN and must keep `tls_only_statement`;
    `former_names` maps a part (`public-access-block`, `lifecycle`...) to the logical name it
    had before, so that an upgrade renames it instead of replacing it.
    """
    former = former_names or {}
    partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=parent)).partition

    def options(part: str, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        aliases = [pulumi.Alias(name=former[part])] if part in former else None
        return pulumi.ResourceOptions(parent=parent, depends_on=depends_on, aliases=aliases)

    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=options("public-access-block"))
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id,
        # ACLs off: the bucket owner owns every object written into it.
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=options("ownership"))
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=options("versioning"))
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.
            BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms" if kms_key_arn else "AES256",
                kms_master_key_id=kms_key_arn),
            # One data key per bucket instead of one KMS call per object.
            bucket_key_enabled=True if kms_key_arn else None,
        )],
        opts=options("encryption"))
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.id,
        rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=lifecycle_rule_id,
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiration_days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=NONCURRENT_VERSION_DAYS),
            abort_incomplete_multipart_upload=aws.s3.
            BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=ABORT_INCOMPLETE_UPLOADS_DAYS),
        )],
        # Expiry rules on a versioned bucket need versioning to be in place first.
        opts=options("lifecycle", depends_on=[versioning]))
    bucket_policy = aws.s3.BucketPolicy(
        f"{name}-policy", bucket=bucket.id,
        # From the bucket's name, not its arn output: the provider names the bucket when it checks
        # its inputs, so the document is known at preview and the policy pack judges it then.
        policy=bucket.bucket.apply(lambda bucket_name: policy(s3_bucket_arn(partition, bucket_name))),
        # With Block Public Access on first, no moment exists where a policy could be public.
        opts=options("policy", depends_on=[public_access, ownership]))
    return BucketHardening(versioning=versioning, policy=bucket_policy)
