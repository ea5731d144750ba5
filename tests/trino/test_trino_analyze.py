"""`--engine trino` / `--trino-url`: the analysis on Trino gives DuckDB's rows for --sql and for each filter.

The records are tests/trino's synthetic Parquet in both S3 layouts; Trino reads them through
`flow_logs` created over the folder, with the filters' partition predicates (`narrowed(...,
layout)`), DuckDB through the same texts without them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowlogs import cli
from flowlogs.analyze import analyze
from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.filters import parse_filters
from flowlogs.trino import TrinoEngine
from tests.trino.parquet_records import VPC_CIDR, write_records
from tools.synth import FIRST_HOUR

HOURS = (0, 2, 48)
LAYOUTS = {"hive-per-hour": (True, True), "plain-per-day": (False, False)}
HOUR = 3600
# Each keeps some records and drops others; the time windows fall between the written hours.
FILTERS = {
    "since": {"since": str(FIRST_HOUR + 2 * HOUR)},
    "until": {"until": str(FIRST_HOUR + 2 * HOUR)},
    "window": {"since": str(FIRST_HOUR + 2 * HOUR), "until": str(FIRST_HOUR + 24 * HOUR)},
    "interface": {"interfaces": [f"eni-{1:017x}"]},
    "address": {"addresses": ["10.0.0.0/24"]},
    "action": {"action": "REJECT"},
}
SQL = ("SELECT action, count(*) AS flows, sum(bytes) AS bytes FROM flow_logs "
       "WHERE action IS NOT NULL GROUP BY action ORDER BY action")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    return {layout: write_records(tmp_path_factory.mktemp(layout), DEFAULT_FIELDS, HOURS, hive=hive,
                                  per_hour=per_hour) for layout, (hive, per_hour) in LAYOUTS.items()}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_gives_duckdbs_rows_on_trino(folders, trino_engine, layout, name):
    filters = parse_filters(**FILTERS[name])
    duckdb = analyze(str(folders[layout]), vpc_cidr=VPC_CIDR, filters=filters)
    trino = analyze(str(folders[layout]), vpc_cidr=VPC_CIDR, filters=filters, trino=trino_engine)
    assert 0 < duckdb.matching < duckdb.records, f"{name}: keeps {duckdb.matching} of {duckdb.records}"
    assert (trino.records, trino.matching) == (duckdb.records, duckdb.matching), f"{layout}/{name}"
    assert trino.results.keys() == duckdb.results.keys()
    for query, rows in duckdb.results.items():
        assert trino.results[query] == rows, f"{layout}/{name}: {query}"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sql_gives_duckdbs_rows_on_trino(folders, trino_engine, layout):
    filters = parse_filters(since=str(FIRST_HOUR + 2 * HOUR))
    duckdb = analyze(str(folders[layout]), sql=SQL, filters=filters).results["sql"]
    trino = analyze(str(folders[layout]), sql=SQL, filters=filters, trino=trino_engine).results["sql"]
    assert len(duckdb) == 2 and trino == duckdb, trino


def test_the_command_on_a_named_cluster_prints_duckdbs_document(folders, trino_engine: TrinoEngine, capsys):
    options = ["analyze", str(folders["hive-per-hour"]), "--vpc-cidr", VPC_CIDR, "--since",
               str(FIRST_HOUR + 2 * HOUR), "--format", "json"]
    assert cli.main(options) == 0
    duckdb = json.loads(capsys.readouterr().out)
    assert cli.main(options + ["--trino-url", trino_engine.url]) == 0
    assert json.loads(capsys.readouterr().out) == duckdb


def test_a_bad_sql_on_trino_exits_2_with_trinos_message(folders, trino_engine, capsys):
    code = cli.main(["analyze", str(folders["hive-per-hour"]), "--trino-url", trino_engine.url,
                     "--sql", "SELECT no_such_column FROM flow_logs"])
    err = capsys.readouterr().err
    assert code == 2 and "no_such_column" in err and "Trino" in err and "Traceback" not in err, err


def test_engine_trino_starts_a_node_of_its_own_for_the_run(folders, capsys):
    options = ["analyze", str(folders["plain-per-day"]), "--vpc-cidr", VPC_CIDR, "--action", "ACCEPT",
               "--format", "json"]
    assert cli.main(options) == 0
    duckdb = json.loads(capsys.readouterr().out)
    assert cli.main(options + ["--engine", "trino"]) == 0
    assert json.loads(capsys.readouterr().out) == duckdb
