"""The Monitoring component under Pulumi's mock runtime, its dashboard, and the policy rule that keeps
metric filters in step with the flow log's format."""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import replace
from typing import Any, Optional

import pulumi
import pytest

from components.flow_log import FlowLogDelivery, FlowLogDeliveryArgs
from components.monitoring import Monitoring, MonitoringArgs, monitoring_plan
from components.targets import FlowLogOptions, ResolvedTarget
from config.settings import AlarmSettings, MonitoringSettings, settings_from_config
from flowlogs.fields import DEFAULT_FIELDS, format_string, parse_log_format
from flowlogs.patterns import metric_filters
from flowlogs.queries import QUERY_NAMES

# Logs Insights asks the first four SQL questions in its own syntax (see test_analyze).
INSIGHTS_QUESTIONS = QUERY_NAMES[:4]
from policies.rules import metric_filters as metric_filter_rules
from tests.conftest import REPO_ROOT, lab_config
from tools.analyzer import PolicyPackSession, Violation
from tools.render import Registration, Rendering, render

PACK = REPO_ROOT / "policies"
GROUP = "/vpc-flow-logs/lab"
VPC_CIDR = "10.0.0.0/16"
TAGS = {"Project": "vpc-flow-logs", "Environment": "lab"}
CUSTOM_FIELDS = (*DEFAULT_FIELDS, "vpc-id", "tcp-flags", "flow-direction")
CUSTOM_FORMAT = format_string(CUSTOM_FIELDS)
MONITORING = "vpcflowlogs:index:Monitoring"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
QUERY = "aws:cloudwatch/queryDefinition:QueryDefinition"
RULE = "metric-filter-matches-log-format"


def lab_monitoring_settings(**changes: Any) -> MonitoringSettings:
    return replace(settings_from_config("lab", lab_config()).monitoring, **changes)


def monitoring(log_fields: tuple[str, ...] = DEFAULT_FIELDS, vpc_cidr: str = VPC_CIDR,
               **settings_changes: Any) -> Rendering:
    """The component alone, on a log group given by name, with its outputs exported."""
    def program() -> None:
        component = Monitoring("lab-monitoring", MonitoringArgs(
            log_group_name=GROUP, log_fields=log_fields, vpc_cidr=vpc_cidr, region="ap-northeast-1",
            settings=lab_monitoring_settings(**settings_changes), tags=TAGS))
        pulumi.export("dashboardName", component.dashboard_name)
        pulumi.export("topicArn", component.topic_arn)
    return render("lab", lab_config(), program=program)


def delivered_and_monitored(flow_log_format: Optional[str], monitored_fields: tuple[str, ...]) -> Rendering:
    """A flow log and monitoring on its group, wired by reference as the program wires them."""
    def program() -> None:
        delivery = FlowLogDelivery("lab-flow-logs", FlowLogDeliveryArgs(
            targets=[ResolvedTarget("vpc-0123456789abcdef0", "vpc_id", "vpc-0123456789abcdef0")],
            flow_logs=FlowLogOptions(traffic_type="ALL", aggregation_interval=60, log_format=flow_log_format,
                                     tags=TAGS),
            region="ap-northeast-1", log_group_name=GROUP, retention_days=7, kms_key_arn=None,
            create_kms_key=False, protect_logs=False, tags=TAGS))
        Monitoring("lab-monitoring", MonitoringArgs(
            log_group_name=delivery.log_group.name, log_fields=monitored_fields, vpc_cidr=VPC_CIDR,
            region="ap-northeast-1", settings=lab_monitoring_settings(), tags=TAGS),
            opts=pulumi.ResourceOptions(depends_on=list(delivery.flow_logs.values())))
    return render("lab", lab_config(), program=program)


def dashboard_widgets(rendering: Rendering) -> list[dict[str, Any]]:
    return json.loads(rendering.one(DASHBOARD).inputs["dashboardBody"])["widgets"]


