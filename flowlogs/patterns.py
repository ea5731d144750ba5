"""CloudWatch metric filters and Logs Insights queries, generated from a flow log's field list.

A space-delimited filter pattern names every field of a record by position, so a hand-written
pattern silently stops matching (or matches the wrong column) when `logFormat` changes. Here
every pattern and query is built from the configured fields; a filter that needs a field the
format lacks is an error naming the field and the format, never a pattern that counts nothing.

Patterns use only this subset of CloudWatch's space-delimited syntax: a bracketed list with one
term per field; a term is a bare name or `name<op>value` conditions joined by ` && `; string
values are double-quoted and may hold `*` wildcards (used with `!=` only as octet prefixes such
as `"10.0.*"`); numeric values are bare integers compared with `=` or `>=`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence, Union

from flowlogs.fields import format_string
from flowlogs.records import ACTIONS

# PutMetricFilter refuses longer patterns.
MAX_PATTERN_LENGTH = 1024
SSH_PORT = 22
TCP = 6

REJECTED_FLOWS = "rejected-flows"
REJECTED_PACKETS = "rejected-packets"
EXTERNAL_SSH = "external-ssh"
BYTES_BY_ACTION = "bytes-by-action"

SUMMARY = "summary"
TOP_TALKERS = "top-talkers"
REJECTED_BY_PORT = "rejected-by-port"
SSH_SOURCES = "ssh-sources"


class MonitoringFormatError(ValueError):
    """A monitoring filter or query that cannot be expressed for the configured format or VPC."""


class MissingFieldError(MonitoringFormatError):
    """A filter or query needs a field that the flow log's format does not write."""

    def __init__(self, needed_by: str, missing: Sequence[str], fields: Sequence[str]):
        self.needed_by = needed_by
        self.missing = tuple(missing)
        self.log_format = format_string(tuple(fields))
        names = ", ".join(f"'{name}'" for name in self.missing)
        super().__init__(f"{needed_by} needs the field(s) {names}, which the log format "
                         f"'{self.log_format}' does not include")


class PatternTooLongError(MonitoringFormatError):
    """A pattern longer than CloudWatch accepts."""


class UnexpressibleCidrError(MonitoringFormatError):
    """"Outside the VPC" cannot be written as a pattern CloudWatch accepts."""


def pattern_name(field_name: str) -> str:
    """The name a pattern or query gives a flow-log field: `account-id` -> `account_id`."""
    return field_name.replace("-", "_")


