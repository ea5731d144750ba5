"""`make verify` end to end against loopback stand-ins: moto for CloudWatch Logs, local servers for the hosts.

Probes go through a loopback-only `Prober` and the tests assert it contacted only 127.0.0.1;
under that, every test runs with name resolution and connects limited to loopback.
"""

from __future__ import annotations

import gzip
import io
import ipaddress
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Optional

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from config.settings import settings_from_stack_file
from flowlogs.fields import DEFAULT_FIELDS, format_string, parse_log_format
from flowlogs.patterns import pattern_name
from tests.conftest import stack_file
from tests.moto_server import LOOPBACK, free_port, running_moto_server
from tools import verify
from tools.verify import (DROPPED_PORT, HTTP_PORT, SSH_PORT, Host, NonLoopbackTargetError, Observation,
                          ProbeResult, Prober, ProgressLine, Totals, VerifyError, expectations, likely_causes,
                          missing, observe, read_outputs, render_table)

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
# The two article hosts, as the lead's program exports them, but reachable on loopback.
HOSTS = [
    {"name": "lab-web-0", "instanceId": "i-0aaaaaaaaaaaaaaa0", "subnetId": "subnet-0aaaaaaaaaaaaaaa0",
     "availabilityZone": "ap-northeast-1a", "publicIp": LOOPBACK, "privateIp": "10.0.0.10",
     "url": f"http://{LOOPBACK}/", "networkInterfaceId": "eni-0aaaaaaaaaaaaaaa0"},
    {"name": "lab-web-1", "instanceId": "i-0bbbbbbbbbbbbbbb1", "subnetId": "subnet-0bbbbbbbbbbbbbbb1",
     "availabilityZone": "ap-northeast-1c", "publicIp": LOOPBACK, "privateIp": "10.0.1.10",
     "url": f"http://{LOOPBACK}/", "networkInterfaceId": "eni-0bbbbbbbbbbbbbbb1"},
]
CLIENT_IP = "198.51.100.7"
# Reordered version-2 fields with v3-v5 context in between, as a custom logFormat may write them.
CUSTOM_FORMAT = ("${flow-direction} ${interface-id} ${action} ${dstport} ${srcport} ${protocol} ${vpc-id} "
                 "${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${packets} "
                 "${bytes} ${az-id} ${traffic-path} ${dstaddr} ${srcaddr} ${log-status} ${start} ${end} "
                 "${version} ${account-id}")
FAST = ["--timeout", "0.6", "--poll-seconds", "0.1"]


# Loopback stand-ins