# Metric filters

def test_one_metric_filter_per_generated_pattern_on_the_group():
    filters = monitoring().by_type(METRIC_FILTER)
    generated = metric_filters(DEFAULT_FIELDS, VPC_CIDR)
    assert sorted(f.inputs["pattern"] for f in filters) == sorted(f.pattern for f in generated)
    for registration in filters:
        assert registration.inputs["logGroupName"] == GROUP, registration.urn


def test_metric_filters_follow_a_custom_format():
    fields = tuple(reversed(DEFAULT_FIELDS))
    for registration in monitoring(log_fields=fields).by_type(METRIC_FILTER):
        assert registration.inputs["pattern"].startswith("[log_status, action"), registration.urn


def test_metric_filters_publish_into_the_components_namespace():
    for registration in monitoring().by_type(METRIC_FILTER):
        transformation = registration.inputs["metricTransformation"]
        assert transformation["namespace"] == "VpcFlowLogs/lab-monitoring", registration.urn


def test_bytes_metric_has_an_action_dimension_and_no_default_value():
    bytes_filter = next(r for r in monitoring().by_type(METRIC_FILTER)
                        if r.inputs["metricTransformation"]["name"] == "Bytes")
    transformation = bytes_filter.inputs["metricTransformation"]
    assert transformation["dimensions"] == {"Action": "$action"}, bytes_filter.urn
    assert "defaultValue" not in transformation and transformation["value"] == "$bytes", bytes_filter.urn


# Alarms and e-mail

def alarms_by_metric(rendering: Rendering) -> dict[str, Registration]:
    return {r.inputs["metricName"]: r for r in rendering.by_type(ALARM)}


def test_alarm_thresholds_and_periods_come_from_settings():
    rendering = monitoring(
        rejected_flows=AlarmSettings(threshold=7, period_seconds=120, evaluation_periods=2),
        rejected_packets=AlarmSettings(threshold=5000, period_seconds=600, evaluation_periods=3),
        external_ssh=AlarmSettings(threshold=2, period_seconds=60, evaluation_periods=4))
    alarms = alarms_by_metric(rendering)
    expected = {"RejectedFlows": (7, 120, 2), "RejectedPackets": (5000, 600, 3), "ExternalSshAccepted": (2, 60, 4)}
    assert set(alarms) == set(expected)
    for metric, (threshold, period, periods) in expected.items():
        alarm = alarms[metric]
        assert (alarm.inputs["threshold"], alarm.inputs["period"], alarm.inputs["evaluationPeriods"]) == \
            (threshold, period, periods), alarm.urn


def test_alarms_fire_at_the_threshold_and_treat_silence_as_fine():
    for alarm in monitoring().by_type(ALARM):
        assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold", alarm.urn
        assert alarm.inputs["treatMissingData"] == "notBreaching", alarm.urn
        assert alarm.inputs["statistic"] == "Sum" and alarm.inputs["alarmDescription"], alarm.urn


def test_alarms_watch_metrics_their_filters_publish():
    rendering = monitoring()
    published = {(r.inputs["metricTransformation"]["namespace"], r.inputs["metricTransformation"]["name"])
                 for r in rendering.by_type(METRIC_FILTER)}
    for alarm in rendering.by_type(ALARM):
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) in published, alarm.urn


def test_alarms_notify_the_topic():
    rendering = monitoring()
    topic = rendering.one(TOPIC)
    for alarm in rendering.by_type(ALARM):
        assert alarm.dependencies["alarmActions"] == [topic.urn], alarm.urn
        assert alarm.dependencies["okActions"] == [topic.urn], alarm.urn


def test_one_email_subscription_per_address():
    emails = ("ops@example.com", "security@example.com")
    rendering = monitoring(alert_emails=emails)
    subscriptions = rendering.by_type(SUBSCRIPTION)
    assert sorted(s.inputs["endpoint"] for s in subscriptions) == list(emails)
    for subscription in subscriptions:
        assert subscription.inputs["protocol"] == "email", subscription.urn
        assert subscription.dependencies["topic"] == [rendering.one(TOPIC).urn], subscription.urn


