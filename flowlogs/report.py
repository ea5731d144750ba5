"""One self-contained HTML report of an analysis document: summary, traffic over time, talkers, ports, SSH.

    vpc-flow-logs report SOURCE --out report.html [the options of `vpc-flow-logs analyze`]
    python -m flowlogs.report DOCUMENT.json --out report.html      (DOCUMENT `-` reads standard input)

The document is exactly what `--format json` of the analysis prints: `{"source", "format",
"records", "queries": {name: rows}, "left_out": {name: reason}}`. Every number on the page is
one of the document's; a query the document left out shows its reason, and one it does not
hold says so. The charts are drawn by plotly.js, inlined from the pinned plotly package, and a
Content-Security-Policy of `default-src 'none'` keeps the page from fetching anything: it opens
from a laptop, a mail attachment or an air-gapped host alike.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import plotly.graph_objects as go
import plotly.io
from plotly.offline import get_plotlyjs

from flowlogs.queries import QUERY_SPECS, REJECTED_BY_PORT, SSH_FROM_OUTSIDE, SUMMARY, TOP_TALKERS, TRAFFIC_OVER_TIME
from flowlogs.records import protocol_name

EXIT_OK, EXIT_BAD_DOCUMENT = 0, 2
DOCUMENT_KEYS: Mapping[str, type] = {"source": str, "format": str, "records": int, "queries": dict, "left_out": dict}
# Each question's columns, as flowlogs/queries.py declares them.
COLUMNS: Mapping[str, tuple[str, ...]] = {spec.name: spec.columns for spec in QUERY_SPECS}
# Columns that hold epoch seconds, shown as UTC times.
TIME_COLUMNS = frozenset({"first_start", "last_end", "interval_start"})
ACCEPTED_COLOUR, REJECTED_COLOUR = "#2b8a3e", "#c92a2a"
# No fetch of any kind; the inlined scripts and styles, and plotly's data: images, only.
CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
PLOT_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2125; background: #f4f5f7; }
header { background: #1d2125; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header p { margin: 2px 0; color: #c8ccd1; font-size: 13px; word-break: break-all; }
main { max-width: 1180px; margin: 0 auto; padding: 12px 24px 40px; }
section { background: #fff; border-radius: 8px; margin: 18px 0; padding: 14px 22px 18px; box-shadow: 0 1px 3px #0002; }
h2 { font-size: 18px; margin: 4px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.card { border: 1px solid #e3e6ea; border-radius: 6px; padding: 8px 12px; }
.card .label { color: #5c6670; font-size: 12px; }
.card .value { font-size: 20px; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 8px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e3e6ea; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { color: #5c6670; font-weight: 600; }
.note { color: #5c6670; }
.left-out { color: #8a4b00; background: #fff4e6; padding: 8px 12px; border-radius: 6px; }
"""


class ReportError(ValueError):
    """A document that is not an analysis document: the key or row at fault, and what is allowed."""


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    body: Callable[[Sequence[Mapping[str, Any]]], str]


def _utc(seconds: Optional[int]) -> str:
    if seconds is None:
        return "-"
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _shown(column: str, value: Any) -> str:
    """A cell as the page shows it: thousands separated, epoch seconds as UTC, `-` for none."""
    if value is None:
        return "-"
    if column in TIME_COLUMNS:
        return _utc(value)
    if isinstance(value, int) and not isinstance(value, bool) and column not in ("dstport", "protocol"):
        return f"{value:,}"
    return str(value)


def _cell(tag: str, column: str, value: Any, query: str, css_class: str = "") -> str:
    """An element carrying the document's value in data-value, beside the text a reader sees."""
    numeric = isinstance(value, int) and not isinstance(value, bool)
    css_class = css_class or ("number" if numeric and tag == "td" else "")
    css = f' class="{css_class}"' if css_class else ""
    raw = "" if value is None else html.escape(str(value), quote=True)
    hint = f' title="{protocol_name(value)}"' if column == "protocol" else ""
    return (f'<{tag}{css}{hint} data-query="{query}" data-column="{column}" data-value="{raw}">'
            f"{html.escape(_shown(column, value))}</{tag}>")


