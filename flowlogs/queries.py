"""The named analysis queries, written once in Athena's dialect (Trino) and carried to DuckDB by sqlglot.

Athena runs the Trino text against the Glue table of an S3 Parquet destination; `vpc-flow-logs
analyze` runs the DuckDB text on this machine, and `user_query` carries a `--sql` text the same way. Both read a table named `flow_logs` whose columns are the
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
import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import sqlglot
from sqlglot import ErrorLevel

from flowlogs.fields import format_string
from flowlogs.patterns import SSH_PORT, TCP
from flowlogs.quoting import cut

TABLE = "flow_logs"
# Rows a top-N question returns unless --limit says otherwise; 0 means every row.
TOP_N = 20
# traffic-over-time's interval, in seconds, unless --interval says otherwise: AWS's longer aggregation window.
DEFAULT_INTERVAL_SECONDS = 300
# RFC 1918's private ranges: "inside" for egress-to-internet when no VPC block is given.
PRIVATE_BLOCKS = tuple(ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# Addresses that are not the internet: those, shared address space (RFC 6598), link-local, loopback.
NON_INTERNET_BLOCKS = PRIVATE_BLOCKS + tuple(
    ipaddress.IPv4Network(b) for b in ("100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"))

SUMMARY = "summary"
TOP_TALKERS = "top-talkers"
REJECTED_BY_PORT = "rejected-by-port"
SSH_FROM_OUTSIDE = "ssh-from-outside"
TOP_REJECTED_SOURCES = "top-rejected-sources"
EGRESS_TO_INTERNET = "egress-to-internet"
TRAFFIC_OVER_TIME = "traffic-over-time"
BY_AWS_SERVICE = "by-aws-service"
BY_FLOW_DIRECTION = "by-flow-direction"
REJECT_REASONS = "reject-reasons"


@dataclass(frozen=True)
class QueryParams:
    """What a query's text depends on besides the format: the VPC block, the top-N limit, the interval."""

    network: Optional[ipaddress.IPv4Network] = None
    limit: int = TOP_N
    interval: int = DEFAULT_INTERVAL_SECONDS

    @property
    def limit_clause(self) -> str:
        return f"LIMIT {self.limit}" if self.limit else ""


def _summary(_: QueryParams) -> str:
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


def _top_talkers(params: QueryParams) -> str:
    return f"""
SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {TABLE}
WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND bytes IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, flows DESC, srcaddr ASC NULLS LAST, dstaddr ASC NULLS LAST
{params.limit_clause}"""


def _rejected_by_port(params: QueryParams) -> str:
    return f"""
SELECT dstport, protocol, count(*) AS flows, sum(packets) AS packets
FROM {TABLE}
WHERE action = 'REJECT'
GROUP BY dstport, protocol
ORDER BY flows DESC, packets DESC NULLS LAST, dstport ASC NULLS LAST, protocol ASC NULLS LAST
{params.limit_clause}"""


def ipv4_number(column: str) -> str:
    """The 32-bit number of a dotted quad; NULL for anything else (IPv6 included)."""
    octets = [f"try_cast(split_part({column}, '.', {i + 1}) AS BIGINT) * {256 ** (3 - i)}" for i in range(4)]
    return "(" + " + ".join(octets) + ")"


def inside_ipv4_block(column: str, network: ipaddress.IPv4Network) -> str:
    """TRUE when `column` is an IPv4 address of `network`, FALSE otherwise (never NULL)."""
    first, last = int(network.network_address), int(network.broadcast_address)
    return (f"coalesce(strpos({column}, ':') = 0 AND {ipv4_number(column)} BETWEEN {first} AND {last}, FALSE)")


def _ssh_from_outside(params: QueryParams) -> str:
    network = params.network
    assert network is not None
    return f"""
SELECT srcaddr, count(*) AS flows, sum(bytes) AS bytes
FROM {TABLE}
WHERE action = 'ACCEPT' AND protocol = {TCP} AND dstport = {SSH_PORT} AND srcaddr IS NOT NULL
  AND NOT {inside_ipv4_block("srcaddr", network)}
GROUP BY srcaddr
ORDER BY flows DESC, bytes DESC NULLS LAST, srcaddr ASC
{params.limit_clause}"""