def test_no_subscription_without_addresses():
    assert monitoring(alert_emails=()).by_type(SUBSCRIPTION) == []


# Saved queries

def test_query_definitions_name_the_group():
    queries = monitoring().by_type(QUERY)
    assert len(queries) == len(INSIGHTS_QUESTIONS)
    for query in queries:
        assert query.inputs["logGroupNames"] == [GROUP], query.urn
        assert query.inputs["queryString"].startswith('parse @message "'), query.urn


# Dashboard

def test_dashboard_metric_widgets_plot_metrics_the_filters_publish():
    rendering = monitoring()
    published = {(r.inputs["metricTransformation"]["namespace"], r.inputs["metricTransformation"]["name"]):
                 set(r.inputs["metricTransformation"].get("dimensions", {}))
                 for r in rendering.by_type(METRIC_FILTER)}
    plotted = [metric for w in dashboard_widgets(rendering) if w["type"] == "metric"
               for metric in w["properties"]["metrics"]]
    assert {tuple(m[:2]) for m in plotted} == set(published)
    for namespace, name, *dimensions in plotted:
        assert set(dimensions[0::2]) == published[(namespace, name)], (namespace, name, dimensions)


def test_dashboard_log_widgets_query_the_flow_log_group():
    log_widgets = [w for w in dashboard_widgets(monitoring()) if w["type"] == "log"]
    assert len(log_widgets) == len(INSIGHTS_QUESTIONS)
    for widget in log_widgets:
        assert widget["properties"]["query"].startswith(f"SOURCE '{GROUP}' | parse @message "), widget


def test_dashboard_log_widgets_follow_the_group_reference():
    rendering = delivered_and_monitored(None, DEFAULT_FIELDS)
    group = rendering.one("aws:cloudwatch/logGroup:LogGroup").inputs["name"]
    queries = [w["properties"]["query"] for w in dashboard_widgets(rendering) if w["type"] == "log"]
    assert queries and all(q.startswith(f"SOURCE '{group}' |") for q in queries)


def test_dashboard_widgets_tile_the_grid_without_overlapping():
    widgets = dashboard_widgets(monitoring())
    cells = [(x, y) for w in widgets
             for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])]
    assert len(cells) == len(set(cells)), "widgets overlap"
    assert all(0 <= w["x"] and w["x"] + w["width"] <= 24 for w in widgets)


def test_alarmed_metrics_show_their_threshold_at_the_alarms_period():
    rendering = monitoring(rejected_flows=AlarmSettings(threshold=42, period_seconds=600, evaluation_periods=1))
    widget = next(w for w in dashboard_widgets(rendering) if w["properties"].get("title") == "Rejected flows")
    assert widget["properties"]["period"] == 600
    assert widget["properties"]["annotations"]["horizontal"][0]["value"] == 42


# The component

def test_children_are_parented_to_the_component():
    rendering = monitoring()
    component = rendering.one(MONITORING)
    for child in rendering.registrations:
        if child.type.startswith("aws:"):
            assert child.parent == component.urn, child.urn
            assert child.name.startswith("lab-monitoring-"), child.urn


def test_taggable_children_are_tagged():
    rendering = monitoring()
    for registration in rendering.by_type(TOPIC) + rendering.by_type(ALARM):
        assert {k: registration.inputs["tags"][k] for k in TAGS} == TAGS, registration.urn


def test_outputs_name_the_dashboard_and_the_topic():
    rendering = monitoring()
    assert rendering.outputs["dashboardName"] == rendering.one(DASHBOARD).inputs["dashboardName"] == "lab-monitoring"
    assert rendering.outputs["topicArn"].startswith("arn:aws:sns:ap-northeast-1:")


