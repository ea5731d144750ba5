"""The report rendered by headless Chromium: charts drawn with their points, numbers equal to the document,
no request beyond the file itself, no script error. `make browser-test` runs it; `make test` does not.

The screenshot lands in $REPORT_SCREENSHOT_DIR (default .browser-test/), the one the README shows
is docs/report.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowlogs.queries import REJECTED_BY_PORT, SSH_FROM_OUTSIDE, SUMMARY, TOP_TALKERS, TRAFFIC_OVER_TIME
from flowlogs.report import COLUMNS
from tests.browser.chromium import CHROMIUM, Chromium
from tests.report_document import synthetic_text

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("REPORT_SCREENSHOT_DIR", ROOT / ".browser-test"))
CHARTS = ("traffic-flows", "traffic-bytes", "top-talkers-chart", "rejected-by-port-chart", "ssh-from-outside-chart")
# What the rendered page holds: each chart's traces and the SVG marks drawn for them, and each number shown.
READ_PAGE = """(() => {
  const charts = {};
  document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    charts[gd.id] = {
      traces: gd.data.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)})),
      lines: gd.querySelectorAll('.scatterlayer .trace path.js-line').length,
      points: Array.from(gd.querySelectorAll('.scatterlayer .trace')).map(t => t.querySelectorAll('path.point').length),
      bars: gd.querySelectorAll('.barlayer .trace .point path').length,
    };
  });
  const cells = Array.from(document.querySelectorAll('[data-value]')).map(e => ({
    query: e.dataset.query, column: e.dataset.column, value: e.dataset.value, text: e.textContent}));
  return {charts, cells};
})()"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Any]:
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: `make browser-test` installs Debian's chromium"
    work = tmp_path_factory.mktemp("browser")
    # The page the installed command writes; run from the records' parent, the header names a short source.
    source = synthetic_text(work / "records").rename(work / "synthetic-records")
    options = [source.name, "--vpc-cidr", "10.0.0.0/16"]
    command, env = [sys.executable, "-m", "flowlogs.cli"], {**os.environ, "PYTHONPATH": str(ROOT)}
    document = json.loads(subprocess.run(command + ["analyze", *options, "--format", "json"], cwd=work, env=env,
                                         check=True, capture_output=True, text=True).stdout)
    subprocess.run(command + ["report", *options, "--out", "report.html"], cwd=work, env=env, check=True,
                   capture_output=True)
    page = work / "report.html"
    browser = Chromium()
    try:
        browser.open(page, f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(CHARTS)}")
        state = browser.evaluate(READ_PAGE)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(SCREENSHOTS / "report.png")
        events = list(browser.events)
    finally:
        browser.close()
    return {"document": document, "page": page, "state": state, "events": events}


def test_every_chart_is_drawn(rendered):
    assert sorted(rendered["state"]["charts"]) == sorted(CHARTS)


def test_traffic_charts_draw_a_line_and_a_point_per_interval_for_accepted_and_rejected(rendered):
    rows = rendered["document"]["queries"][TRAFFIC_OVER_TIME]
    for measure in ("flows", "bytes"):
        chart = rendered["state"]["charts"][f"traffic-{measure}"]
        assert [t["name"] for t in chart["traces"]] == ["accepted", "rejected"]
        assert chart["traces"][0]["y"] == [row[f"accepted_{measure}"] for row in rows]
        assert chart["traces"][1]["y"] == [row[f"rejected_{measure}"] for row in rows]
        assert chart["lines"] == 2 and chart["points"] == [len(rows), len(rows)], chart


@pytest.mark.parametrize("chart, query, column", [("top-talkers-chart", TOP_TALKERS, "bytes"),
                                                  ("rejected-by-port-chart", REJECTED_BY_PORT, "flows"),
                                                  ("ssh-from-outside-chart", SSH_FROM_OUTSIDE, "flows")])
def test_bar_charts_draw_a_bar_per_row_with_the_documents_values(rendered, chart, query, column):
    rows = rendered["document"]["queries"][query]
    drawn = rendered["state"]["charts"][chart]
    assert drawn["bars"] == len(rows) and drawn["traces"][0]["x"] == [row[column] for row in rows]


def test_numbers_shown_equal_the_document(rendered):
    document = rendered["document"]
    cells = rendered["state"]["cells"]
    summary = {c["column"]: c for c in cells if c["query"] == SUMMARY}
    assert {column: int(c["value"]) for column, c in summary.items()} == document["queries"][SUMMARY][0]
    for column in ("records", "accepted", "rejected", "bytes"):
        assert int(summary[column]["text"].replace(",", "")) == document["queries"][SUMMARY][0][column]
    for query in (TOP_TALKERS, REJECTED_BY_PORT, SSH_FROM_OUTSIDE):
        columns = COLUMNS[query]
        shown = [c for c in cells if c["query"] == query]
        expected = [str(row[column]) for row in document["queries"][query] for column in columns]
        assert [c["value"] for c in shown] == expected, query
        assert all(c["text"].replace(",", "") == c["value"] for c in shown if c["value"].isdigit()), query


def test_the_page_requests_nothing_but_itself(rendered):
    urls = [e["params"]["request"]["url"] for e in rendered["events"] if e.get("method") == "Network.requestWillBeSent"]
    page = rendered["page"].resolve().as_uri()
    assert page in urls and all(url == page or url.startswith("data:") for url in urls), urls


def test_no_script_error_or_policy_violation(rendered):
    problems = [e for e in rendered["events"] if e.get("method") == "Runtime.exceptionThrown"
                or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
                or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")]
    assert not problems, json.dumps(problems)[:2000]


def test_the_screenshot_is_a_full_page_png(rendered):
    png = (SCREENSHOTS / "report.png").read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and width == 1280 and height > 1500, (width, height)
