"""Flow-log delivery: the log group, the role the flow-logs service assumes, and the flow log."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
# The only actions the service needs to deliver into an existing group. Not CreateLogGroup:
# it would let the service silently re-create a group someone deleted.
DELIVERY_ACTIONS = (
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
)
# Every input that configures a flow log, read from the provider's own FlowLogArgs so that a
# property added by a provider upgrade is covered too. AWS cannot modify any of them in place.
# Tags are left out: AWS updates a flow log's tags in place, and replacing it for a tag edit
# would leave a gap in the records until the new flow log delivers.
FLOW_LOG_CONFIGURATION: tuple[str, ...] = tuple(
    name for name in inspect.signature(aws.ec2.FlowLogArgs.__init__).parameters
    if name not in ("__self__", "tags"))


@dataclass
class FlowLogDeliveryArgs:
    vpc_id: pulumi.Input[str]
    region: str
    log_group_name: str
    retention_days: int
    traffic_type: str
    aggregation_interval: int
    log_format: Optional[str]
    kms_key_arn: Optional[str]
    create_kms_key: bool
    protect_logs: bool
    tags: Mapping[str, str]


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


def log_key_policy(partition: aws.GetPartitionResult, account_id: str, region: str, log_group_name: str) -> str:
    """The account administers the key; CloudWatch Logs may use it for this group only."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition.partition}:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogsEncryptsThisGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{partition.dns_suffix}"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn":
                        f"arn:{partition.partition}:logs:{region}:{account_id}:log-group:{log_group_name}",
                }},
            },
        ],
    })


class FlowLogDelivery(pulumi.ComponentResource):
    """A VPC flow log delivering into a CloudWatch Logs group through a least-privilege role."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    flow_log: aws.ec2.FlowLog

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
                policy=log_key_policy(partition, account_id, args.region, args.log_group_name),
                tags={**args.tags, "Name": f"{name}-logs-key"},
                opts=keep_logs,
            )
            kms_key_arn = key.arn

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-log-group",
            name=args.log_group_name,
            retention_in_days=args.retention_days,
            kms_key_id=kms_key_arn,
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
            policy=self.log_group.arn.apply(delivery_policy),
            opts=child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=args.vpc_id,
            traffic_type=args.traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=self.role.arn,
            max_aggregation_interval=args.aggregation_interval,
            log_format=args.log_format,
            tags={**args.tags, "Name": f"{name}-flow-log"},
            opts=pulumi.ResourceOptions(
                parent=self,
                # AWS cannot modify a flow log's configuration: a change to it is a delete and a
                # re-create. Tags are not in the list, so a tag edit updates in place.
                replace_on_changes=list(FLOW_LOG_CONFIGURATION),
                # Create-before-delete would fail with FlowLogAlreadyExists while the old flow
                # log still targets the same VPC and group, so delete it first.
                delete_before_replace=True,
                # Without the policy in place the first deliveries would be refused.
                depends_on=[role_policy],
            ),
        )

        self.register_outputs({
            "log_group_name": self.log_group.name,
            "flow_log_id": self.flow_log.id,
            "role_arn": self.role.arn,
        })
