"""The numbers and defaults the README documents, each tested on both sides of its bound.

Defaults are seen through a stack config that sets only the required keys, rendered by the real
program, since every stack file in config/ sets the optional keys itself.
"""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from config.settings import ALARM_DEFAULTS, CONFIG_KEYS, RETENTION_DAYS, settings_from_config
from tests.conftest import REPO_ROOT, lab_config
from tools.render import render

KEY = "vpc-flow-logs:"
# CloudWatch Logs PutRetentionPolicy's allowed values, as AWS documents them.
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                             2557, 2922, 3288, 3653)
REQUIRED_KEYS = ("vpcCidr", "subnetCidrs", "sshAllowedCidrs")


def config_with(**changes: object) -> dict[str, str]:
    config = lab_config()
    config.update({KEY + key: value if isinstance(value, str) else json.dumps(value)
                   for key, value in changes.items()})
    return config


def refusal(**changes: object) -> str:
    with pytest.raises(pulumi.RunError) as error:
        settings_from_config("lab", config_with(**changes))
    return str(error.value)


def minimal_config() -> dict[str, str]:
    """Only the region and the required keys: everything else takes its default."""
    return {key: value for key, value in lab_config().items()
            if key == "aws:region" or key.removeprefix(KEY) in REQUIRED_KEYS}


# The KMS key

def test_created_key_has_a_30_day_deletion_window_and_rotates():
    rendering = render("lab", config_with(createLogKmsKey="true"))
    key = rendering.one("aws:kms/key:Key")
    assert key.inputs["deletionWindowInDays"] == 30, key.urn
    assert key.inputs["enableKeyRotation"] is True, key.urn
    group = rendering.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:"), group.urn


# VPC and subnet prefix bounds: /16 to /28

@pytest.mark.parametrize("vpc", ["10.0.0.0/16", "10.0.0.0/20", "10.0.0.0/24"])
def test_vpc_prefixes_inside_the_bounds_are_accepted(vpc):
    base = vpc.rsplit(".", 2)[0]
    subnets = [f"{base}.0.0/26", f"{base}.0.64/26"]
    assert settings_from_config("lab", config_with(vpcCidr=vpc, subnetCidrs=subnets)).vpc_cidr == vpc


@pytest.mark.parametrize("vpc", ["10.0.0.0/15", "10.0.0.0/8", "10.0.0.0/29", "10.0.0.0/32"])
def test_vpc_prefixes_outside_the_bounds_are_refused(vpc):
    message = refusal(vpcCidr=vpc)
    assert message.startswith(f'config {KEY}vpcCidr = "{vpc}" is invalid') and "/16 to /28" in message, message


def test_a_28_vpc_passes_its_own_bound_and_fails_only_on_its_subnets():
    """A /28 holds a single /28 subnet, so the refusal is about subnetCidrs, not the VPC's size."""
    message = refusal(vpcCidr="10.0.0.0/28", subnetCidrs=["10.0.0.0/28", "10.0.0.0/28"])
    assert message.startswith(f"config {KEY}subnetCidrs = "), message


def test_an_ipv6_vpc_is_refused():
    message = refusal(vpcCidr="2001:db8::/56")
    assert message.startswith(f'config {KEY}vpcCidr = "2001:db8::/56" is invalid'), message


def test_28_subnets_are_accepted():
    settings = settings_from_config("lab", config_with(subnetCidrs=["10.0.0.0/28", "10.0.0.16/28"]))
    assert settings.subnet_cidrs == ("10.0.0.0/28", "10.0.0.16/28")


@pytest.mark.parametrize("small", ["10.0.0.16/29", "10.0.0.16/32"])
def test_subnets_smaller_than_28_are_refused(small):
    message = refusal(subnetCidrs=["10.0.0.0/28", small])
    assert f"{small} is not a /16 to /28 block" in message and f"config {KEY}subnetCidrs" in message, message


def test_a_16_subnet_passes_the_size_bound_and_fails_only_on_overlap():
    message = refusal(subnetCidrs=["10.0.0.0/16", "10.0.5.0/24"])
    assert "10.0.0.0/16 overlaps 10.0.5.0/24" in message and "is not a /16 to /28" not in message, message