def _top_rejected_sources(params: QueryParams) -> str:
    return f"""
SELECT srcaddr, count(*) AS flows, count(DISTINCT dstport) AS ports, count(DISTINCT dstaddr) AS targets,
  sum(packets) AS packets
FROM {TABLE}
WHERE action = 'REJECT' AND srcaddr IS NOT NULL
GROUP BY srcaddr
ORDER BY flows DESC, ports DESC, srcaddr ASC
{params.limit_clause}"""


def _inside_any(column: str, networks: Sequence[ipaddress.IPv4Network]) -> str:
    return "(" + " OR ".join(inside_ipv4_block(column, network) for network in networks) + ")"


def _egress_to_internet(params: QueryParams) -> str:
    inside = [params.network] if params.network else list(PRIVATE_BLOCKS)
    not_internet = list(NON_INTERNET_BLOCKS) + inside
    return f"""
SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {TABLE}
WHERE action = 'ACCEPT' AND bytes IS NOT NULL AND {_inside_any("srcaddr", inside)}
  AND strpos(dstaddr, ':') = 0 AND {ipv4_number("dstaddr")} IS NOT NULL AND NOT {_inside_any("dstaddr", not_internet)}
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, flows DESC, srcaddr ASC, dstaddr ASC
{params.limit_clause}"""


def _traffic_over_time(params: QueryParams) -> str:
    def of(action: str, what: str) -> str:
        return f"coalesce(sum(CASE WHEN action = '{action}' THEN {what} END), 0)"

    return f"""
SELECT start - start % {params.interval} AS interval_start,
  count_if(action = 'ACCEPT') AS accepted_flows, count_if(action = 'REJECT') AS rejected_flows,
  {of("ACCEPT", "bytes")} AS accepted_bytes, {of("REJECT", "bytes")} AS rejected_bytes
FROM {TABLE}
WHERE action IN ('ACCEPT', 'REJECT') AND start IS NOT NULL
GROUP BY start - start % {params.interval}
ORDER BY interval_start ASC"""


def _by_aws_service(params: QueryParams) -> str:
    return f"""
SELECT pkt_dst_aws_service, count(*) AS flows, coalesce(sum(bytes), 0) AS bytes
FROM {TABLE}
WHERE pkt_dst_aws_service IS NOT NULL
GROUP BY pkt_dst_aws_service
ORDER BY bytes DESC, flows DESC, pkt_dst_aws_service ASC
{params.limit_clause}"""


def _by_flow_direction(_: QueryParams) -> str:
    return f"""
SELECT flow_direction, action, count(*) AS flows, coalesce(sum(packets), 0) AS packets,
  coalesce(sum(bytes), 0) AS bytes
FROM {TABLE}
WHERE flow_direction IS NOT NULL AND action IS NOT NULL
GROUP BY flow_direction, action
ORDER BY flow_direction ASC, action ASC"""


def _reject_reasons(_: QueryParams) -> str:
    return f"""
SELECT reject_reason, count(*) AS flows, coalesce(sum(packets), 0) AS packets
FROM {TABLE}
WHERE action = 'REJECT'
GROUP BY reject_reason
ORDER BY flows DESC, reject_reason ASC NULLS LAST"""


