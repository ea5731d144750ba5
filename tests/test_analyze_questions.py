"""`vpc-flow-logs analyze`: --sql, the filters, --limit and --interval, bad input, readable text.

Every answer is held to tests.test_analyze's independent computation (plain Python over the
project's parser), on the same synthetic records DuckDB reads; filtered answers are that
computation over the records a plain-Python filter keeps.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
from typing import Sequence

import pytest

from flowlogs import analyze as analyze_tool
from flowlogs import cli
from flowlogs.fields import parse_log_format
from flowlogs.filters import Filters, parse_filters
from flowlogs.queries import QUERY_SPECS, TRAFFIC_OVER_TIME
from flowlogs.readable import iso_utc
from flowlogs.records import FlowRecord, parse_record
from tests.test_analyze import (CUSTOM_FORMAT, VPC_CIDR, expected, expected_egress_to_internet,
                                expected_reject_reasons, expected_traffic_over_time, records_of_text)
from tools.synth import FIRST_HOUR, write_synthetic

V5_FORMAT = CUSTOM_FORMAT + " ${interface-id}"


@pytest.fixture(scope="module")
def v5(tmp_path_factory):
    """Synthetic records in a format every named question can answer, as text; and those records."""
    fields = parse_log_format(V5_FORMAT)
    out = tmp_path_factory.mktemp("v5")
    written = write_synthetic(out, 3000, seed=11, fields=fields, kinds=("text",), vpc_cidr=VPC_CIDR)
    return out / "text", fields, records_of_text(written["text"], fields)


def run(argv: Sequence[str]) -> tuple[int, str, str]:
    """`vpc-flow-logs analyze ARGV` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(["analyze", *argv])
        except SystemExit as exit_:  # argparse's own refusals
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def document(argv: Sequence[str]) -> dict:
    code, out, err = run([*argv, "--format", "json"])
    assert code == 0, err
    return json.loads(out)


# Every named question

def test_every_named_question_equals_the_python_computation(v5):
    source, fields, records = v5
    analysis = analyze_tool.analyze(str(source), fields=fields, vpc_cidr=VPC_CIDR)
    want = expected(records, VPC_CIDR, fields)
    assert set(want) == {spec.name for spec in QUERY_SPECS}, "the format should answer every question"
    for name, rows in want.items():
        assert analysis.results[name] == rows, name


def test_the_synthetic_records_give_each_new_question_rows_to_count(v5):
    source, fields, records = v5
    want = expected(records, VPC_CIDR, fields)
    for name in ("top-rejected-sources", "egress-to-internet", "by-aws-service", "by-flow-direction"):
        assert len(want[name]) >= 2, (name, want[name])
    assert want["reject-reasons"], "the synthetic records always give BPA; the next test covers no reason"
    assert len(want[TRAFFIC_OVER_TIME]) >= 6, want[TRAFFIC_OVER_TIME]


def test_traffic_over_time_keeps_its_contract_for_the_report(v5):
    source, fields, _ = v5
    rows = document([str(source), "--log-format", V5_FORMAT, "--query", TRAFFIC_OVER_TIME])["queries"][
        TRAFFIC_OVER_TIME]
    assert all(list(row) == ["interval_start", "accepted_flows", "rejected_flows", "accepted_bytes",
                             "rejected_bytes"] for row in rows), rows[:2]
    assert all(isinstance(row["interval_start"], int) for row in rows), rows[:2]
    assert document([str(source), "--log-format", V5_FORMAT, "--query", TRAFFIC_OVER_TIME, "--interval", "60"])[
        "interval_seconds"] == 60
    starts = [row["interval_start"] for row in rows]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), starts


def test_egress_without_a_vpc_block_counts_sources_in_the_private_ranges(v5):
    source, fields, records = v5
    rows = document([str(source), "--log-format", V5_FORMAT, "--query", "egress-to-internet", "--limit", "0"])[
        "queries"]["egress-to-internet"]
    assert rows and rows == expected_egress_to_internet(records, None, 0)


def test_reject_reasons_counts_rejects_without_a_reason_last(tmp_path):
    log_format = "${srcaddr} ${action} ${packets} ${reject-reason}"
    lines = ["10.0.0.1 REJECT 2 BPA", "10.0.0.2 REJECT 3 -", "10.0.0.3 REJECT 4 -", "10.0.0.4 ACCEPT 9 -",
             "10.0.0.5 REJECT 1 BPA", "10.0.0.6 REJECT 1 BPA"]
    (tmp_path / "r.log").write_text("\n".join(lines) + "\n")
    rows = document([str(tmp_path / "r.log"), "--log-format", log_format])["queries"]["reject-reasons"]
    records = [parse_record(line, parse_log_format(log_format)) for line in lines]
    assert rows == expected_reject_reasons(records)
    assert [row["reject_reason"] for row in rows] == ["BPA", None], rows


