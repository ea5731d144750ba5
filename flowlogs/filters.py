"""Filters that narrow every question: a time window, interfaces, addresses, an action.

They are written once as a Trino predicate over the `flow_logs` table, and `narrowed` puts that
predicate in front of any query (a named one or the user's `--sql`) by reading `flow_logs`
through a filtered subquery; sqlglot then carries the narrowed text to DuckDB like any other.
On Trino and Athena, `trino_where` adds predicates on the time partitions of S3's layout, so
an engine over partitioned Parquet reads only the hours or days the window touches.

A record is kept by the time window when its capture window overlaps it: `end >= since` and
`start < until`. Partitions are widened by one hour either side of the window (S3 files a
record under the time its file was written, which is later than its start).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import sqlglot
from sqlglot import ErrorLevel, exp

from flowlogs.fields import format_string
from flowlogs.table import TIME_DIGITS
from flowlogs.queries import TABLE, inside_ipv4_block
from flowlogs.readable import iso_utc
from flowlogs.records import ACTIONS, FlowRecord

# A relative time: a number and a unit, counted back from now.
RELATIVE = re.compile(r"^(\d+)([smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# How far partition predicates reach past the window: delivery files a record later than its start.
PARTITION_MARGIN_SECONDS = 3600

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class FilterError(ValueError):
    """A filter value that cannot be used: the option, the value and what is allowed."""


@dataclass(frozen=True)
class Filters:
    """What narrows every query; an empty Filters keeps every record."""

    since: Optional[int] = None
    until: Optional[int] = None
    interfaces: tuple[str, ...] = ()
    addresses: tuple[Network, ...] = ()
    action: Optional[str] = None

    def needs(self) -> dict[str, tuple[str, ...]]:
        """The fields each given filter reads, by option."""
        wanted = {"--since": ("end",) if self.since is not None else (),
                  "--until": ("start",) if self.until is not None else (),
                  "--interface": ("interface-id",) if self.interfaces else (),
                  "--address": ("srcaddr", "dstaddr") if self.addresses else (),
                  "--action": ("action",) if self.action else ()}
        return {option: fields for option, fields in wanted.items() if fields}

    def given(self) -> dict[str, object]:
        """The filters as the JSON document shows them: times in epoch seconds and ISO-8601."""
        shown: dict[str, object] = {}
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None:
                shown[name] = {"epoch": value, "iso": iso_utc(value)}
        if self.interfaces:
            shown["interface"] = list(self.interfaces)
        if self.addresses:
            shown["address"] = [str(n.network_address) if n.num_addresses == 1 else str(n) for n in self.addresses]
        if self.action:
            shown["action"] = self.action
        return shown


def parse_time(option: str, text: str, now: Optional[float] = None) -> int:
    """Epoch seconds of an ISO-8601 time (UTC unless it says otherwise), epoch seconds, or `2h` ago."""
    relative = RELATIVE.match(text.strip())
    if relative:
        return int((time.time() if now is None else now) - int(relative.group(1)) * UNIT_SECONDS[relative.group(2)])
    if text.strip().isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise FilterError(f"{option} '{text}' is not a time ({error}); give ISO-8601 such as 2026-11-28T09:30:00Z "
                          "or 2026-11-28, epoch seconds, or a time ago such as 30m, 2h, 7d") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def parse_address(text: str) -> Network:
    """An address or a block; an IPv6 block wider than one address is refused (no exact arithmetic for it)."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as error:
        raise FilterError(f"--address '{text}' is not an address or a network block ({error}); give e.g. "
                          "10.0.1.5, 10.0.0.0/16 or 2001:db8::1") from None
    if network.version == 6 and network.prefixlen != 128:
        raise FilterError(f"--address '{text}' is an IPv6 block; give one IPv6 address, or an IPv4 block")
    return network


def parse_filters(*, since: Optional[str] = None, until: Optional[str] = None, interfaces: Sequence[str] = (),
                  addresses: Sequence[str] = (), action: Optional[str] = None,
                  now: Optional[float] = None) -> Filters:
    """Filters from the command line's texts, or a FilterError naming the option and the value."""
    start = parse_time("--since", since, now) if since else None
    stop = parse_time("--until", until, now) if until else None
    if start is not None and stop is not None and stop <= start:
        raise FilterError(f"--until {iso_utc(stop)} is not after --since {iso_utc(start)}")
    if action is not None and action.upper() not in ACTIONS:
        raise FilterError(f"--action '{action}' is not one of {', '.join(ACTIONS)}")
    for interface in interfaces:
        if not re.fullmatch(r"[A-Za-z0-9-]+", interface):
            raise FilterError(f"--interface '{interface}' is not an interface id such as eni-0123456789abcdef0")
    return Filters(start, stop, tuple(interfaces), tuple(parse_address(a) for a in addresses),
                   action.upper() if action else None)


