"""S3's delivery layout as table partitions: the Glue table's partition keys and their values' form.

Athena's table (`components/athena.py`) and any Trino text that prunes partitions take the
names from here. Every key is a string; `year` has four digits, the others two.
"""

from __future__ import annotations

# Digits of each time partition's value ('2026', '01', '09', '23').
TIME_DIGITS = {"year": 4, "month": 2, "day": 2, "hour": 2}


def partition_keys(hive: bool, per_hour: bool) -> list[str]:
    """S3's layout: `aws-service` appears only in Hive-compatible prefixes; `hour` only per hour."""
    return (["aws_account_id"] + (["aws_service"] if hive else []) + ["aws_region", "year", "month", "day"]
            + (["hour"] if per_hour else []))
