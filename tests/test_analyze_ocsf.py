"""`vpc-flow-logs analyze --format ocsf`: one event per record the filters keep, the same records DuckDB counts."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from flowlogs import cli
from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.flow_source import files_of, iter_records
from flowlogs.ocsf import ocsf_lines
from tests.report_document import synthetic_text


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return synthetic_text(tmp_path_factory.mktemp("ocsf"), records=1200, seed=5)


@pytest.fixture(scope="module")
def records(source):
    return list(iter_records(files_of(source), DEFAULT_FIELDS))


def _printed(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_without_filters_every_record_is_one_event_line(source, records, capsys):
    code, out, _ = _printed(capsys, ["analyze", str(source), "--format", "ocsf"])
    assert code == 0
    assert out.splitlines() == list(ocsf_lines(records)), "the events are not ocsf_lines of the records in order"


def _filters(records) -> dict[str, list[str]]:
    """One value of each filter, taken from the records so each keeps some and drops some."""
    starts = sorted(r.start for r in records if r.start is not None)
    middle = starts[len(starts) // 2]
    address = next(r.srcaddr for r in records if r.srcaddr and ":" not in r.srcaddr)
    block = str(ipaddress.ip_network(f"{address}/24", strict=False))
    return {"since": ["--since", str(middle)], "until": ["--until", str(middle)],
            "interface": ["--interface", records[0].interface_id], "address": ["--address", address],
            "block": ["--address", block], "action": ["--action", "REJECT"],
            "combined": ["--since", str(middle), "--action", "ACCEPT"]}


@pytest.mark.parametrize("name", ["since", "until", "interface", "address", "block", "action", "combined"])
def test_each_filter_keeps_the_records_duckdb_counts(source, records, capsys, name):
    options = _filters(records)[name]
    code, out, err = _printed(capsys, ["analyze", str(source), "--format", "json", "--query", "summary", *options])
    assert code == 0, err
    matching = json.loads(out)["matching"]
    code, out, err = _printed(capsys, ["analyze", str(source), "--format", "ocsf", *options])
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert 0 < len(events) < len(records), f"{options} keeps {len(events)} of {len(records)}: not a narrowing test"
    assert len(events) == matching, f"{options}: {len(events)} events, DuckDB counts {matching} matching records"


@pytest.mark.parametrize("asked", [["--query", "summary"], ["--sql", "SELECT 1"]])
def test_a_question_with_ocsf_is_refused_with_exit_2(source, capsys, asked):
    code, out, err = _printed(capsys, ["analyze", str(source), "--format", "ocsf", *asked])
    assert code == 2 and not out
    assert asked[0] in err and "--format ocsf" in err and "Traceback" not in err


def test_a_filter_on_a_field_the_format_lacks_exits_2(tmp_path, capsys):
    records = tmp_path / "records.log"
    records.write_text("version srcaddr dstaddr action\n2 10.0.0.1 10.0.0.2 ACCEPT\n")
    code, out, err = _printed(capsys, ["analyze", str(records), "--format", "ocsf", "--interface", "eni-1"])
    assert code == 2 and not out and "interface-id" in err, err


def test_ocsf_on_an_engine_is_refused_with_exit_2(source, capsys):
    code, out, err = _printed(capsys, ["analyze", str(source), "--format", "ocsf", "--engine", "trino"])
    assert code == 2 and not out and "--engine" in err and "Traceback" not in err, err