def _is_loopback(host: object) -> bool:
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only_network(monkeypatch):
    """A net under the Prober's own guard: resolving or connecting to anything but loopback fails the test unsent."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        assert _is_loopback(host), f"a test tried to resolve {host}"
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            assert _is_loopback(address[0]), f"a test tried to connect to {address}"
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with running_moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def logs(moto_endpoint, monkeypatch):
    """A CloudWatch Logs client on the moto server, and the environment verify reads it through."""
    assert moto_endpoint.startswith(f"http://{LOOPBACK}:")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return boto3.client("logs", region_name=REGION, endpoint_url=moto_endpoint)


class ApachePage(BaseHTTPRequestHandler):
    host_name = ""

    def do_GET(self) -> None:
        page = f"<!doctype html><title>{self.host_name}</title><h1>{self.host_name}</h1>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def host_ports() -> Iterator[dict[str, dict[int, int]]]:
    """Per host: a web server naming it for 80, a shared listener for 22, an unused port for 8080."""
    servers = []
    for host in HOSTS:
        handler = type("Page", (ApachePage,), {"host_name": host["name"]})
        server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
    ssh = socket.create_server((LOOPBACK, 0), backlog=16)
    unused = free_port()
    yield {host["name"]: {HTTP_PORT: server.server_address[1], SSH_PORT: ssh.getsockname()[1], DROPPED_PORT: unused}
           for host, server in zip(HOSTS, servers)}
    ssh.close()
    for server in servers:
        server.shutdown()
        server.server_close()


def loopback_prober(ports: dict[str, dict[int, int]]) -> Prober:
    return Prober(ports=ports, loopback_only=True, timeout_seconds=2, dropped_timeout_seconds=0.5)


def assert_only_loopback(prober: Prober) -> None:
    assert prober.sent, "no probe was sent"
    assert all(ipaddress.ip_address(address).is_loopback for address, _ in prober.sent), prober.sent


# Records in a stack's format

def record(fields: tuple[str, ...], host: dict, dstport: int, action: str, packets: int, bytes_: int,
           srcaddr: str = CLIENT_IP, dstaddr: Optional[str] = None, srcport: int = 50000,
           interface_id: Optional[str] = None) -> str:
    now = int(time.time())
    values = {
        "version": 5, "account-id": ACCOUNT, "interface-id": interface_id or host["networkInterfaceId"],
        "srcaddr": srcaddr, "dstaddr": dstaddr or host["privateIp"], "srcport": srcport, "dstport": dstport,
        "protocol": 6, "packets": packets, "bytes": bytes_, "start": now - 30, "end": now, "action": action,
        "log-status": "OK", "vpc-id": "vpc-0ccccccccccccccc0", "subnet-id": host["subnetId"],
        "instance-id": host["instanceId"], "tcp-flags": 2, "type": "IPv4", "pkt-srcaddr": srcaddr,
        "pkt-dstaddr": dstaddr or host["privateIp"], "region": REGION, "az-id": "apne1-az4",
        "sublocation-type": "-", "sublocation-id": "-", "pkt-src-aws-service": "-", "pkt-dst-aws-service": "-",
        "flow-direction": "ingress", "traffic-path": "-",
    }
    return " ".join(str(values[name]) for name in fields)


def nodata(fields: tuple[str, ...], host: dict) -> str:
    now = int(time.time())
    values = {"version": 2, "account-id": ACCOUNT, "interface-id": host["networkInterfaceId"],
              "start": now - 60, "end": now, "log-status": "NODATA"}
    return " ".join(str(values.get(name, "-")) for name in fields)


def lab_traffic(fields: tuple[str, ...], with_rejects: bool = True) -> list[str]:
    """What the probes leave in the log, plus traffic verify must not count."""
    lines = []
    for host in HOSTS:
        lines += [
            record(fields, host, HTTP_PORT, "ACCEPT", 5, 400),
            record(fields, host, HTTP_PORT, "ACCEPT", 3, 200, srcport=50001),
            record(fields, host, SSH_PORT, "ACCEPT", 4, 300),
            # The host's reply to the browser, and its own download from a web server: not inbound to 80.
            record(fields, host, 50000, "ACCEPT", 4, 900, srcaddr=host["privateIp"], dstaddr=CLIENT_IP, srcport=80),
            record(fields, host, HTTP_PORT, "ACCEPT", 100, 90000, srcaddr=host["privateIp"], dstaddr="203.0.113.80"),
        ]
        if with_rejects:
            lines.append(record(fields, host, DROPPED_PORT, "REJECT", 2, 120))
    lines.append(record(fields, HOSTS[0], DROPPED_PORT, "REJECT", 9, 900, interface_id="eni-0ddddddddddddddd9"))
    return lines


def seed(logs, log_group: str, lines: list[str]) -> None:
    logs.create_log_group(logGroupName=log_group)
    if lines:
        logs.create_log_stream(logGroupName=log_group, logStreamName="eni-all")
        now_ms = int(time.time() * 1000)
        logs.put_log_events(logGroupName=log_group, logStreamName="eni-all",
                            logEvents=[{"timestamp": now_ms, "message": line} for line in lines])


# Stacks, outputs and the run

def lab_stack_file(tmp_path: Path, name: str = "lab", **overrides: object) -> Path:
    """The lab's stack file with some keys changed, under the name verify is told."""
    document = yaml.safe_load(stack_file("lab").read_text(encoding="utf-8"))
    document["config"].update({f"vpc-flow-logs:{key}": value for key, value in overrides.items()})
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def outputs_file(tmp_path: Path, log_group: str) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"region": REGION, "logGroupName": log_group, "vpcId": "vpc-0ccccccccccccccc0",
                                "flowLogId": "fl-0eeeeeeeeeeeeeee0", "hosts": HOSTS}), encoding="utf-8")
    return path


