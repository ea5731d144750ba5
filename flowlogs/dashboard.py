"""The monitoring dashboard's body: widgets as data, serialised once with `json.dumps`.

Metric widgets plot exactly the series the metric filters publish, and an alarmed metric is
drawn at its alarm's period with the threshold as a line, so the graph shows what the alarm
sees. Logs Insights widgets run the saved queries against the flow-log group.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Protocol, Sequence

from flowlogs.patterns import InsightsQuery, MetricFilter

GRID_WIDTH = 24
METRICS_PER_ROW = 3
QUERIES_PER_ROW = 2
METRIC_HEIGHT = 6
QUERY_HEIGHT = 8
DEFAULT_PERIOD_SECONDS = 300


class Alarm(Protocol):
    """What a dashboard needs of an alarm (`config.settings.AlarmSettings` fits)."""

    threshold: float
    period_seconds: int


def metric_widget(metric_filter: MetricFilter, namespace: str, region: str, alarm: Alarm | None) -> dict[str, Any]:
    """One time series per published dimension set, at the alarm's period when there is one."""
    properties: dict[str, Any] = {
        "title": metric_filter.title,
        "region": region,
        "view": "timeSeries",
        "stacked": False,
        "stat": "Sum",
        "period": alarm.period_seconds if alarm else DEFAULT_PERIOD_SECONDS,
        "metrics": [[namespace, metric_filter.metric_name, *[part for item in series.items() for part in item]]
                    for series in metric_filter.series],
    }
    if alarm:
        properties["annotations"] = {"horizontal": [{"label": "Alarm threshold", "value": alarm.threshold}]}
    return {"type": "metric", "properties": properties}


def query_widget(query: InsightsQuery, log_group_name: str, region: str) -> dict[str, Any]:
    return {"type": "log", "properties": {
        "title": query.title,
        "region": region,
        "view": "table",
        "query": query.from_group(log_group_name),
    }}


def _grid(widgets: Sequence[dict[str, Any]], per_row: int, height: int, top: int) -> list[dict[str, Any]]:
    """Rows of `per_row` widgets sharing the full width; a shorter last row widens its widgets."""
    placed = []
    for start in range(0, len(widgets), per_row):
        row = widgets[start:start + per_row]
        width = GRID_WIDTH // len(row)
        y = top + (start // per_row) * height
        placed += [{**widget, "x": i * width, "y": y, "width": width, "height": height}
                   for i, widget in enumerate(row)]
    return placed


def dashboard_body(*, namespace: str, region: str, log_group_name: str, filters: Sequence[MetricFilter],
                   queries: Sequence[InsightsQuery], alarms: Mapping[str, Alarm]) -> str:
    """Alarmed metrics first, then the other metrics, then the Logs Insights tables."""
    ordered = sorted(filters, key=lambda f: f.key not in alarms)
    metrics = _grid([metric_widget(f, namespace, region, alarms.get(f.key)) for f in ordered],
                    METRICS_PER_ROW, METRIC_HEIGHT, top=0)
    below_metrics = max((w["y"] + w["height"] for w in metrics), default=0)
    tables = _grid([query_widget(q, log_group_name, region) for q in queries],
                   QUERIES_PER_ROW, QUERY_HEIGHT, top=below_metrics)
    return json.dumps({"widgets": metrics + tables})
