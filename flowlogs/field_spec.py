"""The shape of one row of AWS's field table (see `flowlogs/field_table.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class FieldSpec:
    name: str
    # The record version that first offered the field; None where AWS's text was not available.
    version: Optional[int]
    # Parquet type in S3 Parquet delivery (VPC table / transit gateway table); None if unknown.
    parquet_type: Optional[str]
    transit_gateway_parquet_type: Optional[str]
    # "vpc", "transit-gateway" or "both".
    applies_to: str
    confirmed: bool
    allowed_values: str