def test_an_ipv6_subnet_is_refused_as_outside_the_vpc():
    message = refusal(subnetCidrs=["10.0.0.0/24", "2001:db8::/64"])
    assert "2001:db8::/64 is outside vpcCidr 10.0.0.0/16" in message, message


# Alarm periods: 60 or a multiple of 60

@pytest.mark.parametrize("period", [60, 120, 300, 3600])
def test_alarm_periods_that_are_multiples_of_60_are_accepted(period):
    settings = settings_from_config("lab", config_with(alarms={"externalSsh": {"periodSeconds": period}}))
    assert settings.monitoring.external_ssh.period_seconds == period


@pytest.mark.parametrize("period", [0, 30, 59, 61, 90, 150, -60, 60.0, "60", True])
def test_alarm_periods_that_are_not_multiples_of_60_are_refused(period):
    message = refusal(alarms={"externalSsh": {"periodSeconds": period}})
    assert message.startswith(f"config {KEY}alarms.externalSsh = ") and "multiple of 60" in message, message


@pytest.mark.parametrize("override, attribute, value", [
    ({"threshold": 0}, "threshold", 0.0),
    ({"threshold": 2.5}, "threshold", 2.5),
    ({"evaluationPeriods": 1}, "evaluation_periods", 1),
    ({"evaluationPeriods": 3}, "evaluation_periods", 3),
])
def test_alarm_numbers_at_their_lower_bounds_are_accepted(override, attribute, value):
    alarm = settings_from_config("lab", config_with(alarms={"rejectedFlows": override})).monitoring.rejected_flows
    assert getattr(alarm, attribute) == value
    # What the override leaves out keeps its default.
    default = ALARM_DEFAULTS["rejectedFlows"]
    others = {"threshold", "period_seconds", "evaluation_periods"} - {attribute}
    assert {name: getattr(alarm, name) for name in others} == {name: getattr(default, name) for name in others}


@pytest.mark.parametrize("override", [
    {"threshold": -0.5}, {"threshold": True}, {"threshold": "1"}, {"evaluationPeriods": 0},
    {"evaluationPeriods": 1.5}, {"evaluationPeriods": False}, {"period": 60}, [], "loud",
])
def test_alarm_numbers_below_their_bounds_are_refused(override):
    message = refusal(alarms={"rejectedPackets": override})
    assert message.startswith(f"config {KEY}alarms.rejectedPackets = "), message


def test_unknown_alarm_name_is_refused():
    message = refusal(alarms={"rejectedFlow": {"threshold": 1}})
    assert message.startswith(f"config {KEY}alarms = ") and "rejectedFlows, rejectedPackets, externalSsh" in message


def test_alarm_settings_reach_the_alarm_resource():
    alarms = {"rejectedPackets": {"threshold": 7, "periodSeconds": 120, "evaluationPeriods": 4}}
    rendering = render("lab", config_with(alarms=alarms))
    (alarm,) = [a for a in rendering.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                if a.inputs["metricName"] == "RejectedPackets"]
    assert (alarm.inputs["threshold"], alarm.inputs["period"], alarm.inputs["evaluationPeriods"]) == (7, 120, 4)


# Retention: exactly the values CloudWatch accepts

def test_retention_choices_are_exactly_cloudwatchs():
    assert RETENTION_DAYS == CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize("days", CLOUDWATCH_RETENTION_DAYS)
def test_each_cloudwatch_retention_is_accepted_and_its_neighbours_refused(days):
    assert settings_from_config("lab", config_with(logRetentionDays=str(days))).log_retention_days == days
    for neighbour in (days - 1, days + 1):
        if neighbour not in CLOUDWATCH_RETENTION_DAYS:
            message = refusal(logRetentionDays=str(neighbour))
            assert message.startswith(f'config {KEY}logRetentionDays = "{neighbour}" is invalid'), message


def test_readme_lists_the_retention_choices():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `logRetentionDays` |"))
    listed = tuple(int(days) for days in re.search(r"accepts: ([\d, ]+)", row).group(1).split(", "))
    assert listed == CLOUDWATCH_RETENTION_DAYS, row


# Defaults when a key is unset

DOCUMENTED_DEFAULTS = {
    "httpAllowedCidrs": ["0.0.0.0/0"], "instanceType": "t3.micro", "trafficType": "ALL",
    "aggregationInterval": 600, "logRetentionDays": 30, "createLogKmsKey": False, "protectLogs": False,
    "monitoring": True, "alertEmails": [],
}


