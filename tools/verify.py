"""`make verify STACK=<name>`: the article's last step, automated.

The article ends by browsing to the hosts, connecting over SSH and watching that traffic
appear in the flow log. This sends the same traffic to every host (HTTP 80, TCP 22, and a
TCP 8080 probe the security group drops), then polls the stack's log group (or, for a stack
that delivers only to S3, its flow-log bucket) until each host's
network interface has an accepted port-80 record and a rejected port-8080 record, and prints
what it saw. When something never appears it says what, and the likely cause.

Exit 0: every probe went as the security group says and every expected record appeared.
Exit 1: something did not. Exit 2: verification could not run (invalid stack config, a log
format without the fields it needs, unusable outputs, AWS refusing the reads).
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, TextIO

import boto3
import pulumi
from botocore.exceptions import BotoCoreError, ClientError

from config.settings import Settings, settings_from_stack_file, stack_file_of
from flowlogs.fields import format_string
from flowlogs.records import MISSING, FlowRecord, parse_record, protocol_name
from flowlogs.quoting import cut
from flowlogs.flow_source import SourceError, download_objects, files_of, iter_records, list_objects

# Without these a record cannot be tied to a host, a port and a verdict, or summed.
REQUIRED_FIELDS = ("interface-id", "dstport", "protocol", "action", "packets", "bytes")
SSH_PORT, HTTP_PORT, DROPPED_PORT = 22, 80, 8080
PROBED_PORTS = (SSH_PORT, HTTP_PORT, DROPPED_PORT)
TCP = 6
# What each host's interface must show: the page was served, the 8080 probe was dropped.
EXPECTED_RECORDS = ((HTTP_PORT, "ACCEPT"), (DROPPED_PORT, "REJECT"))
DEFAULT_TIMEOUT_SECONDS = 15 * 60.0
# S3 delivers about 10 minutes after an aggregation interval ends, rather than CloudWatch Logs' 5.
DEFAULT_S3_TIMEOUT_SECONDS = 25 * 60.0
DEFAULT_POLL_SECONDS = 15.0
# Records are read from a little before the probes, to absorb clock skew with AWS.
LOOKBACK_SECONDS = 60
PAGE_LIMIT_BYTES = 64 * 1024
TABLE_COLUMNS = ("port", "protocol", "action", "packets", "bytes")
# Outcomes of a TCP connect; on AWS a port the security group drops times out.
CONNECTED, REFUSED, TIMED_OUT = "connected", "refused", "timed out"


class VerifyError(Exception):
    """Verification cannot run at all (exit 2)."""


class NonLoopbackTargetError(RuntimeError):
    """A loopback-only `Prober` was asked to send traffic elsewhere; nothing was sent."""


# Stack outputs

@dataclass(frozen=True)
class Host:
    name: str
    network_interface_id: str
    public_ip: Optional[str] = None
    private_ip: Optional[str] = None
    instance_id: Optional[str] = None
    availability_zone: Optional[str] = None


@dataclass(frozen=True)
class StackOutputs:
    region: str
    log_group_name: str
    hosts: tuple[Host, ...]
    # A stack without a log group: the bucket its records are delivered to.
    bucket: Optional[str] = None


# CloudWatch Logs' own rule for group names (CreateLogGroup).
_LOG_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# The longest outputs value an error quotes.
MAX_SHOWN = 120


def _shown(value: Any) -> str:
    return cut(json.dumps(value), MAX_SHOWN)


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = False) -> Optional[str]:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise VerifyError(f"{where}.{key} is missing: it should be a non-empty string")
        return None
    if not isinstance(value, str):
        raise VerifyError(f"{where}.{key} = {_shown(value)} is not a string")
    return value


def _address(entry: Mapping[str, Any], key: str, where: str) -> Optional[str]:
    """An IP address as AWS reports it; never a hostname, which would be resolved and probed."""
    text = _text(entry, key, where)
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise VerifyError(f"{where}.{key} = {_shown(text)} is not an IP address") from None
    unusable = [kind for kind, flag in (("link-local", address.is_link_local), ("multicast", address.is_multicast),
                                         ("unspecified", address.is_unspecified)) if flag]
    if unusable:
        raise VerifyError(f"{where}.{key} = {_shown(text)} is {unusable[0]}: no EC2 host is reached there")
    return str(address)


def _host(entry: Any, where: str) -> Host:
    if not isinstance(entry, dict):
        raise VerifyError(f"{where} = {_shown(entry)} is not an object with a name and a networkInterfaceId")
    return Host(name=_text(entry, "name", where, required=True),
                network_interface_id=_text(entry, "networkInterfaceId", where, required=True),
                public_ip=_address(entry, "publicIp", where), private_ip=_address(entry, "privateIp", where),
                instance_id=_text(entry, "instanceId", where),
                availability_zone=_text(entry, "availabilityZone", where))


def _distinct(hosts: Sequence[Host], source: str) -> None:
    """Two hosts sharing a name or an interface would let one host's records verify the other."""
    for attribute, label in (("name", "name"), ("network_interface_id", "networkInterfaceId")):
        seen: dict[str, int] = {}
        for index, host in enumerate(hosts):
            value = getattr(host, attribute)
            if value in seen:
                raise VerifyError(f"{source}: hosts[{seen[value]}] and hosts[{index}] have the same {label} "
                                  f"{_shown(value)}; each host needs its own")
            seen[value] = index


