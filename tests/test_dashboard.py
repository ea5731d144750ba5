"""The dashboard's body as data: each widget's properties and where the grid places it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flowlogs.dashboard import dashboard_body, metric_widget, query_widget
from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.patterns import BYTES_BY_ACTION, EXTERNAL_SSH, REJECTED_FLOWS, insights_queries, metric_filters

VPC_CIDR = "10.0.0.0/16"
REGION = "ap-northeast-1"
NAMESPACE = "VpcFlowLogs/lab"
GROUP = "/vpc-flow-logs/lab"
FILTERS = {f.key: f for f in metric_filters(DEFAULT_FIELDS, VPC_CIDR)}
QUERIES = insights_queries(DEFAULT_FIELDS, VPC_CIDR)


@dataclass(frozen=True)
class Alarm:
    threshold: float
    period_seconds: int


def widgets(alarms=None, filters=tuple(FILTERS.values()), queries=QUERIES) -> list[dict]:
    body = dashboard_body(namespace=NAMESPACE, region=REGION, log_group_name=GROUP, filters=filters,
                          queries=queries, alarms=alarms or {})
    return json.loads(body)["widgets"]


def test_an_unalarmed_metric_is_a_five_minute_sum_per_series():
    assert metric_widget(FILTERS[BYTES_BY_ACTION], NAMESPACE, REGION, None) == {"type": "metric", "properties": {
        "title": "Bytes by action", "region": REGION, "view": "timeSeries", "stacked": False, "stat": "Sum",
        "period": 300,
        "metrics": [[NAMESPACE, "Bytes", "Action", "ACCEPT"], [NAMESPACE, "Bytes", "Action", "REJECT"]],
    }}


def test_an_alarmed_metric_is_drawn_at_the_alarms_period_with_its_threshold():
    widget = metric_widget(FILTERS[REJECTED_FLOWS], NAMESPACE, REGION, Alarm(threshold=5, period_seconds=60))
    assert widget == {"type": "metric", "properties": {
        "title": "Rejected flows", "region": REGION, "view": "timeSeries", "stacked": False, "stat": "Sum",
        "period": 60, "metrics": [[NAMESPACE, "RejectedFlows"]],
        "annotations": {"horizontal": [{"label": "Alarm threshold", "value": 5}]},
    }}


def test_a_query_table_runs_in_the_region_against_the_group():
    query = QUERIES[0]
    assert query_widget(query, GROUP, REGION) == {"type": "log", "properties": {
        "title": query.title, "region": REGION, "view": "table", "query": f"SOURCE '{GROUP}' | {query.query}",
    }}


def test_every_widget_names_the_region():
    assert {w["properties"]["region"] for w in widgets()} == {REGION}


def test_alarmed_metrics_come_first():
    alarms = {EXTERNAL_SSH: Alarm(threshold=1, period_seconds=300), BYTES_BY_ACTION: Alarm(1, 300)}
    titles = [w["properties"]["title"] for w in widgets(alarms) if w["type"] == "metric"]
    assert titles == ["SSH accepted from outside the VPC", "Bytes by action", "Rejected flows", "Rejected packets"]


def test_metrics_start_at_the_top_and_the_tables_start_below_them():
    placed = [(w["type"], w["x"], w["y"], w["width"], w["height"]) for w in widgets()]
    assert placed == [("metric", 0, 0, 8, 6), ("metric", 8, 0, 8, 6), ("metric", 16, 0, 8, 6),
                      ("metric", 0, 6, 24, 6),
                      ("log", 0, 12, 12, 8), ("log", 12, 12, 12, 8), ("log", 0, 20, 12, 8), ("log", 12, 20, 12, 8)]


def test_without_metrics_the_tables_start_at_the_top():
    assert [(w["x"], w["y"]) for w in widgets(filters=())] == [(0, 0), (12, 0), (0, 8), (12, 8)]
