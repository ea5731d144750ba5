"""Flow-log delivery into CloudWatch Logs: the log group, the role the flow-logs service
assumes, and one flow log per target."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.arns import account_administers_key, log_group_arn
from components.targets import FlowLogOptions, ResolvedTarget, register_flow_log

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
# The service that writes flow-log records into S3 (and so uses the key of an SSE-KMS bucket).
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
# The lab VPC's flow log kept the component's own name before flow logs were named per target.
LAB_TARGET = "lab-vpc"
# The only actions the service needs to deliver into an existing group. Not CreateLogGroup:
# it would let the service silently re-create a group someone deleted.
DELIVERY_ACTIONS = (
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
)
@dataclass
class FlowLogDeliveryArgs:
    targets: Sequence[ResolvedTarget]
    flow_logs: FlowLogOptions
    region: str
    log_group_name: str
    retention_days: int
    kms_key_arn: Optional[str]
    create_kms_key: bool
    protect_logs: bool
    tags: Mapping[str, str]
    # The created key also encrypts the stack's flow-log bucket, so the delivery service may use it.
    key_encrypts_s3_records: bool = False


def trust_policy(partition: str, account_id: str, region: str) -> str:
    """Only the flow-logs service may assume the role, and only for this account's flow logs.

    The SourceAccount/SourceArn conditions stop another account's flow log from using the
    service as a confused deputy to write into our group.
    """
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": FLOW_LOGS_SERVICE},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"},
            },
        }],
    })


def delivery_policy(log_group_arn: str) -> str:
    """Delivery permissions on this one group's streams, never on `*`."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DeliverFlowLogsToThisGroup",
            "Effect": "Allow",
            "Action": list(DELIVERY_ACTIONS),
            "Resource": f"{log_group_arn}:*",
        }],
    })


def log_key_policy(partition: aws.GetPartitionResult, account_id: str, region: str, log_group_name: str,
                   encrypts_s3_records: bool = False) -> str:
    """The account administers the key; CloudWatch Logs may use it for this group only, and
    log delivery for this account's flow logs when the key also encrypts the flow-log bucket."""
    s3_delivery = [{
        "Sid": "LogDeliveryEncryptsThisAccountsFlowLogRecords",
        "Effect": "Allow",
        "Principal": {"Service": LOG_DELIVERY_SERVICE},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{partition.partition}:logs:{region}:{account_id}:*"},
        },
    }] if encrypts_s3_records else []
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            account_administers_key(partition.partition, account_id),
            {
                "Sid": "CloudWatchLogsEncryptsThisGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{partition.dns_suffix}"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn":
                        log_group_arn(partition.partition, region, account_id, log_group_name),
                }},
            },
            *s3_delivery,
        ],
    })


class FlowLogDelivery(pulumi.ComponentResource):
    """Flow logs delivering into one CloudWatch Logs group through a least-privilege role."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    kms_key_arn: pulumi.Input[str] | None
    # Target key -> its flow log into this group.
    flow_logs: dict[str, aws.ec2.FlowLog]

    def __init__(self, name: str, args: FlowLogDeliveryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("vpcflowlogs:index:FlowLogDelivery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id
        # ARNs and service hosts differ per partition (aws, aws-cn, aws-us-gov...): never assume `aws`.
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self))
        # Recorded traffic outlives the stack when protected: `pulumi destroy` refuses, and
        # even a forced removal leaves the group (and its key) in the account.
        keep_logs = pulumi.ResourceOptions(parent=self, protect=args.protect_logs,
                                           retain_on_delete=args.protect_logs)

        kms_key_arn: pulumi.Input[str] | None = args.kms_key_arn
        if args.create_kms_key:
            key = aws.kms.Key(
                f"{name}-logs-key",
                description=f"Encrypts the VPC flow-log group {args.log_group_name}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=log_key_policy(partition, account_id, args.region, args.log_group_name,
                                      args.key_encrypts_s3_records),
                tags={**args.tags, "Name": f"{name}-logs-key"},
                opts=keep_logs,
            )
            kms_key_arn = key.arn
        self.kms_key_arn = kms_key_arn

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-log-group",
            name=args.log_group_name,
            retention_in_days=args.retention_days,
            kms_key_id=kms_key_arn,
            # AWS-side protection too: the console and the CLI cannot delete the group either.
            deletion_protection_enabled=args.protect_logs or None,
            tags={**args.tags, "Name": args.log_group_name},
            opts=keep_logs,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            description="Assumed by VPC Flow Logs to deliver records into one log group",
            assume_role_policy=trust_policy(partition.partition, account_id, args.region),
            tags={**args.tags, "Name": f"{name}-role"},
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-delivery",
            role=self.role.id,
            # From the group's name, not its arn output: the document is known at preview, so the
            # policy pack judges it before anything is created.
            policy=delivery_policy(log_group_arn(partition.partition, args.region, account_id, args.log_group_name)),
            # The grant names the group, so it follows it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group]),
        )
        destination = {"log_destination_type": "cloud-watch-logs", "log_destination": self.log_group.arn,
                       "iam_role_arn": self.role.arn}
        self.flow_logs = {}
        for target in args.targets:
            self.flow_logs[target.key] = register_flow_log(
                f"{name}-{target.key}", target, args.flow_logs, destination, pulumi.ResourceOptions(
                    parent=self,
                    # Without the policy in place the first deliveries would be refused.
                    depends_on=[role_policy],
                    # The lab VPC's flow log keeps the URN it had before flow logs were per target.
                    aliases=[pulumi.Alias(name=f"{name}-flow-log")] if target.key == LAB_TARGET else None,
                ))

        self.register_outputs({
            "log_group_name": self.log_group.name,
            "flow_log_ids": {key: flow_log.id for key, flow_log in self.flow_logs.items()},
            "role_arn": self.role.arn,
        })