def _table(query: str, rows: Sequence[Mapping[str, Any]]) -> str:
    columns = COLUMNS[query]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell("td", c, row[c], query) for c in columns) + "</tr>" for row in rows)
    return f'<table data-query="{query}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figure(div_id: str, figure: go.Figure) -> str:
    """A chart's container and its figure as JSON, drawn by the one script at the end of the page."""
    figure.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 50},
                         legend={"orientation": "h", "y": 1.12})
    if figure.layout.height is None:
        figure.update_layout(height=340)
    data = plotly.io.to_json(figure, validate=True).replace("</", "<\\/")
    return (f'<div class="chart" id="{div_id}"></div>'
            f'<script type="application/json" class="figure" data-target="{div_id}">{data}</script>')


def _bar(div_id: str, labels: Sequence[str], values: Sequence[Any], name: str, colour: str, title: str) -> str:
    figure = go.Figure(go.Bar(x=list(values), y=list(labels), orientation="h", name=name, marker_color=colour))
    # Every label shown (plotly would skip some), largest first; bytes in SI units (G, not plotly's B).
    figure.update_layout(title=title, height=max(260, 24 * len(labels) + 100),
                         yaxis={"autorange": "reversed", "type": "category", "tickmode": "array",
                                "tickvals": list(labels), "automargin": True},
                         xaxis={"title": name, "tickformat": "~s"})
    return _figure(div_id, figure)


def _summary(rows: Sequence[Mapping[str, Any]]) -> str:
    row = rows[0]
    cards = "".join(f'<div class="card"><div class="label">{html.escape(c)}</div>'
                    f'{_cell("div", c, row[c], SUMMARY, "value")}</div>'
                    for c in COLUMNS[SUMMARY])
    return f'<div class="cards">{cards}</div>'


def _traffic_over_time(rows: Sequence[Mapping[str, Any]]) -> str:
    times = [_utc(row["interval_start"]).removesuffix(" UTC") for row in rows]

    def lines(measure: str, unit: str) -> go.Figure:
        figure = go.Figure()
        for action, colour in (("accepted", ACCEPTED_COLOUR), ("rejected", REJECTED_COLOUR)):
            figure.add_trace(go.Scatter(x=times, y=[row[f"{action}_{measure}"] for row in rows], name=action,
                                        mode="lines+markers", line={"color": colour}))
        figure.update_layout(title=f"{unit} per interval, accepted against rejected",
                             xaxis={"type": "date", "title": "interval start (UTC)"},
                             yaxis={"title": unit, "tickformat": "~s", "rangemode": "tozero"})
        return figure

    intervals = f"<p class=\"note\">{len(rows)} intervals, from {_utc(rows[0]['interval_start'])}.</p>"
    return intervals + _figure("traffic-flows", lines("flows", "flows")) + _figure("traffic-bytes",
                                                                                   lines("bytes", "bytes"))


def _top_talkers(rows: Sequence[Mapping[str, Any]]) -> str:
    labels = [f"{row['srcaddr']} → {row['dstaddr']}" for row in rows]
    return _bar("top-talkers-chart", labels, [row["bytes"] for row in rows], "bytes", "#1c7ed6",
                "bytes by source → destination") + _table(TOP_TALKERS, rows)


def _rejected_by_port(rows: Sequence[Mapping[str, Any]]) -> str:
    labels = [f"{_shown('dstport', row['dstport'])}/{protocol_name(row['protocol'])}" for row in rows]
    return _bar("rejected-by-port-chart", labels, [row["flows"] for row in rows], "rejected flows",
                REJECTED_COLOUR, "rejected flows by destination port/protocol") + _table(REJECTED_BY_PORT, rows)


def _ssh_from_outside(rows: Sequence[Mapping[str, Any]]) -> str:
    return _bar("ssh-from-outside-chart", [row["srcaddr"] for row in rows], [row["flows"] for row in rows],
                "accepted SSH flows", "#e8590c", "accepted SSH flows by source outside the VPC") + \
        _table(SSH_FROM_OUTSIDE, rows)


