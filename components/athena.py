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
from flowlogs.queries import TABLE, build_queries
# The table's declaration, shared with the Trino engine (flowlogs/trino.py).
from flowlogs.table import glue_columns, location_template, partition_keys, projection  # noqa: F401

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
# Athena refuses a per-query cutoff below 10 MB.
MIN_BYTES_SCANNED_CUTOFF = 10_000_000


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
