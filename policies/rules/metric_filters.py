"""Metric filters on flow-log groups: a space-delimited pattern must name the records' fields in order.

CloudWatch matches `[a, b, c=...]` against a record by position, so a hand-written pattern that
misses, adds or reorders a field silently matches the wrong column, or nothing at all, and the
alarms on its metric never fire. The pack runs alone (and may be published alone), so it reads
`${field}` formats and pattern field names itself instead of importing the program's modules.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pulumi_policy import ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from .common import referenced
from .flow_logs import FLOW_LOG
from .log_groups import LOG_GROUP

METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
# What AWS writes when a flow log has no logFormat (record version 2).
DEFAULT_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
                  "protocol", "packets", "bytes", "start", "end", "action", "log-status")
_FORMAT_TOKEN = re.compile(r"\$\{([^}]*)\}")
# A term's field name: `...`, or what precedes its first operator.
_TERM_NAME = re.compile(r"\s*(\.\.\.|[^\s=!<>&|]+)")


def format_fields(log_format: Any) -> tuple[str, ...]:
    """The fields of a `${a} ${b}` logFormat; AWS's default when it is absent or blank."""
    if not isinstance(log_format, str) or not log_format.strip():
        return DEFAULT_FIELDS
    return tuple(_FORMAT_TOKEN.findall(log_format))


def _top_level_terms(text: str) -> list[str]:
    """Split on commas outside "quoted strings" and %regexes%."""
    terms: list[str] = []
    current, quote, escaped = "", "", False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quote:
            escaped = True
        elif char in '"%' and quote in ("", char):
            quote = "" if quote else char
        elif char == "," and not quote:
            terms.append(current)
            current = ""
            continue
        current += char
    return terms + [current]


def pattern_fields(pattern: Any) -> Optional[tuple[str, ...]]:
    """The field names of a space-delimited `[...]` pattern; None for term and JSON patterns."""
    text = pattern.strip() if isinstance(pattern, str) else ""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    names = []
    for term in _top_level_terms(text[1:-1]):
        match = _TERM_NAME.match(term)
        names.append(match.group(1) if match else term.strip())
    return tuple(names)


def _same_name(pattern_name: str, field: str) -> bool:
    """Patterns spell `account-id` as `account_id` (or keep the dash)."""
    return pattern_name.replace("-", "_") == field.replace("-", "_")


def _difference(names: tuple[str, ...], fields: tuple[str, ...]) -> Optional[str]:
    for position, (name, field) in enumerate(zip(names, fields), start=1):
        if not _same_name(name, field):
            return f"field {position} of the records is '{field}', but the pattern names '{name}' there"
    if len(names) != len(fields):
        return f"the pattern names {len(names)} fields, the records have {len(fields)}"
    return None


def metric_filter_matches_log_format(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    flow_logs = [r for r in args.resources if r.resource_type == FLOW_LOG]
    for metric_filter in (r for r in args.resources if r.resource_type == METRIC_FILTER):
        names = pattern_fields(metric_filter.props.get("pattern"))
        if names is None:
            continue
        for group in referenced(metric_filter, "logGroupName", LOG_GROUP):
            for flow_log in (f for f in flow_logs if group in referenced(f, "logDestination", LOG_GROUP)):
                fields = format_fields(flow_log.props.get("logFormat"))
                difference = _difference(names, fields)
                if difference:
                    expected = ", ".join(field.replace("-", "_") for field in fields)
                    report_violation(
                        f"{METRIC_FILTER} '{metric_filter.name}' does not fit the records that flow log "
                        f"'{flow_log.name}' writes into log group '{group.name}': {difference}. Name every "
                        f"field of the format, in order: [{expected}], with conditions on the fields that "
                        "matter; generate the pattern from the format (flowlogs.patterns) rather than by hand.",
                        metric_filter.urn)


POLICIES = [
    StackValidationPolicy(
        name="metric-filter-matches-log-format",
        description="Space-delimited metric filters on a flow-log group name exactly the fields of that flow "
                    "log's format (its logFormat, or AWS's default), in order.",
        validate=metric_filter_matches_log_format,
        severity=Severity.HIGH,
        remediation_steps="Build the pattern from the flow log's fields (flowlogs.patterns.filter_pattern), "
                          "one term per field in logFormat order, and regenerate it when logFormat changes.",
    ),
]
