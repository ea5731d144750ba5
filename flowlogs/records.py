"""The one parser of flow-log records: a line in a known field order -> a typed `FlowRecord`.

Every reader of records (the verifier, the tests) goes through `parse_record`, so a record that
does not fit its format is refused in one place, with the format named, instead of being read
with values in the wrong columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping, Optional, Union

from flowlogs.fields import DEFAULT_FIELDS, FIELDS, KNOWN_FIELDS, enumerated_values, format_string, parse_log_format
from flowlogs.quoting import cut

# What AWS writes for a field that has no value (and for every traffic field of NODATA/SKIPDATA).
MISSING = "-"
# The values flow logs write into `action` for records that carry traffic.
ACTIONS = ("ACCEPT", "REJECT")
LOG_STATUSES = ("OK", "NODATA", "SKIPDATA")
# Intervals in which no traffic was recorded: nothing arrived, or records were skipped.
GAP_STATUSES = ("NODATA", "SKIPDATA")

# The signed range of each Parquet integer type AWS delivers fields as.
PARQUET_INTEGER_MAXIMUM: Mapping[str, int] = MappingProxyType({"INT_32": 2**31 - 1, "INT_64": 2**63 - 1})
# Whole numbers: the fields AWS types as integers in Parquet delivery, each with its largest value.
INTEGER_MAXIMUM: Mapping[str, int] = MappingProxyType({
    name: PARQUET_INTEGER_MAXIMUM[spec.parquet_type] for name, spec in FIELDS.items()
    if spec.parquet_type in PARQUET_INTEGER_MAXIMUM
})
INTEGER_FIELDS = frozenset(INTEGER_MAXIMUM)
# AWS separates values with one ASCII space; other whitespace (a no-break space, a tab) is data.
SEPARATOR = " "
# Refused where AWS allows only these codes, so a record read in the wrong format fails loudly.
ENUMERATED_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    name: codes for name in KNOWN_FIELDS if (codes := enumerated_values(name))
})

PROTOCOL_NAMES: Mapping[int, str] = MappingProxyType({1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"})

Value = Union[str, int, None]


class RecordFormatError(ValueError):
    """A line that is not a record of the given format."""


@dataclass(frozen=True)
class FlowRecord:
    """One record; a field the format lacks, or that AWS wrote as `-`, is None."""

    values: Mapping[str, Value] = field(hash=False)
    version: Optional[int] = None
    account_id: Optional[str] = None
    interface_id: Optional[str] = None
    srcaddr: Optional[str] = None
    dstaddr: Optional[str] = None
    srcport: Optional[int] = None
    dstport: Optional[int] = None
    protocol: Optional[int] = None
    packets: Optional[int] = None
    bytes: Optional[int] = None
    start: Optional[int] = None
    end: Optional[int] = None
    action: Optional[str] = None
    log_status: Optional[str] = None

    @property
    def is_gap(self) -> bool:
        """A NODATA or SKIPDATA record: it stands for an interval, not for traffic."""
        return self.log_status in GAP_STATUSES


# The AWS field behind each typed attribute of `FlowRecord`.
ATTRIBUTE_FIELDS: Mapping[str, str] = MappingProxyType(
    {name.replace("-", "_"): name for name in DEFAULT_FIELDS})


@lru_cache(maxsize=64)
def _check_format(fields: tuple[str, ...]) -> None:
    """The same rules as a `logFormat` string: known fields, each once, at least one."""
    if not fields:
        raise RecordFormatError("a record format needs at least one field")
    parse_log_format(format_string(fields))  # raises LogFormatError, a ValueError, otherwise


def _short(text: str, limit: int = 400) -> str:
    """Text quoted in an error, cut short: a malformed line can be arbitrarily long."""
    return cut(text, limit)


def _value(name: str, text: str, line: str) -> Value:
    if text == MISSING:
        return None
    if not text:
        raise RecordFormatError(f"field '{name}' is empty (two spaces in a row?) in record '{_short(line)}'")
    maximum = INTEGER_MAXIMUM.get(name)
    if maximum is not None:
        # Length first: int() of thousands of digits is slow, and Python refuses past 4,300.
        if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)) or int(text) > maximum:
            raise RecordFormatError(f"field '{name}' is '{_short(text, 24)}', not a whole number "
                                    f"from 0 to {maximum}, in record '{_short(line)}'")
    allowed = ENUMERATED_FIELDS.get(name)
    if allowed is not None and text not in allowed:
        raise RecordFormatError(f"field '{name}' is '{_short(text, 40)}', not one of {', '.join(allowed)}, "
                                f"in record '{_short(line)}'")
    return int(text) if name in INTEGER_FIELDS else text


def parse_record(line: str, fields: tuple[str, ...] = DEFAULT_FIELDS) -> FlowRecord:
    """Parse one space-separated record written in `fields` order (AWS's default when omitted)."""
    fields = tuple(fields)
    _check_format(fields)
    line = line.rstrip("\r\n")
    texts = line.split(SEPARATOR) if line else []
    if len(texts) != len(fields):
        raise RecordFormatError(f"record has {len(texts)} values but the format '{format_string(fields)}' "
                                f"has {len(fields)} fields: '{_short(line)}'")
    values = {name: _value(name, text, line) for name, text in zip(fields, texts)}
    typed = {attribute: values.get(name) for attribute, name in ATTRIBUTE_FIELDS.items()}
    return FlowRecord(values=MappingProxyType(values), **typed)


def protocol_name(number: Optional[int]) -> str:
    """`tcp` for 6; IANA numbers without a common name stay numbers; `-` when unknown."""
    if number is None:
        return MISSING
    return PROTOCOL_NAMES.get(number, str(number))
