"""The `flow_logs` table, declared once: its columns, their Parquet types and its projected partitions.

S3 delivers Parquet flow logs under one prefix per hour (or day), Hive-compatible
(`year=2026/month=11/...`) or plain (`2026/11/...`). The table's partitions are projected from that
layout, so new hours are queryable the moment they land. `components/athena.py` declares the Glue
table from here and `flowlogs/trino.py` creates the same table on a Trino cluster. No Pulumi here.
"""

from __future__ import annotations

from flowlogs.fields import FIELDS
from flowlogs.patterns import pattern_name

# Glue's names for the Parquet types AWS delivers flow-log fields in.
GLUE_TYPES = {"INT_32": "int", "INT_64": "bigint", "STRING": "string"}
FIRST_YEAR = 2024
# Digits of each time partition's value ('2026', '01', '09', '23'); a Trino text that prunes
# partitions writes its bounds with them (flowlogs/filters.py).
TIME_DIGITS = {"year": 4, "month": 2, "day": 2, "hour": 2}
S3_SCHEME = "s3"


def glue_columns(fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """(column, Glue type) for each field, in format order; a field AWS gives no Parquet type is a string."""
    return [(pattern_name(field), GLUE_TYPES.get(FIELDS[field].parquet_type or "", "string")) for field in fields]


def partition_keys(hive: bool, per_hour: bool) -> list[str]:
    """S3's layout: `aws-service` appears only in Hive-compatible prefixes; `hour` only per hour."""
    return (["aws_account_id"] + (["aws_service"] if hive else []) + ["aws_region", "year", "month", "day"]
            + (["hour"] if per_hour else []))


def location_template(bucket: str, key_prefix: str, hive: bool, per_hour: bool, *, scheme: str = S3_SCHEME) -> str:
    """Where S3 writes an hour's objects, with `${key}` for each projected partition.

    `scheme://bucket/key_prefix` is where the records start; a file system other than S3 (Trino's
    `local`, say) names itself in `scheme`.
    """
    base = f"{scheme}://{bucket}/{key_prefix}"
    if hive:
        parts = ["aws-account-id=${aws_account_id}", "aws-service=${aws_service}", "aws-region=${aws_region}",
                 "year=${year}", "month=${month}", "day=${day}"] + (["hour=${hour}"] if per_hour else [])
    else:
        parts = ["${aws_account_id}", "vpcflowlogs", "${aws_region}", "${year}", "${month}", "${day}"] + (
            ["${hour}"] if per_hour else [])
    return base + "/".join(parts)


def projection(account_id: str, region: str, bucket: str, key_prefix: str, hive: bool,
               per_hour: bool, *, scheme: str = S3_SCHEME) -> dict[str, str]:
    """Table parameters that let Athena (and Trino) compute partitions instead of looking them up."""
    ranges = {"year": f"{FIRST_YEAR},2099", "month": "1,12", "day": "1,31", "hour": "0,23"}
    parameters = {"EXTERNAL": "TRUE", "classification": "parquet", "projection.enabled": "true",
                  "projection.aws_account_id.type": "enum", "projection.aws_account_id.values": account_id,
                  "projection.aws_region.type": "enum", "projection.aws_region.values": region,
                  "storage.location.template": location_template(bucket, key_prefix, hive, per_hour,
                                                                 scheme=scheme)}
    if hive:
        parameters.update({"projection.aws_service.type": "enum", "projection.aws_service.values": "vpcflowlogs"})
    for key in partition_keys(hive, per_hour):
        if key in ranges:
            parameters.update({f"projection.{key}.type": "integer", f"projection.{key}.range": ranges[key],
                               f"projection.{key}.digits": str(TIME_DIGITS[key])})
    return parameters
