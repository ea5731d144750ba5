"""`make benchmark-analyze`: the four queries over 10 million synthetic records, Parquet and plain gz,
by the project and by bare DuckDB.

The project's path is what `make analyze` does: `connect`, `load`, a count and each query through
`run`. Bare DuckDB runs the same DuckDB texts on the same files, with `flow_logs` replaced by
`read_parquet(...)` or `read_csv(...)` (the format's columns with their types, no checks), in a
Python started with `-I` that imports DuckDB and nothing of the project. Every measurement runs
in a fresh process that reports its own peak resident memory; project and bare runs alternate,
each is repeated and the median is reported. Both paths must return the same rows. The
pure-Python baseline is `parse_record` over the first records of the same gzipped text (reading
and parsing only, no counting), timed on that sample and extrapolated to the whole set.

    python -m tools.benchmark_analyze [--records N] [--runs K] [--data DIR] [--format text|json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import duckdb

from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.queries import TABLE, build_queries, needed_fields
from flowlogs.records import MISSING, parse_record
from flowlogs import flow_source
from flowlogs.flow_source import LocalFiles, connect, duckdb_type, files_of, load, progress, run, text_format
from tools.synth import RECORDS_PER_HOUR

VPC_CIDR = "10.0.0.0/16"
SEED = 1
PYTHON_SAMPLE = 200_000
KINDS = ("parquet", "text")
# Project seconds over bare DuckDB's on Parquet, at most.
TARGET_PARQUET_RATIO = 1.2
# The project's records/s on gz text (one read, every query) over bare DuckDB's per read_csv query, at least.
TARGET_TEXT_RATE_RATIO = 0.8
TARGET_TEXT_PEAK_BYTES = 10**9

# Bare DuckDB: reads {"sql": {name: text}} on stdin, prints seconds, rows and peak memory as JSON.
BARE_DUCKDB = """
import json, resource, sys, time
import duckdb
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
spec = json.load(sys.stdin)
seconds, rows = {}, {}
started, cpu_started = time.perf_counter(), cpu()
# DuckDB's own bar would print into stdout, which carries this report.
con = duckdb.connect()
con.execute("SET enable_progress_bar_print = false")
for name, sql in spec["sql"].items():
    begun = time.perf_counter()
    rows[name] = [list(row) for row in con.execute(sql).fetchall()]
    seconds[name] = time.perf_counter() - begun
seconds["total"] = time.perf_counter() - started
cpu_seconds = cpu() - cpu_started
status = open("/proc/self/status").read().split("VmHWM:")[1].split()
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows, "peak_bytes": int(status[0]) * 1024}))
"""


def queries() -> tuple:
    return build_queries(DEFAULT_FIELDS, VPC_CIDR)[0]


def measure_project(source: Path) -> dict[str, Any]:
    """`make analyze`'s path over `source`: seconds per step, CPU seconds, the rows and the record count."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="flow-logs-benchmark-") as workdir:
        con = connect(Path(workdir) / "spill")
        load(con, files_of(source), DEFAULT_FIELDS, needed_fields())
        records = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        seconds = {"load": time.perf_counter() - started}
        rows = {}
        for query in queries():
            begun = time.perf_counter()
            rows[query.name] = [list(row) for row in run(con, query.duckdb, query.name).fetchall()]
            seconds[query.name] = time.perf_counter() - begun
        con.close()
    seconds["total"] = time.perf_counter() - started
    return {"records": records, "seconds": seconds, "cpu_seconds": cpu_seconds() - cpu_started, "rows": rows}


