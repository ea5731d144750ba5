"""OCSF events checked by an independent model of the schema (pydantic-ocsf), AWS's records and the field table."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from ocsf.v1_7_0 import objects
from ocsf.v1_7_0.events import NetworkActivity
from pydantic import BaseModel

import ocsf as ocsf_models
from flowlogs.fields import DEFAULT_FIELDS, KNOWN_FIELDS, VPC_FIELDS
from flowlogs.ocsf import (MAPPED, OCSF_VERSION, UNMAPPED, OcsfError, mapping_markdown, ocsf_event, ocsf_events,
                           ocsf_lines)
from flowlogs.ocsf import main as ocsf_main
from flowlogs.records import parse_record
from tests.test_records import reference_lines
from flowlogs.flow_source import files_of, iter_records
from tools.synth import write_synthetic

README = Path(__file__).resolve().parents[1] / "README.md"
README_MAPPING = ("<!-- generated ocsf mapping: start -->", "<!-- generated ocsf mapping: end -->")
# The attributes the cloud, security_control and host profiles add to Network Activity.
PROFILE_MODELS = {"cloud": objects.Cloud, "device": objects.Device}
PROFILE_ENUMS = {"action_id": "action", "disposition_id": "disposition"}
SCHEMA = json.loads((Path(ocsf_models.__file__).parent / "schemas" / f"v{OCSF_VERSION.replace('.', '_')}.json")
                    .read_text())


def _extras(model: BaseModel, path: str) -> list[str]:
    """Keys no attribute of the schema holds, anywhere below `model` but in `unmapped` (free-form by design)."""
    if path.endswith(".unmapped"):
        return []
    found = [f"{path}.{key}" for key in (model.__pydantic_extra__ or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                found += _extras(item, f"{path}.{name}")
    return found


def assert_valid(event: dict[str, Any]) -> None:
    """The event validates as Network Activity, and its profile attributes as the profiles define them."""
    model = NetworkActivity.model_validate(event)
    profile = dict(model.__pydantic_extra__ or {})
    unknown = set(profile) - set(PROFILE_MODELS) - set(PROFILE_ENUMS) - set(PROFILE_ENUMS.values())
    assert not unknown, f"attributes outside Network Activity and its profiles: {unknown}"
    nested = [p for p in _extras(model, "event") if p.split(".")[1] not in profile]
    for name, model_type in PROFILE_MODELS.items():
        if name in profile:
            nested += _extras(model_type.model_validate(profile[name]), f"event.{name}")
    assert not nested, f"keys the schema does not define: {nested}"
    for id_name, caption_name in PROFILE_ENUMS.items():
        enum = SCHEMA["dictionary"]["attributes"][id_name]["enum"]
        value = profile[id_name]
        assert str(value) in enum and enum[str(value)]["caption"] == profile[caption_name], (id_name, value, profile)


@pytest.fixture(scope="module")
def every_field_records(tmp_path_factory):
    """Synthetic records in a format with every VPC field, so each mapping is exercised."""
    out = tmp_path_factory.mktemp("ocsf")
    write_synthetic(out, 3000, seed=11, fields=VPC_FIELDS, kinds=("text",))
    return list(iter_records(files_of(out / "text"), VPC_FIELDS))


def test_every_event_of_every_vpc_field_validates(every_field_records):
    for event in ocsf_events(every_field_records, VPC_FIELDS):
        assert_valid(event)


def test_events_carry_the_records_values_where_the_mapping_says(every_field_records):
    for record, event in zip(every_field_records, ocsf_events(every_field_records, VPC_FIELDS)):
        v = record.values
        assert event["src_endpoint"].get("ip") == v["srcaddr"] and event["dst_endpoint"].get("port") == v["dstport"]
        assert event.get("traffic", {}).get("bytes") == v["bytes"], (v, event)
        assert event["start_time"] == v["start"] * 1000 and event["time"] == v["start"] * 1000
        assert event["cloud"]["account"]["uid"] == v["account-id"] and event["device"].get("vpc_uid") == v["vpc-id"]
        expected_direction = {"ingress": 1, "egress": 2, None: 0}[v["flow-direction"]]
        assert event["connection_info"]["direction_id"] == expected_direction


def test_unmapped_fields_are_kept_by_their_aws_names(every_field_records):
    kept = [event["unmapped"] for event in ocsf_events(every_field_records, VPC_FIELDS) if "unmapped" in event]
    assert kept, "the synthetic records gave no unmapped values"
    for record, event in zip(every_field_records, ocsf_events(every_field_records, VPC_FIELDS)):
        present = {name: value for name, value in record.values.items() if name in UNMAPPED and value is not None}
        assert event.get("unmapped", {}) == present


def test_aws_reference_records_map_to_the_documented_outcomes(shared_reference):
    records = [parse_record(line) for line in reference_lines(shared_reference)]
    events = list(ocsf_events(records, DEFAULT_FIELDS))
    for event in events:
        assert_valid(event)
    accepted, rejected, nodata, skipdata = events
    assert (accepted["action_id"], accepted["disposition_id"], accepted["dst_endpoint"]["port"]) == (1, 1, 22)
    assert (rejected["action_id"], rejected["disposition"], rejected["dst_endpoint"]["port"]) == (2, "Blocked", 3389)
    assert accepted["connection_info"]["protocol_name"] == "tcp" and accepted["traffic"] == {"packets": 20,
                                                                                            "bytes": 4249}
    assert [e["status_code"] for e in (nodata, skipdata)] == ["NODATA", "SKIPDATA"]
    assert {e["activity_id"] for e in (nodata, skipdata)} == {99} and accepted["activity_id"] == 6
    assert "traffic" not in nodata and nodata["action_id"] == 0


def test_every_field_of_the_field_table_is_mapped_or_unmapped_with_a_reason(shared_reference):
    with (shared_reference / "flow-log-fields.tsv").open(newline="") as table:
        fields = [row["field"] for row in csv.DictReader(table, delimiter="\t")]
    mapped = [m.field for m in MAPPED]
    assert sorted(fields) == sorted(mapped + list(UNMAPPED)), "field table and OCSF mapping disagree"
    assert len(set(mapped)) == len(mapped) and not set(mapped) & set(UNMAPPED)
    assert all(reason.strip() for reason in UNMAPPED.values())


def test_a_format_without_start_or_end_is_refused_before_any_record():
    fields = ("srcaddr", "dstaddr", "bytes")
    with pytest.raises(OcsfError, match=r"neither \$\{start\} nor \$\{end\}"):
        next(ocsf_events(iter(()), fields))


def test_a_format_with_end_only_takes_the_time_from_the_end():
    fields = ("srcaddr", "end", "action")
    event = ocsf_event(parse_record("10.0.0.1 1700000060 REJECT", fields), fields)
    assert event["time"] == 1700000060 * 1000 and "start_time" not in event
    assert_valid({**event, "dst_endpoint": {"ip": "10.0.0.2"}})


def test_traffic_path_and_type_become_boundary_and_ip_version():
    fields = ("srcaddr", "dstaddr", "start", "type", "flow-direction", "traffic-path")
    event = ocsf_event(parse_record("10.0.0.5 52.94.0.10 1700000000 IPv6 egress 8", fields), fields)
    info = event["connection_info"]
    assert (info["boundary_id"], info["boundary"], info["protocol_ver_id"], info["direction"]) == (
        11, "Internet Gateway", 6, "Outbound")
    assert_valid(event)


def test_ocsf_lines_are_one_compact_json_object_per_record(shared_reference):
    lines = reference_lines(shared_reference)
    fields = DEFAULT_FIELDS
    printed = list(ocsf_lines((parse_record(line) for line in lines), fields))
    assert len(printed) == len(lines) and all("\n" not in text and ", " not in text for text in printed)
    assert [json.loads(text) for text in printed] == [ocsf_event(parse_record(line), fields) for line in lines]


def test_readme_shows_the_generated_mapping():
    text = README.read_text()
    start, end = README_MAPPING
    assert start in text and end in text, f"{README} lacks the markers {README_MAPPING}"
    shown = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert shown == mapping_markdown(KNOWN_FIELDS).strip(), "README OCSF mapping differs from flowlogs/ocsf.py"


def test_the_command_prints_one_event_per_record_of_a_source(tmp_path, capsys):
    out = tmp_path / "records"
    write_synthetic(out, 500, seed=5, kinds=("parquet",))
    assert ocsf_main([str(out / "parquet")]) == 0
    printed = capsys.readouterr().out.splitlines()
    records = list(iter_records(files_of(out / "parquet"), DEFAULT_FIELDS))
    assert len(printed) == len(records) == 500
    assert [json.loads(line) for line in printed] == [ocsf_event(record) for record in records]


def test_the_command_exits_2_naming_a_bad_line(tmp_path, capsys):
    source = tmp_path / "records.log"
    source.write_text("2 123456789012 eni-1 not a record\n")
    assert ocsf_main([str(source)]) == 2
    err = capsys.readouterr().err
    assert "records.log" in err and "not a record" in err and "Traceback" not in err
