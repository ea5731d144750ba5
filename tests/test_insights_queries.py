"""The saved Logs Insights queries and the dashboard's tables, run on records.

`tests/logs_insights.py` evaluates the subset of Logs Insights the program writes; each query
is run over records in the stack's own format and the rows it returns are compared whole.
"""

from __future__ import annotations

import json

import pytest

from flowlogs.dashboard import dashboard_body
from flowlogs.fields import DEFAULT_FIELDS, parse_log_format
from flowlogs.patterns import (REJECTED_BY_PORT, SSH_SOURCES, SUMMARY, TOP_TALKERS, insights_queries,
                               metric_filters)
from tests.logs_insights import UnsupportedQuery, compile_query, run_query
from tests.conftest import stack_config

VPC_CIDR = "10.0.0.0/16"
GROUP = "/vpc-flow-logs/lab"
HOST = "10.0.0.10"
OUTSIDE = "198.51.100.7"
# prod's format: version 2's fields first, then v3-v5 context.
PROD_FIELDS = parse_log_format(stack_config("prod")["vpc-flow-logs:logFormat"])
# The same fields in another order, as a custom logFormat may write them.
SHUFFLED_FIELDS = ("action", "dstport", "srcaddr", "log-status", "protocol", "bytes", "dstaddr", "interface-id",
                   "packets", "srcport", "start", "end", "version", "account-id")
FORMATS = pytest.mark.parametrize("fields", [DEFAULT_FIELDS, PROD_FIELDS, SHUFFLED_FIELDS],
                                  ids=["default", "prod", "shuffled"])


def record(fields: tuple[str, ...], srcaddr: str, dstaddr: str, dstport: int, action: str = "ACCEPT",
           protocol: int = 6, bytes_: int | str = 100, log_status: str = "OK") -> str:
    values = {"version": 5, "account-id": "123456789012", "interface-id": "eni-0aaaaaaaaaaaaaaa0",
              "srcaddr": srcaddr, "dstaddr": dstaddr, "srcport": 50000, "dstport": dstport, "protocol": protocol,
              "packets": 2, "bytes": bytes_, "start": 1700000000, "end": 1700000060, "action": action,
              "log-status": log_status, "vpc-id": "vpc-0ccccccccccccccc0", "subnet-id": "subnet-0a",
              "instance-id": "i-0a", "tcp-flags": 2, "pkt-srcaddr": srcaddr, "pkt-dstaddr": dstaddr,
              "az-id": "apne1-az4", "flow-direction": "ingress", "traffic-path": "-"}
    return " ".join(str(values.get(name, "-")) for name in fields)


def nodata(fields: tuple[str, ...]) -> str:
    values = {"version": 2, "account-id": "123456789012", "interface-id": "eni-0aaaaaaaaaaaaaaa0",
              "start": 1700000000, "end": 1700000060, "log-status": "NODATA"}
    return " ".join(str(values.get(name, "-")) for name in fields)


def query_text(fields: tuple[str, ...], key: str, vpc_cidr: str = VPC_CIDR) -> str:
    (query,) = [q for q in insights_queries(fields, vpc_cidr) if q.key == key]
    return query.query


# ssh-sources: SSH from outside the VPC

@FORMATS
def test_ssh_sources_count_only_tcp_22_from_outside_the_vpc(fields):
    records = [
        record(fields, OUTSIDE, HOST, 22),
        record(fields, OUTSIDE, HOST, 22, action="REJECT"),
        record(fields, OUTSIDE, HOST, 22, action="REJECT"),
        record(fields, "203.0.113.9", HOST, 22),
        record(fields, "10.0.1.20", HOST, 22),  # inside the VPC
        record(fields, OUTSIDE, HOST, 80),  # not SSH
        record(fields, OUTSIDE, HOST, 22, protocol=17),  # UDP, not SSH
        nodata(fields),
    ]
    rows = run_query(query_text(fields, SSH_SOURCES), records)
    assert rows == [
        {"srcaddr": OUTSIDE, "action": "REJECT", "flows": 2},
        {"srcaddr": OUTSIDE, "action": "ACCEPT", "flows": 1},
        {"srcaddr": "203.0.113.9", "action": "ACCEPT", "flows": 1},
    ]


@pytest.mark.parametrize("vpc_cidr, inside, outside", [
    ("10.0.0.0/16", ["10.0.0.0", "10.0.255.255"], ["10.1.0.0", "9.255.255.255"]),
    ("10.20.0.0/20", ["10.20.0.1", "10.20.15.255"], ["10.20.16.0", "10.19.255.255"]),
    ("172.16.0.0/28", ["172.16.0.15"], ["172.16.0.16"]),
])
def test_ssh_sources_uses_the_vpc_block_at_its_edges(vpc_cidr, inside, outside):
    records = [record(DEFAULT_FIELDS, source, HOST, 22) for source in inside + outside]
    rows = run_query(query_text(DEFAULT_FIELDS, SSH_SOURCES, vpc_cidr), records)
    assert sorted(row["srcaddr"] for row in rows) == sorted(outside), vpc_cidr


# top-talkers

@FORMATS
def test_top_talkers_sum_bytes_per_pair_largest_first_without_gap_records(fields):
    records = [
        record(fields, OUTSIDE, HOST, 80, bytes_=400),
        record(fields, OUTSIDE, HOST, 80, bytes_=600),
        record(fields, HOST, OUTSIDE, 50000, bytes_=5000),
        record(fields, "203.0.113.9", HOST, 22, bytes_=10, action="REJECT"),
        nodata(fields),
        nodata(fields),
    ]
    rows = run_query(query_text(fields, TOP_TALKERS), records)
    assert rows == [
        {"srcaddr": HOST, "dstaddr": OUTSIDE, "total_bytes": 5000, "total_packets": 2, "flows": 1},
        {"srcaddr": OUTSIDE, "dstaddr": HOST, "total_bytes": 1000, "total_packets": 4, "flows": 2},
        {"srcaddr": "203.0.113.9", "dstaddr": HOST, "total_bytes": 10, "total_packets": 2, "flows": 1},
    ]


