"""Athena over an S3 Parquet flow-log destination: a Glue table, a workgroup, and the saved queries.

The table's columns are the flow log's format with AWS's Parquet types (the field table), and
its partitions are projected from S3's delivery layout, so new hours are queryable the moment
they land: no crawler, no `MSCK REPAIR TABLE`. The workgroup enforces its configuration, so
every query writes encrypted results into a bucket of its own, hardened to the same baseline as
the flow-log bucket (components.bucket_baseline) and expiring them, and stops at a bytes-scanned
cutoff. The saved queries are the same Trino texts `make analyze` carries to DuckDB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.bucket_baseline import harden_bucket
from flowlogs.fields import FIELDS
from flowlogs.patterns import pattern_name
from flowlogs.queries import TABLE, build_queries

# Glue's names for the Parquet types AWS delivers flow-log fields in.
GLUE_TYPES = {"INT_32": "int", "INT_64": "bigint", "STRING": "string"}
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
# Athena refuses a per-query cutoff below 10 MB.
MIN_BYTES_SCANNED_CUTOFF = 10_000_000
FIRST_YEAR = 2024


@dataclass(frozen=True)
class FlowLogAthenaArgs:
    bucket_name: pulumi.Input[str]
    # Where the records start in the bucket, `AWSLogs/` included (S3FlowLogDestination.key_prefix).
    key_prefix: str
    log_fields: tuple[str, ...]
    hive_compatible_partitions: bool
    per_hour_partition: bool
    region: str
    account_id: pulumi.Input[str]
    vpc_cidr: Optional[str]
    results_retention_days: int
    bytes_scanned_cutoff: int
    tags: Mapping[str, str]
    # The stack's key (the flow-log bucket's): results are SSE-KMS with it when set, SSE-S3 otherwise.
    kms_key_arn: Optional[pulumi.Input[str]] = None


def glue_name(name: str) -> str:
    """Glue and Athena database names: lower-case letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:255]


