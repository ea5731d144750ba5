"""An analysis document of synthetic records, as `--format json` prints it, for the report's tests.

DuckDB answers the four queries through `flowlogs.analyze`; the `traffic-over-time` rows are
counted here in plain Python over the project's parser, independently of any query, until
the analysis has that query of its own.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Optional

from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.records import FlowRecord
from flowlogs.report import TRAFFIC_OVER_TIME
from flowlogs.analyze import analyze
from flowlogs.flow_source import files_of, iter_records
from tools.synth import write_synthetic

INTERVAL_SECONDS = 300


def traffic_over_time(records: Iterable[FlowRecord], interval: int = INTERVAL_SECONDS) -> list[dict[str, int]]:
    """Accepted and rejected flows and bytes per interval of the records' start, oldest first."""
    totals: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(
        ("accepted_flows", "rejected_flows", "accepted_bytes", "rejected_bytes"), 0))
    for record in records:
        if record.start is None or record.action is None:
            continue
        side = "accepted" if record.action == "ACCEPT" else "rejected"
        bucket = totals[record.start - record.start % interval]
        bucket[f"{side}_flows"] += 1
        bucket[f"{side}_bytes"] += record.bytes or 0
    return [{"interval_start": start, **totals[start]} for start in sorted(totals)]


def analysis_document(out: Path, records: int = 4000, seed: int = 7,
                      vpc_cidr: Optional[str] = "10.0.0.0/16") -> dict[str, Any]:
    """Write synthetic records under `out` and return their analysis document, traffic over time included."""
    write_synthetic(out, records, seed, kinds=("text",))
    source = out / "text"
    document = analyze(str(source), vpc_cidr=vpc_cidr).document()
    document["queries"][TRAFFIC_OVER_TIME] = traffic_over_time(iter_records(files_of(source), DEFAULT_FIELDS))
    return document