@FORMATS
def test_summary_counts_records_bytes_and_time_span_per_action_and_status(fields):
    records = [record(fields, OUTSIDE, HOST, 80, bytes_=400), record(fields, OUTSIDE, HOST, 80, bytes_=600),
               record(fields, OUTSIDE, HOST, 8080, action="REJECT", bytes_=40), nodata(fields)]
    rows = run_query(query_text(fields, SUMMARY), records)
    assert sorted(rows, key=lambda row: str(row["action"])) == [
        {"action": "-", "log_status": "NODATA", "records": 1, "total_bytes": 0, "first_start": 1700000000,
         "last_end": 1700000060},
        {"action": "ACCEPT", "log_status": "OK", "records": 2, "total_bytes": 1000, "first_start": 1700000000,
         "last_end": 1700000060},
        {"action": "REJECT", "log_status": "OK", "records": 1, "total_bytes": 40, "first_start": 1700000000,
         "last_end": 1700000060},
    ]


def test_top_talkers_shows_the_20_largest_pairs():
    records = [record(DEFAULT_FIELDS, f"198.51.100.{i}", HOST, 80, bytes_=1000 + i) for i in range(30)]
    rows = run_query(query_text(DEFAULT_FIELDS, TOP_TALKERS), records)
    assert [row["total_bytes"] for row in rows] == [1000 + i for i in range(29, 9, -1)]


# rejected-by-port

@FORMATS
def test_rejected_by_port_counts_rejects_per_port_and_protocol(fields):
    records = [
        record(fields, OUTSIDE, HOST, 8080, action="REJECT"),
        record(fields, OUTSIDE, HOST, 8080, action="REJECT"),
        record(fields, "203.0.113.9", HOST, 8080, action="REJECT"),
        record(fields, OUTSIDE, HOST, 53, action="REJECT", protocol=17),
        record(fields, OUTSIDE, HOST, 80),  # accepted
        nodata(fields),
    ]
    rows = run_query(query_text(fields, REJECTED_BY_PORT), records)
    assert rows == [{"dstport": "8080", "protocol": "6", "flows": 3, "total_packets": 6},
                    {"dstport": "53", "protocol": "17", "flows": 1, "total_packets": 2}]


def test_rejected_by_port_shows_the_20_busiest_ports():
    records = [record(DEFAULT_FIELDS, OUTSIDE, HOST, 1000 + port, action="REJECT")
               for port in range(25) for _ in range(port + 1)]
    rows = run_query(query_text(DEFAULT_FIELDS, REJECTED_BY_PORT), records)
    assert [row["flows"] for row in rows] == list(range(25, 5, -1))


# Every query parses exactly the format's fields, in order

@FORMATS
def test_each_query_names_the_fields_of_the_format_in_order(fields):
    for query in insights_queries(fields, VPC_CIDR):
        names = compile_query(query.query).parse_names
        assert names == tuple(name.replace("-", "_") for name in fields), query.key


# The dashboard's tables are the saved queries, on the flow-log group

def dashboard_tables(fields: tuple[str, ...]) -> list[dict]:
    body = dashboard_body(namespace="VpcFlowLogs/lab", region="ap-northeast-1", log_group_name=GROUP,
                          filters=metric_filters(fields, VPC_CIDR), queries=insights_queries(fields, VPC_CIDR),
                          alarms={})
    return [widget["properties"] for widget in json.loads(body)["widgets"] if widget["type"] == "log"]


@FORMATS
def test_dashboard_tables_show_what_the_saved_queries_show(fields):
    records = [record(fields, OUTSIDE, HOST, 22), record(fields, "10.0.3.3", HOST, 22),
               record(fields, OUTSIDE, HOST, 8080, action="REJECT"), record(fields, HOST, OUTSIDE, 443, bytes_=7)]
    tables = dashboard_tables(fields)
    queries = insights_queries(fields, VPC_CIDR)
    assert [table["title"] for table in tables] == [query.title for query in queries]
    for table, query in zip(tables, queries):
        assert table["view"] == "table", table
        assert run_query(table["query"], records, GROUP) == run_query(query.query, records), query.key
        assert run_query(table["query"], records, "/vpc-flow-logs/another-stack") == [], query.key


def test_dashboard_ssh_table_leaves_out_sources_inside_the_vpc():
    fields = DEFAULT_FIELDS
    (ssh_table,) = [t for t in dashboard_tables(fields) if t["title"] == "SSH sources outside the VPC"]
    rows = run_query(ssh_table["query"], [record(fields, "10.0.3.3", HOST, 22), record(fields, OUTSIDE, HOST, 22)],
                     GROUP)
    assert rows == [{"srcaddr": OUTSIDE, "action": "ACCEPT", "flows": 1}]


# The evaluator refuses what it does not implement

@pytest.mark.parametrize("query", [
    'parse @message "* *" as a, b | filter a = "x" or b = "y"',
    'parse @message "* *" as a, b | stats avg(a) as m by b',
    'parse @message "* *" as a, b | fields a',
    'parse @message "* *" as a',
    'parse @message "* *" as a, b | filter a like /x/',
])
def test_the_evaluator_refuses_what_it_does_not_implement(query):
    with pytest.raises(UnsupportedQuery):
        compile_query(query)