def missing_fields(filters: Filters, fields: Sequence[str]) -> None:
    """A FilterError when a filter reads a field the format does not have."""
    for option, needed in filters.needs().items():
        missing = [name for name in needed if name not in fields]
        if missing:
            raise FilterError(f"{option} needs the field(s) {', '.join(missing)}, which the log format "
                              f"'{format_string(tuple(fields))}' does not include")


def _address_predicate(network: Network) -> str:
    if network.num_addresses == 1:
        address = str(network.network_address)
        return f"(srcaddr = '{address}' OR dstaddr = '{address}')"
    assert isinstance(network, ipaddress.IPv4Network)
    return f"({inside_ipv4_block('srcaddr', network)} OR {inside_ipv4_block('dstaddr', network)})"


def record_predicate(filters: Filters) -> Optional[str]:
    """The Trino predicate on record columns, or None when nothing is filtered."""
    parts = []
    if filters.since is not None:
        parts.append(f'"end" >= {filters.since}')
    if filters.until is not None:
        parts.append(f"start < {filters.until}")
    if filters.interfaces:
        parts.append("interface_id IN (" + ", ".join(f"'{i}'" for i in filters.interfaces) + ")")
    if filters.addresses:
        parts.append("(" + " OR ".join(_address_predicate(a) for a in filters.addresses) + ")")
    if filters.action:
        parts.append(f"action = '{filters.action}'")
    return " AND ".join(parts) if parts else None


def _has_address(text: Optional[str], networks: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(text) if text else None
    except ValueError:
        return False
    return address is not None and any(address in network for network in networks)


def record_kept(filters: Filters, record: FlowRecord) -> bool:
    """Whether `record_predicate` keeps this one parsed record: the filters where no table is queried."""
    return ((filters.since is None or (record.end is not None and record.end >= filters.since))
            and (filters.until is None or (record.start is not None and record.start < filters.until))
            and (not filters.interfaces or record.interface_id in filters.interfaces)
            and (not filters.addresses or _has_address(record.srcaddr, filters.addresses)
                 or _has_address(record.dstaddr, filters.addresses))
            and (filters.action is None or record.action == filters.action))


@dataclass(frozen=True)
class PartitionLayout:
    """How S3 lays the records out: Hive-compatible prefixes or not, a partition per hour or per day."""

    hive: bool = True
    per_hour: bool = True
    time_keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_keys", ("year", "month", "day") + (("hour",) if self.per_hour else ()))


def _partition_value(epoch: int, layout: PartitionLayout) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    values = {"year": moment.year, "month": moment.month, "day": moment.day, "hour": moment.hour}
    return "".join(str(values[key]).zfill(TIME_DIGITS[key]) for key in layout.time_keys)


def partition_predicate(filters: Filters, layout: PartitionLayout) -> Optional[str]:
    """Predicates on the time partitions (string columns) covering the window, with a margin either side.

    `year` alone is bounded too, a form every engine prunes on; the concatenated key bounds the
    window to the hour (or day).
    """
    key = "concat(" + ", ".join(layout.time_keys) + ")"
    parts = []
    if filters.since is not None:
        low = _partition_value(filters.since - PARTITION_MARGIN_SECONDS, layout)
        parts += [f"year >= '{low[:4]}'", f"{key} >= '{low}'"]
    if filters.until is not None:
        high = _partition_value(filters.until + PARTITION_MARGIN_SECONDS, layout)
        parts += [f"year <= '{high[:4]}'", f"{key} <= '{high}'"]
    return " AND ".join(parts) if parts else None


def trino_where(filters: Filters, layout: Optional[PartitionLayout] = None) -> str:
    """`WHERE ...` for Trino and Athena (partition predicates first when `layout` is given); '' for no filter."""
    parts = [p for p in ((partition_predicate(filters, layout) if layout else None), record_predicate(filters)) if p]
    return "WHERE " + " AND ".join(parts) if parts else ""


def narrowed(trino_sql: str, filters: Filters, layout: Optional[PartitionLayout] = None) -> str:
    """`trino_sql` with every read of `flow_logs` replaced by a read of its filtered records."""
    where = trino_where(filters, layout)
    if not where:
        return trino_sql
    tree = sqlglot.parse_one(trino_sql, read="trino", error_level=ErrorLevel.RAISE)
    subquery = sqlglot.parse_one(f"SELECT * FROM {TABLE} {where}", read="trino", error_level=ErrorLevel.RAISE)
    for table in list(tree.find_all(exp.Table)):
        if table.name == TABLE and not table.db:
            table.replace(exp.Subquery(this=subquery.copy(), alias=exp.TableAlias(
                this=exp.to_identifier(table.alias_or_name))))
    return tree.sql(dialect="trino", pretty=True)