def run_verify(tmp_path: Path, log_group: str, stack: Path, prober: Prober,
               extra: tuple[str, ...] = ()) -> tuple[int, str]:
    out = io.StringIO()
    code = verify.main(["--stack", "lab", "--stack-file", str(stack), "--outputs",
                        str(outputs_file(tmp_path, log_group)), *FAST, *extra], prober=prober, out=out)
    return code, out.getvalue()


EXPECTED_TABLE_0 = """\
lab-web-0  eni-0aaaaaaaaaaaaaaa0  (i-0aaaaaaaaaaaaaaa0, ap-northeast-1a)
  port  protocol  action  packets  bytes
    22  tcp       ACCEPT        4    300
    80  tcp       ACCEPT        8    600
  8080  tcp       REJECT        2    120"""


@pytest.mark.parametrize("log_format", [None, CUSTOM_FORMAT], ids=["default-format", "custom-format"])
def test_every_expected_record_appears(tmp_path, logs, host_ports, log_format):
    stack = lab_stack_file(tmp_path, logFormat=log_format) if log_format else stack_file("lab")
    fields = settings_from_stack_file(stack).log_fields
    assert fields == (parse_log_format(CUSTOM_FORMAT) if log_format else DEFAULT_FIELDS)
    group = f"/vpc-flow-logs/ok-{tmp_path.name}"
    seed(logs, group, lab_traffic(fields) + [nodata(fields, HOSTS[1])])
    prober = loopback_prober(host_ports)

    code, output = run_verify(tmp_path, group, stack, prober)

    assert code == 0, output
    assert EXPECTED_TABLE_0 in output
    assert EXPECTED_TABLE_0.replace("lab-web-0", "lab-web-1").replace("0aaaaaaaaaaaaaaa0", "0bbbbbbbbbbbbbbb1") \
        .replace("ap-northeast-1a", "ap-northeast-1c") in output
    assert "200, page names lab-web-0" in output and "200, page names lab-web-1" in output
    assert output.strip().endswith("port 80 accepted and port 8080 rejected.")
    assert_only_loopback(prober)
    assert len(prober.sent) == 3 * len(HOSTS)


def test_missing_rejects_are_named_with_the_likely_cause(tmp_path, logs, host_ports):
    stack = lab_stack_file(tmp_path, trafficType="ACCEPT", aggregationInterval=600)
    group = f"/vpc-flow-logs/accept-only-{tmp_path.name}"
    seed(logs, group, lab_traffic(DEFAULT_FIELDS, with_rejects=False))
    prober = loopback_prober(host_ports)

    started = time.monotonic()
    code, output = run_verify(tmp_path, group, stack, prober)

    assert code == 1, output
    assert time.monotonic() - started < 5
    never = [line for line in output.splitlines() if line.startswith("Never appeared")]
    assert never == [
        "Never appeared: lab-web-0 (eni-0aaaaaaaaaaaaaaa0): a tcp record to port 8080 with action REJECT",
        "Never appeared: lab-web-1 (eni-0bbbbbbbbbbbbbbb1): a tcp record to port 8080 with action REJECT",
    ]
    assert "trafficType is ACCEPT: the flow log never records rejected traffic" in output
    assert "aggregationInterval is 600 s: records can take 10 minutes or more" in output
    assert "8080  tcp       REJECT" not in output
    assert "waiting for lab-web-0 8080/REJECT, lab-web-1 8080/REJECT" in output
    assert_only_loopback(prober)


def test_an_empty_log_group_points_at_the_roles_permissions(tmp_path, logs, host_ports):
    group = f"/vpc-flow-logs/empty-{tmp_path.name}"
    seed(logs, group, [])
    prober = loopback_prober(host_ports)

    code, output = run_verify(tmp_path, group, stack_file("lab"), prober)

    assert code == 1
    assert output.count("Never appeared") == 4
    assert "no records at all arrived in the log group" in output
    assert "logs:PutLogEvents" in output
    assert "no records for ports 22, 80, 8080" in output
    assert_only_loopback(prober)


def test_a_page_that_does_not_name_the_host_fails(tmp_path, logs, host_ports):
    group = f"/vpc-flow-logs/wrong-page-{tmp_path.name}"
    seed(logs, group, lab_traffic(DEFAULT_FIELDS))
    # lab-web-1's port 80 reaches lab-web-0's page.
    host_ports["lab-web-1"] = {**host_ports["lab-web-1"], HTTP_PORT: host_ports["lab-web-0"][HTTP_PORT]}
    prober = loopback_prober(host_ports)

    code, output = run_verify(tmp_path, group, stack_file("lab"), prober)

    assert code == 1
    assert "Never appeared" not in output
    assert "Unexpected: lab-web-1 HTTP GET :80 was 200, page does not name lab-web-1" in output
    assert_only_loopback(prober)


