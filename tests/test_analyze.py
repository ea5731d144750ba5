"""`vpc-flow-logs analyze`: the named queries on DuckDB against an independent computation in plain Python.

The expected answers come from reading the synthetic files with `gzip` and `parse_record` and
counting in loops with `ipaddress`; DuckDB reads the same records as plain text and as Parquet.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import boto3
import pytest
import sqlglot
from sqlglot import ErrorLevel

from flowlogs.fields import DEFAULT_FIELDS, format_string, parse_log_format
from flowlogs.patterns import SSH_SOURCES, insights_queries
from flowlogs import analyze as analyze_tool
from flowlogs import cli, flow_source
from flowlogs.flow_source import files_of, iter_records
from flowlogs.queries import (DEFAULT_INTERVAL_SECONDS, NON_INTERNET_BLOCKS, PRIVATE_BLOCKS, QUERY_NAMES,
                              QUERY_SPECS, SSH_FROM_OUTSIDE, build_queries, to_duckdb)
from flowlogs.records import FlowRecord, parse_record
from tests.moto_server import running_moto_server
from tools.emulator import require_loopback
from tools.synth import write_synthetic

VPC_CIDR = "10.0.0.0/16"
# Extra fields before and after the default ones, and the default ones in another order.
CUSTOM_FORMAT = ("${log-status} ${vpc-id} ${subnet-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${srcport} ${dstport} "
                 "${protocol} ${tcp-flags} ${type} ${packets} ${bytes} ${start} ${end} ${action} ${flow-direction} "
                 "${pkt-dst-aws-service} ${reject-reason}")
TOP_N = 20
# AWS's default format and the version-5 fields the newer questions read: every question answers.
ALL_QUESTIONS_FIELDS = DEFAULT_FIELDS + ("pkt-dst-aws-service", "flow-direction", "reject-reason")
INSIGHTS_COUNTERPART = {SSH_FROM_OUTSIDE: SSH_SOURCES}


# The independent computation

def records_of_text(files: Iterable[Path], fields: Sequence[str]) -> list[FlowRecord]:
    records = []
    for path in files:
        with gzip.open(path, "rt") as text:
            lines = text.read().splitlines()
        if lines and lines[0].split() == list(fields):
            lines = lines[1:]
        records += [parse_record(line, fields) for line in lines]
    return records


def _sum(values: Iterable[Optional[int]]) -> Optional[int]:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _last(value: Any) -> tuple:
    """Sort key putting None after every value, as NULLS LAST does."""
    return (value is None, value if value is not None else 0)


def expected_summary(records: Sequence[FlowRecord]) -> list[dict]:
    starts = [r.start for r in records if r.start is not None]
    ends = [r.end for r in records if r.end is not None]
    return [{"records": len(records),
             "accepted": sum(r.action == "ACCEPT" for r in records),
             "rejected": sum(r.action == "REJECT" for r in records),
             "nodata": sum(r.log_status == "NODATA" for r in records),
             "skipdata": sum(r.log_status == "SKIPDATA" for r in records),
             "bytes": _sum(r.bytes for r in records) or 0,
             "first_start": min(starts) if starts else None,
             "last_end": max(ends) if ends else None}]


def expected_top_talkers(records: Sequence[FlowRecord], limit: int = TOP_N) -> list[dict]:
    groups: dict[tuple, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.srcaddr is not None and r.dstaddr is not None and r.bytes is not None:
            groups[(r.srcaddr, r.dstaddr)].append(r)
    rows = [{"srcaddr": s, "dstaddr": d, "bytes": _sum(r.bytes for r in rs), "packets": _sum(r.packets for r in rs),
             "flows": len(rs)} for (s, d), rs in groups.items()]
    rows.sort(key=lambda row: (-row["bytes"], -row["flows"], row["srcaddr"], row["dstaddr"]))
    return _top(rows, limit)


def _top(rows: list[dict], limit: int) -> list[dict]:
    return rows[:limit] if limit else rows


def expected_rejected_by_port(records: Sequence[FlowRecord], limit: int = TOP_N) -> list[dict]:
    groups: dict[tuple, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.action == "REJECT":
            groups[(r.dstport, r.protocol)].append(r)
    rows = [{"dstport": port, "protocol": protocol, "flows": len(rs), "packets": _sum(r.packets for r in rs)}
            for (port, protocol), rs in groups.items()]
    rows.sort(key=lambda row: (-row["flows"], _last(None if row["packets"] is None else -row["packets"]),
                               _last(row["dstport"]), _last(row["protocol"])))
    return _top(rows, limit)


def outside(address: str, network: ipaddress.IPv4Network) -> bool:
    parsed = ipaddress.ip_address(address)
    return parsed.version != network.version or parsed not in network


def expected_ssh_from_outside(records: Sequence[FlowRecord], vpc_cidr: str, limit: int = TOP_N) -> list[dict]:
    network = ipaddress.ip_network(vpc_cidr)
    groups: dict[str, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if (r.action == "ACCEPT" and r.protocol == 6 and r.dstport == 22 and r.srcaddr is not None
                and outside(r.srcaddr, network)):
            groups[r.srcaddr].append(r)
    rows = [{"srcaddr": s, "flows": len(rs), "bytes": _sum(r.bytes for r in rs)} for s, rs in groups.items()]
    rows.sort(key=lambda row: (-row["flows"], _last(None if row["bytes"] is None else -row["bytes"]), row["srcaddr"]))
    return _top(rows, limit)


def expected_top_rejected_sources(records: Sequence[FlowRecord], limit: int = TOP_N) -> list[dict]:
    groups: dict[str, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.action == "REJECT" and r.srcaddr is not None:
            groups[r.srcaddr].append(r)
    rows = [{"srcaddr": s, "flows": len(rs), "ports": len({r.dstport for r in rs if r.dstport is not None}),
             "targets": len({r.dstaddr for r in rs if r.dstaddr is not None}), "packets": _sum(r.packets for r in rs)}
            for s, rs in groups.items()]
    rows.sort(key=lambda row: (-row["flows"], -row["ports"], row["srcaddr"]))
    return _top(rows, limit)


def _ipv4_in(address: Optional[str], networks: Sequence[ipaddress.IPv4Network]) -> bool:
    """An IPv4 address inside one of `networks`; False for IPv6 (IPv4-mapped included) and no address."""
    if address is None:
        return False
    parsed = ipaddress.ip_address(address)
    return parsed.version == 4 and any(parsed in network for network in networks)


def expected_egress_to_internet(records: Sequence[FlowRecord], vpc_cidr: Optional[str],
                                limit: int = TOP_N) -> list[dict]:
    inside = [ipaddress.ip_network(vpc_cidr)] if vpc_cidr else list(PRIVATE_BLOCKS)
    groups: dict[tuple, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if (r.action == "ACCEPT" and r.bytes is not None and _ipv4_in(r.srcaddr, inside) and r.dstaddr is not None
                and ipaddress.ip_address(r.dstaddr).version == 4
                and not _ipv4_in(r.dstaddr, list(NON_INTERNET_BLOCKS) + inside)):
            groups[(r.srcaddr, r.dstaddr)].append(r)
    rows = [{"srcaddr": s, "dstaddr": d, "bytes": _sum(r.bytes for r in rs), "packets": _sum(r.packets for r in rs),
             "flows": len(rs)} for (s, d), rs in groups.items()]
    rows.sort(key=lambda row: (-row["bytes"], -row["flows"], row["srcaddr"], row["dstaddr"]))
    return _top(rows, limit)


def expected_traffic_over_time(records: Sequence[FlowRecord], interval: int = DEFAULT_INTERVAL_SECONDS) -> list[dict]:
    rows: dict[int, dict] = {}
    for r in records:
        if r.action in ("ACCEPT", "REJECT") and r.start is not None:
            key = r.start // interval * interval
            row = rows.setdefault(key, {"interval_start": key, "accepted_flows": 0, "rejected_flows": 0,
                                        "accepted_bytes": 0, "rejected_bytes": 0})
            side = "accepted" if r.action == "ACCEPT" else "rejected"
            row[f"{side}_flows"] += 1
            row[f"{side}_bytes"] += r.bytes or 0
    return [rows[key] for key in sorted(rows)]


def expected_by_aws_service(records: Sequence[FlowRecord], limit: int = TOP_N) -> list[dict]:
    groups: dict[str, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.values.get("pkt-dst-aws-service") is not None:
            groups[r.values["pkt-dst-aws-service"]].append(r)
    rows = [{"pkt_dst_aws_service": name, "flows": len(rs), "bytes": _sum(r.bytes for r in rs) or 0}
            for name, rs in groups.items()]
    rows.sort(key=lambda row: (-row["bytes"], -row["flows"], row["pkt_dst_aws_service"]))
    return _top(rows, limit)


def expected_by_flow_direction(records: Sequence[FlowRecord]) -> list[dict]:
    groups: dict[tuple, list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.values.get("flow-direction") is not None and r.action is not None:
            groups[(r.values["flow-direction"], r.action)].append(r)
    return [{"flow_direction": direction, "action": action, "flows": len(rs),
             "packets": _sum(r.packets for r in rs) or 0, "bytes": _sum(r.bytes for r in rs) or 0}
            for (direction, action), rs in sorted(groups.items())]


def expected_reject_reasons(records: Sequence[FlowRecord]) -> list[dict]:
    groups: dict[Optional[str], list[FlowRecord]] = defaultdict(list)
    for r in records:
        if r.action == "REJECT":
            groups[r.values.get("reject-reason")].append(r)
    rows = [{"reject_reason": reason, "flows": len(rs), "packets": _sum(r.packets for r in rs) or 0}
            for reason, rs in groups.items()]
    rows.sort(key=lambda row: (-row["flows"], _last(row["reject_reason"])))
    return rows


def expected(records: Sequence[FlowRecord], vpc_cidr: Optional[str], fields: Sequence[str] = DEFAULT_FIELDS, *,
             limit: int = TOP_N, interval: int = DEFAULT_INTERVAL_SECONDS) -> dict[str, list[dict]]:
    """Every named query's rows that the format can answer (and a VPC block, where one is needed)."""
    every = {"summary": lambda: expected_summary(records),
             "top-talkers": lambda: expected_top_talkers(records, limit),
             "rejected-by-port": lambda: expected_rejected_by_port(records, limit),
             "ssh-from-outside": lambda: expected_ssh_from_outside(records, vpc_cidr, limit),
             "top-rejected-sources": lambda: expected_top_rejected_sources(records, limit),
             "egress-to-internet": lambda: expected_egress_to_internet(records, vpc_cidr, limit),
             "traffic-over-time": lambda: expected_traffic_over_time(records, interval),
             "by-aws-service": lambda: expected_by_aws_service(records, limit),
             "by-flow-direction": lambda: expected_by_flow_direction(records),
             "reject-reasons": lambda: expected_reject_reasons(records)}
    assert set(every) == set(QUERY_NAMES), "a named query has no independent computation here"
    answerable = {spec.name for spec in QUERY_SPECS if set(spec.needs) <= set(fields)
                  and (vpc_cidr or not spec.needs_vpc_cidr)}
    return {name: compute() for name, compute in every.items() if name in answerable}


