"""The filters' Trino text: it parses as Trino, narrows every read of flow_logs, and bounds the partitions.

The partition bounds are checked by evaluating the generated predicate (carried to DuckDB) on
every hour of a span against the hours the window touches, worked out in Python.
"""

from __future__ import annotations

import datetime
import ipaddress

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import ErrorLevel, exp

from flowlogs.filters import (PARTITION_MARGIN_SECONDS, Filters, PartitionLayout, narrowed, parse_filters,
                              parse_time, partition_predicate, trino_where)
from flowlogs.table import partition_keys
from flowlogs.queries import build_queries, to_duckdb

SINCE = int(datetime.datetime(2026, 12, 31, 22, 30, tzinfo=datetime.timezone.utc).timestamp())
UNTIL = int(datetime.datetime(2027, 1, 1, 1, 15, tzinfo=datetime.timezone.utc).timestamp())
EVERY = Filters(SINCE, UNTIL, ("eni-1",), (ipaddress.ip_network("10.0.0.0/16"),), "REJECT")
LAYOUTS = [PartitionLayout(hive, per_hour) for hive in (True, False) for per_hour in (True, False)]


def _where_tree(text: str) -> exp.Expression:
    return sqlglot.parse_one(f"SELECT * FROM flow_logs {text}", read="trino", error_level=ErrorLevel.RAISE)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: f"hive={layout.hive},per_hour={layout.per_hour}")
def test_trino_where_parses_and_names_only_the_layouts_partition_columns(layout):
    tree = _where_tree(trino_where(EVERY, layout))
    columns = {column.name for column in tree.find_all(exp.Column)}
    time_keys = [k for k in partition_keys(layout.hive, layout.per_hour) if k in ("year", "month", "day", "hour")]
    assert set(time_keys) <= columns, (layout, columns)
    assert ("hour" in columns) == layout.per_hour, (layout, columns)
    assert {"end", "start", "interface_id", "srcaddr", "dstaddr", "action"} <= columns, columns


def test_without_a_layout_there_are_no_partition_predicates():
    columns = {c.name for c in _where_tree(trino_where(EVERY)).find_all(exp.Column)}
    assert not columns & {"year", "month", "day", "hour"}, columns


def test_no_filter_gives_no_where_and_leaves_a_query_as_it_is():
    assert trino_where(Filters(), LAYOUTS[0]) == ""
    assert narrowed("SELECT count(*) FROM flow_logs", Filters()) == "SELECT count(*) FROM flow_logs"


def _hours_kept(layout: PartitionLayout, since: int, until: int) -> set[str]:
    """Partition values (concatenated) the generated predicate keeps, among every one of a span around the window."""
    step = 3600 if layout.per_hour else 86400
    rows = []
    for moment in range((since - 3 * 86400) // step * step, until + 3 * 86400, step):
        utc = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
        values = {"year": f"{utc.year:04d}", "month": f"{utc.month:02d}", "day": f"{utc.day:02d}",
                  "hour": f"{utc.hour:02d}"}
        rows.append("(" + ", ".join(f"'{values[k]}'" for k in layout.time_keys) + ")")
    keys = ", ".join(layout.time_keys)
    text = (f"SELECT concat({keys}) FROM (VALUES {', '.join(rows)}) AS partitions({keys}) "
            f"WHERE {partition_predicate(Filters(since, until), layout)}")
    return {row[0] for row in duckdb.connect().execute(to_duckdb(text)).fetchall()}


def _hours_touched(layout: PartitionLayout, since: int, until: int) -> set[str]:
    step = 3600 if layout.per_hour else 86400
    moments = range((since - PARTITION_MARGIN_SECONDS) // step * step, until + PARTITION_MARGIN_SECONDS + 1, step)
    fmt = "%Y%m%d%H" if layout.per_hour else "%Y%m%d"
    return {datetime.datetime.fromtimestamp(m, datetime.timezone.utc).strftime(fmt) for m in moments}


@settings(max_examples=25, deadline=None)
@given(start=st.integers(min_value=1_700_000_000, max_value=1_900_000_000), hours=st.integers(1, 80),
       per_hour=st.booleans())
def test_partition_predicates_keep_exactly_the_hours_the_window_touches(start, hours, per_hour):
    layout = PartitionLayout(hive=True, per_hour=per_hour)
    until = start + hours * 1800
    assert _hours_kept(layout, start, until) == _hours_touched(layout, start, until)


def test_narrowed_reads_flow_logs_through_the_filter_everywhere_and_keeps_aliases():
    sql = ("WITH r AS (SELECT srcaddr FROM flow_logs f WHERE f.action = 'REJECT') "
           "SELECT srcaddr, (SELECT count(*) FROM flow_logs) AS total FROM r")
    tree = sqlglot.parse_one(narrowed(sql, Filters(action="ACCEPT"), LAYOUTS[0]), read="trino")
    subqueries = [s for s in tree.find_all(exp.Subquery) if s.alias]  # the replaced reads, not the scalar one
    assert len(subqueries) == 2 and {s.alias for s in subqueries} == {"f", "flow_logs"}, tree.sql()
    assert all("action = 'ACCEPT'" in s.this.sql(dialect="trino") for s in subqueries)


@pytest.mark.parametrize("name", ["summary", "traffic-over-time", "top-talkers"])
def test_a_narrowed_named_query_parses_as_trino(name):
    (query,), _ = build_queries(("action", "bytes", "start", "end", "log-status", "srcaddr", "dstaddr", "packets",
                                 "interface-id"), None, (name,))
    text = narrowed(query.trino, EVERY, LAYOUTS[1])
    tree = sqlglot.parse_one(text, read="trino", error_level=ErrorLevel.RAISE)
    assert any(c.name == "year" for c in tree.find_all(exp.Column)), text


def test_times_read_iso_with_and_without_an_offset_and_relative():
    assert parse_time("--since", "2026-11-28T09:30:00Z") == parse_time("--since", "2026-11-28T18:30:00+09:00")
    assert parse_time("--since", "2026-11-28") == int(datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc)
                                                      .timestamp())
    assert parse_time("--since", "90m", now=10_000) == 10_000 - 5400
    assert parse_time("--since", "2d", now=200_000) == 200_000 - 2 * 86400


def test_parse_filters_upper_cases_the_action():
    assert parse_filters(action="reject").action == "REJECT"