def test_a_format_without_action_stops_before_any_traffic(tmp_path, capsys):
    without_action = format_string(tuple(f for f in DEFAULT_FIELDS if f not in ("action", "bytes")))
    stack = lab_stack_file(tmp_path, logFormat=without_action)
    prober = loopback_prober({})

    code = verify.main(["--stack", "lab", "--stack-file", str(stack), "--outputs", str(tmp_path / "unused.json")],
                       prober=prober)

    assert code == 2
    error = capsys.readouterr().err
    assert "lacks action, bytes" in error
    assert prober.sent == []


def test_invalid_config_exits_2_without_a_traceback(tmp_path, capsys):
    stack = lab_stack_file(tmp_path, trafficType="SOME")
    assert verify.main(["--stack", "lab", "--stack-file", str(stack)], prober=loopback_prober({})) == 2
    error = capsys.readouterr().err
    assert 'config vpc-flow-logs:trafficType = "SOME" is invalid: one of ALL, ACCEPT, REJECT' in error
    assert "Traceback" not in error


def test_without_the_pulumi_cli_it_suggests_an_outputs_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert verify.main(["--stack", "lab", "--stack-file", str(stack_file("lab"))], prober=loopback_prober({})) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "Pulumi CLI is not installed" in error and "OUTPUTS=<file>" in error


def test_outputs_without_hosts_are_refused(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"region": REGION, "logGroupName": "/vpc-flow-logs/lab"}), encoding="utf-8")
    assert verify.main(["--stack", "lab", "--stack-file", str(stack_file("lab")), "--outputs", str(path)],
                       prober=loopback_prober({})) == 2
    assert "lacks hosts: is the stack deployed" in capsys.readouterr().err


def test_loopback_only_prober_refuses_other_addresses_before_sending():
    prober = loopback_prober({})
    host = Host(name="web", network_interface_id="eni-1", public_ip="203.0.113.5")
    with pytest.raises(NonLoopbackTargetError, match="203.0.113.5"):
        prober.probe(host)
    assert prober.sent == []


def test_a_host_without_a_public_ip_is_not_probed():
    prober = loopback_prober({})
    results = prober.probe(Host(name="web", network_interface_id="eni-1"))
    assert [(r.port, r.ok) for r in results] == [(SSH_PORT, False), (HTTP_PORT, False), (DROPPED_PORT, False)]
    assert prober.sent == []


# Pure parts: matching, causes, rendering, progress

WEB = Host(name="web", network_interface_id="eni-1", private_ip="10.0.0.5")


def line(dstport: int, action: str, packets: int = 1, bytes_: int = 40, dstaddr: str = "10.0.0.5",
         interface_id: str = "eni-1", protocol: int = 6) -> str:
    return f"2 1 {interface_id} 198.51.100.7 {dstaddr} 40000 {dstport} {protocol} {packets} {bytes_} 1 2 {action} OK"


def test_observe_sums_inbound_records_per_port_protocol_and_action():
    observation = observe([
        line(80, "ACCEPT", 2, 100), line(80, "ACCEPT", 3, 50), line(80, "ACCEPT", protocol=17),
        line(8080, "REJECT"), line(80, "ACCEPT", 50, 5000, dstaddr="203.0.113.80"),
        line(80, "ACCEPT", interface_id="eni-other"), line(443, "ACCEPT"),
        "2 1 eni-1 - - - - - - - 1 2 - SKIPDATA", "not a record",
    ], DEFAULT_FIELDS, [WEB])
    assert observation.flows == {"web": {(80, 6, "ACCEPT"): Totals(5, 150), (80, 17, "ACCEPT"): Totals(1, 40),
                                         (8080, 6, "REJECT"): Totals(1, 40)}}
    assert observation.gaps == {"web": {"SKIPDATA": 1}}
    assert (observation.events, observation.unparsed) == (9, 1)
    assert "record has 3 values" in (observation.first_parse_error or "")
    assert missing(expectations([WEB]), observation) == ()