def cpu_seconds() -> float:
    """User and system time of every thread of this process so far: steadier than seconds on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bare_reader(local: LocalFiles) -> str:
    """The DuckDB table function a DuckDB user would write for these files."""
    paths = "[" + ", ".join(_sql_string(str(p)) for p in local.files) + "]"
    if local.kind == "parquet":
        return f"read_parquet({paths}, hive_partitioning = false)"
    fields, with_header = text_format(local.files, DEFAULT_FIELDS)
    if with_header and len(with_header) != len(local.files):
        raise SystemExit("the benchmark's text files must all have the header line, or none")
    columns = ", ".join(f"{_sql_string(f.replace('-', '_'))}: {_sql_string(duckdb_type(f))}" for f in fields)
    return (f"read_csv({paths}, delim = ' ', header = {str(bool(with_header)).lower()}, columns = {{{columns}}}, "
            f"nullstr = '{MISSING}', auto_detect = false)")


def bare_sql(local: LocalFiles) -> dict[str, str]:
    """Each query's DuckDB text with its table replaced by the files' reader."""
    reader = bare_reader(local)
    texts = {}
    for query in queries():
        text, replaced = re.subn(rf"\bFROM {TABLE}\b", lambda _: f"FROM {reader}", query.duckdb)
        if replaced != 1:
            raise SystemExit(f"{query.name}: expected one 'FROM {TABLE}' in its DuckDB text, found {replaced}")
        texts[query.name] = text
    return texts


def measure_bare(source: Path) -> dict[str, Any]:
    """Bare DuckDB over `source`, in a fresh isolated Python: seconds, rows and peak memory."""
    spec = json.dumps({"sql": bare_sql(files_of(source))})
    return _child([sys.executable, "-I", "-c", BARE_DUCKDB], spec, f"bare DuckDB on {source}")


def measured_project_in_child(source: Path) -> dict[str, Any]:
    return _child([sys.executable, "-m", "tools.benchmark_analyze", "--child", str(source)], None,
                  f"the project on {source}")


def _child(command: Sequence[str], stdin: Optional[str], what: str) -> dict[str, Any]:
    child = subprocess.run(command, input=stdin, stdout=subprocess.PIPE, text=True, check=False)
    if child.returncode:
        raise SystemExit(f"measuring {what} failed with exit code {child.returncode}")
    return json.loads(child.stdout)


def peak_resident_bytes() -> int:
    """This process's own high-water resident memory (VmHWM), every thread included.

    Not `ru_maxrss`: Linux carries that across fork and exec, so a child would report the
    peak of the parent that wrote the synthetic records.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


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


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"seconds": {step: statistics.median(run["seconds"][step] for run in runs) for step in runs[0]["seconds"]},
            "cpu_seconds": statistics.median(run["cpu_seconds"] for run in runs),
            "peak_bytes": max(run["peak_bytes"] for run in runs)}


