"""Trino 476 and DuckDB give the same rows for every named query, on Parquet laid out as S3 delivers it.

Both S3 layouts (Hive-compatible with hourly partitions, plain with daily ones), each with AWS's
default format and a custom one. DuckDB runs the queries through `make analyze`'s own path; Trino
runs their Trino texts on the `flow_logs` table created from the Glue table's declaration.
"""

from __future__ import annotations

from pathlib import Path
import pytest

from flowlogs.fields import DEFAULT_FIELDS, parse_log_format
from flowlogs.queries import QUERY_NAMES, build_queries
from flowlogs.table import glue_columns, partition_keys, projection
from flowlogs.trino import TrinoEngine, local_layout, location_of
from tests.trino.parquet_records import VPC_CIDR, write_records
from flowlogs.analyze import analyze
from tools.synth import ACCOUNT, REGION

CUSTOM_FIELDS = parse_log_format(
    "${log-status} ${vpc-id} ${subnet-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${srcport} ${dstport} ${protocol} "
    "${tcp-flags} ${type} ${packets} ${bytes} ${start} ${end} ${action} ${flow-direction} ${version} "
    "${account-id} ${interface-id}")
# Hours after the first one: two on the first day (hour 1 has no folder), one two days later.
HOURS = (0, 2, 48)
LAYOUTS = {"hive-per-hour": (True, True), "plain-per-day": (False, False)}
FORMATS = {"default-format": DEFAULT_FIELDS, "custom-format": CUSTOM_FIELDS}
CASES = [(layout, form) for layout in LAYOUTS for form in FORMATS]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory, trino_engine) -> dict[tuple[str, str], tuple[Path, TrinoEngine]]:
    """Each case's `AWSLogs` folder, and the engine whose schema holds its `flow_logs`."""
    made = {}
    for layout, form in CASES:
        hive, per_hour = LAYOUTS[layout]
        folder = write_records(tmp_path_factory.mktemp(f"{layout}-{form}"), FORMATS[form], HOURS, hive=hive,
                               per_hour=per_hour)
        engine = trino_engine.in_schema(f"{layout}_{form}".replace("-", "_"))
        engine.create_flow_logs_table(folder, FORMATS[form], local_layout(folder))
        made[(layout, form)] = (folder, engine)
    return made


@pytest.mark.parametrize("layout, form", CASES, ids=[f"{layout}-{form}" for layout, form in CASES])
def test_trino_and_duckdb_return_the_same_rows_for_every_query(datasets, layout, form):
    folder, engine = datasets[(layout, form)]
    queries, left_out = build_queries(FORMATS[form], VPC_CIDR)
    # Every question the format answers runs; the others are left out only for a field it lacks.
    assert {q.name for q in queries} | {item.name for item in left_out} == set(QUERY_NAMES), (queries, left_out)
    assert len(queries) >= 7 and all("needs the field" in item.reason for item in left_out), left_out
    duckdb_rows = analyze(str(folder), fields=FORMATS[form], vpc_cidr=VPC_CIDR).results
    for query in queries:
        trino_rows = engine.rows(query.trino)
        assert trino_rows, f"{layout}/{form}: {query.name} returned no rows on Trino"
        assert trino_rows == duckdb_rows[query.name], f"{layout}/{form}: {query.name}"


def test_every_record_is_read_once(datasets):
    folder, engine = datasets[("hive-per-hour", "default-format")]
    assert engine.rows("SELECT count(*) AS records FROM flow_logs") == [{"records": 400 * len(HOURS)}], folder
    # Hidden columns such as $path are the table's, not the view's.
    files = engine.rows('SELECT "$path" AS path, count(*) AS records FROM flow_logs_projected '
                        "WHERE year = '2026' AND month = '11' GROUP BY 1 ORDER BY 1")
    written = sorted(folder.resolve().rglob("*.parquet"))
    assert files == [{"path": f"local://{path}", "records": 400} for path in written], files


def test_a_projected_hour_without_a_folder_reads_as_empty(datasets):
    folder, engine = datasets[("hive-per-hour", "default-format")]
    assert not any(folder.rglob("hour=01")), "the data must leave hour 01 without a folder"
    assert engine.rows("SELECT count(*) AS records FROM flow_logs WHERE day = '28' AND hour = '01'") == [
        {"records": 0}]
    assert engine.rows("SELECT count(*) AS records FROM flow_logs WHERE day = '28' AND hour = '02'") == [
        {"records": 400}]


def test_a_projected_day_without_a_folder_reads_as_empty(trino_engine, tmp_path):
    folder = write_records(tmp_path, DEFAULT_FIELDS, (0,), hive=False, per_hour=True)
    engine = trino_engine.in_schema("absent_day")
    # The table itself, not the view of the days present: the projected 29th has no folder.
    engine.create_flow_logs_table(folder, DEFAULT_FIELDS, local_layout(folder))
    rows = engine.rows("SELECT day, count(*) AS records FROM flow_logs_projected "
                       "WHERE year = '2026' AND month = '11' AND day IN ('28', '29') GROUP BY day")
    assert rows == [{"day": "28", "records": 400}], rows


@pytest.mark.parametrize("layout", LAYOUTS)
def test_trino_stores_the_glue_tables_parameters(datasets, layout):
    folder, engine = datasets[(layout, "custom-format")]
    hive, per_hour = LAYOUTS[layout]
    place = location_of(folder)
    glue = projection(ACCOUNT, REGION, place.bucket, place.key_prefix, hive, per_hour, scheme=place.scheme)
    (stored,) = engine.rows('SELECT * FROM "flow_logs_projected$properties"')
    assert {name.lower(): value for name, value in glue.items()} == {
        name: stored[name] for name in map(str.lower, glue)}, stored


@pytest.mark.parametrize("layout", LAYOUTS)
def test_trino_columns_are_the_glue_tables(datasets, layout):
    _, engine = datasets[(layout, "custom-format")]
    described = [(row["Column"], row["Type"]) for row in engine.rows("DESCRIBE flow_logs_projected")]
    types = {"int": "integer", "bigint": "bigint", "string": "varchar"}
    expected = [(column, types[glue_type]) for column, glue_type in glue_columns(CUSTOM_FIELDS)]
    assert described == expected + [(key, "varchar") for key in partition_keys(*LAYOUTS[layout])], described