def test_config_keys_declare_the_documented_defaults():
    declared = {key: CONFIG_KEYS[key][2] for key in DOCUMENTED_DEFAULTS}
    assert declared == DOCUMENTED_DEFAULTS


def test_unset_keys_take_their_defaults_in_settings():
    settings = settings_from_config("lab", minimal_config())
    actual = {
        "httpAllowedCidrs": list(settings.http_allowed_cidrs), "instanceType": settings.instance_type,
        "trafficType": settings.traffic_type, "aggregationInterval": settings.aggregation_interval,
        "logRetentionDays": settings.log_retention_days, "createLogKmsKey": settings.create_log_kms_key,
        "protectLogs": settings.protect_logs, "monitoring": settings.monitoring.enabled,
        "alertEmails": list(settings.monitoring.alert_emails),
    }
    assert actual == DOCUMENTED_DEFAULTS
    assert (settings.log_format, settings.log_kms_key_arn, settings.ssh_public_key, settings.key_pair_name) \
        == (None, None, None, None)
    assert dict(settings.tags) == {}
    assert (settings.monitoring.rejected_flows, settings.monitoring.rejected_packets,
            settings.monitoring.external_ssh) == tuple(ALARM_DEFAULTS.values())


@pytest.mark.parametrize("key", ["httpAllowedCidrs", "instanceType", "trafficType", "aggregationInterval",
                                 "logRetentionDays", "monitoring", "createLogKmsKey", "protectLogs"])
def test_an_empty_value_means_the_default(key):
    settings = settings_from_config("lab", {**minimal_config(), KEY + key: ""})
    assert settings == settings_from_config("lab", minimal_config()), key


def test_documented_alarm_defaults():
    assert {name: (a.threshold, a.period_seconds, a.evaluation_periods) for name, a in ALARM_DEFAULTS.items()} \
        == {"rejectedFlows": (100, 300, 1), "rejectedPackets": (1000, 300, 1), "externalSsh": (1, 300, 1)}


@pytest.fixture(scope="module")
def minimal_rendering():
    return render("lab", minimal_config())


def test_unset_keys_take_their_defaults_in_the_program(minimal_rendering):
    flow_log = minimal_rendering.one("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL", flow_log.urn
    assert flow_log.inputs["maxAggregationInterval"] == 600, flow_log.urn
    assert "logFormat" not in flow_log.inputs, flow_log.urn
    group = minimal_rendering.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 30 and "kmsKeyId" not in group.inputs, group.urn
    assert group.options["protect"] is False and group.options["retainOnDelete"] is False, group.urn
    assert minimal_rendering.by_type("aws:kms/key:Key") == []
    instances = minimal_rendering.by_type("aws:ec2/instance:Instance")
    assert instances and all(i.inputs["instanceType"] == "t3.micro" and "keyName" not in i.inputs
                             for i in instances), [i.urn for i in instances]


def test_unset_http_sources_default_to_anywhere(minimal_rendering):
    http = [r for r in minimal_rendering.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            if r.inputs["fromPort"] == 80]
    assert [r.inputs.get("cidrIpv4") for r in http] == ["0.0.0.0/0"], [r.urn for r in http]


def test_unset_monitoring_is_on(minimal_rendering):
    alarms = minimal_rendering.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert sorted((a.inputs["metricName"], a.inputs["threshold"], a.inputs["period"]) for a in alarms) == [
        ("ExternalSshAccepted", 1, 300), ("RejectedFlows", 100, 300), ("RejectedPackets", 1000, 300)]
    assert minimal_rendering.by_type("aws:sns/topicSubscription:TopicSubscription") == []
    assert len(minimal_rendering.by_type("aws:cloudwatch/dashboard:Dashboard")) == 1


def test_monitoring_false_registers_no_monitoring():
    rendering = render("lab", {**minimal_config(), KEY + "monitoring": "false"})
    assert [r.urn for r in rendering.registrations if r.type.startswith("aws:cloudwatch/")
            and r.type != "aws:cloudwatch/logGroup:LogGroup"] == []
    assert "dashboardName" not in rendering.outputs