# Synthetic sources, written once per format and layout

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    made: dict[tuple, tuple[Path, list[FlowRecord]]] = {}

    def get(log_format: Optional[str], hive: bool = True, header: bool = True, records: int = 4000):
        key = (log_format, hive, header, records)
        if key not in made:
            fields = parse_log_format(log_format)
            out = tmp_path_factory.mktemp("synth")
            written = write_synthetic(out, records, seed=7, fields=fields, hive=hive, header=header,
                                      vpc_cidr=VPC_CIDR)
            made[key] = (out, records_of_text(written["text"], fields))
        return made[key]
    return get


SOURCES = [
    pytest.param(None, "text", True, True, id="default-format-plain-gz-with-header"),
    pytest.param(None, "parquet", True, True, id="default-format-parquet-hive"),
    pytest.param(CUSTOM_FORMAT, "text", False, False, id="custom-format-plain-gz-no-header"),
    pytest.param(CUSTOM_FORMAT, "parquet", False, False, id="custom-format-parquet-no-hive"),
]


@pytest.mark.parametrize("log_format,kind,hive,header", SOURCES)
def test_duckdb_answers_equal_the_python_computation(synthetic, log_format, kind, hive, header):
    out, records = synthetic(log_format, hive=hive, header=header)
    analysis = analyze_tool.analyze(str(out / kind), fields=parse_log_format(log_format), vpc_cidr=VPC_CIDR)
    want = expected(records, VPC_CIDR, parse_log_format(log_format))
    assert set(analysis.results) == set(want), out / kind
    for name in want:
        assert analysis.results[name] == want[name], f"{name} on {out / kind}"


