"""ARNs and key-policy statements in the stack's own partition (aws, aws-cn, aws-us-gov...).

Built from lookups and config alone, so every document that uses them is known at preview and
the policy pack can judge it then, not only after the resources exist.
"""

from __future__ import annotations

from typing import Any


def account_root(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def account_administers_key(partition: str, account_id: str) -> dict[str, Any]:
    """The key-policy statement that leaves the key's administration to the account's IAM."""
    return {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(partition, account_id)},
        "Action": "kms:*",
        "Resource": "*",
    }


def managed_policy_arn(partition: str, policy_name: str) -> str:
    """An AWS managed policy, e.g. AmazonSSMManagedInstanceCore."""
    return f"arn:{partition}:iam::aws:policy/{policy_name}"


def log_group_arn(partition: str, region: str, account_id: str, log_group_name: str) -> str:
    """A CloudWatch Logs group's ARN, as AWS will assign it, from its name."""
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"


def s3_bucket_arn(partition: str, bucket_name: str) -> str:
    """An S3 bucket's ARN from its name: S3 ARNs carry neither region nor account."""
    return f"arn:{partition}:s3:::{bucket_name}"