@pytest.mark.parametrize("interval", [60, 900])
def test_interval_sets_traffic_over_time_buckets(v5, interval):
    source, fields, records = v5
    rows = document([str(source), "--log-format", V5_FORMAT, "--query", TRAFFIC_OVER_TIME,
                     "--interval", str(interval)])["queries"][TRAFFIC_OVER_TIME]
    assert rows == expected_traffic_over_time(records, interval), interval
    assert all(row["interval_start"] % interval == 0 for row in rows), interval


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_limit_cuts_every_top_n_question_and_zero_means_all(v5, limit):
    source, fields, records = v5
    got = document([str(source), "--log-format", V5_FORMAT, "--vpc-cidr", VPC_CIDR, "--limit", str(limit)])
    want = expected(records, VPC_CIDR, fields, limit=limit)
    assert got["queries"] == want, limit


def test_ssh_from_outside_shows_more_than_twenty_sources_when_asked(tmp_path):
    lines = [f"2 123456789012 eni-1 203.0.113.{i} 10.0.0.5 40000 22 6 3 300 100 160 ACCEPT OK" for i in range(1, 31)]
    (tmp_path / "ssh.log").write_text("\n".join(lines) + "\n")
    rows = document([str(tmp_path / "ssh.log"), "--vpc-cidr", VPC_CIDR, "--query", "ssh-from-outside",
                     "--limit", "0"])["queries"]["ssh-from-outside"]
    assert sorted(row["srcaddr"] for row in rows) == sorted(f"203.0.113.{i}" for i in range(1, 31))


@pytest.mark.parametrize("name", [spec.name for spec in QUERY_SPECS])
def test_each_question_is_left_out_naming_a_field_it_needs(name):
    spec = next(spec for spec in QUERY_SPECS if spec.name == name)
    fields = tuple(f for f in parse_log_format(V5_FORMAT) if f != spec.needs[-1])
    _, left_out = analyze_tool.build_queries(fields, VPC_CIDR, (name,))
    assert [item.name for item in left_out] == [name]
    assert spec.needs[-1] in left_out[0].reason and "does not include" in left_out[0].reason, left_out[0].reason


def test_left_out_questions_are_in_the_json_with_their_reasons(tmp_path):
    (tmp_path / "a.log").write_text("2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 300 100 160 ACCEPT OK\n")
    got = document([str(tmp_path / "a.log")])
    assert {"by-aws-service", "by-flow-direction", "reject-reasons", "ssh-from-outside"} <= set(got["left_out"])
    assert "pkt-dst-aws-service" in got["left_out"]["by-aws-service"], got["left_out"]


# --sql

def test_sql_answers_what_python_counts(v5):
    source, fields, records = v5
    sql = ("SELECT dstport, count(*) AS flows FROM flow_logs WHERE action = 'REJECT' AND dstport IS NOT NULL "
           "GROUP BY dstport ORDER BY flows DESC, dstport LIMIT 5")
    got = document([str(source), "--log-format", V5_FORMAT, "--sql", sql])
    counts: dict[int, int] = {}
    for r in records:
        if r.action == "REJECT" and r.dstport is not None:
            counts[r.dstport] = counts.get(r.dstport, 0) + 1
    want = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert [(row["dstport"], row["flows"]) for row in got["queries"]["sql"]] == want
    assert list(got["queries"]) == ["sql"] and got["left_out"] == {}


def test_sql_in_trinos_dialect_is_carried_to_duckdb(v5):
    source, fields, records = v5
    sql = "SELECT approx_distinct(srcaddr) AS sources, cardinality(array_agg(srcaddr)) AS n FROM flow_logs"
    (row,) = document([str(source), "--log-format", V5_FORMAT, "--sql", sql])["queries"]["sql"]
    assert row["n"] == len(records), row  # array_agg keeps NULLs, on Trino as on DuckDB
    exact = len({r.srcaddr for r in records if r.srcaddr is not None})
    assert abs(row["sources"] - exact) <= exact * 0.1, (row, exact)


def test_sql_from_a_file(v5, tmp_path):
    source, _, records = v5
    (tmp_path / "q.sql").write_text("SELECT count(*) AS n FROM flow_logs WHERE log_status = 'NODATA'\n")
    (row,) = document([str(source), "--log-format", V5_FORMAT, "--sql", f"@{tmp_path / 'q.sql'}"])["queries"]["sql"]
    assert row["n"] == sum(r.log_status == "NODATA" for r in records)