@dataclass(frozen=True)
class QuerySpec:
    name: str
    title: str
    needs: tuple[str, ...]
    # The columns each row has, in order.
    columns: tuple[str, ...]
    trino: Callable[[QueryParams], str]
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
    QuerySpec(TOP_REJECTED_SOURCES, "Rejected sources (scanners): flows, distinct ports and targets",
              ("action", "srcaddr", "dstaddr", "dstport", "packets"),
              ("srcaddr", "flows", "ports", "targets", "packets"), _top_rejected_sources),
    QuerySpec(EGRESS_TO_INTERNET, "Accepted bytes from inside hosts to internet addresses (NAT and egress cost)",
              ("action", "srcaddr", "dstaddr", "bytes", "packets"),
              ("srcaddr", "dstaddr", "bytes", "packets", "flows"), _egress_to_internet),
    QuerySpec(TRAFFIC_OVER_TIME, "Accepted and rejected flows and bytes per interval", ("action", "bytes", "start"),
              ("interval_start", "accepted_flows", "rejected_flows", "accepted_bytes", "rejected_bytes"),
              _traffic_over_time),
    QuerySpec(BY_AWS_SERVICE, "Flows and bytes by the AWS service a packet was sent to",
              ("pkt-dst-aws-service", "bytes"),
              ("pkt_dst_aws_service", "flows", "bytes"), _by_aws_service),
    QuerySpec(BY_FLOW_DIRECTION, "Flows, packets and bytes by direction and action",
              ("flow-direction", "action", "packets", "bytes"),
              ("flow_direction", "action", "flows", "packets", "bytes"), _by_flow_direction),
    QuerySpec(REJECT_REASONS, "Rejected flows by reason", ("action", "reject-reason", "packets"),
              ("reject_reason", "flows", "packets"), _reject_reasons),
)
QUERY_NAMES: tuple[str, ...] = tuple(spec.name for spec in QUERY_SPECS)
# The name the results of --sql go under.
SQL = "sql"
TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


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


def build_queries(fields: Sequence[str], vpc_cidr: Optional[str] = None, names: Sequence[str] = QUERY_NAMES, *,
                  limit: int = TOP_N, interval: int = DEFAULT_INTERVAL_SECONDS
                  ) -> tuple[tuple[Query, ...], tuple[LeftOut, ...]]:
    """The queries `fields` can answer, in both dialects, and those left out with the reason."""
    unknown = [name for name in names if name not in QUERY_NAMES]
    if unknown:
        raise QueryError(f"unknown query '{unknown[0]}'; the queries are {', '.join(QUERY_NAMES)}")
    if limit < 0:
        raise QueryError(f"--limit {limit} is negative; give the number of rows, or 0 for all")
    if interval <= 0:
        raise QueryError(f"--interval {interval} is not a positive number of seconds")
    params = QueryParams(vpc_network(vpc_cidr) if vpc_cidr else None, limit, interval)
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
        if spec.needs_vpc_cidr and params.network is None:
            left_out.append(LeftOut(spec.name, "needs the VPC's IPv4 block (--vpc-cidr, or --stack to take "
                                               "vpcCidr from a stack)"))
            continue
        built.append(Query(spec.name, spec.title, spec.columns, *both_dialects(spec.trino(params))))
    return tuple(built), tuple(left_out)


def both_dialects(trino_text: str) -> tuple[str, str]:
    """A Trino text, pretty-printed by sqlglot, and its DuckDB counterpart; a text that does not parse raises."""
    trino = sqlglot.transpile(trino_text.strip(), read="trino", write="trino", pretty=True,
                              error_level=ErrorLevel.RAISE)[0]
    return trino, to_duckdb(trino)


def user_query(sql: str) -> Query:
    """The user's own `--sql`, one Trino statement over `flow_logs`; a QueryError with sqlglot's message otherwise."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="trino", error_level=ErrorLevel.RAISE) if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as error:
        # sqlglot underlines the offending token with terminal escapes; the line and column stay.
        raise QueryError(f"--sql does not parse as Trino SQL: {TERMINAL_ESCAPE.sub('', str(error))}") from None
    if len(statements) != 1:
        raise QueryError(f"--sql holds {len(statements)} statements; give one query")
    if not isinstance(statements[0], sqlglot.exp.Query):
        raise QueryError(f"--sql '{cut(sql.strip(), 60)}' is not a query; give one SELECT (or WITH ... SELECT)")
    trino = statements[0].sql(dialect="trino", pretty=True)
    try:
        duckdb_text = to_duckdb(trino)
    except sqlglot.errors.SqlglotError as error:
        raise QueryError(f"--sql cannot be carried to DuckDB: {error}") from None
    return Query(SQL, "Your query (--sql)", (), trino, duckdb_text)