SECTIONS: tuple[Section, ...] = (
    Section(SUMMARY, "Summary", _summary),
    Section(TRAFFIC_OVER_TIME, "Traffic over time", _traffic_over_time),
    Section(TOP_TALKERS, "Top talkers", _top_talkers),
    Section(REJECTED_BY_PORT, "Rejected ports", _rejected_by_port),
    Section(SSH_FROM_OUTSIDE, "SSH from outside the VPC", _ssh_from_outside),
)


def check_document(document: Any) -> None:
    """ReportError naming the first key, query or row that an analysis document would not have."""
    if not isinstance(document, dict):
        raise ReportError(f"the document is a JSON {type(document).__name__}, not an object with the keys "
                          f"{', '.join(DOCUMENT_KEYS)} (what the analysis prints with --format json)")
    for key, kind in DOCUMENT_KEYS.items():
        if key not in document:
            raise ReportError(f"the document has no key '{key}'; an analysis document has "
                              f"{', '.join(DOCUMENT_KEYS)}")
        if not isinstance(document[key], kind) or isinstance(document[key], bool):
            raise ReportError(f"'{key}' is {json.dumps(document[key])[:60]}, not a JSON {kind.__name__}")
    for name, rows in document["queries"].items():
        if name not in COLUMNS:
            continue  # a query this report has no section for
        if not isinstance(rows, list):
            raise ReportError(f"'queries.{name}' is not a list of rows")
        for index, row in enumerate(rows):
            missing = [c for c in COLUMNS[name] if not isinstance(row, dict) or c not in row]
            if missing:
                raise ReportError(f"'queries.{name}[{index}]' has no column '{missing[0]}'; its rows have "
                                  f"{', '.join(COLUMNS[name])}")


def _section(section: Section, document: Mapping[str, Any]) -> str:
    rows = document["queries"].get(section.name)
    if section.name in document["left_out"]:
        body = f'<p class="left-out">Left out: {html.escape(str(document["left_out"][section.name]))}</p>'
    elif rows is None:
        body = (f'<p class="left-out">Not in this document: the analysis did not run the '
                f"<code>{section.name}</code> query.</p>")
    elif not rows:
        body = '<p class="note">No rows: no record matched.</p>'
    else:
        body = section.body(rows)
    return f'<section id="{section.name}"><h2>{html.escape(section.title)}</h2>{body}</section>'


def report_html(document: Mapping[str, Any]) -> str:
    """The whole page for an analysis document; ReportError when it is not one."""
    check_document(document)
    sections = "".join(_section(section, document) for section in SECTIONS)
    draw = ("document.querySelectorAll('script.figure').forEach(function (s) {"
            "var f = JSON.parse(s.textContent); Plotly.newPlot(s.dataset.target, f.data, f.layout, "
            f"{json.dumps(PLOT_CONFIG)});}});")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>VPC Flow Logs report: {html.escape(document['source'])}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<header><h1>VPC Flow Logs report</h1><p>Source: {html.escape(document['source'])}</p>"
        f"<p>Format: {html.escape(document['format'])}</p>"
        f'<p>Records: <span data-query="document" data-column="records" data-value="{document["records"]}">'
        f"{document['records']:,}</span></p></header>"
        f"<main>{sections}</main>"
        f"<script>{get_plotlyjs()}</script><script>{draw}</script></body></html>\n")


def write_report(document: Mapping[str, Any], out: Path) -> Path:
    """Write the report of `document` to `out`, one self-contained HTML file; returns `out`."""
    out = Path(out)
    out.write_text(report_html(document), encoding="utf-8")
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowlogs.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("document", help="the analysis document (--format json), or - for standard input")
    parser.add_argument("--out", required=True, type=Path, help="the HTML file to write")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.document == "-" else Path(args.document).read_text(encoding="utf-8")
        document = json.loads(text)
        written = write_report(document, args.out)
    except OSError as error:
        print(f"error: {error.filename or args.document}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_DOCUMENT
    except json.JSONDecodeError as error:
        print(f"error: {args.document}: not JSON ({error})", file=sys.stderr)
        return EXIT_BAD_DOCUMENT
    except ReportError as error:
        print(f"error: {args.document}: {error}", file=sys.stderr)
        return EXIT_BAD_DOCUMENT
    print(f"wrote {written} ({written.stat().st_size // 1024:,} KiB)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
