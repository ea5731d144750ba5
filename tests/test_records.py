"""The record parser on AWS's published records, custom v3-v5 formats, gaps, misfits and generated lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.settings import settings_from_stack_file
from flowlogs.fields import DEFAULT_FIELDS, KNOWN_FIELDS, LogFormatError, parse_log_format
from flowlogs.records import (ATTRIBUTE_FIELDS, ENUMERATED_FIELDS, INTEGER_FIELDS, INTEGER_MAXIMUM, FlowRecord,
                              RecordFormatError, parse_record, protocol_name)
from tests.conftest import stack_file


def reference_lines(shared_reference: Path) -> list[str]:
    path = shared_reference / "flow-log-records-aws-docs.txt"
    assert path.is_file(), f"missing AWS reference records at {path}"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def typed(record: FlowRecord) -> dict[str, object]:
    return {attribute: getattr(record, attribute) for attribute in ATTRIBUTE_FIELDS}


# AWS's published default-format records

def test_every_reference_record_parses_to_its_documented_values(shared_reference):
    records = [parse_record(line) for line in reference_lines(shared_reference)]
    common = {"version": 2, "account_id": "123456789010"}
    assert [typed(record) for record in records] == [
        {**common, "interface_id": "eni-1235b8ca123456789", "srcaddr": "172.31.16.139", "dstaddr": "172.31.16.21",
         "srcport": 20641, "dstport": 22, "protocol": 6, "packets": 20, "bytes": 4249,
         "start": 1418530010, "end": 1418530070, "action": "ACCEPT", "log_status": "OK"},
        {**common, "interface_id": "eni-1235b8ca123456789", "srcaddr": "172.31.9.69", "dstaddr": "172.31.9.12",
         "srcport": 49761, "dstport": 3389, "protocol": 6, "packets": 20, "bytes": 4249,
         "start": 1418530010, "end": 1418530070, "action": "REJECT", "log_status": "OK"},
        {**common, "interface_id": "eni-1235b8ca123456789", "srcaddr": None, "dstaddr": None,
         "srcport": None, "dstport": None, "protocol": None, "packets": None, "bytes": None,
         "start": 1431280876, "end": 1431280934, "action": None, "log_status": "NODATA"},
        {**common, "interface_id": "eni-11111111aaaaaaaaa", "srcaddr": None, "dstaddr": None,
         "srcport": None, "dstport": None, "protocol": None, "packets": None, "bytes": None,
         "start": 1431280876, "end": 1431280934, "action": None, "log_status": "SKIPDATA"},
    ]
    assert [record.is_gap for record in records] == [False, False, True, True]
    assert all(tuple(record.values) == DEFAULT_FIELDS for record in records)
    assert records[0].values["account-id"] == "123456789010" and records[0].values["log-status"] == "OK"


def test_nodata_and_skipdata_carry_no_traffic(shared_reference):
    nodata, skipdata = (parse_record(line) for line in reference_lines(shared_reference)[2:])
    for record in (nodata, skipdata):
        traffic = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action")
        assert all(record.values[name] is None for name in traffic)
    assert (nodata.log_status, skipdata.log_status) == ("NODATA", "SKIPDATA")


# Custom formats with fields of versions 3 to 5

PROD_FIELDS = settings_from_stack_file(stack_file("prod")).log_fields


def test_prod_format_record_with_v3_to_v5_fields():
    line = ("5 123456789010 eni-0a1b2c3d4e5f67890 203.0.113.7 10.20.0.15 51234 443 6 12 3456 1700000000 1700000060 "
            "ACCEPT OK vpc-0abc1234def567890 subnet-0abc1234def567890 i-0abc1234def567890 19 203.0.113.7 "
            "10.20.0.15 apne1-az4 ingress -")
    record = parse_record(line, PROD_FIELDS)
    assert (record.version, record.dstport, record.protocol, record.packets, record.bytes, record.action) == \
        (5, 443, 6, 12, 3456, "ACCEPT")
    assert record.values["vpc-id"] == "vpc-0abc1234def567890"
    assert record.values["instance-id"] == "i-0abc1234def567890"
    assert record.values["tcp-flags"] == 19
    assert record.values["pkt-dstaddr"] == "10.20.0.15"
    assert record.values["az-id"] == "apne1-az4"
    assert record.values["flow-direction"] == "ingress"
    assert record.values["traffic-path"] is None
    assert tuple(record.values) == PROD_FIELDS


def test_reordered_subset_fills_only_the_fields_it_has():
    fields = parse_log_format("${flow-direction} ${pkt-src-aws-service} ${action} ${type} ${region} "
                              "${sublocation-type} ${sublocation-id} ${dstport} ${pkt-dst-aws-service}")
    record = parse_record("egress S3 REJECT IPv4 ap-northeast-1 - - 8080 -", fields)
    assert record.values == {"flow-direction": "egress", "pkt-src-aws-service": "S3", "action": "REJECT",
                             "type": "IPv4", "region": "ap-northeast-1", "sublocation-type": None,
                             "sublocation-id": None, "dstport": 8080, "pkt-dst-aws-service": None}
    assert (record.action, record.dstport) == ("REJECT", 8080)
    assert record.version is None and record.interface_id is None and record.packets is None


def test_dash_means_none_in_every_kind_of_field():
    fields = ("dstport", "action", "log-status", "vpc-id", "tcp-flags")
    record = parse_record("- - - - -", fields)
    assert record.values == dict.fromkeys(fields)
    assert (record.dstport, record.action, record.log_status, record.is_gap) == (None, None, None, False)


def test_records_are_values():
    line = "2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 40 1 2 ACCEPT OK"
    assert parse_record(line) == parse_record(line + "\n")
    assert hash(parse_record(line)) == hash(parse_record(line))
    with pytest.raises(AttributeError):
        parse_record(line).action = "REJECT"  # type: ignore[misc]


# Lines that do not fit their format

@pytest.mark.parametrize("line, count", [
    ("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 40 1 2 ACCEPT", 13),
    ("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 40 1 2 ACCEPT OK extra", 15),
    ("", 0),
])
def test_wrong_number_of_values_is_refused_naming_both_counts(line, count):
    with pytest.raises(RecordFormatError) as caught:
        parse_record(line)
    message = str(caught.value)
    assert f"record has {count} values" in message
    assert "has 14 fields" in message and "${log-status}" in message


def test_custom_format_counts_too():
    with pytest.raises(ValueError, match=r"record has 14 values but the format '\$\{action\} \$\{dstport\}' has 2"):
        parse_record("2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 40 1 2 ACCEPT OK", ("action", "dstport"))


@pytest.mark.parametrize("line, message", [
    ("2 1 eni-1 10.0.0.1 10.0.0.2 1 http 6 1 40 1 2 ACCEPT OK", "field 'dstport' is 'http', not a whole number"),
    ("2 1 eni-1 10.0.0.1 10.0.0.2 1 ٨٠ 6 1 40 1 2 ACCEPT OK", "field 'dstport' is '٨٠', not a whole number"),
    ("2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 -1 40 1 2 ACCEPT OK", "field 'packets' is '-1', not a whole number"),
    ("2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 40 1 2 ALLOW OK", "field 'action' is 'ALLOW', not one of ACCEPT, REJECT"),
    ("2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 40 1 2 ACCEPT ACCEPT", "field 'log-status' is 'ACCEPT', not one of OK"),
])
def test_values_of_the_wrong_kind_are_refused(line, message):
    with pytest.raises(RecordFormatError, match=message):
        parse_record(line)


@pytest.mark.parametrize("field, text", [
    ("dstport", "2147483648"),
    ("packets", "9223372036854775808"),
    ("bytes", "9" * 4301),
])
def test_integers_beyond_their_parquet_type_are_record_errors(field, text):
    with pytest.raises(RecordFormatError, match=f"field '{field}' is .*not a whole number from 0 to") as caught:
        parse_record(text, (field,))
    assert len(str(caught.value)) < 600, f"{field}: the error echoes the whole value"


@pytest.mark.parametrize("field, text", [("dstport", "2147483647"), ("packets", "9223372036854775807")])
def test_largest_value_of_each_parquet_type_parses(field, text):
    assert parse_record(text, (field,)).values[field] == int(text)


def test_no_break_space_is_not_a_separator():
    with pytest.raises(RecordFormatError, match="record has 1 values"):
        parse_record("ACCEPT\u00a0OK", ("action", "log-status"))


def test_tab_is_not_a_separator():
    with pytest.raises(RecordFormatError, match="record has 1 values"):
        parse_record("ACCEPT\tOK", ("action", "log-status"))


def test_two_spaces_leave_an_empty_value_that_is_refused():
    with pytest.raises(RecordFormatError, match="field 'log-status' is empty"):
        parse_record("ACCEPT  OK", ("action", "log-status", "dstport"))


@pytest.mark.parametrize("fields, error", [
    ((), RecordFormatError),
    (("version", "bogus"), LogFormatError),
    (("action", "action"), LogFormatError),
])
def test_invalid_formats_are_refused(fields, error):
    with pytest.raises(error):
        parse_record("x", fields)


def test_protocol_names():
    assert [protocol_name(n) for n in (6, 17, 1, 58, 47, None)] == ["tcp", "udp", "icmp", "icmpv6", "47", "-"]


# Generated formats and values, rendered as AWS writes them and parsed back

TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-_/", min_size=1, max_size=24) \
    .filter(lambda text: text != "-")


def field_value(name: str) -> st.SearchStrategy[object]:
    if name in ENUMERATED_FIELDS:
        codes = ENUMERATED_FIELDS[name]
        present = st.sampled_from([int(code) for code in codes] if name in INTEGER_FIELDS else codes)
    elif name in INTEGER_FIELDS:
        present = st.integers(0, INTEGER_MAXIMUM[name])
    else:
        present = TOKEN
    return st.none() | present


@st.composite
def formats_and_values(draw: st.DrawFn) -> dict[str, object]:
    fields = draw(st.lists(st.sampled_from(KNOWN_FIELDS), min_size=1, unique=True))
    return {name: draw(field_value(name)) for name in fields}


@given(formats_and_values())
def test_rendered_records_parse_back(values):
    fields = tuple(values)
    line = " ".join("-" if value is None else str(value) for value in values.values())
    record = parse_record(line, fields)
    assert dict(record.values) == values
    assert typed(record) == {attribute: values.get(name) for attribute, name in ATTRIBUTE_FIELDS.items()}


def test_only_the_line_ending_is_cut_from_a_records_last_value():
    record = parse_record("5 clusterX\r\n", ("version", "ecs-cluster-name"))
    assert dict(record.values) == {"version": 5, "ecs-cluster-name": "clusterX"}
