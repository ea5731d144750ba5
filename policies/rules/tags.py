"""Ownership: every taggable resource says which project and environment it belongs to."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import label

REQUIRED_TAGS = ("Project", "Environment")
# The AWS types whose pulumi-aws resource class accepts `tags` (the tests hold this against the
# SDK). Types without tags, such as Dashboard, LogMetricFilter, RolePolicy, Route,
# RouteTableAssociation, TopicSubscription and SecurityGroupRule, are left alone.
TAGGABLE_TYPES = frozenset({
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/instance:Instance",
    "aws:ec2/keyPair:KeyPair",
    "aws:ec2/flowLog:FlowLog",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:kms/key:Key",
    "aws:sns/topic:Topic",
    "aws:s3/bucket:Bucket",
    "aws:glue/catalogDatabase:CatalogDatabase",
    "aws:athena/workgroup:Workgroup",
})


def required_tags(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE_TYPES:
        return
    tags = args.props.get("tags") or {}
    missing = [tag for tag in REQUIRED_TAGS if not tags.get(tag)]
    if missing:
        report_violation(f"{label(args.resource_type, args.name)} lacks the tag(s) {', '.join(missing)}: pass it "
                         "the settings' base_tags (tags=settings.base_tags).")


POLICIES = [
    ResourceValidationPolicy(
        name="required-tags",
        description="Every taggable resource has Project and Environment tags.",
        validate=required_tags,
        severity=Severity.LOW,
        remediation_steps="Tag the resource with settings.base_tags.",
    ),
]
