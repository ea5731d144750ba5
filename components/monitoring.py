"""Monitoring of the flow-log group: metric filters, alarms to e-mail, a dashboard, saved queries.

Every pattern and query comes from `flowlogs.patterns`, built from the configured log format,
so changing `logFormat` moves the filters with it instead of silently breaking them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.arns import account_administers_key
from config.settings import PROJECT, AlarmSettings, MonitoringSettings
from flowlogs.dashboard import dashboard_body
from flowlogs.patterns import (EXTERNAL_SSH, REJECTED_BY_PORT, REJECTED_FLOWS, REJECTED_PACKETS, SSH_SOURCES,
                               TOP_TALKERS, InsightsQuery, MetricFilter, MissingFieldError, UnexpressibleCidrError,
                               insights_queries, metric_filters)


@dataclass(frozen=True)
class MonitoringArgs:
    log_group_name: pulumi.Input[str]
    log_fields: tuple[str, ...]
    vpc_cidr: str
    region: str
    settings: MonitoringSettings
    tags: Mapping[str, str]
    # Encrypt the alarm topic with a key of its own (config encryptAlarmTopic).
    encrypt_topic: bool = False


def topic_key_policy(partition: str, account_id: str) -> str:
    """The account administers the key; CloudWatch alarms may use it to publish to the topic.

    An SNS topic under a customer-managed key accepts a publisher only if that publisher may
    call kms:GenerateDataKey* and kms:Decrypt on the key (AWS managed alias/aws/sns allows no
    service principal, so alarms could not publish at all).
    """
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            account_administers_key(partition, account_id),
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    })


@dataclass(frozen=True)
class MonitoringPlan:
    """The filters and queries for one log format and VPC, known before anything is registered."""

    filters: tuple[MetricFilter, ...]
    queries: tuple[InsightsQuery, ...]


def monitoring_plan(log_fields: tuple[str, ...], vpc_cidr: str) -> MonitoringPlan:
    """Filters and queries for the format, or a `pulumi.RunError` naming the config key to change.

    Call it right after loading settings so that a format monitoring cannot use stops the
    program before any resource is registered.
    """
    try:
        return MonitoringPlan(metric_filters(log_fields, vpc_cidr), insights_queries(log_fields, vpc_cidr))
    except MissingFieldError as error:
        raise pulumi.RunError(f"config {PROJECT}:logFormat cannot be monitored: {error}. Add the field(s) "
                              f"to logFormat, or set {PROJECT}:monitoring to false") from None
    except UnexpressibleCidrError as error:
        raise pulumi.RunError(f"config {PROJECT}:vpcCidr = {vpc_cidr} cannot be monitored: {error}; "
                              f"or set {PROJECT}:monitoring to false") from None


@dataclass(frozen=True)
class AlarmSpec:
    filter_key: str
    settings: AlarmSettings
    # What the alarm means and what to do, shown in the alarm and in its e-mail.
    description: str


def alarm_specs(settings: MonitoringSettings, queries: Sequence[InsightsQuery]) -> tuple[AlarmSpec, ...]:
    """The three alarms; each description points at the saved query to run first."""
    title = {query.key: f"'{query.title}'" for query in queries}
    return (
        AlarmSpec(REJECTED_FLOWS, settings.rejected_flows,
                  "Security groups or network ACLs rejected many flows: a port scan, or a client that "
                  f"cannot connect. Run the saved query {title[REJECTED_BY_PORT]} to see the ports; "
                  "open a port only if the traffic is expected."),
        AlarmSpec(REJECTED_PACKETS, settings.rejected_packets,
                  "Many rejected packets: a flood, or a client retrying against a closed port. Run "
                  f"{title[REJECTED_BY_PORT]} and {title[TOP_TALKERS]}; block persistent sources "
                  "with a network ACL."),
        AlarmSpec(EXTERNAL_SSH, settings.external_ssh,
                  f"SSH (tcp/22) from outside the VPC was accepted. Run {title[SSH_SOURCES]}; "
                  "if a source is not yours, narrow sshAllowedCidrs and check the hosts' auth logs."),
    )


def subscription_name(monitoring_name: str, email: str) -> str:
    """A subscription's logical name: a digest of the address, so an address kept secret does
    not appear in its URN, and adding or removing one address leaves the others alone."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]
    return f"{monitoring_name}-alert-{digest}"


