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

from components.bucket_baseline import harden_bucket, tls_only_statement
from components.flow_log import LOG_DELIVERY_SERVICE
from components.targets import FlowLogOptions, ResolvedTarget, register_flow_log
from config.settings import Destination

# Where AWS writes flow-log objects under the bucket (and under a given ARN's folder).
AWS_LOGS_PREFIX = "AWSLogs/"


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
            tls_only_statement(bucket_arn),
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
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self)).partition
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            # Object lock can only be switched on when the bucket is created.
            object_lock_enabled=True if args.destination.object_lock else None,
            tags={**args.tags, "Name": f"{name}-bucket"},
            # Recorded traffic outlives the stack when protected, as the log group does.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_logs, retain_on_delete=args.protect_logs),
        )
        hardening = harden_bucket(
            name, bucket, self, kms_key_arn=args.kms_key_arn, expiration_days=args.destination.retention_days,
            lifecycle_rule_id="expire-flow-log-records",
            policy=lambda arn: bucket_policy(partition, self.account_id, args.region, arn))
        object_lock = args.destination.object_lock
        if object_lock:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock", bucket=bucket.id,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=object_lock.mode, days=object_lock.days)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[hardening.versioning]))
        return bucket, hardening.policy
