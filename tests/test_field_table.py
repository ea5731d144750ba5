"""The field vocabulary is AWS's field table, generated from flow-log-fields.tsv and kept in step with it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from flowlogs.fields import (DEFAULT_FIELDS, FIELDS, FIELDS_BY_VERSION, KNOWN_FIELDS, TRANSIT_GATEWAY_FIELDS,
                             UNCONFIRMED_FIELDS, VPC_FIELDS, enumerated_values, fields_outside, parse_log_format,
                             record_version)
from flowlogs.records import INTEGER_FIELDS, RecordFormatError, parse_record
from tools import field_table


def tsv_rows(shared_reference: Path) -> list[dict[str, str]]:
    with (shared_reference / "flow-log-fields.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_generated_module_is_the_tsv_rendered_today(shared_reference):
    rendered = field_table.render_module(shared_reference / "flow-log-fields.tsv")
    assert field_table.MODULE.read_text(encoding="utf-8") == rendered, (
        "flowlogs/field_table.py is stale: run python -m tools.field_table")


def test_every_tsv_row_is_a_known_field_in_the_tsv_order(shared_reference):
    assert KNOWN_FIELDS == tuple(row["field"] for row in tsv_rows(shared_reference))


def test_unconfirmed_rows_stay_in_the_vocabulary_flagged(shared_reference):
    unconfirmed = tuple(row["field"] for row in tsv_rows(shared_reference) if row["introduced_in_version"] == "unconfirmed")
    assert unconfirmed and UNCONFIRMED_FIELDS == unconfirmed
    assert all(FIELDS[name].version is None and not FIELDS[name].confirmed for name in unconfirmed)


def test_default_format_is_the_fourteen_version_2_fields_in_aws_order():
    assert DEFAULT_FIELDS == ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
                              "protocol", "packets", "bytes", "start", "end", "action", "log-status")


def test_versions_6_and_7_are_the_transit_gateway_and_ecs_fields():
    assert len(FIELDS_BY_VERSION[6]) == 18 and all(name in TRANSIT_GATEWAY_FIELDS for name in FIELDS_BY_VERSION[6])
    assert len(FIELDS_BY_VERSION[7]) == 10 and all(name.startswith("ecs-") for name in FIELDS_BY_VERSION[7])


def test_a_format_with_reject_reason_encryption_status_and_ecs_fields_parses():
    text = "${version} ${srcaddr} ${action} ${reject-reason} ${encryption-status} ${ecs-cluster-name} ${ecs-task-id}"
    assert parse_log_format(text) == ("version", "srcaddr", "action", "reject-reason", "encryption-status",
                                      "ecs-cluster-name", "ecs-task-id")


@pytest.mark.parametrize("field, vpc, tgw", [
    ("interface-id", True, False), ("action", True, False), ("tgw-id", False, True),
    ("packets-lost-no-route", False, True), ("srcaddr", True, True), ("ecs-task-arn", True, False),
])
def test_where_a_field_applies_follows_the_table(field, vpc, tgw):
    assert (field in VPC_FIELDS, field in TRANSIT_GATEWAY_FIELDS) == (vpc, tgw), field


def test_fields_outside_names_the_transit_gateway_fields_of_a_vpc_format():
    assert fields_outside(("srcaddr", "tgw-id", "action", "resource-type"), VPC_FIELDS) == ("tgw-id", "resource-type")


def test_protocol_is_int64_only_on_transit_gateways():
    assert (FIELDS["protocol"].parquet_type, FIELDS["protocol"].transit_gateway_parquet_type) == ("INT_32", "INT_64")


@pytest.mark.parametrize("fields, version", [
    (DEFAULT_FIELDS, 2), (("srcaddr", "vpc-id", "az-id"), 4), (("srcaddr", "ecs-task-id"), 7),
    (("srcaddr", "reject-reason"), None),
])
def test_record_version_is_the_highest_field_version(fields, version):
    assert record_version(fields) == version, fields


@pytest.mark.parametrize("field, codes", [
    ("action", ("ACCEPT", "REJECT")), ("log-status", ("OK", "NODATA", "SKIPDATA")),
    ("flow-direction", ("ingress", "egress")), ("traffic-path", tuple(str(n) for n in range(1, 9))),
    ("resource-type", ("TransitGateway", "TransitGatewayAttachment")), ("srcaddr", None), ("tcp-flags", None),
    ("encryption-status", None),
])
def test_enumerated_values_are_the_tables_codes(field, codes):
    assert enumerated_values(field) == codes, field


def test_integer_fields_are_the_parquet_integers():
    assert {"traffic-path", "tcp-flags", "packets-lost-no-route", "version"} <= INTEGER_FIELDS
    assert "srcaddr" not in INTEGER_FIELDS and "reject-reason" not in INTEGER_FIELDS


def test_traffic_path_is_read_as_an_integer_and_refused_outside_its_codes():
    assert parse_record("2 egress", ("traffic-path", "flow-direction")).values["traffic-path"] == 2
    with pytest.raises(RecordFormatError, match="traffic-path"):
        parse_record("9 egress", ("traffic-path", "flow-direction"))


def test_generator_refuses_a_table_with_other_columns(tmp_path):
    bad = tmp_path / "fields.tsv"
    bad.write_text("name\tversion\nsrcaddr\t2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected the columns"):
        field_table.render_module(bad)