def compare(project_runs: list[dict[str, Any]], bare_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of both paths and their ratios; the rows must be the same in every run."""
    for run_ in project_runs + bare_runs:
        if run_["rows"] != project_runs[0]["rows"]:
            raise SystemExit("the project and bare DuckDB returned different rows: they did not do the same work")
    records = project_runs[0]["records"]
    project, bare = _median(project_runs), _median(bare_runs)
    per_query_seconds = statistics.mean(s for step, s in bare["seconds"].items() if step != "total")
    return {"records": records, "project": project, "bare": bare,
            "seconds_ratio": project["seconds"]["total"] / bare["seconds"]["total"],
            "cpu_seconds_ratio": project["cpu_seconds"] / bare["cpu_seconds"],
            "project_records_per_second": records / project["seconds"]["total"],
            "bare_records_per_second_per_query": records / per_query_seconds}


def _ratio_lines(kind: str, result: dict[str, Any]) -> list[str]:
    records, project, bare = result["records"], result["project"]["seconds"], result["bare"]["seconds"]
    lines = []
    for step, seconds in project.items():
        theirs = bare.get(step)
        lines.append(f"| {kind} | {step} | {seconds:.2f} | {'-' if theirs is None else f'{theirs:.2f}'} | "
                     f"{'-' if theirs is None else f'{seconds / theirs:.2f}'} | {records / seconds:,.0f} |")
    return lines


def report(document: dict[str, Any]) -> str:
    results = document["results"]
    lines = [f"{document['records']:,} records; median of {document['runs']} runs, each in its own process, project "
             f"and bare DuckDB alternating; peak memory is the largest of the runs. DuckDB {document['duckdb']}, "
             f"load average at the start: {document['load_average']}.", "",
             "| source | step | project s | bare DuckDB s | project / bare | project records/s |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for kind, result in results.items():
        lines += _ratio_lines(kind, result)
    parquet, text = results["parquet"], results["text"]
    rate_ratio = text["project_records_per_second"] / text["bare_records_per_second_per_query"]
    lines += [
        "",
        f"- Parquet, 4 queries end to end: project / bare DuckDB = {parquet['seconds_ratio']:.2f} "
        f"(target ≤ {TARGET_PARQUET_RATIO}), project {parquet['project_records_per_second']:,.0f} records/s",
        "- CPU seconds (every thread), project / bare DuckDB: " + ", ".join(
            f"{kind} {r['project']['cpu_seconds']:.2f} / {r['bare']['cpu_seconds']:.2f} = {r['cpu_seconds_ratio']:.2f}"
            for kind, r in results.items()),
        f"- plain gz: the project reads the text once and answers all 4 queries at "
        f"{text['project_records_per_second']:,.0f} records/s; bare DuckDB answers one query over read_csv at "
        f"{text['bare_records_per_second_per_query']:,.0f} records/s (mean of the 4): {rate_ratio:.2f}x "
        f"(target ≥ {TARGET_TEXT_RATE_RATIO}); for all 4 queries project / bare DuckDB = {text['seconds_ratio']:.2f}",
        "- peak memory (MiB), project / bare DuckDB: " + ", ".join(
            f"{kind} {r['project']['peak_bytes'] / 2**20:,.0f} / {r['bare']['peak_bytes'] / 2**20:,.0f}"
            for kind, r in results.items())
        + f" (target: gz text ≤ {TARGET_TEXT_PEAK_BYTES / 10**9:.0f} GB = {TARGET_TEXT_PEAK_BYTES / 2**20:,.0f} MiB)",
        f"- pure-Python path (gzip + parse_record, timed on {PYTHON_SAMPLE:,} records and extrapolated): "
        f"{document['python_records_per_second']:,.0f} records/s; the project on plain gz is "
        f"{text['project_records_per_second'] / document['python_records_per_second']:.1f}x that",
    ]
    return "\n".join(lines)


def synthetic_data(folder: Path, records: int) -> Path:
    """The benchmark's records, written once, with a bar counting the files as they are written.

    `tools.synth` runs in a child whose stdout (DuckDB's own progress bar) is dropped, so that
    nothing but the report reaches this process's stdout.
    """
    data = folder / f"{records}-seed{SEED}"
    if (data / "complete").exists():
        return data
    writer = subprocess.Popen([sys.executable, "-m", "tools.synth", str(data), "--records", str(records),
                               "--seed", str(SEED), "--vpc-cidr", VPC_CIDR], stdout=subprocess.DEVNULL)
    files = 2 * max(1, -(-records // RECORDS_PER_HOUR))  # one gz and one Parquet file an hour
    with progress(total=files, desc=f"writing {records:,} synthetic records", unit=" files") as bar:
        while writer.poll() is None:
            time.sleep(0.5)
            written = sum(1 for path in data.rglob("*") if path.is_file()) if data.exists() else 0
            bar.update(written - bar.n)
    if writer.returncode:
        raise SystemExit(f"writing the synthetic records failed with exit code {writer.returncode}")
    (data / "complete").touch()
    return data


def benchmark(data: Path, runs: int) -> dict[str, Any]:
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    results = {}
    for kind in KINDS:
        project_runs, bare_runs = [], []
        with progress(total=2 * runs, desc=f"measuring {kind}", unit=" runs") as bar:
            for _ in range(runs):
                project_runs.append(measured_project_in_child(data / kind))
                bar.update()
                bare_runs.append(measure_bare(data / kind))
                bar.update()
        results[kind] = compare(project_runs, bare_runs)
    return {"records": results["text"]["records"], "runs": runs, "duckdb": duckdb.__version__,
            "load_average": load_average, "results": results,
            "python_records_per_second": python_parser_rate(files_of(data / "text").files, PYTHON_SAMPLE),
            "targets": {"parquet_seconds_ratio_at_most": TARGET_PARQUET_RATIO,
                        "text_rate_ratio_at_least": TARGET_TEXT_RATE_RATIO,
                        "text_peak_bytes_at_most": TARGET_TEXT_PEAK_BYTES}}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.benchmark_analyze", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(".benchmark-data"))
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        # The bars are still made and fed, as in `make analyze`, but never drawn over the parent's.
        flow_source.PROGRESS_DELAY_SECONDS = float("inf")
        print(json.dumps({**measure_project(args.child), "peak_bytes": peak_resident_bytes()}))
        return 0
    document = benchmark(synthetic_data(args.data, args.records), args.runs)
    print(json.dumps(document, indent=2) if args.format == "json" else report(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
