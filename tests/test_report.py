"""The HTML report: its numbers are the document's, it names what was left out, and it fetches nothing.

The page is read back with the standard library's HTML parser; `make browser-test` renders it in
Chromium as well (tests/browser).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from flowlogs import report
from flowlogs.queries import SSH_FROM_OUTSIDE, SUMMARY, TOP_TALKERS
from flowlogs.queries import TRAFFIC_OVER_TIME
from flowlogs.report import COLUMNS, SECTIONS, ReportError, report_html
from flowlogs import cli
from tests.report_document import analysis_document, synthetic_text

ROOT = Path(__file__).resolve().parents[1]
RESOURCE_ATTRIBUTES = ("src", "href", "action", "srcset", "poster", "data", "formaction", "background")


class Page(HTMLParser):
    """Every element with a data-value, every figure's JSON, every script's text and every attribute."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[dict[str, str]] = []
        self.figures: dict[str, dict] = {}
        self.scripts: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self._open: list[dict[str, Any]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Any]]) -> None:
        attributes = dict(attrs)
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._open.append({"tag": tag, "attrs": attributes, "text": []})

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1]["text"].append(data)

    def handle_endtag(self, tag: str) -> None:
        element = self._open.pop()
        text = "".join(element["text"])
        if self._open:
            self._open[-1]["text"].append(text)
        attrs = element["attrs"]
        if "data-value" in attrs:
            self.cells.append({"query": attrs["data-query"], "column": attrs["data-column"],
                               "value": attrs["data-value"], "text": text})
        if tag == "script":
            self.scripts.append(text)
            if "figure" in attrs.get("class", ""):
                self.figures[attrs["data-target"]] = json.loads(text)


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict[str, Any]:
    return analysis_document(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def page(document) -> Page:
    return Page(report_html(document))


def test_the_document_has_every_section_the_report_draws(document):
    drawn = [section.name for section in SECTIONS]
    assert all(document["queries"][name] for name in drawn), {n: len(r) for n, r in document["queries"].items()}


def test_summary_cards_show_the_documents_summary(document, page):
    cards = {cell["column"]: cell for cell in page.cells if cell["query"] == SUMMARY}
    row = document["queries"][SUMMARY][0]
    assert {column: int(cell["value"]) for column, cell in cards.items()} == row
    assert int(cards["records"]["text"].replace(",", "")) == row["records"]
    assert cards["first_start"]["text"].endswith(" UTC")


def test_records_in_the_header_are_the_documents(document, page):
    [cell] = [cell for cell in page.cells if cell["query"] == "document"]
    assert int(cell["text"].replace(",", "")) == document["records"] == int(cell["value"])


@pytest.mark.parametrize("query", ["top-talkers", "rejected-by-port", "ssh-from-outside"])
def test_each_table_holds_the_documents_rows_in_order(document, page, query):
    cells = [cell for cell in page.cells if cell["query"] == query]
    columns = COLUMNS[query]
    shown = [cells[i:i + len(columns)] for i in range(0, len(cells), len(columns))]
    rows = [{cell["column"]: cell["value"] for cell in row} for row in shown]
    expected = [{column: "" if row[column] is None else str(row[column]) for column in columns}
                for row in document["queries"][query]]
    assert rows == expected
    numbers = [cell for cell in cells if cell["value"].isdigit()]
    assert numbers and all(cell["text"].replace(",", "") == cell["value"] for cell in numbers)


def test_traffic_charts_plot_accepted_against_rejected_per_interval(document, page):
    rows = document["queries"][TRAFFIC_OVER_TIME]
    for measure in ("flows", "bytes"):
        accepted, rejected = page.figures[f"traffic-{measure}"]["data"]
        assert (accepted["name"], rejected["name"]) == ("accepted", "rejected")
        assert accepted["y"] == [row[f"accepted_{measure}"] for row in rows]
        assert rejected["y"] == [row[f"rejected_{measure}"] for row in rows]
        assert len(accepted["x"]) == len(rows) and accepted["x"] == sorted(accepted["x"])


def test_bar_charts_plot_the_tables_values(document, page):
    [talkers] = page.figures["top-talkers-chart"]["data"]
    assert talkers["x"] == [row["bytes"] for row in document["queries"][TOP_TALKERS]]
    [ssh] = page.figures["ssh-from-outside-chart"]["data"]
    assert ssh["y"] == [row["srcaddr"] for row in document["queries"][SSH_FROM_OUTSIDE]]


def test_a_left_out_query_shows_its_reason(tmp_path, document):
    left = copy.deepcopy(document)
    del left["queries"][SSH_FROM_OUTSIDE]
    left["left_out"][SSH_FROM_OUTSIDE] = "needs the VPC's IPv4 block (--vpc-cidr)"
    section = report_html(left).split('<section id="ssh-from-outside">', 1)[1].split("</section>", 1)[0]
    assert "Left out: needs the VPC&#x27;s IPv4 block (--vpc-cidr)" in section and "<table" not in section


def test_a_query_the_document_does_not_hold_says_so(document):
    without = copy.deepcopy(document)
    del without["queries"][TRAFFIC_OVER_TIME]
    section = report_html(without).split(f'<section id="{TRAFFIC_OVER_TIME}">', 1)[1].split("</section>", 1)[0]
    assert "Not in this document" in section and TRAFFIC_OVER_TIME in section and "chart" not in section


def test_the_analysis_of_a_format_without_bytes_leaves_sections_out_with_reasons(document):
    without = copy.deepcopy(document)
    without["queries"] = {SUMMARY: []}
    without["left_out"] = {TOP_TALKERS: "needs the field(s) bytes"}
    text = report_html(without)
    assert "Left out: needs the field(s) bytes" in text and "No rows" in text


def test_the_page_references_no_resource_and_forbids_fetching(page):
    referencing = [(tag, name, value) for tag, name, value in page.attributes if name in RESOURCE_ATTRIBUTES]
    assert not referencing, referencing
    assert not {"link", "iframe", "img", "object", "embed", "base"} & set(page.tags)
    [policy] = [value for tag, name, value in page.attributes if tag == "meta" and name == "content"
                and "default-src" in value]
    assert policy.startswith("default-src 'none'") and "connect-src" not in policy


def test_the_only_script_library_is_plotly_js_inlined_verbatim_once(page):
    bundle = get_plotlyjs()
    assert [script for script in page.scripts if script == bundle] == [bundle]


def test_nothing_outside_the_inlined_library_names_any_address(document):
    text = report_html(document)
    bundle = get_plotlyjs()
    assert text.count(bundle) == 1
    own = text.replace(bundle, "")
    assert "://" not in own and "//cdn" not in own and "url(" not in own


def test_text_from_the_document_is_escaped(document):
    hostile = copy.deepcopy(document)
    hostile["source"] = "<script>alert(1)</script>"
    assert "<script>alert(1)</script>" not in report_html(hostile)


@pytest.mark.parametrize("broken, message", [
    ([], "not an object"),
    ({"source": "x", "format": "f", "records": 1, "queries": {}}, "no key 'left_out'"),
    ({"source": "x", "format": "f", "records": "1", "queries": {}, "left_out": {}}, "'records' is \"1\""),
    ({"source": "x", "format": "f", "records": 1, "queries": {"top-talkers": [{"srcaddr": "a"}]}, "left_out": {}},
     "'queries.top-talkers[0]' has no column 'dstaddr'"),
])
def test_a_document_that_is_not_an_analysis_is_refused_naming_the_key(broken, message):
    with pytest.raises(ReportError, match=message.replace("[", r"\[").replace("]", r"\]")):
        report_html(broken)


def test_the_command_writes_the_page(tmp_path, document, capsys):
    source = tmp_path / "document.json"
    source.write_text(json.dumps(document))
    out = tmp_path / "report.html"
    assert report.main([str(source), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == report_html(document) and str(out) in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [("{not json", "not JSON"), ('{"source": 1}', "'source' is 1")])
def test_the_command_exits_2_on_a_bad_document_without_a_traceback(tmp_path, capsys, content, message):
    source = tmp_path / "document.json"
    source.write_text(content)
    assert report.main([str(source), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "r.html").exists()


def test_the_command_exits_2_on_a_missing_document(tmp_path, capsys):
    assert report.main([str(tmp_path / "absent.json"), "--out", str(tmp_path / "r.html")]) == 2
    assert "absent.json" in capsys.readouterr().err


def test_report_and_ocsf_import_without_pulumi():
    code = ("import sys; sys.modules['pulumi'] = None; import flowlogs.report, flowlogs.ocsf; "
            "print('imported')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "imported", result.stderr


def _numbers(page: Page) -> dict[tuple[str, str], list[str]]:
    """Every value the page carries, by query and column, in page order."""
    numbers: dict[tuple[str, str], list[str]] = {}
    for cell in page.cells:
        numbers.setdefault((cell["query"], cell["column"]), []).append(cell["value"])
    return numbers


def test_vpc_flow_logs_report_draws_the_numbers_analyze_prints(tmp_path, capsys):
    source = synthetic_text(tmp_path / "records", records=1500, seed=11)
    options = [str(source), "--vpc-cidr", "10.0.0.0/16", "--action", "ACCEPT", "--interval", "600", "--limit", "5"]
    assert cli.main(["analyze", *options, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    out = tmp_path / "report.html"
    assert cli.main(["report", *options, "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert text == report_html(document)
    page = Page(text)
    numbers = _numbers(page)
    assert numbers[("document", "records")] == [str(document["records"])]
    for query in ("top-talkers", "ssh-from-outside", "summary"):
        for column in COLUMNS[query]:
            want = ["" if row[column] is None else str(row[column]) for row in document["queries"][query]]
            assert numbers[(query, column)] == want, (query, column)
    rows = document["queries"][TRAFFIC_OVER_TIME]
    assert rows and all(row["rejected_flows"] == 0 for row in rows)  # --action ACCEPT reached the page's query
    assert page.figures["traffic-flows"]["data"][0]["y"] == [row["accepted_flows"] for row in rows]
    assert len(document["queries"]["top-talkers"]) == 5


def test_vpc_flow_logs_report_exits_2_on_a_bad_source_without_writing(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert cli.main(["report", str(tmp_path / "absent"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "absent" in err and "Traceback" not in err and not out.exists()