def outputs_from_json(document: Any, source: str) -> StackOutputs:
    """The outputs verification needs, checked, from `pulumi stack output --json`."""
    if not isinstance(document, dict):
        raise VerifyError(f"{source}: expected a JSON object of stack outputs")
    absent = [key for key in ("region", "hosts") if not document.get(key)]
    if not document.get("logGroupName") and not document.get("flowLogBuckets"):
        absent.append("logGroupName (or flowLogBuckets)")
    if absent:
        raise VerifyError(f"{source} lacks {', '.join(absent)}: is the stack deployed (pulumi up)?")
    region = _text(document, "region", source)
    if not _REGION.match(region):
        raise VerifyError(f"{source}: region = {_shown(region)} is not an AWS region such as ap-northeast-1")
    log_group = _text(document, "logGroupName", source)
    if log_group is not None and not _LOG_GROUP_NAME.match(log_group):
        raise VerifyError(f"{source}: logGroupName = {_shown(log_group)} is not a CloudWatch Logs group name")
    if not isinstance(document["hosts"], list):
        raise VerifyError(f"{source}: hosts = {_shown(document['hosts'])} is not a list")
    hosts = tuple(_host(entry, f"{source}: hosts[{index}]") for index, entry in enumerate(document["hosts"]))
    _distinct(hosts, source)
    buckets = document.get("flowLogBuckets") or {}
    if not isinstance(buckets, dict) or not all(isinstance(name, str) and name for name in buckets.values()):
        raise VerifyError(f"{source}: flowLogBuckets = {_shown(buckets)} is not an object of bucket names")
    # Every S3 destination receives the same records: any bucket will do.
    bucket = min(buckets.values()) if buckets else None
    return StackOutputs(region=region, log_group_name=log_group or "", hosts=hosts, bucket=bucket)


