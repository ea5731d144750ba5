"""How the text output shows values: epoch seconds as ISO-8601 UTC, protocol numbers with their names,
byte counts in KiB/MiB. The JSON document keeps the raw numbers.

A column is shown by its name, for named queries and `--sql` alike: `start`, `end` and the
columns ending in `_start`/`_end` are epoch seconds, `bytes` and those ending in `_bytes` are
sizes, `protocol` is an IANA number.
"""

from __future__ import annotations

import datetime
from typing import Any

from flowlogs.records import MISSING, protocol_name

SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def iso_utc(epoch: int) -> str:
    """`2026-11-28T00:00:00Z` for an epoch second."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def size(count: int) -> str:
    """`512 B`, `4.1 KiB`, `1.5 MiB`: binary units, one decimal past bytes."""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in SIZE_UNITS:
        value /= 1024
        if value < 1024 or unit == SIZE_UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def is_time_column(column: str) -> bool:
    return column in ("start", "end") or column.endswith(("_start", "_end"))


def is_size_column(column: str) -> bool:
    return column == "bytes" or column.endswith("_bytes")


def readable(column: str, value: Any) -> str:
    """One cell of the text output."""
    if value is None:
        return MISSING
    if isinstance(value, int) and not isinstance(value, bool):
        if is_time_column(column):
            return iso_utc(value)
        if is_size_column(column):
            return size(value)
        if column == "protocol":
            name = protocol_name(value)
            return f"{value} {name}" if name != str(value) else str(value)
    return str(value)