def quoted(value: str) -> str:
    """A double-quoted pattern string; `*` inside it stays a wildcard."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Condition:
    """One comparison on one field: a string (quoted, may hold `*`) or an integer."""

    field: str
    operator: str
    value: Union[str, int]

    def render(self) -> str:
        value = quoted(self.value) if isinstance(self.value, str) else str(self.value)
        return f"{pattern_name(self.field)}{self.operator}{value}"


def require_fields(fields: Sequence[str], needed: Iterable[str], needed_by: str) -> None:
    """Raise `MissingFieldError` unless every needed field is in the format."""
    missing = sorted(set(needed) - set(fields))
    if missing:
        raise MissingFieldError(needed_by, missing, fields)


def filter_pattern(fields: Sequence[str], conditions: Sequence[Condition] = ()) -> str:
    """`[version, account_id, ..., action="REJECT", log_status]`: each field at its position."""
    require_fields(fields, (c.field for c in conditions), "the filter pattern")
    terms = []
    for name in fields:
        own = [condition.render() for condition in conditions if condition.field == name]
        terms.append(" && ".join(own) if own else pattern_name(name))
    return "[" + ", ".join(terms) + "]"


def outside_cidr(field_name: str, cidr: str) -> tuple[Condition, ...]:
    """`field` is not an address of `cidr`, as string conditions CloudWatch can evaluate.

    Patterns have no CIDR test, only `*` wildcards on strings, so the block is widened to the
    next octet boundary: 10.0.0.0/16 is one condition (`!= "10.0.*"`), 10.0.0.0/20 is sixteen
    (`!= "10.0.0.*"` ... `!= "10.0.15.*"`), 10.0.0.0/28 is sixteen exact addresses.
    """
    network = ipaddress.ip_network(cidr, strict=True)
    if network.version != 4:
        raise UnexpressibleCidrError(f"{cidr} is not an IPv4 block; only IPv4 VPC blocks can be expressed")
    octets = -(-network.prefixlen // 8)
    blocks = network.subnets(new_prefix=octets * 8)
    prefixes = [str(block.network_address).split(".")[:octets] for block in blocks]
    return tuple(Condition(field_name, "!=", ".".join(prefix + (["*"] if octets < 4 else [])))
                 for prefix in prefixes)


@dataclass(frozen=True)
class MetricFilter:
    """One metric filter: the pattern, what each match publishes, and the series it produces."""

    key: str
    title: str
    metric_name: str
    unit: str
    pattern: str
    value: str
    dimensions: Mapping[str, str] = field(default_factory=dict)
    # Dimension values a dashboard plots, one series each; `({},)` for an undimensioned metric.
    series: tuple[Mapping[str, str], ...] = ({},)

    @property
    def default_value(self) -> str | None:
        """0 when records arrive but none match, so graphs show zero instead of gaps.

        CloudWatch refuses a default value on a metric with dimensions.
        """
        return None if self.dimensions else "0"


def _metric_filter(fields: Sequence[str], key: str, title: str, metric_name: str, unit: str,
                   conditions: Sequence[Condition], value_field: str | None = None,
                   dimension_fields: Mapping[str, str] = MappingProxyType({}),
                   series: tuple[Mapping[str, str], ...] = ({},)) -> MetricFilter:
    needed = [c.field for c in conditions] + list(dimension_fields.values())
    require_fields(fields, needed + ([value_field] if value_field else []), f"metric filter '{key}'")
    pattern = filter_pattern(fields, conditions)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternTooLongError(f"metric filter '{key}' would be a {len(pattern)}-character pattern, "
                                  f"more than the {MAX_PATTERN_LENGTH} CloudWatch accepts")
    return MetricFilter(
        key=key, title=title, metric_name=metric_name, unit=unit, pattern=pattern,
        value=f"${pattern_name(value_field)}" if value_field else "1",
        dimensions={dimension: f"${pattern_name(name)}" for dimension, name in dimension_fields.items()},
        series=series,
    )


def metric_filters(fields: Sequence[str], vpc_cidr: str) -> tuple[MetricFilter, ...]:
    """The monitoring metric filters for records written in `fields` order."""
    rejected = Condition("action", "=", "REJECT")
    return (
        _metric_filter(fields, REJECTED_FLOWS, "Rejected flows", "RejectedFlows", "Count", [rejected]),
        _metric_filter(fields, REJECTED_PACKETS, "Rejected packets", "RejectedPackets", "Count", [rejected],
                       value_field="packets"),
        _external_ssh_filter(fields, vpc_cidr),
        # `bytes >= 0` leaves out NODATA and SKIPDATA records, whose bytes are "-".
        _metric_filter(fields, BYTES_BY_ACTION, "Bytes by action", "Bytes", "Bytes",
                       [Condition("bytes", ">=", 0)], value_field="bytes",
                       dimension_fields={"Action": "action"},
                       series=tuple({"Action": action} for action in ACTIONS)),
    )


def _external_ssh_filter(fields: Sequence[str], vpc_cidr: str) -> MetricFilter:
    outside = outside_cidr("srcaddr", vpc_cidr)
    try:
        return _metric_filter(
            fields, EXTERNAL_SSH, "SSH accepted from outside the VPC", "ExternalSshAccepted", "Count",
            [Condition("dstport", "=", SSH_PORT), Condition("protocol", "=", TCP),
             Condition("action", "=", "ACCEPT"), *outside])
    except PatternTooLongError as error:
        raise UnexpressibleCidrError(
            f"{error}: patterns compare addresses only as strings, so 'outside {vpc_cidr}' takes "
            f"{len(outside)} conditions. A VPC block whose prefix length is a multiple of 8 takes one; "
            "each bit short of that doubles the count") from None


@dataclass(frozen=True)
class InsightsQuery:
    """A saved Logs Insights query; the log group is chosen where it runs."""

    key: str
    title: str
    query: str

    def from_group(self, log_group_name: str) -> str:
        """The query with its source, as dashboard log widgets require."""
        return f"SOURCE '{log_group_name}' | {self.query}"


def parse_command(fields: Sequence[str]) -> str:
    """`parse @message "* * ..." as version, account_id, ...`: one glob per field, in order."""
    globs = " ".join("*" for _ in fields)
    return f'parse @message "{globs}" as {", ".join(pattern_name(name) for name in fields)}'


def _insights_query(fields: Sequence[str], key: str, title: str, needs: Sequence[str], steps: str) -> InsightsQuery:
    require_fields(fields, needs, f"Logs Insights query '{key}'")
    return InsightsQuery(key, title, f"{parse_command(fields)} | {steps}")


SUMMARY_FIELDS = ("action", "log-status", "bytes", "start", "end")


def insights_queries(fields: Sequence[str], vpc_cidr: str) -> tuple[InsightsQuery, ...]:
    """Saved queries: the same questions `flowlogs.queries` asks of DuckDB and Athena.

    What the records hold, who talks most, what gets rejected, and who reaches SSH from outside.
    The summary is left out for a format without its fields, so that it widens no requirement
    monitoring already places on `logFormat`.
    """
    summary = () if set(SUMMARY_FIELDS) - set(fields) else (
        _insights_query(fields, SUMMARY, "Records by action and status", SUMMARY_FIELDS,
                        "stats count(*) as records, sum(bytes) as total_bytes, min(start) as first_start, "
                        "max(end) as last_end by action, log_status"),)
    return summary + (
        _insights_query(fields, TOP_TALKERS, "Top talkers by bytes", ["srcaddr", "dstaddr", "bytes", "packets"],
                        'filter srcaddr != "-" | stats sum(bytes) as total_bytes, sum(packets) as total_packets, '
                        "count(*) as flows by srcaddr, dstaddr | sort total_bytes desc | limit 20"),
        _insights_query(fields, REJECTED_BY_PORT, "Rejected traffic by port",
                        ["action", "dstport", "protocol", "packets"],
                        'filter action = "REJECT" | stats count(*) as flows, sum(packets) as total_packets '
                        "by dstport, protocol | sort flows desc | limit 20"),
        _insights_query(fields, SSH_SOURCES, "SSH sources outside the VPC",
                        ["srcaddr", "dstport", "protocol", "action"],
                        f"filter dstport = {SSH_PORT} and protocol = {TCP} "
                        f'and not isIpv4InSubnet(srcaddr, "{vpc_cidr}") '
                        "| stats count(*) as flows by srcaddr, action | sort flows desc | limit 20"),
    )