def test_synthetic_data_reaches_every_case_the_queries_distinguish(synthetic):
    _, records = synthetic(None)
    statuses = {r.log_status for r in records}
    ssh = expected_ssh_from_outside(records, VPC_CIDR)
    assert {"OK", "NODATA", "SKIPDATA"} <= statuses, statuses
    assert any(":" in row["srcaddr"] for row in ssh), ssh
    assert len(expected_rejected_by_port(records)) == TOP_N


def test_header_line_gives_the_format_without_a_stack(synthetic):
    out, records = synthetic(CUSTOM_FORMAT, header=True)
    analysis = analyze_tool.analyze(str(out / "text"), vpc_cidr=VPC_CIDR)
    assert analysis.fields == parse_log_format(CUSTOM_FORMAT), out
    assert analysis.records == len(records), out


@pytest.mark.parametrize("kind", ["text", "parquet"])
def test_iter_records_yields_every_record_through_the_parser(synthetic, kind):
    out, records = synthetic(CUSTOM_FORMAT, header=True)
    found = list(iter_records(files_of(out / kind), parse_log_format(CUSTOM_FORMAT)))
    assert found == records, out / kind


# The texts

@pytest.mark.parametrize("name", QUERY_NAMES)
def test_athena_text_parses_as_trino(name):
    (query,), _ = build_queries(ALL_QUESTIONS_FIELDS, VPC_CIDR, (name,))
    parsed = sqlglot.parse_one(query.trino, read="trino", error_level=ErrorLevel.RAISE)
    assert parsed.find(sqlglot.exp.Table).name == "flow_logs", query.trino


