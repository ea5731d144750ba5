"""Athena over flow-log records: results stay encrypted, and the Glue table reads the records' columns.

A workgroup that does not enforce its configuration lets any client send results elsewhere,
unencrypted; records of who talked to whom then leak through query results. A Glue table
whose columns differ from the flow log's format reads Parquet columns that are not there as
NULL, so queries answer zero instead of failing.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import (ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity,
                           StackValidationArgs, StackValidationPolicy)

from .common import label, of_type, referenced
from .flow_logs import FLOW_LOG
from .metric_filters import format_fields

WORKGROUP = "aws:athena/workgroup:Workgroup"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
BUCKET = "aws:s3/bucket:Bucket"
RESULT_ENCRYPTION_OPTIONS = ("SSE_S3", "SSE_KMS", "CSE_KMS")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def workgroup_results_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != WORKGROUP:
        return
    configuration = _mapping(args.props.get("configuration"))
    option = _mapping(_mapping(configuration.get("resultConfiguration")).get("encryptionConfiguration")).get(
        "encryptionOption")
    problems = []
    if configuration.get("enforceWorkgroupConfiguration") is not True:
        problems.append("does not enforce its configuration (enforceWorkgroupConfiguration), so a client can "
                        "send results elsewhere")
    if option not in RESULT_ENCRYPTION_OPTIONS:
        problems.append(f"encrypts results with '{option}', not one of {', '.join(RESULT_ENCRYPTION_OPTIONS)}")
    if problems:
        report_violation(f"{label(args.resource_type, args.name)} " + "; and ".join(problems) + ".")


def _column_names(table: Any) -> list[str]:
    columns = _mapping(table.props.get("storageDescriptor")).get("columns") or []
    return [str(_mapping(column).get("name")) for column in columns]


def glue_table_matches_log_format(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    flow_logs = of_type(args.resources, FLOW_LOG)
    for table in of_type(args.resources, GLUE_TABLE):
        for bucket in referenced(table, "storageDescriptor", BUCKET):
            for flow_log in (f for f in flow_logs if bucket in referenced(f, "logDestination", BUCKET)):
                expected = [field.replace("-", "_") for field in format_fields(flow_log.props.get("logFormat"))]
                columns = _column_names(table)
                if columns != expected:
                    report_violation(
                        f"{label(GLUE_TABLE, table.name)} reads bucket '{bucket.name}', where flow log "
                        f"'{flow_log.name}' writes records with the columns [{', '.join(expected)}], but its "
                        f"columns are [{', '.join(columns)}]. Build the columns from the flow log's fields "
                        "(components.athena.glue_columns), in logFormat order.",
                        table.urn)


POLICIES = [
    ResourceValidationPolicy(
        name="athena-workgroup-results-encrypted",
        description="Athena workgroups enforce their configuration and encrypt query results.",
        validate=workgroup_results_encrypted,
        severity=Severity.HIGH,
        remediation_steps="Set configuration.enforceWorkgroupConfiguration to true and "
                          "resultConfiguration.encryptionConfiguration.encryptionOption to SSE_S3 or SSE_KMS.",
    ),
    StackValidationPolicy(
        name="glue-table-matches-log-format",
        description="A Glue table over a flow log's bucket has exactly that flow log's fields as columns, in order.",
        validate=glue_table_matches_log_format,
        severity=Severity.HIGH,
        remediation_steps="Generate the table's columns from the flow log's format (components.athena), and "
                          "regenerate them when logFormat changes.",
    ),
]
