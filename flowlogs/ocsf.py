"""Flow-log records as OCSF Network Activity events (class 4001), one JSON object per record.

    python -m flowlogs.ocsf SOURCE [--log-format '${...} ...'] [--endpoint-url URL] > events.jsonl

SOURCE is what the analysis reads: a file or folder of records (text, gzipped or not, or
Parquet), `s3://bucket/prefix` or `cwl://<log group>`.

SIEMs and Amazon Security Lake custom sources read OCSF. The mapping follows the OCSF
project's own VPC Flow Logs examples and Security Lake's: addresses and ports to
`src_endpoint`/`dst_endpoint`, packets and bytes to `traffic`, `action` to `action_id` and
`disposition_id`, the account, Region and zone to `cloud`, the logged interface to `device`.
Every field of the field table is either in `MAPPED` or in `UNMAPPED` with the reason; an
unmapped field a record has is kept under `unmapped`, by its AWS name, so nothing is lost.
`mapping_markdown()` renders both tables for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from types import MappingProxyType
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from flowlogs.fields import DEFAULT_FIELDS, LogFormatError, parse_log_format
from flowlogs.records import FlowRecord, RecordFormatError, Value, protocol_name

OCSF_VERSION = "1.7.0"
NETWORK_ACTIVITY = 4001
NETWORK_CATEGORY = 4
# A flow-log record reports the traffic of one flow in one window: OCSF's "Traffic" activity.
TRAFFIC_ACTIVITY = 6
# NODATA and SKIPDATA records stand for a window, not for traffic.
OTHER_ACTIVITY = 99
INFORMATIONAL = 1
# The profiles whose attributes the events carry: cloud, action/disposition, device.
PROFILES = ("cloud", "security_control", "host")

ACTIONS: Mapping[str, tuple[int, str]] = MappingProxyType({"ACCEPT": (1, "Allowed"), "REJECT": (2, "Denied")})
DISPOSITIONS: Mapping[str, tuple[int, str]] = MappingProxyType({"ACCEPT": (1, "Allowed"),
                                                                 "REJECT": (2, "Blocked")})
DIRECTIONS: Mapping[str, tuple[int, str]] = MappingProxyType({"ingress": (1, "Inbound"),
                                                               "egress": (2, "Outbound")})
IP_VERSIONS: Mapping[str, tuple[int, str]] = MappingProxyType({"IPv4": (4, "Internet Protocol version 4 (IPv4)"),
                                                                "IPv6": (6, "Internet Protocol version 6 (IPv6)")})
# traffic-path codes to OCSF's connection_info.boundary_id, which has a value for each of them.
BOUNDARIES: Mapping[int, tuple[int, str]] = MappingProxyType({
    1: (4, "Same VPC"), 2: (5, "Internet/VPC Gateway"), 3: (6, "Virtual Private Gateway"),
    4: (7, "Intra-region VPC"), 5: (8, "Inter-region VPC"), 6: (9, "Local Gateway"),
    7: (10, "Gateway VPC"), 8: (11, "Internet Gateway"),
})


class OcsfError(ValueError):
    """A record format that cannot give an OCSF event."""


@dataclass(frozen=True)
class Mapped:
    """The OCSF attributes one flow-log field sets, and how its value becomes theirs."""

    field: str
    attributes: tuple[str, ...]
    how: str
    values: Callable[[Value], tuple[Any, ...]]


def _same(value: Value) -> tuple[Any, ...]:
    return (value,)


def _text(value: Value) -> tuple[Any, ...]:
    return (str(value),)


def _milliseconds(value: Value) -> tuple[Any, ...]:
    return (int(value) * 1000,)  # type: ignore[arg-type]


def _window_start(value: Value) -> tuple[Any, ...]:
    return _milliseconds(value) * 2


def _coded(codes: Mapping[Any, tuple[int, str]], other: tuple[int, str] = (99, "Other")) -> Callable[[Value], tuple]:
    return lambda value: codes.get(value, other)


def _action(value: Value) -> tuple[Any, ...]:
    return ACTIONS[value] + DISPOSITIONS[value]  # type: ignore[index]


def _protocol(value: Value) -> tuple[Any, ...]:
    name = protocol_name(value)  # type: ignore[arg-type]
    return (value, None if name.isdigit() else name)


MAPPED: tuple[Mapped, ...] = (
    Mapped("version", ("metadata.product.version",), "as text", _text),
    Mapped("account-id", ("cloud.account.uid",), "as is", _same),
    Mapped("interface-id", ("device.interface_uid",), "the logged interface", _same),
    Mapped("srcaddr", ("src_endpoint.ip",), "as is", _same),
    Mapped("dstaddr", ("dst_endpoint.ip",), "as is", _same),
    Mapped("srcport", ("src_endpoint.port",), "as is", _same),
    Mapped("dstport", ("dst_endpoint.port",), "as is", _same),
    Mapped("protocol", ("connection_info.protocol_num", "connection_info.protocol_name"),
           "IANA number; name for tcp, udp, icmp, icmpv6", _protocol),
    Mapped("packets", ("traffic.packets",), "as is", _same),
    Mapped("bytes", ("traffic.bytes",), "as is", _same),
    Mapped("start", ("start_time", "time"), "seconds to milliseconds; `time` is the window's start", _window_start),
    Mapped("end", ("end_time",), "seconds to milliseconds", _milliseconds),
    Mapped("action", ("action_id", "action", "disposition_id", "disposition"),
           "ACCEPT = 1 Allowed / 1 Allowed; REJECT = 2 Denied / 2 Blocked", _action),
    Mapped("log-status", ("status_code",), "OK, NODATA or SKIPDATA; NODATA and SKIPDATA also make "
                                           "activity_id 99 (Other)", _same),
    Mapped("vpc-id", ("device.vpc_uid",), "the logged interface's VPC", _same),
    Mapped("subnet-id", ("device.subnet_uid",), "the logged interface's subnet", _same),
    Mapped("instance-id", ("device.instance_uid",), "the logged interface's instance", _same),
    Mapped("tcp-flags", ("connection_info.tcp_flags",), "as is (OR-ed over the window)", _same),
    Mapped("type", ("connection_info.protocol_ver_id", "connection_info.protocol_ver"),
           "IPv4 = 4, IPv6 = 6, EFA = 99 Other", _coded(IP_VERSIONS)),
    Mapped("region", ("cloud.region",), "as is", _same),
    Mapped("az-id", ("cloud.zone",), "as is", _same),
    Mapped("pkt-src-aws-service", ("src_endpoint.svc_name",), "as is", _same),
    Mapped("pkt-dst-aws-service", ("dst_endpoint.svc_name",), "as is", _same),
    Mapped("flow-direction", ("connection_info.direction_id", "connection_info.direction"),
           "ingress = 1 Inbound, egress = 2 Outbound", _coded(DIRECTIONS)),
    Mapped("traffic-path", ("connection_info.boundary_id", "connection_info.boundary"),
           "1 to 8 = boundary 4 to 11 (same VPC, internet/VPC gateway, virtual private gateway, intra- and "
           "inter-Region peering, local gateway, gateway endpoint, internet gateway)", _coded(BOUNDARIES)),
)

_NO_ATTRIBUTE = "Network Activity has no attribute for it"
_TRANSIT_GATEWAY = "transit gateway detail with no Network Activity attribute"
UNMAPPED: Mapping[str, str] = MappingProxyType({
    "pkt-srcaddr": "the packet's original source behind an intermediate hop; src_endpoint.ip already holds srcaddr "
                   "and OCSF has no attribute for the other address of the same endpoint",
    "pkt-dstaddr": "the packet's original destination; dst_endpoint.ip already holds dstaddr, as for pkt-srcaddr",
    "sublocation-type": "Wavelength Zone, Outpost or Local Zone: " + _NO_ATTRIBUTE,
    "sublocation-id": "the sublocation's ID: " + _NO_ATTRIBUTE,
    **{name: "ECS detail: the container profile describes one container, not a cluster, service and task"
       for name in ("ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
                    "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
                    "ecs-task-arn", "ecs-task-id")},
    "reject-reason": "why a flow was rejected (BPA): " + _NO_ATTRIBUTE,
    "resource-id": "field known only from third parties: " + _NO_ATTRIBUTE,
    "encryption-status": "field known only from third parties: " + _NO_ATTRIBUTE,
    "interface-type": "field known only from third parties: " + _NO_ATTRIBUTE,
    **{name: "next hop of the flow, known only from third parties: " + _NO_ATTRIBUTE
       for name in ("next-hop-interface-id", "next-hop-subnet-id", "next-hop-az-id", "next-hop-vpc-id",
                    "next-hop-interface-type")},
    **{name: "resource tags, known only from third parties: " + _NO_ATTRIBUTE
       for name in ("instance-tag", "instance-tag-2", "interface-tag", "interface-tag-2", "asg-tag", "asg-tag-2")},
    "resource-type": _TRANSIT_GATEWAY,
    **{name: _TRANSIT_GATEWAY for name in (
        "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id", "tgw-dst-vpc-account-id", "tgw-src-vpc-id",
        "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id", "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id",
        "tgw-dst-az-id", "tgw-pair-attachment-id")},
    **{name: "packets a transit gateway dropped, by cause: " + _NO_ATTRIBUTE for name in (
        "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded", "packets-lost-ttl-expired")},
})
MAPPED_BY_FIELD: Mapping[str, Mapped] = MappingProxyType({m.field: m for m in MAPPED})


def _put(event: dict[str, Any], path: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts, creating the objects on the way."""
    *objects, name = path.split(".")
    for key in objects:
        event = event.setdefault(key, {})
    event[name] = value