def test_trino_functions_are_written_as_duckdbs():
    assert to_duckdb("SELECT approx_distinct(srcaddr) FROM flow_logs") == (
        "SELECT\n  APPROX_COUNT_DISTINCT(srcaddr)\nFROM flow_logs")


def test_a_format_without_a_needed_field_leaves_the_query_out_with_the_reason():
    fields = tuple(f for f in DEFAULT_FIELDS if f != "bytes")
    queries, left_out = build_queries(fields, VPC_CIDR)
    reasons = {item.name: item.reason for item in left_out}
    assert [q.name for q in queries] == ["rejected-by-port", "top-rejected-sources"], reasons
    assert {"summary", "top-talkers", "ssh-from-outside", "egress-to-internet", "traffic-over-time"} <= set(reasons)
    assert all("bytes" in reasons[name] for name in ("summary", "top-talkers", "traffic-over-time")), reasons


def test_ssh_from_outside_without_a_vpc_block_is_left_out():
    queries, left_out = build_queries(DEFAULT_FIELDS, None, ("summary", "ssh-from-outside"))
    assert "ssh-from-outside" not in [q.name for q in queries]
    assert [item.name for item in left_out] == ["ssh-from-outside"] and "--vpc-cidr" in left_out[0].reason


def test_saved_logs_insights_queries_ask_the_same_questions():
    """CloudWatch keeps its own syntax; each SQL query has a saved Logs Insights counterpart."""
    insights = {query.key for query in insights_queries(DEFAULT_FIELDS, VPC_CIDR)}
    first_four = QUERY_NAMES[:4]
    assert {INSIGHTS_COUNTERPART.get(name, name) for name in first_four} == insights


def test_logs_insights_summary_is_left_out_for_a_format_without_its_fields():
    fields = tuple(f for f in DEFAULT_FIELDS if f != "log-status")
    keys = [query.key for query in insights_queries(fields, VPC_CIDR)]
    assert "summary" not in keys and "top-talkers" in keys, keys


