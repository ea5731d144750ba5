"""The flow-log record format: which fields exist and how a `logFormat` string names them.

AWS documents fields for record versions 2 to 5; a custom format is any subset of them,
written as `${field}` tokens separated by single spaces. Everything that reads or writes
records (the verifier, metric filters, Logs Insights queries, the policy pack) derives
field positions from here instead of hard-coding them.
"""

from __future__ import annotations

import re

FIELDS_BY_VERSION: dict[int, tuple[str, ...]] = {
    2: ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
        "protocol", "packets", "bytes", "start", "end", "action", "log-status"),
    3: ("vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr"),
    4: ("region", "az-id", "sublocation-type", "sublocation-id"),
    5: ("pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path"),
}

KNOWN_FIELDS: tuple[str, ...] = tuple(f for fields in FIELDS_BY_VERSION.values() for f in fields)

# The version-2 default: what AWS writes when a flow log has no custom format.
DEFAULT_FIELDS: tuple[str, ...] = FIELDS_BY_VERSION[2]

_TOKEN = re.compile(r"\$\{([^}]*)\}")


class LogFormatError(ValueError):
    """A `logFormat` string that AWS would reject."""


def format_string(fields: tuple[str, ...]) -> str:
    """The `${a} ${b}` form AWS expects for a field list."""
    return " ".join(f"${{{field}}}" for field in fields)


def parse_log_format(log_format: str | None) -> tuple[str, ...]:
    """Field names of a `logFormat` string, in order; the default fields when it is empty."""
    if log_format is None or not log_format.strip():
        return DEFAULT_FIELDS
    tokens = log_format.split()
    fields: list[str] = []
    for token in tokens:
        match = _TOKEN.fullmatch(token)
        if not match:
            raise LogFormatError(f"'{token}' is not a ${{field}} token")
        field = match.group(1)
        if field not in KNOWN_FIELDS:
            raise LogFormatError(f"unknown field '{field}'")
        if field in fields:
            raise LogFormatError(f"field '{field}' appears twice")
        fields.append(field)
    return tuple(fields)