def test_a_format_missing_a_needed_field_stops_before_anything_is_registered():
    fields = tuple(f for f in DEFAULT_FIELDS if f != "packets")
    with pytest.raises(pulumi.RunError, match=r"vpc-flow-logs:logFormat cannot be monitored: .*'packets'") as error:
        monitoring(log_fields=fields)
    assert format_string(fields) in str(error.value)
    registered = [r.type for r in pulumi.runtime.settings.SETTINGS.monitor.registrations]
    assert not [t for t in registered if t == MONITORING or t.startswith("aws:")], registered


def test_an_unexpressible_vpc_block_is_a_config_error():
    with pytest.raises(pulumi.RunError, match=r"vpc-flow-logs:vpcCidr = 10.0.0.0/18 cannot be monitored"):
        monitoring_plan(DEFAULT_FIELDS, "10.0.0.0/18")


# metric-filter-matches-log-format, through the analyzer protocol and called in this process (`pack`, conftest)


def rule_violations(session: PolicyPackSession, registrations: list[dict[str, Any]]) -> list[Violation]:
    return [v for v in session.analyze(registrations) if v.policy == RULE]


def with_pattern(rendering: Rendering, metric_name: str, edit) -> tuple[list[dict[str, Any]], str]:
    """The registrations with one metric filter's pattern edited by hand, and that filter's URN."""
    resources = [r.as_dict() for r in rendering.registrations]
    target = next(r for r in resources
                  if r["type"] == METRIC_FILTER and r["inputs"]["metricTransformation"]["name"] == metric_name)
    target["inputs"] = {**target["inputs"], "pattern": edit(target["inputs"]["pattern"])}
    return resources, target["urn"]


@pytest.mark.parametrize("flow_log_format, fields", [
    (None, DEFAULT_FIELDS),
    (CUSTOM_FORMAT, CUSTOM_FIELDS),
], ids=["default", "custom"])
def test_generated_filters_pass_the_rule(pack, flow_log_format, fields):
    rendering = delivered_and_monitored(flow_log_format, fields)
    assert rule_violations(pack, [r.as_dict() for r in rendering.registrations]) == []


def test_hand_edited_pattern_missing_a_field_is_caught(pack):
    resources, culprit = with_pattern(delivered_and_monitored(None, DEFAULT_FIELDS), "RejectedFlows",
                                      lambda pattern: pattern.replace(" account_id,", ""))
    violations = rule_violations(pack, resources)
    assert [v.urn for v in violations] == [culprit], violations
    assert violations[0].enforcement == "mandatory"
    assert "field 2 of the records is 'account-id', but the pattern names 'interface_id'" in violations[0].message


def test_filters_left_on_the_old_format_after_a_format_change_are_caught(pack):
    rendering = delivered_and_monitored(CUSTOM_FORMAT, DEFAULT_FIELDS)
    violations = rule_violations(pack, [r.as_dict() for r in rendering.registrations])
    assert sorted(v.urn for v in violations) == sorted(r.urn for r in rendering.by_type(METRIC_FILTER))
    assert all("the pattern names 14 fields, the records have 17" in v.message for v in violations)


def pack_rule_module():
    """The rule module as the pack imports it, from its own directory."""
    sys.path.insert(0, str(PACK))
    try:
        return importlib.import_module("rules.metric_filters")
    finally:
        sys.path.remove(str(PACK))


def test_pack_default_fields_are_the_programs():
    assert pack_rule_module().DEFAULT_FIELDS == DEFAULT_FIELDS


def test_pack_reads_a_custom_format_as_the_program_does():
    assert metric_filter_rules.format_fields(CUSTOM_FORMAT) == parse_log_format(CUSTOM_FORMAT)


def test_pack_reads_field_names_past_quoted_commas_and_conditions():
    assert metric_filter_rules.pattern_fields('[a, b="x,y" && b!="z", ...]') == ("a", "b", "...")