def read_outputs(stack: str, outputs_file: Optional[Path],
                 run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> StackOutputs:
    """Outputs from a saved JSON file, or else from the Pulumi CLI."""
    if outputs_file is not None:
        try:
            return outputs_from_json(json.loads(outputs_file.read_text(encoding="utf-8")), str(outputs_file))
        except (OSError, ValueError) as error:  # ValueError: not JSON, or not UTF-8
            raise VerifyError(f"cannot read outputs from {outputs_file}: {_first_line(error)}") from None
    command = ["pulumi", "stack", "output", "--json", "-s", stack]
    try:
        completed = run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise VerifyError("the Pulumi CLI is not installed here; save `pulumi stack output --json -s "
                          f"{stack}` to a file and run make verify STACK={stack} OUTPUTS=<file>") from None
    if completed.returncode != 0:
        raise VerifyError(f"{' '.join(command)} failed: {completed.stderr.strip()}")
    try:
        return outputs_from_json(json.loads(completed.stdout), " ".join(command))
    except ValueError as error:
        raise VerifyError(f"{' '.join(command)} printed no JSON: {error}") from None


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__


def check_fields(fields: Sequence[str], stack_file: Path) -> None:
    """Refuse a log format that verification cannot read, naming what it lacks."""
    lacking = [name for name in REQUIRED_FIELDS if name not in fields]
    if lacking:
        raise VerifyError(f"the log format of {stack_file} lacks {', '.join(lacking)}; verification needs "
                          f"{', '.join(REQUIRED_FIELDS)} (format: {format_string(tuple(fields))})")


# Traffic

PROBE_DESCRIPTIONS: Mapping[int, str] = {
    HTTP_PORT: f"HTTP GET :{HTTP_PORT}",
    SSH_PORT: f"TCP connect :{SSH_PORT}",
    DROPPED_PORT: f"TCP connect :{DROPPED_PORT} (dropped)",
}
# What to check when a probe did not go as the security group says it should.
PROBE_HINTS: Mapping[int, str] = {
    HTTP_PORT: ("Apache should serve a page naming the host: has user data finished installing it "
                "(a minute or two after boot), and is your address in httpAllowedCidrs?"),
    SSH_PORT: "the security group allows SSH only from sshAllowedCidrs: is your address in it?",
    DROPPED_PORT: f"the security group lets {DROPPED_PORT} through, so the flow log has nothing to reject",
}


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    outcome: str
    ok: bool

    @property
    def description(self) -> str:
        return PROBE_DESCRIPTIONS[self.port]

    @property
    def hint(self) -> str:
        return PROBE_HINTS[self.port]


@dataclass
class Prober:
    """Sends each host the article's traffic: to its public IP, on the real ports, by default.

    Tests map a host's ports to loopback listeners (`ports`: host name -> {port: real port})
    and set `loopback_only`, which refuses any other address before anything is sent.
    Every (address, port) actually contacted is appended to `sent`.
    """

    ports: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    loopback_only: bool = False
    timeout_seconds: float = 5.0
    # Short: the security group drops these packets, so this probe always waits it out.
    dropped_timeout_seconds: float = 3.0
    sent: list[tuple[str, int]] = field(default_factory=list)

    def probe(self, host: Host) -> tuple[ProbeResult, ...]:
        if not host.public_ip:
            return tuple(ProbeResult(host.name, port, "not sent: no publicIp in the outputs", False)
                         for port in PROBED_PORTS)
        return (self.ssh_connect(host), self.http_page(host), self.dropped_connect(host))

    def _target(self, host: Host, port: int) -> tuple[str, int]:
        address = host.public_ip or ""
        if self.loopback_only and not _is_loopback(address):
            raise NonLoopbackTargetError(f"refusing to send to {address}:{port} for {host.name}")
        target = (address, self.ports.get(host.name, {}).get(port, port))
        self.sent.append(target)
        return target

    def http_page(self, host: Host) -> ProbeResult:
        """200 with a page naming the host, as the article's browser shows."""
        connection = http.client.HTTPConnection(*self._target(host, HTTP_PORT), timeout=self.timeout_seconds)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            page = response.read(PAGE_LIMIT_BYTES).decode("utf-8", errors="replace")
        except OSError as error:
            return ProbeResult(host.name, HTTP_PORT, f"failed: {error}", False)
        finally:
            connection.close()
        names_host = host.name in page
        outcome = f"{response.status}, page {'names' if names_host else 'does not name'} {host.name}"
        return ProbeResult(host.name, HTTP_PORT, outcome, response.status == 200 and names_host)

    def ssh_connect(self, host: Host) -> ProbeResult:
        outcome = _connect(*self._target(host, SSH_PORT), self.timeout_seconds)
        return ProbeResult(host.name, SSH_PORT, outcome, outcome == CONNECTED)

    def dropped_connect(self, host: Host) -> ProbeResult:
        """Anything but a connection will do: on AWS it times out, the security group dropped it."""
        outcome = _connect(*self._target(host, DROPPED_PORT), self.dropped_timeout_seconds)
        return ProbeResult(host.name, DROPPED_PORT, outcome, outcome != CONNECTED)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _connect(address: str, port: int, timeout: float) -> str:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return CONNECTED
    except TimeoutError:
        return TIMED_OUT
    except ConnectionRefusedError:
        return REFUSED
    except OSError as error:
        return f"failed: {error}"


# Matching records to expectations

# (dstport, protocol number, action): one row of a host's table.
FlowKey = tuple[int, Optional[int], Optional[str]]


@dataclass(frozen=True)
class Totals:
    packets: int = 0
    bytes: int = 0

    def plus(self, record: FlowRecord) -> Totals:
        return Totals(self.packets + (record.packets or 0), self.bytes + (record.bytes or 0))


@dataclass(frozen=True)
class Expectation:
    host: Host
    port: int
    action: str

    @property
    def label(self) -> str:
        return f"{self.host.name} {self.port}/{self.action}"

    def describe(self) -> str:
        return (f"{self.host.name} ({self.host.network_interface_id}): a tcp record to port {self.port} "
                f"with action {self.action}")


@dataclass(frozen=True)
class Observation:
    """What the log group held, per host: probed-port flows and NODATA/SKIPDATA counts."""

    events: int
    flows: Mapping[str, Mapping[FlowKey, Totals]]
    gaps: Mapping[str, Mapping[str, int]]
    unparsed: int = 0
    first_parse_error: Optional[str] = None

    def saw(self, expectation: Expectation) -> bool:
        return (expectation.port, TCP, expectation.action) in self.flows.get(expectation.host.name, {})


def expectations(hosts: Iterable[Host]) -> tuple[Expectation, ...]:
    return tuple(Expectation(host, port, action) for host in hosts for port, action in EXPECTED_RECORDS)


def _inbound_to(record: FlowRecord, host: Host) -> bool:
    """Traffic to the host, not from it (its own downloads also reach port 80 somewhere)."""
    return record.dstaddr is None or host.private_ip is None or record.dstaddr == host.private_ip


def observe(messages: Iterable[str], fields: tuple[str, ...], hosts: Sequence[Host]) -> Observation:
    """Sum the records of the hosts' interfaces for the probed ports; count gaps and misfits."""
    by_interface = {host.network_interface_id: host for host in hosts}
    flows: dict[str, dict[FlowKey, Totals]] = defaultdict(dict)
    gaps: dict[str, Counter[str]] = defaultdict(Counter)
    events = unparsed = 0
    first_parse_error: Optional[str] = None
    for message in messages:
        events += 1
        try:
            record = parse_record(message, fields)
        except ValueError as error:
            unparsed += 1
            first_parse_error = first_parse_error or str(error)
            continue
        host = by_interface.get(record.interface_id or "")
        if host is None:
            continue
        if record.is_gap:
            gaps[host.name][record.log_status or ""] += 1
        elif record.dstport in PROBED_PORTS and _inbound_to(record, host):
            key = (record.dstport, record.protocol, record.action)
            flows[host.name][key] = flows[host.name].get(key, Totals()).plus(record)
    return Observation(events=events, flows=dict(flows), gaps={name: dict(c) for name, c in gaps.items()},
                       unparsed=unparsed, first_parse_error=first_parse_error)


def missing(wanted: Iterable[Expectation], observation: Observation) -> tuple[Expectation, ...]:
    return tuple(expectation for expectation in wanted if not observation.saw(expectation))


GAP_MEANINGS = {
    "NODATA": "no traffic reached the interface in those intervals",
    "SKIPDATA": "AWS skipped records in those intervals (an internal capacity constraint or error)",
}


def likely_causes(not_seen: Sequence[Expectation], observation: Observation, settings: Settings,
                  probes: Sequence[ProbeResult]) -> list[str]:
    """Why expected records are missing, most fundamental first."""
    causes: list[str] = []
    if observation.events == 0:
        causes.append("no records at all arrived in the log group: the flow log is not delivering. Its IAM role "
                      "needs logs:CreateLogStream and logs:PutLogEvents on the group (the flow log's "
                      "DeliverLogsErrorMessage reads 'Access error' otherwise)")
    if observation.unparsed:
        causes.append(f"{observation.unparsed} of {observation.events} log events do not fit the stack's log "
                      f"format ({observation.first_parse_error}); does the stack file's logFormat match the "
                      "deployed flow log?")
    if settings.aggregation_interval == 600:
        causes.append("aggregationInterval is 600 s: records can take 10 minutes or more to appear; "
                      "run again with a longer --timeout, or use aggregationInterval 60")
    missing_actions = {expectation.action for expectation in not_seen}
    if "REJECT" in missing_actions and settings.traffic_type == "ACCEPT":
        causes.append("trafficType is ACCEPT: the flow log never records rejected traffic")
    if "ACCEPT" in missing_actions and settings.traffic_type == "REJECT":
        causes.append("trafficType is REJECT: the flow log never records accepted traffic")
    for host_name, statuses in observation.gaps.items():
        for status, count in sorted(statuses.items()):
            causes.append(f"{host_name}: {count} {status} record(s): {GAP_MEANINGS[status]}")
    hosts_without_reject = {e.host.name for e in not_seen if e.port == DROPPED_PORT}
    causes.extend(f"{probe.host}: the {DROPPED_PORT} probe was {probe.outcome}, not dropped: {probe.hint}"
                  for probe in probes
                  if probe.port == DROPPED_PORT and probe.host in hosts_without_reject and probe.outcome != TIMED_OUT)
    if not causes:
        causes.append("records are published some minutes after their aggregation interval ends; "
                      "run again with a longer --timeout")
    return causes


# Output

def render_table(host: Host, flows: Mapping[FlowKey, Totals]) -> str:
    """One host's flows to the probed ports: packets and bytes summed over the records seen."""
    where = ", ".join(part for part in (host.instance_id, host.availability_zone) if part)
    title = f"{host.name}  {host.network_interface_id}" + (f"  ({where})" if where else "")
    if not flows:
        return f"{title}\n  no records for ports {', '.join(map(str, PROBED_PORTS))}"
    ordered = sorted(flows.items(), key=lambda item: (item[0][0], item[0][1] or -1, item[0][2] or ""))
    rows = [(str(port), protocol_name(protocol), action or "-", str(totals.packets), str(totals.bytes))
            for (port, protocol, action), totals in ordered]
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(TABLE_COLUMNS)]
    numeric = {0, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(cell.rjust(width) if i in numeric else cell.ljust(width)
                                for i, (cell, width) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([title, line(TABLE_COLUMNS), *(line(row) for row in rows)])


class ProgressLine:
    """One status line: rewritten in place on a terminal, one plain line per update otherwise."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._in_place = stream.isatty()
        self._width = 0

    def show(self, text: str) -> None:
        if self._in_place:
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._in_place and self._width:
            self._stream.write("\n")
            self._width = 0


# Running it

def logs_client(region: str) -> Any:
    """CloudWatch Logs in the stack's region; AWS_ENDPOINT_URL, when set, replaces AWS's endpoint."""
    return boto3.client("logs", region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def read_messages(client: Any, log_group: str, since_ms: int) -> list[str]:
    pages = client.get_paginator("filter_log_events").paginate(logGroupName=log_group, startTime=since_ms)
    return [event["message"] for page in pages for event in page.get("events", [])]


def s3_client(region: str) -> Any:
    """S3 in the stack's region; AWS_ENDPOINT_URL, when set, replaces AWS's endpoint."""
    return boto3.client("s3", region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def read_s3_messages(client: Any, bucket: str, fields: tuple[str, ...], since_ms: int) -> list[str]:
    """Records delivered to `bucket` since `since_ms`, read as `make analyze` reads them (plain text with its
    header line, or Parquet), as lines in the stack's format."""
    objects = [item for item in list_objects(client, bucket) if item["LastModified"].timestamp() * 1000 >= since_ms]
    if not objects:
        return []
    with tempfile.TemporaryDirectory(prefix="verify-s3-") as folder:
        download_objects(client, bucket, objects, Path(folder))
        return [" ".join(MISSING if record.values.get(name) is None else str(record.values[name]) for name in fields)
                for record in iter_records(files_of(Path(folder)), fields)]


def default_timeout(outputs: StackOutputs) -> float:
    return DEFAULT_TIMEOUT_SECONDS if outputs.log_group_name else DEFAULT_S3_TIMEOUT_SECONDS


def wait_for_records(read: Callable[[], list[str]], fields: tuple[str, ...], hosts: Sequence[Host],
                     timeout_seconds: float, poll_seconds: float, progress: ProgressLine) -> Observation:
    """Poll until every expected record is seen or the timeout passes."""
    wanted = expectations(hosts)
    started = time.monotonic()
    while True:
        observation = observe(read(), fields, hosts)
        not_seen = missing(wanted, observation)
        elapsed = time.monotonic() - started
        if not not_seen or elapsed >= timeout_seconds:
            progress.finish()
            return observation
        progress.show(f"[{elapsed:4.0f}s of {timeout_seconds:.0f}s] {observation.events} log events; waiting for "
                      + ", ".join(expectation.label for expectation in not_seen))
        time.sleep(min(poll_seconds, timeout_seconds - elapsed))


def check_log_group(client: Any, settings: Settings, outputs: StackOutputs) -> None:
    """The outputs' region and log group (if any) are the stack's and readable, before any traffic is sent."""
    if outputs.region != settings.region:
        raise VerifyError(f"the outputs' region {outputs.region} is not the stack file's aws:region "
                          f"{settings.region}: are the outputs from this stack?")
    name = outputs.log_group_name
    if not name:
        return  # records are read from the flow-log bucket instead
    try:
        pages = client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
        found = any(group["logGroupName"] == name for page in pages for group in page.get("logGroups", []))
    except (BotoCoreError, ClientError) as error:
        raise VerifyError(f"cannot read log group {name} in {outputs.region}: {error}") from None
    if not found:
        raise VerifyError(f"log group {name} does not exist in {outputs.region}: is the stack deployed there?")


def verify(settings: Settings, outputs: StackOutputs, prober: Prober, timeout_seconds: float,
           poll_seconds: float, out: TextIO) -> int:
    client = logs_client(outputs.region)
    check_log_group(client, settings, outputs)
    since_ms = int((time.time() - LOOKBACK_SECONDS) * 1000)
    print("Traffic sent:", file=out)
    probes = [result for host in outputs.hosts for result in prober.probe(host)]
    host_width = max(len(probe.host) for probe in probes)
    description_width = max(len(description) for description in PROBE_DESCRIPTIONS.values())
    for probe in probes:
        print(f"  {probe.host:<{host_width}}  {probe.description:<{description_width}}  {probe.outcome}"
              f"{'' if probe.ok else '  <- unexpected'}", file=out)

    if outputs.log_group_name:
        where, client = f"log group {outputs.log_group_name}", logs_client(outputs.region)
        read = lambda: read_messages(client, outputs.log_group_name, since_ms)  # noqa: E731
    else:
        where, client = f"s3://{outputs.bucket}/", s3_client(outputs.region)
        read = lambda: read_s3_messages(client, outputs.bucket, settings.log_fields, since_ms)  # noqa: E731
    print(f"Waiting for flow-log records in {where.removeprefix('log group ')} ({outputs.region}):", file=out)
    try:
        observation = wait_for_records(read, settings.log_fields, outputs.hosts, timeout_seconds, poll_seconds,
                                       ProgressLine(out))
    except (BotoCoreError, ClientError, SourceError, ValueError) as error:
        raise VerifyError(f"cannot read {where} in {outputs.region}: {error}") from None

    for host in outputs.hosts:
        print("\n" + render_table(host, observation.flows.get(host.name, {})), file=out)
    not_seen = missing(expectations(outputs.hosts), observation)
    failed = [probe for probe in probes if not probe.ok]
    if not not_seen and not failed:
        print(f"\nVerified: every host's flow-log records show port {HTTP_PORT} accepted and port "
              f"{DROPPED_PORT} rejected.", file=out)
        return 0
    print("", file=out)
    for expectation in not_seen:
        print(f"Never appeared: {expectation.describe()}", file=out)
    for probe in failed:
        print(f"Unexpected: {probe.host} {probe.description} was {probe.outcome}: {probe.hint}", file=out)
    if not_seen:
        print("Likely cause:", file=out)
        for cause in likely_causes(not_seen, observation, settings, probes):
            print(f"  - {cause}", file=out)
    return 1


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive, finite number of seconds")
    return value


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name, e.g. lab")
    parser.add_argument("--outputs", type=Path, help="JSON from `pulumi stack output --json` (default: ask the CLI)")
    parser.add_argument("--stack-file", type=Path, help="stack file (default: config/Pulumi.<stack>.yaml)")
    parser.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                        help="how long to wait for records (default: 15 minutes, 25 when read from S3)")
    parser.add_argument("--poll-seconds", type=_seconds, default=DEFAULT_POLL_SECONDS, metavar="N",
                        help="seconds between reads of the log group (default: 15)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None, *, prober: Optional[Prober] = None,
         out: Optional[TextIO] = None) -> int:
    args = parse_args(argv)
    stack_file = args.stack_file or stack_file_of(args.stack)
    try:
        settings = settings_from_stack_file(stack_file)
        check_fields(settings.log_fields, stack_file)
        outputs = read_outputs(args.stack, args.outputs)
        return verify(settings, outputs, prober or Prober(), args.timeout or default_timeout(outputs),
                      args.poll_seconds, out or sys.stdout)
    except (pulumi.RunError, VerifyError) as error:
        print(f"verify: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
