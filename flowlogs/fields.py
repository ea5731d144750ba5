"""The flow-log record format: which fields exist and how a `logFormat` string names them.

Every field comes from AWS's field table (`flowlogs/field_table.py`, generated from
flow-log-fields.tsv): its version, where it applies (VPC, subnet and ENI flow logs, transit
gateways, or both), its Parquet type and its allowed values. A custom format is any subset of
them, written as `${field}` tokens separated by single spaces. Everything that reads or writes
records (the verifier, metric filters, queries, the policy pack's checks) derives field
positions from here instead of hard-coding them.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping

from flowlogs.field_spec import FieldSpec
from flowlogs.field_table import FIELD_TABLE
from flowlogs.quoting import cut

FIELDS: Mapping[str, FieldSpec] = MappingProxyType({spec.name: spec for spec in FIELD_TABLE})
KNOWN_FIELDS: tuple[str, ...] = tuple(FIELDS)

# Fields a flow log on a VPC, subnet or ENI may name, and those a transit gateway's may name.
VPC_FIELDS: tuple[str, ...] = tuple(s.name for s in FIELD_TABLE if s.applies_to in ("vpc", "both"))
TRANSIT_GATEWAY_FIELDS: tuple[str, ...] = tuple(
    s.name for s in FIELD_TABLE if s.applies_to in ("transit-gateway", "both"))
# Fields whose version and types come from third-party sources only.
UNCONFIRMED_FIELDS: tuple[str, ...] = tuple(s.name for s in FIELD_TABLE if not s.confirmed)

FIELDS_BY_VERSION: Mapping[int, tuple[str, ...]] = MappingProxyType({
    version: tuple(s.name for s in FIELD_TABLE if s.version == version)
    for version in sorted({s.version for s in FIELD_TABLE if s.version is not None})
})

# The version-2 default, in the table's order: what AWS writes when a flow log has no custom format.
DEFAULT_FIELDS: tuple[str, ...] = FIELDS_BY_VERSION[2]

_TOKEN = re.compile(r"\$\{([^}]*)\}")


class LogFormatError(ValueError):
    """A `logFormat` string that AWS would reject."""


def format_string(fields: tuple[str, ...]) -> str:
    """The `${a} ${b}` form AWS expects for a field list."""
    return " ".join(f"${{{field}}}" for field in fields)


def _cut(text: str, limit: int = 60) -> str:
    """A token as an error quotes it."""
    return cut(text, limit)


def parse_log_format(log_format: str | None) -> tuple[str, ...]:
    """Field names of a `logFormat` string, in order; the default fields when it is empty."""
    if log_format is None or not log_format.strip():
        return DEFAULT_FIELDS
    tokens = log_format.split()
    fields: list[str] = []
    for token in tokens:
        match = _TOKEN.fullmatch(token)
        if not match:
            raise LogFormatError(f"'{_cut(token)}' is not a ${{field}} token")
        field = match.group(1)
        if field not in FIELDS:
            raise LogFormatError(f"unknown field '{_cut(field)}'")
        if field in fields:
            raise LogFormatError(f"field '{field}' appears twice")
        fields.append(field)
    return tuple(fields)


def fields_outside(fields: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The fields of a format that a kind of target (VPC_FIELDS or TRANSIT_GATEWAY_FIELDS) cannot record."""
    return tuple(field for field in fields if field not in allowed)


def record_version(fields: tuple[str, ...]) -> int | None:
    """The `version` a record of this format carries: the highest version among its fields.

    None when a field's version is unconfirmed, since the record's version then cannot be known.
    """
    versions = [FIELDS[field].version for field in fields]
    if any(version is None for version in versions):
        return None
    return max(versions)  # type: ignore[type-var]


def enumerated_values(field: str) -> tuple[str, ...] | None:
    """The codes AWS allows in a field whose allowed values are a `CODE = meaning; ...` list.

    None for free-form fields, bit masks and lists known only from third parties. `-` (no value) is always
    allowed and is not listed.
    """
    spec = FIELDS[field]
    if spec.allowed_values.startswith(("bitmask", "unconfirmed", "AWS ip-ranges", "same ")):
        return None
    text = spec.allowed_values.split(" [", 1)[0]
    text = text.split(": ", 1)[1] if re.match(r"^[a-z ]+: ", text) else text
    items = [item.strip() for item in text.split(";") if " = " in item]
    if not items:
        return None
    codes = tuple(item.split(" = ", 1)[0].strip("'") for item in items)
    return tuple(code for code in codes if code != "-")