def glue_columns(fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """(column, Glue type) for each field, in format order; a field AWS gives no Parquet type is a string."""
    return [(pattern_name(field), GLUE_TYPES.get(FIELDS[field].parquet_type or "", "string")) for field in fields]


def partition_keys(hive: bool, per_hour: bool) -> list[str]:
    """S3's layout: `aws-service` appears only in Hive-compatible prefixes; `hour` only per hour."""
    return (["aws_account_id"] + (["aws_service"] if hive else []) + ["aws_region", "year", "month", "day"]
            + (["hour"] if per_hour else []))


def location_template(bucket: str, key_prefix: str, hive: bool, per_hour: bool) -> str:
    """Where S3 writes an hour's objects, with `${key}` for each projected partition."""
    base = f"s3://{bucket}/{key_prefix}"
    if hive:
        parts = ["aws-account-id=${aws_account_id}", "aws-service=${aws_service}", "aws-region=${aws_region}",
                 "year=${year}", "month=${month}", "day=${day}"] + (["hour=${hour}"] if per_hour else [])
    else:
        parts = ["${aws_account_id}", "vpcflowlogs", "${aws_region}", "${year}", "${month}", "${day}"] + (
            ["${hour}"] if per_hour else [])
    return base + "/".join(parts)


def projection(account_id: str, region: str, bucket: str, key_prefix: str, hive: bool,
               per_hour: bool) -> dict[str, str]:
    """Table parameters that let Athena compute partitions instead of looking them up."""
    ranges = {"year": (f"{FIRST_YEAR},2099", 4), "month": ("1,12", 2), "day": ("1,31", 2), "hour": ("0,23", 2)}
    parameters = {"EXTERNAL": "TRUE", "classification": "parquet", "projection.enabled": "true",
                  "projection.aws_account_id.type": "enum", "projection.aws_account_id.values": account_id,
                  "projection.aws_region.type": "enum", "projection.aws_region.values": region,
                  "storage.location.template": location_template(bucket, key_prefix, hive, per_hour)}
    if hive:
        parameters.update({"projection.aws_service.type": "enum", "projection.aws_service.values": "vpcflowlogs"})
    for key in partition_keys(hive, per_hour):
        if key in ranges:
            span, digits = ranges[key]
            parameters.update({f"projection.{key}.type": "integer", f"projection.{key}.range": span,
                               f"projection.{key}.digits": str(digits)})
    return parameters


class FlowLogAthena(pulumi.ComponentResource):
    """A Glue database and table over one S3 Parquet destination, and an Athena workgroup to query it."""

    database_name: pulumi.Output[str]
    table_name: pulumi.Output[str]
    workgroup_name: pulumi.Output[str]
    results_bucket: pulumi.Output[str]

    def __init__(self, name: str, args: FlowLogAthenaArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if args.bytes_scanned_cutoff < MIN_BYTES_SCANNED_CUTOFF:
            raise pulumi.RunError(f"{name}: bytes scanned cutoff {args.bytes_scanned_cutoff} is below the "
                                  f"{MIN_BYTES_SCANNED_CUTOFF} bytes Athena accepts")
        queries, _ = build_queries(args.log_fields, args.vpc_cidr)
        super().__init__("vpcflowlogs:index:FlowLogAthena", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        database = aws.glue.CatalogDatabase(f"{name}-database", name=glue_name(f"{name}_flow_logs"),
                                            tags=dict(args.tags), opts=child)
        table = aws.glue.CatalogTable(
            f"{name}-table",
            database_name=database.name,
            # The name the saved queries read from.
            name=TABLE,
            table_type="EXTERNAL_TABLE",
            parameters=pulumi.Output.all(args.account_id, args.bucket_name).apply(
                lambda values: projection(values[0], args.region, values[1], args.key_prefix,
                                          args.hive_compatible_partitions, args.per_hour_partition)),
            partition_keys=[aws.glue.CatalogTablePartitionKeyArgs(name=key, type="string")
                            for key in partition_keys(args.hive_compatible_partitions, args.per_hour_partition)],
            storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
                location=pulumi.Output.concat("s3://", args.bucket_name, "/", args.key_prefix),
                input_format=PARQUET_INPUT,
                output_format=PARQUET_OUTPUT,
                ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                    serialization_library=PARQUET_SERDE, parameters={"serialization.format": "1"}),
                columns=[aws.glue.CatalogTableStorageDescriptorColumnArgs(name=column, type=glue_type)
                         for column, glue_type in glue_columns(args.log_fields)],
            ),
            opts=child,
        )

        results = aws.s3.Bucket(f"{name}-query-results", tags={**args.tags, "Name": f"{name}-query-results"},
                                # Results are disposable copies; they must not block deleting the stack.
                                force_destroy=True, opts=child)
        harden_bucket(f"{name}-query-results", results, self, kms_key_arn=args.kms_key_arn,
                      expiration_days=args.results_retention_days, lifecycle_rule_id="expire-query-results",
                      former_names={"public-access-block": f"{name}-query-results-public-access",
                                    "lifecycle": f"{name}-query-results-expiry"})

        workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=f"{name}-flow-logs",
            configuration=aws.athena.WorkgroupConfigurationArgs(
                # Clients cannot override where results go or switch encryption off.
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=args.bytes_scanned_cutoff,
                result_configuration=aws.athena.WorkgroupConfigurationResultConfigurationArgs(
                    output_location=pulumi.Output.concat("s3://", results.bucket, "/"),
                    encryption_configuration=aws.athena
                    .WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                        encryption_option="SSE_KMS" if args.kms_key_arn else "SSE_S3", kms_key_arn=args.kms_key_arn),
                ),
            ),
            # Saved results go with the workgroup when it is deleted.
            force_destroy=True,
            tags={**args.tags, "Name": f"{name}-flow-logs"},
            opts=child,
        )

        for query in queries:
            aws.athena.NamedQuery(f"{name}-{query.name}-query", name=f"{name}/{query.title}", database=database.name,
                                  workgroup=workgroup.name, query=query.trino, description=query.title, opts=child)

        self.database_name = database.name
        self.table_name = table.name
        self.workgroup_name = workgroup.name
        self.results_bucket = results.bucket
        self.register_outputs({"database_name": self.database_name, "table_name": self.table_name,
                               "workgroup_name": self.workgroup_name, "results_bucket": self.results_bucket})
