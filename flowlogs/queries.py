"""The four analysis queries, written once in Athena's dialect (Trino) and carried to DuckDB by sqlglot.

Athena runs the Trino text against the Glue table of an S3 Parquet destination; `make analyze`
runs the DuckDB text on this machine. Both read a table named `flow_logs` whose columns are the
format's fields with `-` turned into `_` (S3's Parquet column names) and `-` values as NULL.

A query needs certain fields; for a format without them it is left out with the reason, never
run against a column that is not there. `ssh-from-outside` also needs the VPC's IPv4 block.

"Outside the VPC" is written as arithmetic on the dotted quad rather than Trino's
`contains(cidr, CAST(ip AS IPADDRESS))`: DuckDB has no IPADDRESS type without the `inet`
extension, and the arithmetic gives the same exact answer on both engines. An IPv6 source is
never inside an IPv4 block, so it counts as outside.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import sqlglot
from sqlglot import ErrorLevel

from flowlogs.fields import format_string
from flowlogs.patterns import SSH_PORT, TCP, pattern_name

TABLE = "flow_logs"
TOP_N = 20

SUMMARY = "summary"
TOP_TALKERS = "top-talkers"
REJECTED_BY_PORT = "rejected-by-port"
SSH_FROM_OUTSIDE = "ssh-from-outside"


def _summary(_: Optional[ipaddress.IPv4Network]) -> str:
    return f"""
SELECT
  count(*) AS records,
  count_if(action = 'ACCEPT') AS accepted,
  count_if(action = 'REJECT') AS rejected,
  count_if(log_status = 'NODATA') AS nodata,
  count_if(log_status = 'SKIPDATA') AS skipdata,
  coalesce(sum(bytes), 0) AS bytes,
  min(start) AS first_start,
  max("end") AS last_end
FROM {TABLE}"""


def _top_talkers(_: Optional[ipaddress.IPv4Network]) -> str:
    return f"""
SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {TABLE}
WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND bytes IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, flows DESC, srcaddr ASC NULLS LAST, dstaddr ASC NULLS LAST
LIMIT {TOP_N}"""


def _rejected_by_port(_: Optional[ipaddress.IPv4Network]) -> str:
    return f"""
SELECT dstport, protocol, count(*) AS flows, sum(packets) AS packets
FROM {TABLE}
WHERE action = 'REJECT'
GROUP BY dstport, protocol
ORDER BY flows DESC, packets DESC NULLS LAST, dstport ASC NULLS LAST, protocol ASC NULLS LAST
LIMIT {TOP_N}"""


def ipv4_number(column: str) -> str:
    """The 32-bit number of a dotted quad; NULL for anything else (IPv6 included)."""
    octets = [f"try_cast(split_part({column}, '.', {i + 1}) AS BIGINT) * {256 ** (3 - i)}" for i in range(4)]
    return "(" + " + ".join(octets) + ")"


def inside_ipv4_block(column: str, network: ipaddress.IPv4Network) -> str:
    """TRUE when `column` is an IPv4 address of `network`, FALSE otherwise (never NULL)."""
    first, last = int(network.network_address), int(network.broadcast_address)
    return (f"coalesce(strpos({column}, ':') = 0 AND {ipv4_number(column)} BETWEEN {first} AND {last}, FALSE)")


def _ssh_from_outside(network: Optional[ipaddress.IPv4Network]) -> str:
    assert network is not None
    return f"""
SELECT srcaddr, count(*) AS flows, sum(bytes) AS bytes
FROM {TABLE}
WHERE action = 'ACCEPT' AND protocol = {TCP} AND dstport = {SSH_PORT} AND srcaddr IS NOT NULL
  AND NOT {inside_ipv4_block("srcaddr", network)}