# Outside the VPC, exactly

EDGE_BLOCK = "10.0.16.0/20"
EDGE_SOURCES = {
    "10.0.15.255": True, "10.0.16.0": False, "10.0.16.1": False, "10.0.31.255": False, "10.0.32.0": True,
    "0.0.0.0": True, "255.255.255.255": True, "10.0.160.0": True, "110.0.16.1": True,
    "2001:db8::1": True, "::ffff:10.0.16.1": True, "::": True, "::10.0.16.1": True,
}


def test_ssh_from_outside_is_exact_on_the_block_edges_and_counts_ipv6_as_outside(tmp_path):
    lines = [f"2 123456789012 eni-1 {source} 10.0.16.5 40000 22 6 3 300 100 160 ACCEPT OK" for source in EDGE_SOURCES]
    (tmp_path / "edges.log").write_text("\n".join(lines) + "\n")
    analysis = analyze_tool.analyze(str(tmp_path / "edges.log"), vpc_cidr=EDGE_BLOCK, names=("ssh-from-outside",))
    got = {row["srcaddr"] for row in analysis.results["ssh-from-outside"]}
    network = ipaddress.ip_network(EDGE_BLOCK)
    assert got == {s for s in EDGE_SOURCES if outside(s, network)}
    assert got == {s for s, is_outside in EDGE_SOURCES.items() if is_outside}


# The command

def main(argv: Sequence[str]) -> int:
    """`vpc-flow-logs analyze ARGV`, in this process."""
    return cli.main(["analyze", *argv])


def _write_records(path: Path, lines: Sequence[str]) -> Path:
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")
    return path