def test_a_udp_record_does_not_stand_in_for_tcp():
    observation = observe([line(80, "ACCEPT", protocol=17), line(8080, "REJECT")], DEFAULT_FIELDS, [WEB])
    assert [e.label for e in missing(expectations([WEB]), observation)] == ["web 80/ACCEPT"]


def test_likely_causes_name_each_documented_reason(tmp_path):
    settings = settings_from_stack_file(lab_stack_file(tmp_path, trafficType="REJECT"))
    observation = Observation(events=3, flows={}, gaps={"web": {"NODATA": 2, "SKIPDATA": 1}}, unparsed=1,
                              first_parse_error="record has 3 values")
    probes = [ProbeResult("web", DROPPED_PORT, "refused", True), ProbeResult("web", HTTP_PORT, "connected", True)]
    causes = likely_causes(expectations([WEB]), observation, settings, probes)
    assert causes == [
        "1 of 3 log events do not fit the stack's log format (record has 3 values); does the stack file's "
        "logFormat match the deployed flow log?",
        "trafficType is REJECT: the flow log never records accepted traffic",
        "web: 2 NODATA record(s): no traffic reached the interface in those intervals",
        "web: 1 SKIPDATA record(s): AWS skipped records in those intervals (an internal capacity constraint or error)",
        "web: the 8080 probe was refused, not dropped: the security group lets 8080 through, so the flow log has "
        "nothing to reject",
    ]


def test_with_nothing_else_to_blame_the_cause_is_publishing_delay(tmp_path):
    settings = settings_from_stack_file(stack_file("lab"))
    observation = Observation(events=5, flows={}, gaps={})
    probes = [ProbeResult("web", DROPPED_PORT, "timed out", True)]
    assert likely_causes(expectations([WEB]), observation, settings, probes) == [
        "records are published some minutes after their aggregation interval ends; run again with a longer --timeout"]


def test_table_orders_rows_and_aligns_numbers():
    table = render_table(WEB, {(8080, 6, "REJECT"): Totals(2, 120), (80, 6, "ACCEPT"): Totals(1234, 567890),
                               (80, 6, "REJECT"): Totals(1, 40), (22, 6, "ACCEPT"): Totals(4, 300)})
    assert table == """\
web  eni-1
  port  protocol  action  packets   bytes
    22  tcp       ACCEPT        4     300
    80  tcp       ACCEPT     1234  567890
    80  tcp       REJECT        1      40
  8080  tcp       REJECT        2     120"""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal():
    stream = Terminal()
    progress = ProgressLine(stream)
    progress.show("waiting for a, b")
    progress.show("waiting for b")
    progress.finish()
    assert stream.getvalue() == "\rwaiting for a, b\rwaiting for b   \n"


def test_progress_writes_plain_lines_elsewhere():
    stream = io.StringIO()
    progress = ProgressLine(stream)
    progress.show("waiting for a, b")
    progress.show("waiting for b")
    progress.finish()
    assert stream.getvalue() == "waiting for a, b\nwaiting for b\n"


def test_outputs_come_from_the_pulumi_cli_when_no_file_is_given():
    calls = []

    def pulumi_cli(command, **kwargs):
        calls.append(command)
        document = {"region": REGION, "logGroupName": "/vpc-flow-logs/lab", "hosts": HOSTS}
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps(document), stderr="")

    outputs = read_outputs("lab", None, run=pulumi_cli)
    assert calls == [["pulumi", "stack", "output", "--json", "-s", "lab"]]
    assert [(h.name, h.network_interface_id, h.private_ip) for h in outputs.hosts] == [
        ("lab-web-0", "eni-0aaaaaaaaaaaaaaa0", "10.0.0.10"), ("lab-web-1", "eni-0bbbbbbbbbbbbbbb1", "10.0.1.10")]


def test_a_failing_pulumi_cli_is_reported_with_its_message():
    def pulumi_cli(command, **kwargs):
        return subprocess.CompletedProcess(command, 255, stdout="", stderr="error: no stack named 'lab' found\n")

    with pytest.raises(VerifyError, match="pulumi stack output --json -s lab failed: error: no stack named 'lab'"):
        read_outputs("lab", None, run=pulumi_cli)


# A stack that delivers only to S3