GROUP BY srcaddr
ORDER BY flows DESC, bytes DESC NULLS LAST, srcaddr ASC
LIMIT {TOP_N}"""


@dataclass(frozen=True)
class QuerySpec:
    name: str
    title: str
    needs: tuple[str, ...]
    # The columns each row has, in order.
    columns: tuple[str, ...]
    trino: Callable[[Optional[ipaddress.IPv4Network]], str]
    needs_vpc_cidr: bool = False


QUERY_SPECS: tuple[QuerySpec, ...] = (
    QuerySpec(SUMMARY, "Records, accepted and rejected flows, gaps, bytes and time span",
              ("action", "log-status", "bytes", "start", "end"),
              ("records", "accepted", "rejected", "nodata", "skipdata", "bytes", "first_start", "last_end"),
              _summary),
    QuerySpec(TOP_TALKERS, "Top talkers by bytes", ("srcaddr", "dstaddr", "bytes", "packets"),
              ("srcaddr", "dstaddr", "bytes", "packets", "flows"), _top_talkers),
    QuerySpec(REJECTED_BY_PORT, "Rejected flows by destination port", ("action", "dstport", "protocol", "packets"),
              ("dstport", "protocol", "flows", "packets"), _rejected_by_port),
    QuerySpec(SSH_FROM_OUTSIDE, "Accepted SSH from outside the VPC",
              ("action", "protocol", "dstport", "srcaddr", "bytes"),
              ("srcaddr", "flows", "bytes"), _ssh_from_outside, needs_vpc_cidr=True),
)
QUERY_NAMES: tuple[str, ...] = tuple(spec.name for spec in QUERY_SPECS)


def needed_fields(names: Sequence[str] = QUERY_NAMES) -> frozenset[str]:
    """Every field the named queries read: all a reader needs to keep."""
    return frozenset(field for spec in QUERY_SPECS if spec.name in names for field in spec.needs)


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    columns: tuple[str, ...]
    trino: str
    duckdb: str


@dataclass(frozen=True)
class LeftOut:
    """A query the format or the settings cannot answer, and why."""

    name: str
    reason: str


class QueryError(ValueError):
    """A VPC block or query name the queries cannot use."""


def vpc_network(vpc_cidr: str) -> ipaddress.IPv4Network:
    """The VPC's IPv4 block, or a QueryError naming the value and what is allowed."""
    try:
        network = ipaddress.ip_network(vpc_cidr, strict=True)
    except ValueError as error:
        raise QueryError(f"VPC CIDR '{vpc_cidr}' is not a network block ({error}); give an IPv4 block "
                         "such as 10.0.0.0/16") from None
    if network.version != 4:
        raise QueryError(f"VPC CIDR '{vpc_cidr}' is not IPv4; a VPC's primary block is an IPv4 block "
                         "such as 10.0.0.0/16")
    return network


def to_duckdb(trino_text: str) -> str:
    """The DuckDB text of a Trino query, through sqlglot; a text that does not parse raises."""
    return sqlglot.transpile(trino_text, read="trino", write="duckdb", pretty=True,
                             error_level=ErrorLevel.RAISE)[0]


def build_queries(fields: Sequence[str], vpc_cidr: Optional[str] = None,
                  names: Sequence[str] = QUERY_NAMES) -> tuple[tuple[Query, ...], tuple[LeftOut, ...]]:
    """The queries `fields` can answer, in both dialects, and those left out with the reason."""
    unknown = [name for name in names if name not in QUERY_NAMES]
    if unknown:
        raise QueryError(f"unknown query '{unknown[0]}'; the queries are {', '.join(QUERY_NAMES)}")
    network = vpc_network(vpc_cidr) if vpc_cidr else None
    built: list[Query] = []
    left_out: list[LeftOut] = []
    for spec in QUERY_SPECS:
        if spec.name not in names:
            continue
        missing = [field for field in spec.needs if field not in fields]
        if missing:
            left_out.append(LeftOut(spec.name, f"needs the field(s) {', '.join(missing)}, which the log format "
                                               f"'{format_string(tuple(fields))}' does not include"))
            continue
        if spec.needs_vpc_cidr and network is None:
            left_out.append(LeftOut(spec.name, "needs the VPC's IPv4 block (--vpc-cidr, or --stack to take "
                                               "vpcCidr from a stack)"))
            continue
        trino = sqlglot.transpile(spec.trino(network).strip(), read="trino", write="trino", pretty=True,
                                  error_level=ErrorLevel.RAISE)[0]
        built.append(Query(spec.name, spec.title, spec.columns, trino, to_duckdb(trino)))
    return tuple(built), tuple(left_out)