# The filters, each against a plain-Python filter of the same records

def kept(records: Sequence[FlowRecord], filters: Filters) -> list[FlowRecord]:
    def keeps(r: FlowRecord) -> bool:
        if filters.since is not None and (r.end is None or r.end < filters.since):
            return False
        if filters.until is not None and (r.start is None or r.start >= filters.until):
            return False
        if filters.interfaces and r.interface_id not in filters.interfaces:
            return False
        if filters.addresses and not any(
                a is not None and ipaddress.ip_address(a).version == n.version and ipaddress.ip_address(a) in n
                for a in (r.srcaddr, r.dstaddr) for n in filters.addresses):
            return False
        return filters.action is None or r.action == filters.action
    return [r for r in records if keeps(r)]


FILTER_CASES = [
    pytest.param(["--since", iso_utc(FIRST_HOUR + 1800)], id="since-iso"),
    pytest.param(["--until", str(FIRST_HOUR + 1200)], id="until-epoch"),
    pytest.param(["--since", "2026-11-28T00:20:00+00:00", "--until", "2026-11-28T00:40"], id="window"),
    pytest.param(["--interface", "eni-00000000000000003", "--interface", "eni-00000000000000001"], id="interfaces"),
    pytest.param(["--address", "10.0.0.0/24"], id="ipv4-block"),
    pytest.param(["--address", "198.51.100.7"], id="one-address"),
    pytest.param(["--address", "2001:db8:bad::1"], id="ipv6-address"),
    pytest.param(["--action", "reject"], id="action"),
    pytest.param(["--action", "ACCEPT", "--address", "10.0.0.0/16", "--since", iso_utc(FIRST_HOUR + 600)],
                 id="combined"),
]


def _filters_of(argv: Sequence[str]) -> Filters:
    options = {"--since": "since", "--until": "until", "--action": "action"}
    values: dict = {"interfaces": [], "addresses": []}
    for option, value in zip(argv[::2], argv[1::2]):
        if option == "--interface":
            values["interfaces"].append(value)
        elif option == "--address":
            values["addresses"].append(value)
        else:
            values[options[option]] = value
    return parse_filters(**values)


@pytest.mark.parametrize("argv", FILTER_CASES)
def test_a_filter_narrows_every_named_question(v5, argv):
    source, fields, records = v5
    narrowed = kept(records, _filters_of(argv))
    assert 0 < len(narrowed) < len(records), "the case should keep some records and drop others"
    got = document([str(source), "--log-format", V5_FORMAT, "--vpc-cidr", VPC_CIDR, *argv])
    assert got["matching"] == len(narrowed) and got["records"] == len(records)
    assert got["queries"] == expected(narrowed, VPC_CIDR, fields), argv


@pytest.mark.parametrize("argv", FILTER_CASES[:2] + FILTER_CASES[7:8])
def test_a_filter_narrows_sql_too(v5, argv):
    source, _, records = v5
    got = document([str(source), "--log-format", V5_FORMAT, *argv, "--sql", "SELECT count(*) AS n FROM flow_logs"])
    assert got["queries"]["sql"] == [{"n": len(kept(records, _filters_of(argv)))}], argv


def test_a_relative_since_counts_back_from_now(tmp_path):
    import time
    now = int(time.time())
    lines = [f"2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 300 {now - age} {now - age + 60} ACCEPT OK"
             for age in (60, 1800, 5400, 9000)]
    (tmp_path / "recent.log").write_text("\n".join(lines) + "\n")
    got = document([str(tmp_path / "recent.log"), "--since", "2h", "--sql", "SELECT count(*) AS n FROM flow_logs"])
    assert got["queries"]["sql"] == [{"n": 3}], "60 s, 30 min and 90 min ago end within the last two hours"


def test_filters_are_in_the_json_document(v5):
    source, _, _ = v5
    got = document([str(source), "--log-format", V5_FORMAT, "--query", "summary", "--since", str(FIRST_HOUR),
                    "--action", "REJECT", "--address", "10.0.0.0/16"])
    assert got["filters"] == {"since": {"epoch": FIRST_HOUR, "iso": "2026-11-28T00:00:00Z"}, "action": "REJECT",
                              "address": ["10.0.0.0/16"]}


# Bad input: exit 2, the reason, no traceback

