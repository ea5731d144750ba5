"""`make benchmark-analyze`: the four queries over 10 million synthetic records, plain gz and Parquet.

Each measurement runs in a child process of its own, which reports its own peak resident memory;
each is repeated and the median is reported. The pure-Python baseline is `parse_record` over
the first records of the same gzipped text (reading and parsing only, no counting), timed on
that sample and extrapolated to the whole set.

    python -m tools.benchmark_analyze [--records N] [--runs K] [--data DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.queries import TABLE, build_queries, needed_fields
from flowlogs.records import parse_record
from flowlogs.flow_source import connect, files_of, load
from tools.synth import write_synthetic

VPC_CIDR = "10.0.0.0/16"
SEED = 1
PYTHON_SAMPLE = 200_000
TARGET_PARQUET_SECONDS = 3.0
TARGET_TEXT_RECORDS_PER_SECOND = 1_000_000
TARGET_PEAK_BYTES = 1.5 * 2**30


def measure(source: Path) -> dict[str, Any]:
    """Load `source` and run each query once: seconds per step (in the child process)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flow-logs-benchmark-") as workdir:
        return _measure(source, connect(Path(workdir) / "spill"), started)


def _measure(source: Path, con: Any, started: float) -> dict[str, Any]:
    load(con, files_of(source), DEFAULT_FIELDS, needed_fields())
    records = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    timings = {"load": time.perf_counter() - started}
    queries, _ = build_queries(DEFAULT_FIELDS, VPC_CIDR)
    for query in queries:
        begun = time.perf_counter()
        con.execute(query.duckdb).fetchall()
        timings[query.name] = time.perf_counter() - begun
    timings["total"] = time.perf_counter() - started
    return {"records": records, "seconds": timings}


def peak_resident_bytes() -> int:
    """This process's own high-water resident memory (VmHWM).

    Not `ru_maxrss`: Linux carries that across fork and exec, so a child would report the
    peak of the parent that wrote the synthetic records.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measured_in_child(source: Path) -> dict[str, Any]:
    """`measure` in a fresh process, which reports its own peak resident memory."""
    child = subprocess.run([sys.executable, "-m", "tools.benchmark_analyze", "--child", str(source)],
                           stdout=subprocess.PIPE, check=False)
    if child.returncode:
        raise SystemExit(f"measuring {source} failed with exit code {child.returncode}")
    return json.loads(child.stdout)


def python_parser_rate(text_files: Sequence[Path], sample: int) -> float:
    """Records per second of gzip + `parse_record` over the first `sample` records."""
    started, parsed = time.perf_counter(), 0
    for path in text_files:
        with gzip.open(path, "rt") as text:
            next(text)  # S3's header line
            for line in text:
                parse_record(line, DEFAULT_FIELDS)
                parsed += 1
                if parsed == sample:
                    return parsed / (time.perf_counter() - started)
    return parsed / (time.perf_counter() - started)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    steps = runs[0]["seconds"]
    return {"records": runs[0]["records"],
            "seconds": {step: statistics.median(run["seconds"][step] for run in runs) for step in steps},
            "peak_bytes": max(run["peak_bytes"] for run in runs)}


def report(results: dict[str, dict[str, Any]], python_rate: float, runs: int, load: str) -> str:
    lines = [f"Median of {runs} runs, each in its own process; peak memory is the largest of the runs. "
             f"Load average at the start: {load}.", "",
             "| source | step | seconds | records/s |", "| --- | --- | ---: | ---: |"]
    for kind, result in results.items():
        records = result["records"]
        for step, seconds in result["seconds"].items():
            lines.append(f"| {kind} | {step} | {seconds:.2f} | {records / seconds:,.0f} |")
    lines.append("")
    parquet, text = results["parquet"], results["text"]
    text_rate = text["records"] / text["seconds"]["total"]
    lines += [
        f"- 4 queries over {parquet['records']:,} Parquet records, end to end: {parquet['seconds']['total']:.2f} s "
        f"(target ≤ {TARGET_PARQUET_SECONDS:.0f} s)",
        f"- plain gz, read and 4 queries: {text_rate:,.0f} records/s "
        f"(target ≥ {TARGET_TEXT_RECORDS_PER_SECOND:,})",
        f"- peak memory: Parquet {parquet['peak_bytes'] / 2**20:,.0f} MiB, "
        f"plain gz {text['peak_bytes'] / 2**20:,.0f} MiB "
        f"(target ≤ {TARGET_PEAK_BYTES / 2**30:.1f} GiB)",
        f"- pure-Python path (gzip + parse_record, timed on {PYTHON_SAMPLE:,} records and extrapolated): "
        f"{python_rate:,.0f} records/s, {text['records'] / python_rate:.0f} s for the set; DuckDB on plain gz is "
        f"{text_rate / python_rate:.0f}x that, on Parquet "
        f"{(parquet['records'] / parquet['seconds']['total']) / python_rate:.0f}x",
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.benchmark_analyze", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(".benchmark-data"))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps({**measure(args.child), "peak_bytes": peak_resident_bytes()}))
        return 0

    data = args.data / f"{args.records}-seed{SEED}"
    if not (data / "complete").exists():
        print(f"writing {args.records:,} synthetic records to {data} ...", file=sys.stderr)
        write_synthetic(data, args.records, SEED, DEFAULT_FIELDS, vpc_cidr=VPC_CIDR)
        (data / "complete").touch()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    results = {}
    for kind in ("parquet", "text"):
        print(f"measuring {kind} ...", file=sys.stderr)
        results[kind] = _median_run([measured_in_child(data / kind) for _ in range(args.runs)])
    python_rate = python_parser_rate(files_of(data / "text").files, PYTHON_SAMPLE)
    print(report(results, python_rate, args.runs, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