def _time_field(fields: Sequence[str]) -> str:
    """The field OCSF's required `time` comes from: the window's start, else its end."""
    for name in ("start", "end"):
        if name in fields:
            return name
    raise OcsfError("an OCSF event needs a time, but the log format has neither ${start} nor ${end}")


def ocsf_event(record: FlowRecord, fields: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """One record as a Network Activity event; `fields` defaults to the record's own format."""
    fields = tuple(record.values) if fields is None else fields
    _time_field(fields)
    gap = record.is_gap
    activity_id, activity_name = (OTHER_ACTIVITY, "Other") if gap else (TRAFFIC_ACTIVITY, "Traffic")
    event: dict[str, Any] = {
        "class_uid": NETWORK_ACTIVITY, "class_name": "Network Activity",
        "category_uid": NETWORK_CATEGORY, "category_name": "Network Activity",
        "activity_id": activity_id, "activity_name": activity_name,
        "type_uid": NETWORK_ACTIVITY * 100 + activity_id, "type_name": f"Network Activity: {activity_name}",
        "severity_id": INFORMATIONAL, "severity": "Informational",
        "metadata": {"version": OCSF_VERSION, "profiles": list(PROFILES),
                     "product": {"name": "Amazon VPC", "vendor_name": "AWS", "feature": {"name": "Flow Logs"}}},
        "cloud": {"provider": "AWS"},
        "src_endpoint": {}, "dst_endpoint": {},
        # What a format without flow-direction or action says; those fields overwrite it.
        "connection_info": {"direction_id": 0, "direction": "Unknown"},
        "action_id": 0, "action": "Unknown", "disposition_id": 0, "disposition": "Unknown",
    }
    unmapped: dict[str, Value] = {}
    for name in fields:
        value = record.values.get(name)
        if value is None:
            continue
        mapped = MAPPED_BY_FIELD.get(name)
        if mapped is None:
            unmapped[name] = value
            continue
        values = mapped.values(value)
        for attribute, converted in zip(mapped.attributes, values):
            if converted is not None:
                _put(event, attribute, converted)
    if "device" in event:
        # An interface may belong to an instance, a NAT gateway, a load balancer...: its kind is not recorded.
        event["device"].update(type_id=0, type="Unknown")
    if "time" not in event:
        end = record.values.get("end")
        if end is None:
            raise OcsfError("an OCSF event needs a time, but this record has '-' for its start and end")
        event["time"] = end * 1000
    if unmapped:
        event["unmapped"] = unmapped
    return event


def ocsf_events(records: Iterable[FlowRecord], fields: Optional[Sequence[str]] = None) -> Iterator[dict[str, Any]]:
    """Each record as a Network Activity event; OcsfError before the first when `fields` cannot give one."""
    if fields is not None:
        fields = tuple(fields)
        _time_field(fields)  # before the first record: a format without times fails at once
    for record in records:
        yield ocsf_event(record, fields)


def ocsf_lines(records: Iterable[FlowRecord], fields: Optional[Sequence[str]] = None) -> Iterator[str]:
    """JSON lines, one event each, with no spaces: what `--format ocsf` prints."""
    for event in ocsf_events(records, fields):
        yield json.dumps(event, separators=(",", ":"))


def _markdown(rows: Iterable[Sequence[str]], header: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def mapping_markdown(field_order: Optional[Sequence[str]] = None) -> str:
    """The README's two tables: each mapped field's attributes, and each unmapped field's reason."""
    order = {name: i for i, name in enumerate(field_order or ())}
    mapped = sorted(MAPPED, key=lambda m: order.get(m.field, len(order)))
    unmapped = sorted(UNMAPPED.items(), key=lambda item: order.get(item[0], len(order)))
    return "\n".join(
        _markdown(((f"`{m.field}`", ", ".join(f"`{a}`" for a in m.attributes), m.how) for m in mapped),
                  ("flow-log field", "OCSF attribute(s)", "value")) + [""] +
        _markdown(((f"`{name}`", f"`unmapped.{name}`", reason) for name, reason in unmapped),
                  ("flow-log field", "kept as", "why it has no OCSF attribute")))


def main(argv: Optional[Sequence[str]] = None) -> int:
    # The readers need boto3, DuckDB and pyarrow; importing them here keeps the mapping itself light.
    import boto3

    from flowlogs.flow_source import SourceError, iter_records, local_files

    parser = argparse.ArgumentParser(prog="python -m flowlogs.ocsf", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="file, folder, s3://bucket/prefix or cwl://log-group")
    parser.add_argument("--log-format", help="the records' format when a text file has no header line "
                                             "(default: AWS's default format)")
    parser.add_argument("--endpoint-url", help="S3 / CloudWatch Logs endpoint (a local emulator, for example)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    args = parser.parse_args(argv)

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=args.endpoint_url, region_name=args.region)

    try:
        fields = parse_log_format(args.log_format) if args.log_format else DEFAULT_FIELDS
        with tempfile.TemporaryDirectory(prefix="flow-logs-ocsf-") as workdir:
            for line in ocsf_lines(iter_records(local_files(args.source, Path(workdir), client), fields)):
                print(line)
    except SourceError as error:  # it names the source already
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (RecordFormatError, LogFormatError, OcsfError) as error:
        print(f"error: {args.source}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `| head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
