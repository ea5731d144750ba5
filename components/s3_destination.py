"""Flow logs delivering into S3: a hardened bucket the stack creates, or a bucket someone else owns.

S3 delivery needs no IAM role: the log-delivery service writes under `AWSLogs/<account>/` as the
bucket policy allows. An Athena table over the records needs the bucket, the key prefix, the
file format, the partitioning and the log fields; the component exposes each of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.arns import s3_bucket_arn
from components.flow_log import LOG_DELIVERY_SERVICE
from components.targets import FlowLogOptions, ResolvedTarget, register_flow_log
from config.settings import Destination

# Where AWS writes flow-log objects under the bucket (and under a given ARN's folder).
AWS_LOGS_PREFIX = "AWSLogs/"
# Parts of an upload abandoned by an interrupted delivery still cost money until removed.
ABORT_INCOMPLETE_UPLOADS_DAYS = 7
# With versioning on, a removed or expired object stays as a noncurrent version; drop those too.
NONCURRENT_VERSION_DAYS = 1


@dataclass
class S3FlowLogDestinationArgs:
    targets: Sequence[ResolvedTarget]
    flow_logs: FlowLogOptions
    log_fields: tuple[str, ...]
    # File format, partitioning, and either a bucket someone else owns (bucket_arn) or the
    # expiry and object lock of the bucket to create.
    destination: Destination
    region: str
    # The stack's log key: SSE-KMS with it when set, SSE-S3 otherwise.
    kms_key_arn: Optional[pulumi.Input[str]]
    protect_logs: bool
    tags: Mapping[str, str]


def bucket_policy(partition: str, account_id: str, region: str, bucket_arn: str) -> str:
    """AWS's documented flow-log delivery statements, tightened, and a TLS-only deny.

    Delivery may write only under `AWSLogs/<account>/`, and only for this account's flow logs in
    this region (aws:SourceAccount, aws:SourceArn): no other account can use the service as a
    confused deputy to write here.
    """
    source = {
        "StringEquals": {"aws:SourceAccount": account_id},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"},
    }
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": LOG_DELIVERY_SERVICE},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{AWS_LOGS_PREFIX}{account_id}/*",
                "Condition": {**source, "StringEquals": {**source["StringEquals"],
                                                         "s3:x-amz-acl": "bucket-owner-full-control"}},
            },
            {
                "Sid": "AWSLogDeliveryAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": LOG_DELIVERY_SERVICE},
                "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                "Resource": bucket_arn,
                "Condition": source,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    })


class S3FlowLogDestination(pulumi.ComponentResource):
    """Flow logs of every target into one S3 bucket, as Parquet or plain text."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    # Objects land under <key_prefix><account>/vpcflowlogs/<region>/...
    key_prefix: str
    # The account whose flow logs write the records: their keys start <key_prefix><account_id>/.
    account_id: str
    log_fields: tuple[str, ...]
    file_format: str
    hive_compatible_partitions: bool
    per_hour_partition: bool
    flow_logs: dict[str, aws.ec2.FlowLog]

    def __init__(self, name: str, args: S3FlowLogDestinationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("vpcflowlogs:index:S3FlowLogDestination", name, None, opts)
        destination = args.destination
        self.account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id
        self.log_fields = args.log_fields
        self.file_format = destination.file_format
        self.hive_compatible_partitions = destination.hive_compatible_partitions
        self.per_hour_partition = destination.per_hour_partition
        depends_on: list[pulumi.Resource] = []
        if destination.bucket_arn:
            bucket, _, folder = destination.bucket_arn.split(":::", 1)[1].partition("/")
            self.bucket_name = pulumi.Output.from_input(bucket)
            self.bucket_arn = pulumi.Output.from_input(destination.bucket_arn.split("/", 1)[0])
            self.key_prefix = f"{folder.rstrip('/')}/{AWS_LOGS_PREFIX}" if folder else AWS_LOGS_PREFIX
            log_destination: pulumi.Input[str] = destination.bucket_arn
        else:
            created, policy = self._bucket(name, args)
            self.bucket_name, self.bucket_arn = created.bucket, created.arn
            self.key_prefix = AWS_LOGS_PREFIX
            log_destination = created.arn
            depends_on = [policy]

        delivery = {
            "log_destination_type": "s3",
            "log_destination": log_destination,
            "destination_options": aws.ec2.FlowLogDestinationOptionsArgs(
                file_format=self.file_format,
                hive_compatible_partitions=self.hive_compatible_partitions,
                per_hour_partition=self.per_hour_partition,
            ),
        }
        self.flow_logs = {
            target.key: register_flow_log(
                f"{name}-{target.key}", target, args.flow_logs, delivery, pulumi.ResourceOptions(
                    parent=self,
                    # Without our bucket policy in place, CreateFlowLogs would write its own, broader one.
                    depends_on=depends_on))
            for target in args.targets
        }
        self.register_outputs({
            "bucket_name": self.bucket_name,
            "bucket_arn": self.bucket_arn,
            "key_prefix": self.key_prefix,
            "flow_log_ids": {key: flow_log.id for key, flow_log in self.flow_logs.items()},
        })

    def _bucket(self, name: str, args: S3FlowLogDestinationArgs) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        """The bucket and everything that hardens it; the policy is what delivery must wait for."""
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self)).partition
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            # Object lock can only be switched on when the bucket is created.
            object_lock_enabled=True if args.destination.object_lock else None,
            tags={**args.tags, "Name": f"{name}-bucket"},
            # Recorded traffic outlives the stack when protected, as the log group does.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_logs, retain_on_delete=args.protect_logs),
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id,
            # ACLs off: the bucket owner owns every delivered object.
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms" if args.kms_key_arn else "AES256",
                    kms_master_key_id=args.kms_key_arn),
                # One data key per bucket instead of one KMS call per object.
                bucket_key_enabled=True if args.kms_key_arn else None,
            )],
            opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-flow-log-records",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.destination.retention_days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=NONCURRENT_VERSION_DAYS),
                abort_incomplete_multipart_upload=aws.s3.
                BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_INCOMPLETE_UPLOADS_DAYS),
            )],
            # Expiry rules on a versioned bucket need versioning to be in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]))
        policy = aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket.id,
            # From the bucket's name, not its arn output: the provider names the bucket when it checks
            # its inputs, so the document is known at preview and the policy pack judges it then.
            policy=bucket.bucket.apply(lambda bucket_name: bucket_policy(
                partition, self.account_id, args.region, s3_bucket_arn(partition, bucket_name))),
            # With Block Public Access on first, no moment exists where a policy could be public.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access, ownership]))
        object_lock = args.destination.object_lock
        if object_lock:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock", bucket=bucket.id,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=object_lock.mode, days=object_lock.days)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]))
        return bucket, policy