BAD_INPUT = [
    pytest.param(["--sql", "SELEC count(*) FROM flow_logs"], ["--sql", "SELEC"], id="sql-syntax"),
    pytest.param(["--sql", "SELECT nosuchcolumn FROM flow_logs"], ["--sql failed on DuckDB", "nosuchcolumn"],
                 id="sql-unknown-column"),
    pytest.param(["--sql", "SELECT 1; SELECT 2"], ["2 statements"], id="sql-two-statements"),
    pytest.param(["--sql", "DROP TABLE flow_logs"], ["not a query"], id="sql-not-a-query"),
    pytest.param(["--sql", "@/nonexistent/q.sql"], ["cannot read the file"], id="sql-missing-file"),
    pytest.param(["--since", "yesterday"], ["--since 'yesterday' is not a time", "ISO-8601"], id="since"),
    pytest.param(["--since", "2026-11-29", "--until", "2026-11-28"], ["is not after"], id="window-reversed"),
    pytest.param(["--address", "10.0.0.300"], ["--address '10.0.0.300'"], id="address"),
    pytest.param(["--address", "10.0.0.1/16"], ["host bits set"], id="address-host-bits"),
    pytest.param(["--address", "2001:db8::/32"], ["IPv6 block"], id="address-ipv6-block"),
    pytest.param(["--action", "DROP"], ["--action 'DROP' is not one of ACCEPT, REJECT"], id="action"),
    pytest.param(["--interface", "eni 1"], ["--interface 'eni 1'"], id="interface"),
    pytest.param(["--limit", "-1"], ["--limit", "'-1' is not a whole number"], id="limit"),
    pytest.param(["--interval", "0"], ["--interval", "above 0"], id="interval"),
    pytest.param(["--log-format", "${version} ${nosuch}"], ["unknown field 'nosuch'"], id="log-format"),
]


@pytest.mark.parametrize("argv,words", BAD_INPUT)
def test_bad_input_exits_2_with_the_reason_and_no_traceback(tmp_path, argv, words):
    (tmp_path / "a.log").write_text("2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 300 100 160 ACCEPT OK\n")
    code, _, err = run([str(tmp_path / "a.log"), *argv])
    assert code == 2, (argv, err)
    assert "Traceback" not in err
    assert all(word in err for word in words), (argv, err)


def test_a_syntax_error_gives_sqlglots_line_and_column(tmp_path):
    (tmp_path / "a.log").write_text("2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 300 100 160 ACCEPT OK\n")
    code, _, err = run([str(tmp_path / "a.log"), "--sql", "SELECT count(* FROM flow_logs"])
    assert code == 2 and "Line 1, Col: 19" in err and "\x1b" not in err, err


def test_a_filter_on_a_field_the_format_lacks_exits_2_naming_it(tmp_path):
    (tmp_path / "a.log").write_text("10.0.0.1 10.0.0.2\n")
    code, _, err = run([str(tmp_path / "a.log"), "--log-format", "${srcaddr} ${dstaddr}", "--interface", "eni-1"])
    assert code == 2 and "--interface needs the field(s) interface-id" in err, err


# Readable text

def test_text_shows_times_protocols_and_sizes_readably(tmp_path):
    lines = ["2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 22 6 3 4249 1418530010 1418530070 REJECT OK",
             "2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 53 17 3 3145728 1418530010 1418530070 ACCEPT OK"]
    (tmp_path / "a.log").write_text("\n".join(lines) + "\n")
    code, out, err = run([str(tmp_path / "a.log")])
    assert code == 0, err
    assert "2014-12-14T04:06:50Z" in out and "2014-12-14T04:07:50Z" in out, out  # summary's first_start, last_end
    rejected = out.split("rejected-by-port:")[1].splitlines()[3]
    assert rejected.split()[:2] == ["22", "6"] and " 6 tcp " in rejected + " ", rejected
    assert "3.0 MiB" in out and "4.1 KiB" in out, out
    raw = document([str(tmp_path / "a.log")])["queries"]
    assert raw["summary"][0]["first_start"] == 1418530010 and raw["rejected-by-port"][0]["protocol"] == 6


def test_readable_sizes_step_through_binary_units():
    from flowlogs.readable import size
    assert [size(n) for n in (0, 1023, 1024, 1536, 1024 ** 2 * 5, 1024 ** 3 * 2)] == [
        "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 MiB", "2.0 GiB"]


def test_help_says_where_stack_works(capsys):
    with pytest.raises(SystemExit):
        cli.main(["analyze", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--stack" in text and "only in a checkout of the repository" in text and "--log-format" in text


def test_stack_without_the_project_settings_says_what_to_give_instead(monkeypatch, tmp_path):
    import builtins
    real_import = builtins.__import__

    def no_pulumi(name, *args, **kwargs):
        if name == "pulumi" or name.startswith("pulumi."):
            raise ImportError("No module named 'pulumi'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pulumi)
    code, _, err = run([str(tmp_path), "--stack", "prod"])
    assert code == 2 and "give --log-format and --vpc-cidr instead" in err and "Traceback" not in err, err