def valid_dashboard_name(name: str) -> str:
    """Dashboard names allow only letters, digits, `-` and `_`."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:255]


class Monitoring(pulumi.ComponentResource):
    """Metric filters, alarms, an alert topic, a dashboard and saved queries on one flow-log group."""

    dashboard_name: pulumi.Output[str]
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        plan = monitoring_plan(args.log_fields, args.vpc_cidr)
        super().__init__("vpcflowlogs:index:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = f"VpcFlowLogs/{name}"

        for metric_filter in plan.filters:
            aws.cloudwatch.LogMetricFilter(
                f"{name}-{metric_filter.key}-filter",
                log_group_name=args.log_group_name,
                pattern=metric_filter.pattern,
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    name=metric_filter.metric_name,
                    namespace=namespace,
                    value=metric_filter.value,
                    unit=metric_filter.unit,
                    default_value=metric_filter.default_value,
                    dimensions=dict(metric_filter.dimensions) or None,
                ),
                opts=child,
            )

        topic_key = None
        if args.encrypt_topic:
            lookup = pulumi.InvokeOptions(parent=self)
            account_id = aws.get_caller_identity(opts=lookup).account_id
            partition = aws.get_partition(opts=lookup).partition
            topic_key = aws.kms.Key(
                f"{name}-alerts-key",
                description=f"Encrypts the VPC flow-log alarm topic of {name}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=topic_key_policy(partition, account_id),
                tags={**args.tags, "Name": f"{name}-alerts-key"},
                opts=child,
            )
        topic = aws.sns.Topic(
            f"{name}-alerts",
            display_name=f"VPC flow-log alarms ({name})",
            kms_master_key_id=topic_key.arn if topic_key else None,
            tags={**args.tags, "Name": f"{name}-alerts"},
            opts=child,
        )
        # Distinct addresses are checked in settings; only the tools' [secret] placeholders repeat.
        for email in dict.fromkeys(args.settings.alert_emails):
            secret = args.settings.alert_emails_secret
            aws.sns.TopicSubscription(
                subscription_name(name, email), topic=topic.arn, protocol="email",
                endpoint=pulumi.Output.secret(email) if secret else email,
                # Stacks that named subscriptions by address keep them (and their confirmation);
                # a secret address never goes into a name, not even an alias.
                opts=child if secret else pulumi.ResourceOptions(
                    parent=self, aliases=[pulumi.Alias(name=f"{name}-alert-{email}")]))

        metric_names = {f.key: f.metric_name for f in plan.filters}
        specs = alarm_specs(args.settings, plan.queries)
        for spec in specs:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.filter_key}-alarm",
                namespace=namespace,
                metric_name=metric_names[spec.filter_key],
                statistic="Sum",
                comparison_operator="GreaterThanOrEqualToThreshold",
                threshold=spec.settings.threshold,
                period=spec.settings.period_seconds,
                evaluation_periods=spec.settings.evaluation_periods,
                # No records means no matching traffic, not an unknown state.
                treat_missing_data="notBreaching",
                alarm_description=spec.description,
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                tags={**args.tags, "Name": f"{name}-{spec.filter_key}"},
                opts=child,
            )

        alarms = {spec.filter_key: spec.settings for spec in specs}
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=valid_dashboard_name(name),
            dashboard_body=pulumi.Output.from_input(args.log_group_name).apply(
                lambda group: dashboard_body(namespace=namespace, region=args.region, log_group_name=group,
                                             filters=plan.filters, queries=plan.queries, alarms=alarms)),
            opts=child,
        )

        for query in plan.queries:
            aws.cloudwatch.QueryDefinition(
                f"{name}-{query.key}-query",
                name=f"{name}/{query.title}",
                log_group_names=[args.log_group_name],
                query_string=query.query,
                opts=child,
            )

        self.dashboard_name = dashboard.dashboard_name
        self.topic_arn = topic.arn
        self.register_outputs({"dashboard_name": self.dashboard_name, "topic_arn": self.topic_arn})
