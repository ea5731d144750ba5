"""The alarm topic: encrypted with a customer-managed key that CloudWatch alarms may use to publish."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from .common import as_list, label, of_type, policy_statements, referenced

TOPIC = "aws:sns/topic:Topic"
KMS_KEY = "aws:kms/key:Key"
ALARMS_SERVICE = "cloudwatch.amazonaws.com"
# What a publisher needs on the key of an encrypted topic.
PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def _allows(statement: Any, service: str, action: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal") or {}
    services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
    actions = [str(a).lower() for a in as_list(statement.get("Action"))]
    action = action.lower()
    covered = any(a in (action, "kms:*", "*") or (a.endswith("*") and action.startswith(a[:-1])) for a in actions)
    return service in services and covered


def alarm_topic_encrypted(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for topic in of_type(args.resources, TOPIC):
        keys = referenced(topic, "kmsMasterKeyId", KMS_KEY)
        if not keys:
            report_violation(f"{label(TOPIC, topic.name)} is not encrypted with a key this stack manages: set "
                             "vpc-flow-logs:encryptAlarmTopic to true (alias/aws/sns would not let alarms "
                             "publish).", topic.urn)
            continue
        for key in keys:
            statements = policy_statements(key.props.get("policy"))
            missing = [action for action in PUBLISH_ACTIONS
                       if not any(_allows(s, ALARMS_SERVICE, action) for s in statements)]
            if missing:
                report_violation(f"{label(TOPIC, topic.name)} is encrypted with {label(KMS_KEY, key.name)}, whose "
                                 f"policy does not let {ALARMS_SERVICE} call {', '.join(missing)}: alarms could not "
                                 "publish to it.", topic.urn)


POLICIES = [
    StackValidationPolicy(
        name="alarm-topic-encrypted",
        description="SNS topics are encrypted with a customer-managed KMS key whose policy lets CloudWatch "
                    "alarms publish.",
        validate=alarm_topic_encrypted,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:encryptAlarmTopic to true.",
    ),
]