@pytest.fixture
def s3(logs, moto_endpoint):
    """S3 on the same moto server; verify reaches it through the environment the `logs` fixture sets."""
    return boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)


def delivered_key(bucket_suffix: str) -> str:
    return (f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/2026/11/29/"
            f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0eeeeeeeeeeeeeee0_20261129T0000Z_0a1b2c3d.{bucket_suffix}")


def parquet_object(fields: tuple[str, ...], lines: list[str]) -> bytes:
    """The lines as S3 writes Parquet: one column per field, named with underscores, numbers as integers."""
    rows = [line.split(" ") for line in lines]
    columns = {pattern_name(name): [int(row[index]) if row[index].isdigit() else row[index] for row in rows]
               for index, name in enumerate(fields)}
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def run_verify_from_s3(tmp_path: Path, s3, bucket: str, key: str, body: bytes,
                       prober: Prober) -> tuple[int, str]:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"region": REGION, "flowLogBuckets": {"s3": bucket}, "hosts": HOSTS}),
                       encoding="utf-8")
    out = io.StringIO()
    code = verify.main(["--stack", "lab", "--stack-file", str(stack_file("lab")), "--outputs", str(outputs), *FAST],
                       prober=prober, out=out)
    return code, out.getvalue()


def test_records_delivered_to_s3_as_gzipped_text_with_a_header_are_verified(tmp_path, s3, host_ports):
    text = "\n".join([" ".join(DEFAULT_FIELDS), *lab_traffic(DEFAULT_FIELDS)]) + "\n"
    prober = loopback_prober(host_ports)

    code, output = run_verify_from_s3(tmp_path, s3, "flow-records-text", delivered_key("log.gz"),
                                      gzip.compress(text.encode()), prober)

    assert code == 0, output
    assert f"Waiting for flow-log records in s3://flow-records-text/ ({REGION})" in output
    assert EXPECTED_TABLE_0 in output
    assert_only_loopback(prober)


def test_records_delivered_to_s3_as_parquet_are_verified(tmp_path, s3, host_ports):
    prober = loopback_prober(host_ports)

    code, output = run_verify_from_s3(tmp_path, s3, "flow-records-parquet", delivered_key("parquet"),
                                      parquet_object(DEFAULT_FIELDS, lab_traffic(DEFAULT_FIELDS)), prober)

    assert code == 0, output
    assert EXPECTED_TABLE_0 in output
    assert_only_loopback(prober)


def test_s3_records_without_rejects_name_what_never_appeared(tmp_path, s3, host_ports):
    text = "\n".join([" ".join(DEFAULT_FIELDS), *lab_traffic(DEFAULT_FIELDS, with_rejects=False)]) + "\n"
    prober = loopback_prober(host_ports)

    code, output = run_verify_from_s3(tmp_path, s3, "flow-records-accept-only", delivered_key("log.gz"),
                                      gzip.compress(text.encode()), prober)

    assert code == 1, output
    assert output.count("Never appeared") == 2, output


def test_a_stack_without_a_log_group_waits_for_s3s_slower_delivery(tmp_path):
    outputs = verify.outputs_from_json({"region": REGION, "flowLogBuckets": {"s3": "records"}, "hosts": HOSTS},
                                       "outputs.json")
    assert (outputs.bucket, verify.default_timeout(outputs)) == ("records", verify.DEFAULT_S3_TIMEOUT_SECONDS)
    assert verify.DEFAULT_S3_TIMEOUT_SECONDS > verify.DEFAULT_TIMEOUT_SECONDS


# Outputs and arguments refused before any probe

def verify_with_outputs(tmp_path: Path, document: object, capsys, raw: Optional[bytes] = None) -> tuple[int, str]:
    path = tmp_path / "outputs.json"
    path.write_bytes(raw if raw is not None else json.dumps(document).encode())
    prober = loopback_prober({})
    code = verify.main(["--stack", "lab", "--stack-file", str(stack_file("lab")), "--outputs", str(path), *FAST],
                       prober=prober, out=io.StringIO())
    error = capsys.readouterr().err
    assert prober.sent == [], f"probes were sent for refused outputs: {prober.sent}"
    assert "Traceback" not in error
    return code, error


def with_host(index: int, **changes: object) -> dict:
    hosts = [dict(host) for host in HOSTS]
    hosts[index].update(changes)
    return {"region": REGION, "logGroupName": "/vpc-flow-logs/lab", "hosts": hosts}