def test_a_bad_line_exits_2_with_the_path_and_the_line(tmp_path, capsys):
    good = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 300 100 160 ACCEPT OK"
    path = _write_records(tmp_path / "records.log.gz", [good, good, "2 123456789012 eni-1 not a record", good])
    code = main([str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(path) in err and "line 3" in err and "not a record" in err, err
    assert "Traceback" not in err


def test_a_missing_source_exits_2_naming_it(tmp_path, capsys):
    code = main([str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2 and "nowhere" in err, err


def test_json_output_is_one_document_with_every_query(synthetic, capsys):
    out, records = synthetic(None)
    code = main([str(out / "parquet"), "--vpc-cidr", VPC_CIDR, "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["records"] == len(records) and document["format"] == format_string(DEFAULT_FIELDS)
    assert list(document["queries"]) == list(expected(records, VPC_CIDR)), document["queries"].keys()


def test_text_output_aligns_columns(synthetic, capsys):
    out, _ = synthetic(None)
    main([str(out / "text"), "--query", "top-talkers"])
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index("top-talkers: Top talkers by bytes") + 1:]
    header, rule = table[0], table[1]
    assert [len(part) for part in rule.split("  ")] == [len(cell) for cell in _cells(header, rule)], table[:3]
    assert all(len(row) <= len(rule) for row in table[2:]), table


def test_progress_shows_on_stderr_and_never_in_the_json(synthetic, capsys, monkeypatch):
    monkeypatch.setattr(flow_source, "PROGRESS_DELAY_SECONDS", 0)
    out, records = synthetic(None)
    main([str(out / "text"), "--format", "json"])
    captured = capsys.readouterr()
    assert "reading records" in captured.err, captured.err
    assert json.loads(captured.out)["records"] == len(records)


def _cells(header: str, rule: str) -> list[str]:
    """The header's cells cut at the rule's column boundaries."""
    cells, start = [], 0
    for part in rule.split("  "):
        cells.append(header[start:start + len(part)])
        start += len(part) + 2
    return cells


def test_stack_gives_the_custom_format_and_vpc_block(tmp_path):
    from config.settings import settings_from_stack_file, stack_file_of
    settings = settings_from_stack_file(stack_file_of("prod"))
    written = write_synthetic(tmp_path, 2000, seed=3, fields=settings.log_fields, header=False,
                              vpc_cidr=settings.vpc_cidr, kinds=("text",))
    records = records_of_text(written["text"], settings.log_fields)
    code_and_doc = _run_json(["--stack", "prod", str(tmp_path / "text")])
    assert code_and_doc["format"] == format_string(settings.log_fields)
    assert code_and_doc["queries"]["ssh-from-outside"] == expected_ssh_from_outside(records, settings.vpc_cidr)


def _run_json(argv: list[str]) -> dict:
    import contextlib
    import io
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(argv + ["--format", "json"]) == 0
    return json.loads(stdout.getvalue())


# Remote sources on moto

@pytest.fixture(scope="module")
def moto_endpoint():
    with running_moto_server() as endpoint:
        yield require_loopback(endpoint)


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return lambda service: boto3.client(service, region_name="us-east-1", endpoint_url=moto_endpoint)


@pytest.mark.parametrize("kind", ["text", "parquet"])
def test_s3_source_reads_what_the_bucket_holds(synthetic, aws, moto_endpoint, kind):
    out, records = synthetic(None)
    s3 = aws("s3")
    bucket = f"flow-logs-{kind}"
    s3.create_bucket(Bucket=bucket)
    for path in (out / kind).rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"exports/{path.relative_to(out / kind)}")
    document = _run_json([f"s3://{bucket}/exports/AWSLogs/", "--vpc-cidr", VPC_CIDR,
                          "--endpoint-url", moto_endpoint, "--region", "us-east-1"])
    assert document["queries"] == expected(records, VPC_CIDR), f"s3://{bucket}/exports/"


def test_log_group_source_reads_every_event(synthetic, aws, moto_endpoint):
    out, records = synthetic(None, records=1500)
    logs = aws("logs")
    logs.create_log_group(logGroupName="/vpc/flow-logs")
    logs.create_log_stream(logGroupName="/vpc/flow-logs", logStreamName="eni-1-all")
    lines = []
    now_ms = int(time.time() * 1000)  # moto refuses events older than the retention window
    for path in sorted((out / "text").rglob("*.gz")):
        with gzip.open(path, "rt") as text:
            lines += text.read().splitlines()[1:]
    logs.put_log_events(logGroupName="/vpc/flow-logs", logStreamName="eni-1-all",
                        logEvents=[{"timestamp": now_ms + i, "message": line} for i, line in enumerate(lines)])
    analysis = analyze_tool.analyze("cwl:///vpc/flow-logs", vpc_cidr=VPC_CIDR, endpoint_url=moto_endpoint,
                                    region="us-east-1")
    assert analysis.results == expected(records, VPC_CIDR), "cwl:///vpc/flow-logs"


# The README shows the texts this code generates

README = Path(__file__).resolve().parents[1] / "README.md"
README_QUERIES = ("<!-- generated queries: start -->", "<!-- generated queries: end -->")


def queries_markdown() -> str:
    """Each query's Athena and DuckDB text, for ALL_QUESTIONS_FIELDS and the lab's VPC block."""
    queries, left_out = build_queries(ALL_QUESTIONS_FIELDS, VPC_CIDR)
    assert not left_out, left_out
    parts = []
    for query in queries:
        parts += [f"#### `{query.name}`: {query.title}", "", "Athena (Trino):", "", "```sql", query.trino, "```", "",
                  "DuckDB (carried over by sqlglot):", "", "```sql", query.duckdb, "```", ""]
    return "\n".join(parts)


def test_readme_shows_the_generated_query_texts():
    text = README.read_text()
    start, end = README_QUERIES
    assert start in text and end in text, f"{README} lacks the markers {README_QUERIES}"
    shown = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert shown == queries_markdown().strip(), "README query texts differ from the generated ones"


def test_a_file_that_is_not_parquet_exits_2_naming_the_source(tmp_path, capsys):
    (tmp_path / "records.log.parquet").write_bytes(b"PAR1 this is not a Parquet file")
    code = main([str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "records.log.parquet" in err and "Traceback" not in err, err


def test_a_bad_value_in_a_field_no_query_reads_still_exits_2(tmp_path, capsys):
    good = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 300 100 160 ACCEPT OK"
    path = _write_records(tmp_path / "records.log.gz", [good, good.replace(" 40000 ", " port ")])
    code = main([str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "line 2" in err and "srcport" in err, err