@pytest.mark.parametrize("key", ["name", "networkInterfaceId"])
def test_two_hosts_with_the_same_name_or_interface_are_refused(tmp_path, capsys, key):
    code, error = verify_with_outputs(tmp_path, with_host(1, **{key: HOSTS[0][key]}), capsys)
    assert code == 2 and f"hosts[0] and hosts[1] have the same {key}" in error, error


@pytest.mark.parametrize("document, expected", [
    ({"region": 7, "logGroupName": "/g", "hosts": HOSTS}, "region = 7 is not a string"),
    ({"region": "Tokyo", "logGroupName": "/g", "hosts": HOSTS}, 'region = "Tokyo" is not an AWS region'),
    ({"region": REGION, "logGroupName": ["/g"], "hosts": HOSTS}, 'logGroupName = ["/g"] is not a string'),
    ({"region": REGION, "logGroupName": "no spaces", "hosts": HOSTS}, "is not a CloudWatch Logs group name"),
    ({"region": REGION, "logGroupName": "/g", "hosts": {"a": 1}}, 'hosts = {"a": 1} is not a list'),
    ({"region": REGION, "logGroupName": "/g", "hosts": ["lab-web-0"]}, 'hosts[0] = "lab-web-0" is not an object'),
    (with_host(0, publicIp=2130706433), "hosts[0].publicIp = 2130706433 is not a string"),
    (with_host(0, publicIp=["127.0.0.1"]), 'hosts[0].publicIp = ["127.0.0.1"] is not a string'),
    (with_host(0, publicIp="localhost"), 'hosts[0].publicIp = "localhost" is not an IP address'),
    (with_host(0, publicIp="web.example.com"), 'hosts[0].publicIp = "web.example.com" is not an IP address'),
    (with_host(0, publicIp="169.254.169.254"), "is link-local"),
    (with_host(0, publicIp="fe80::1"), "is link-local"),
    (with_host(0, publicIp="224.0.0.1"), "is multicast"),
    (with_host(0, publicIp="0.0.0.0"), "is unspecified"),
    (with_host(0, publicIp="::"), "is unspecified"),
    (with_host(1, privateIp=10), "hosts[1].privateIp = 10 is not a string"),
    (with_host(1, name=""), "hosts[1].name is missing"),
    (with_host(1, instanceId={"id": 1}), "hosts[1].instanceId"),
    (with_host(0, publicIp="x" * 50_000), "hosts[0].publicIp"),
])
def test_each_malformed_outputs_value_is_refused_naming_it(tmp_path, capsys, document, expected):
    code, error = verify_with_outputs(tmp_path, document, capsys)
    assert code == 2 and expected in error, error
    assert len(error) < 1000, "the refusal echoes a huge value"


def test_outputs_that_are_not_utf8_are_refused(tmp_path, capsys):
    code, error = verify_with_outputs(tmp_path, None, capsys, raw=b'{"region": "\xff"}')
    assert code == 2 and "cannot read outputs from" in error and "utf-8" in error, error


def test_outputs_from_another_region_are_refused_before_probing(tmp_path, capsys, logs):
    document = {"region": "eu-west-1", "logGroupName": "/vpc-flow-logs/lab", "hosts": HOSTS}
    code, error = verify_with_outputs(tmp_path, document, capsys)
    assert code == 2 and "region eu-west-1 is not the stack file's aws:region ap-northeast-1" in error, error


def test_a_log_group_that_does_not_exist_is_refused_before_probing(tmp_path, capsys, logs):
    document = {"region": REGION, "logGroupName": f"/vpc-flow-logs/absent-{tmp_path.name}", "hosts": HOSTS}
    code, error = verify_with_outputs(tmp_path, document, capsys)
    assert code == 2 and "does not exist in ap-northeast-1" in error, error


@pytest.mark.parametrize("option", ["--timeout", "--poll-seconds"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon"])
def test_timeouts_that_never_end_or_never_start_are_refused(option, value, capsys):
    with pytest.raises(SystemExit) as exited:
        verify.parse_args(["--stack", "lab", option, value])
    assert exited.value.code == 2
    assert "is not a positive, finite number of seconds" in capsys.readouterr().err
