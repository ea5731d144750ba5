"""`make verify`'s parts one at a time, in process: the AWS clients, reading S3 deliveries, the polling
loop, the error texts and the report.

AWS is moto's in-process mock (no traffic leaves the process); probes, where a run needs them, are
canned results, so nothing here sends a packet. The polling loop runs on a fake clock.
"""

from __future__ import annotations

import gzip
import io
import json
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from config.settings import settings_from_stack_file
from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.records import parse_record
from tests.moto_server import LOOPBACK, free_port
from tests.conftest import stack_file
from tests.test_verify import HOSTS, REGION, WEB, Terminal, lab_stack_file, lab_traffic, line, loopback_only_network, with_host  # noqa: F401
from tools import verify
from flowlogs.flow_source import SourceError
from tools.verify import (DROPPED_PORT, HTTP_PORT, SSH_PORT, TIMED_OUT, Host, Observation, ProbeResult, Prober,
                          ProgressLine, StackOutputs, Totals, VerifyError, expectations, missing, observe,
                          read_outputs, read_s3_messages, render_table, wait_for_records)

LOOPBACK_ENDPOINT = "http://127.0.0.1:4566"


@pytest.fixture
def aws_env(monkeypatch):
    """Credentials for moto and a default region unlike the stack's, so a client that ignores the stack's shows."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    # verify reads no IAM: loading AWS's managed policies would only slow each mock down.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    return monkeypatch


# The AWS clients

CLIENTS = [(verify.logs_client, "logs"), (verify.s3_client, "s3")]


@pytest.mark.parametrize("factory, service", CLIENTS, ids=[service for _, service in CLIENTS])
def test_a_client_talks_to_the_stacks_region(aws_env, factory, service):
    client = factory(REGION)
    assert client.meta.region_name == REGION, f"{service} client region"
    assert client.meta.endpoint_url.startswith("https://") and REGION in client.meta.endpoint_url, \
        f"{service} client endpoint {client.meta.endpoint_url}"


@pytest.mark.parametrize("factory, service", CLIENTS, ids=[service for _, service in CLIENTS])
def test_aws_endpoint_url_replaces_aws_whatever_the_sdk_is_told(aws_env, factory, service):
    """Honoured by verify itself, not left to the SDK (which can be told to ignore such settings)."""
    aws_env.setenv("AWS_ENDPOINT_URL", LOOPBACK_ENDPOINT)
    aws_env.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    client = factory(REGION)
    assert (client.meta.endpoint_url, client.meta.region_name) == (LOOPBACK_ENDPOINT, REGION), service


@pytest.mark.parametrize("factory, service", CLIENTS, ids=[service for _, service in CLIENTS])
def test_an_empty_aws_endpoint_url_leaves_aws_own_endpoint(aws_env, factory, service):
    aws_env.setenv("AWS_ENDPOINT_URL", "")
    client = factory(REGION)
    assert client.meta.endpoint_url.startswith("https://") and REGION in client.meta.endpoint_url, \
        f"{service} client endpoint {client.meta.endpoint_url}"


# Reading what S3 delivered

BUCKET = "flow-records-parts"
KEY = (f"AWSLogs/123456789012/vpcflowlogs/{REGION}/2026/11/29/"
       f"123456789012_vpcflowlogs_{REGION}_fl-0eeeeeeeeeeeeeee0_20261129T0000Z_0a1b2c3d.log.gz")


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = verify.s3_client(REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def deliver(s3, lines: list[str], header: bool = True) -> int:
    """One gzipped text object as S3 writes it; the milliseconds of its LastModified."""
    text = "\n".join(([" ".join(DEFAULT_FIELDS)] if header else []) + lines) + "\n"
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=gzip.compress(text.encode()))
    return int(s3.head_object(Bucket=BUCKET, Key=KEY)["LastModified"].timestamp() * 1000)


def test_an_object_written_at_the_start_of_the_window_is_read(s3):
    records = [line(80, "ACCEPT"), line(8080, "REJECT")]
    modified_ms = deliver(s3, records)
    assert read_s3_messages(s3, BUCKET, DEFAULT_FIELDS, modified_ms) == records, f"s3://{BUCKET}/{KEY}"


def test_an_object_written_before_the_window_is_not_read(s3):
    modified_ms = deliver(s3, [line(80, "ACCEPT")])
    assert read_s3_messages(s3, BUCKET, DEFAULT_FIELDS, modified_ms + 1) == [], f"s3://{BUCKET}/{KEY}"


def test_an_older_object_is_not_read_even_a_day_before(s3):
    modified_ms = deliver(s3, [line(80, "ACCEPT")])
    day_later_ms = modified_ms + 24 * 3600 * 1000
    assert read_s3_messages(s3, BUCKET, DEFAULT_FIELDS, day_later_ms) == [], f"s3://{BUCKET}/{KEY}"


def test_absent_values_come_back_as_a_dash(s3):
    gap = "2 1 eni-1 - - - - - - - 1 2 - NODATA"
    modified_ms = deliver(s3, [gap])
    assert read_s3_messages(s3, BUCKET, DEFAULT_FIELDS, modified_ms) == [gap], f"s3://{BUCKET}/{KEY}"


def test_text_without_a_header_is_read_in_the_stacks_format(s3):
    fields = tuple(reversed(DEFAULT_FIELDS))
    records = lab_traffic(fields)[:2]
    modified_ms = deliver(s3, records, header=False)
    assert read_s3_messages(s3, BUCKET, fields, modified_ms) == records, f"s3://{BUCKET}/{KEY}"


def test_a_bad_record_is_reported_at_verifys_scratch_copy_of_the_object(s3):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"\xff\xfe not text")
    modified_ms = int(s3.head_object(Bucket=BUCKET, Key=KEY)["LastModified"].timestamp() * 1000)
    with pytest.raises(SourceError) as raised:
        read_s3_messages(s3, BUCKET, DEFAULT_FIELDS, modified_ms)
    scratch = str(Path(tempfile.gettempdir()) / "verify-s3-")
    assert scratch in str(raised.value) and KEY in str(raised.value), str(raised.value)


# How long to wait

def test_a_stack_with_a_log_group_waits_fifteen_minutes():
    outputs = StackOutputs(region=REGION, log_group_name="/vpc-flow-logs/lab", hosts=(WEB,))
    assert verify.default_timeout(outputs) == 15 * 60


# The polling loop

class FakeClock:
    """time.monotonic and time.sleep, where sleeping moves the clock by exactly the time asked."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds} s"
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(time, "monotonic", fake.monotonic)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    return fake


def reads_of(*batches: list[str]):
    """A log group that holds each batch in turn, then the last for good; its reads are counted."""
    reads: list[int] = []

    def read() -> list[str]:
        reads.append(len(reads))
        assert len(reads) <= 10, "still polling after 10 reads"
        return list(batches[min(len(reads), len(batches)) - 1])
    return read, reads


def test_polling_stops_at_the_read_that_shows_every_expected_record(clock):
    read, reads = reads_of([], [line(80, "ACCEPT")], [line(80, "ACCEPT"), line(8080, "REJECT")])
    out = io.StringIO()
    observation = wait_for_records(read, DEFAULT_FIELDS, [WEB], 60, 4, ProgressLine(out))
    assert len(reads) == 3 and clock.sleeps == [4, 4], (reads, clock.sleeps)
    assert observation.events == 2
    assert out.getvalue() == ("[   0s of 60s] 0 log events; waiting for web 80/ACCEPT, web 8080/REJECT\n"
                              "[   4s of 60s] 1 log events; waiting for web 8080/REJECT\n")


def test_polling_ends_exactly_at_the_timeout(clock):
    read, reads = reads_of([line(80, "ACCEPT")])
    out = io.StringIO()
    observation = wait_for_records(read, DEFAULT_FIELDS, [WEB], 10, 4, ProgressLine(out))
    assert clock.sleeps == [4, 4, 2] and len(reads) == 4, (reads, clock.sleeps)
    assert observation.events == 1
    assert out.getvalue().splitlines()[-1] == "[   8s of 10s] 1 log events; waiting for web 8080/REJECT"


def test_a_first_read_with_everything_returns_without_waiting(clock):
    read, reads = reads_of([line(80, "ACCEPT"), line(8080, "REJECT")])
    out = io.StringIO()
    wait_for_records(read, DEFAULT_FIELDS, [WEB], 60, 4, ProgressLine(out))
    assert (len(reads), clock.sleeps, out.getvalue()) == (1, [], "")


# Error texts

class UnreadablePath(type(Path())):
    """A path whose reading fails with an error that carries no message, as some OSErrors do."""

    def read_text(self, *args, **kwargs) -> str:
        raise PermissionError()


def test_an_unreadable_outputs_file_without_a_message_is_named_by_the_errors_kind(tmp_path):
    path = UnreadablePath(tmp_path / "outputs.json")
    with pytest.raises(VerifyError) as raised:
        read_outputs("lab", path)
    assert str(raised.value) == f"cannot read outputs from {path}: PermissionError"


def test_a_long_error_is_quoted_to_300_characters(tmp_path):
    folder = tmp_path
    while len(str(folder)) < 400:
        folder = folder / ("d" * 50)
    folder.mkdir(parents=True)  # a folder where the outputs file should be: reading it fails naming it
    with pytest.raises(VerifyError) as raised:
        read_outputs("lab", folder)
    reason = str(raised.value).removeprefix(f"cannot read outputs from {folder}: ")
    assert len(reason) == 300 and reason.startswith("[Errno 21] Is a directory: "), reason



# The lab's outputs, as `pulumi stack output --json` prints them.
LAB_OUTPUTS = with_host(0)


REFUSED_OUTPUTS = {
    "not an object": ([], "outputs.json: expected a JSON object of stack outputs"),
    "no destination": ({"region": REGION, "hosts": HOSTS},
                       "outputs.json lacks logGroupName (or flowLogBuckets): is the stack deployed (pulumi up)?"),
    "nothing at all": ({"logGroupName": "/g"}, "outputs.json lacks region, hosts: is the stack deployed (pulumi up)?"),
    "region": ({**LAB_OUTPUTS, "region": 7}, "outputs.json.region = 7 is not a string"),
    "group type": ({**LAB_OUTPUTS, "logGroupName": ["/g"]}, 'outputs.json.logGroupName = ["/g"] is not a string'),
    "group name": ({**LAB_OUTPUTS, "logGroupName": "no spaces"},
                   'outputs.json: logGroupName = "no spaces" is not a CloudWatch Logs group name'),
    "shared name": (with_host(1, name="lab-web-0"),
                    'outputs.json: hosts[0] and hosts[1] have the same name "lab-web-0"; each host needs its own'),
    "link-local": (with_host(0, publicIp="169.254.169.254"),
                   'outputs.json: hosts[0].publicIp = "169.254.169.254" is link-local: no EC2 host is reached there'),
    "no interface": (with_host(0, networkInterfaceId=""),
                     "outputs.json: hosts[0].networkInterfaceId is missing: it should be a non-empty string"),
    "zone": (with_host(1, availabilityZone=3), "outputs.json: hosts[1].availabilityZone = 3 is not a string"),
    "buckets list": ({**LAB_OUTPUTS, "flowLogBuckets": ["records"]},
                     'outputs.json: flowLogBuckets = ["records"] is not an object of bucket names'),
    "bucket number": ({**LAB_OUTPUTS, "flowLogBuckets": {"s3": 5}},
                      'outputs.json: flowLogBuckets = {"s3": 5} is not an object of bucket names'),
    "bucket empty": ({**LAB_OUTPUTS, "flowLogBuckets": {"s3": ""}},
                     'outputs.json: flowLogBuckets = {"s3": ""} is not an object of bucket names'),
}


@pytest.mark.parametrize("document, message", REFUSED_OUTPUTS.values(), ids=REFUSED_OUTPUTS)
def test_malformed_outputs_are_refused_word_for_word(document, message):
    with pytest.raises(VerifyError) as raised:
        verify.outputs_from_json(document, "outputs.json")
    assert str(raised.value) == message


def test_a_refusal_of_an_outputs_file_names_the_file(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**LAB_OUTPUTS, "region": "Tokyo"}), encoding="utf-8")
    with pytest.raises(VerifyError) as raised:
        read_outputs("lab", path)
    assert str(raised.value) == f'{path}: region = "Tokyo" is not an AWS region such as ap-northeast-1'


def pulumi_cli_printing(stdout: str, calls: list[dict]) -> Callable[..., subprocess.CompletedProcess]:
    def run(command, **options):
        calls.append({"command": command, **options})
        return subprocess.CompletedProcess(command, 0, stdout=stdout, stderr="")
    return run


def test_the_pulumi_cli_is_run_for_its_text_without_raising_on_failure():
    calls: list[dict] = []
    read_outputs("lab", None, run=pulumi_cli_printing(json.dumps(LAB_OUTPUTS), calls))
    assert calls == [{"command": ["pulumi", "stack", "output", "--json", "-s", "lab"],
                      "capture_output": True, "text": True, "check": False}]


def test_a_refusal_of_the_clis_outputs_names_the_command():
    run = pulumi_cli_printing(json.dumps({**LAB_OUTPUTS, "region": "Tokyo"}), [])
    with pytest.raises(VerifyError) as raised:
        read_outputs("lab", None, run=run)
    assert str(raised.value) == ('pulumi stack output --json -s lab: region = "Tokyo" is not an AWS region '
                                 "such as ap-northeast-1")


def test_a_cli_that_prints_no_json_is_named_with_the_parsers_reason():
    with pytest.raises(VerifyError) as raised:
        read_outputs("lab", None, run=pulumi_cli_printing("Current stack outputs (0):", []))
    assert str(raised.value) == ("pulumi stack output --json -s lab printed no JSON: "
                                 "Expecting value: line 1 column 1 (char 0)")


def test_without_the_cli_the_refusal_says_how_to_save_the_outputs():
    def missing_cli(command, **options):
        raise FileNotFoundError(command[0])

    with pytest.raises(VerifyError) as raised:
        read_outputs("web", None, run=missing_cli)
    assert str(raised.value) == ("the Pulumi CLI is not installed here; save `pulumi stack output --json -s web` "
                                 "to a file and run make verify STACK=web OUTPUTS=<file>")


def test_a_format_verification_cannot_read_is_refused_naming_what_it_needs():
    fields = tuple(name for name in DEFAULT_FIELDS if name not in ("action", "bytes"))
    with pytest.raises(VerifyError) as raised:
        verify.check_fields(fields, Path("lab.yaml"))
    assert str(raised.value) == (
        "the log format of lab.yaml lacks action, bytes; verification needs interface-id, dstport, protocol, "
        "action, packets, bytes (format: ${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} "
        "${srcport} ${dstport} ${protocol} ${packets} ${start} ${end} ${log-status})")


def test_a_host_name_is_never_taken_for_loopback():
    prober = Prober(loopback_only=True)
    with pytest.raises(verify.NonLoopbackTargetError, match="refusing to send to localhost:80 for lab-web-0"):
        prober._target(Host("lab-web-0", "eni-0", public_ip="localhost"), HTTP_PORT)
    assert prober.sent == []


# The report

def test_a_host_without_records_says_which_ports_had_none():
    assert render_table(WEB, {}) == "web  eni-1\n  no records for ports 22, 80, 8080"


def test_rows_are_ordered_by_port_protocol_and_action_unknowns_first():
    flows = {(8080, 6, "REJECT"): Totals(2, 120), (80, 17, "ACCEPT"): Totals(1, 40), (80, 6, "REJECT"): Totals(1, 40),
             (80, 6, None): Totals(3, 180), (80, 6, "ACCEPT"): Totals(8, 600), (80, 1, "ACCEPT"): Totals(1, 50),
             (80, None, "ACCEPT"): Totals(1, 60), (22, 6, "ACCEPT"): Totals(4, 300)}
    assert render_table(WEB, flows) == """\
web  eni-1
  port  protocol  action  packets  bytes
    22  tcp       ACCEPT        4    300
    80  -         ACCEPT        1     60
    80  icmp      ACCEPT        1     50
    80  tcp       -             3    180
    80  tcp       ACCEPT        8    600
    80  tcp       REJECT        1     40
    80  udp       ACCEPT        1     40
  8080  tcp       REJECT        2    120"""


# Matching records to hosts

NOWHERE = Host(name="nowhere", network_interface_id="eni-2")  # no privateIp in the outputs


def parse_error(text: str) -> str:
    with pytest.raises(ValueError) as raised:
        parse_record(text, DEFAULT_FIELDS)
    return str(raised.value)


OBSERVED = [
    pytest.param([line(80, "ACCEPT", "-", "-"), line(80, "ACCEPT", 2, 100), line(8080, "REJECT", 1, "-")], [WEB],
                 Observation(events=3, flows={"web": {(80, 6, "ACCEPT"): Totals(2, 100),
                                                      (8080, 6, "REJECT"): Totals(1, 0)}}, gaps={}),
                 id="absent-counts-add-nothing"),
    pytest.param([line(80, "ACCEPT", dstaddr="-"), line(80, "ACCEPT", dstaddr="10.9.9.9", interface_id="eni-2")],
                 [WEB, NOWHERE],
                 Observation(events=2, flows={"web": {(80, 6, "ACCEPT"): Totals(1, 40)},
                                              "nowhere": {(80, 6, "ACCEPT"): Totals(1, 40)}}, gaps={}),
                 id="inbound-unless-known-otherwise"),
    pytest.param(["2 1 eni-1 - - - - - - - 1 2 - NODATA", "2 1 eni-1 - - - - - - - 2 3 - NODATA",
                  "2 1 eni-2 - - - - - - - 1 2 - SKIPDATA"], [WEB, NOWHERE],
                 Observation(events=3, flows={}, gaps={"web": {"NODATA": 2}, "nowhere": {"SKIPDATA": 1}}),
                 id="gaps-counted-per-host"),
    pytest.param(["first bad line", line(80, "ACCEPT"), "second bad", line(8080, "REJECT")], [WEB],
                 Observation(events=4, flows={"web": {(80, 6, "ACCEPT"): Totals(1, 40),
                                                      (8080, 6, "REJECT"): Totals(1, 40)}}, gaps={},
                             unparsed=2, first_parse_error=parse_error("first bad line")),
                 id="misfits-counted-and-skipped"),
    pytest.param([], [WEB], Observation(events=0, flows={}, gaps={}), id="nothing"),
]


@pytest.mark.parametrize("messages, hosts, expected", OBSERVED)
def test_observe_holds_what_the_records_say(messages, hosts, expected):
    assert observe(messages, DEFAULT_FIELDS, hosts) == expected, messages


def test_a_host_without_records_misses_every_expected_record():
    assert [e.label for e in missing(expectations([WEB]), observe([], DEFAULT_FIELDS, [WEB]))] == [
        "web 80/ACCEPT", "web 8080/REJECT"]


# Probes

def test_a_host_without_a_public_ip_gets_a_not_sent_result_per_port():
    assert Prober(loopback_only=True).probe(WEB) == tuple(
        ProbeResult("web", port, "not sent: no publicIp in the outputs", False)
        for port in (SSH_PORT, HTTP_PORT, DROPPED_PORT))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port whose connects go unanswered, as a dropping security group's do: its accept queue is full."""
    server = socket.socket()
    server.bind((LOOPBACK, 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection((LOOPBACK, port), timeout=2)
    yield port
    filler.close()
    server.close()


def finished_within(seconds: float, call: Callable[[], ProbeResult]) -> ProbeResult:
    results: list[ProbeResult] = []
    worker = threading.Thread(target=lambda: results.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert results, f"the probe was still waiting after {seconds} s"
    return results[0]


@pytest.mark.parametrize("port, ok", [(SSH_PORT, False), (DROPPED_PORT, True)])
def test_an_unanswered_probe_gives_up_after_its_timeout(silent_port, port, ok):
    host = Host("lab-web-0", "eni-0", public_ip=LOOPBACK)
    prober = Prober(ports={"lab-web-0": {port: silent_port}}, loopback_only=True, timeout_seconds=0.3,
                    dropped_timeout_seconds=0.3)
    connect = prober.ssh_connect if port == SSH_PORT else prober.dropped_connect
    result = finished_within(5, lambda: connect(host))
    assert (result.outcome, result.ok) == (TIMED_OUT, ok), f"port {port}: {result}"


# The HTTP probe

class OnePage(BaseHTTPRequestHandler):
    """Serves `body` at `/` only, as Apache's default site does; other paths are 404."""
    body = b""

    def do_GET(self) -> None:
        status, body = (200, self.body) if self.path == "/" else (404, b"lab-web-0 has no such page")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def probe_page(body: bytes) -> ProbeResult:
    server = ThreadingHTTPServer((LOOPBACK, 0), type("Page", (OnePage,), {"body": body}))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        prober = Prober(ports={"lab-web-0": {HTTP_PORT: server.server_address[1]}}, loopback_only=True)
        return finished_within(10, lambda: prober.http_page(Host("lab-web-0", "eni-0", public_ip=LOOPBACK)))
    finally:
        server.shutdown()
        server.server_close()


def test_the_probe_asks_for_the_sites_root_page():
    assert probe_page(b"<h1>lab-web-0</h1>") == ProbeResult("lab-web-0", HTTP_PORT, "200, page names lab-web-0", True)


def test_bytes_that_are_not_utf8_do_not_hide_the_host_name():
    result = probe_page(b"\xff\xfe caf\xe9 <h1>lab-web-0</h1>")
    assert (result.outcome, result.ok) == ("200, page names lab-web-0", True), result


def test_a_name_beyond_the_pages_first_64_kib_is_not_read():
    result = probe_page(b" " * verify.PAGE_LIMIT_BYTES + b"lab-web-0")
    assert (result.outcome, result.ok) == ("200, page does not name lab-web-0", False), result


def test_a_refused_page_is_a_failed_probe_of_port_80():
    prober = Prober(ports={"lab-web-0": {HTTP_PORT: free_port()}}, loopback_only=True)
    result = finished_within(10, lambda: prober.http_page(Host("lab-web-0", "eni-0", public_ip=LOOPBACK)))
    assert (result.host, result.port, result.ok) == ("lab-web-0", HTTP_PORT, False), result
    assert result.outcome.startswith("failed: ") and "refused" in result.outcome, result


def test_an_unanswered_page_gives_up_after_the_probes_timeout(silent_port):
    prober = Prober(ports={"lab-web-0": {HTTP_PORT: silent_port}}, loopback_only=True, timeout_seconds=0.3)
    result = finished_within(5, lambda: prober.http_page(Host("lab-web-0", "eni-0", public_ip=LOOPBACK)))
    assert (result.outcome, result.ok) == ("failed: timed out", False), result


def test_a_port_without_a_mapping_is_probed_on_the_real_port():
    prober = Prober(ports={"lab-web-0": {HTTP_PORT: 18080}}, loopback_only=True)
    assert prober._target(Host("lab-web-0", "eni-0", public_ip=LOOPBACK), SSH_PORT) == (LOOPBACK, SSH_PORT)
    assert prober._target(Host("lab-web-1", "eni-1", public_ip=LOOPBACK), HTTP_PORT) == (LOOPBACK, HTTP_PORT)
    assert prober.sent == [(LOOPBACK, SSH_PORT), (LOOPBACK, HTTP_PORT)]


# The progress line

def test_progress_finished_without_updates_writes_nothing_on_a_terminal():
    stream = Terminal()
    ProgressLine(stream).finish()
    assert stream.getvalue() == ""


def test_progress_ends_its_line_once_on_a_terminal():
    stream = Terminal()
    progress = ProgressLine(stream)
    progress.show("waiting")
    progress.finish()
    progress.finish()
    progress.show("again")
    progress.finish()
    assert stream.getvalue() == "\rwaiting\n\ragain\n"


# Likely causes

def test_each_cause_that_applies_is_named_in_order(tmp_path):
    settings = settings_from_stack_file(lab_stack_file(tmp_path, trafficType="ACCEPT", aggregationInterval=600))
    db = Host(name="db", network_interface_id="eni-3", private_ip="10.0.0.6")
    not_seen = [e for e in expectations([WEB, db]) if e.host is WEB or e.port == HTTP_PORT]
    probes = [ProbeResult("web", DROPPED_PORT, "refused", True), ProbeResult("db", DROPPED_PORT, "refused", True)]
    causes = verify.likely_causes(not_seen, Observation(events=0, flows={}, gaps={}), settings, probes)
    assert causes == [
        "no records at all arrived in the log group: the flow log is not delivering. Its IAM role needs "
        "logs:CreateLogStream and logs:PutLogEvents on the group (the flow log's DeliverLogsErrorMessage reads "
        "'Access error' otherwise)",
        "aggregationInterval is 600 s: records can take 10 minutes or more to appear; run again with a longer "
        "--timeout, or use aggregationInterval 60",
        "trafficType is ACCEPT: the flow log never records rejected traffic",
        "web: the 8080 probe was refused, not dropped: the security group lets 8080 through, so the flow log has "
        "nothing to reject",
    ]


# A whole run, in process

class CannedProber(Prober):
    """Reports the given outcomes without sending anything."""

    def __init__(self, results: dict[str, tuple[ProbeResult, ...]]):
        super().__init__(loopback_only=True)
        self.results = results

    def probe(self, host: Host) -> tuple[ProbeResult, ...]:
        return self.results[host.name]


GROUP = "/vpc-flow-logs/parts"
WEB_0 = Host("lab-web-0", "eni-0aaaaaaaaaaaaaaa0", public_ip="203.0.113.10", private_ip="10.0.0.10")
WEB_1 = Host("lab-web-1", "eni-0bbbbbbbbbbbbbbb1", public_ip="203.0.113.11", private_ip="10.0.1.10")


def probes_of(host: Host, http: str = "200, page names {}", http_ok: bool = True) -> tuple[ProbeResult, ...]:
    return (ProbeResult(host.name, SSH_PORT, "connected", True),
            ProbeResult(host.name, HTTP_PORT, http.format(host.name), http_ok),
            ProbeResult(host.name, DROPPED_PORT, "timed out", True))


def record_for(host: Host, dstport: int, action: str, packets: int = 2, bytes_: int = 120) -> str:
    return line(dstport, action, packets, bytes_, dstaddr=host.private_ip, interface_id=host.network_interface_id)


@pytest.fixture
def log_group(aws_env, clock):
    """The stack's log group in moto; events are put with the times given (milliseconds)."""
    with mock_aws():
        logs = verify.logs_client(REGION)
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName="eni-all")

        def put(messages: list[str], at_ms: int) -> None:
            logs.put_log_events(logGroupName=GROUP, logStreamName="eni-all",
                                logEvents=[{"timestamp": at_ms, "message": m} for m in messages])
        yield put


def run_in_process(results: dict[str, tuple[ProbeResult, ...]]) -> tuple[int, str]:
    settings = settings_from_stack_file(stack_file("lab"))
    outputs = StackOutputs(region=REGION, log_group_name=GROUP, hosts=(WEB_0, WEB_1))
    out = io.StringIO()
    code = verify.verify(settings, outputs, CannedProber(results), 30, 10, out)
    return code, out.getvalue()


def test_a_passing_run_reports_the_traffic_and_each_hosts_records(log_group):
    now_ms = int(time.time() * 1000)
    log_group([record_for(host, port, action) for host in (WEB_0, WEB_1)
               for port, action in ((HTTP_PORT, "ACCEPT"), (DROPPED_PORT, "REJECT"))], now_ms)
    code, output = run_in_process({"lab-web-0": probes_of(WEB_0), "lab-web-1": probes_of(WEB_1)})
    assert code == 0, output
    assert output == f"""\
Traffic sent:
  lab-web-0  TCP connect :22              connected
  lab-web-0  HTTP GET :80                 200, page names lab-web-0
  lab-web-0  TCP connect :8080 (dropped)  timed out
  lab-web-1  TCP connect :22              connected
  lab-web-1  HTTP GET :80                 200, page names lab-web-1
  lab-web-1  TCP connect :8080 (dropped)  timed out
Waiting for flow-log records in {GROUP} ({REGION}):

lab-web-0  eni-0aaaaaaaaaaaaaaa0
  port  protocol  action  packets  bytes
    80  tcp       ACCEPT        2    120
  8080  tcp       REJECT        2    120

lab-web-1  eni-0bbbbbbbbbbbbbbb1
  port  protocol  action  packets  bytes
    80  tcp       ACCEPT        2    120
  8080  tcp       REJECT        2    120

Verified: every host's flow-log records show port 80 accepted and port 8080 rejected.
"""


def test_a_failing_run_names_what_never_appeared_what_went_wrong_and_why(log_group):
    now_ms = int(time.time() * 1000)
    log_group([record_for(WEB_0, HTTP_PORT, "ACCEPT")], now_ms)
    # Records from before the run (beyond its minute of lookback) are not this run's.
    log_group([record_for(host, DROPPED_PORT, "REJECT") for host in (WEB_0, WEB_1)], now_ms - 10 * 60 * 1000)
    code, output = run_in_process({"lab-web-0": probes_of(WEB_0),
                                   "lab-web-1": probes_of(WEB_1, "404, page names {}", False)})
    assert code == 1, output
    assert output.split("Verified")[0].endswith(f"""\
  lab-web-1  HTTP GET :80                 404, page names lab-web-1  <- unexpected
  lab-web-1  TCP connect :8080 (dropped)  timed out
Waiting for flow-log records in {GROUP} ({REGION}):
[   0s of 30s] 1 log events; waiting for lab-web-0 8080/REJECT, lab-web-1 80/ACCEPT, lab-web-1 8080/REJECT
[  10s of 30s] 1 log events; waiting for lab-web-0 8080/REJECT, lab-web-1 80/ACCEPT, lab-web-1 8080/REJECT
[  20s of 30s] 1 log events; waiting for lab-web-0 8080/REJECT, lab-web-1 80/ACCEPT, lab-web-1 8080/REJECT

lab-web-0  eni-0aaaaaaaaaaaaaaa0
  port  protocol  action  packets  bytes
    80  tcp       ACCEPT        2    120

lab-web-1  eni-0bbbbbbbbbbbbbbb1
  no records for ports 22, 80, 8080

Never appeared: lab-web-0 (eni-0aaaaaaaaaaaaaaa0): a tcp record to port 8080 with action REJECT
Never appeared: lab-web-1 (eni-0bbbbbbbbbbbbbbb1): a tcp record to port 80 with action ACCEPT
Never appeared: lab-web-1 (eni-0bbbbbbbbbbbbbbb1): a tcp record to port 8080 with action REJECT
Unexpected: lab-web-1 HTTP GET :80 was 404, page names lab-web-1: {verify.PROBE_HINTS[HTTP_PORT]}
Likely cause:
  - records are published some minutes after their aggregation interval ends; run again with a longer --timeout
"""), output


# The command line

def help_text(capsys) -> str:
    """`--help`, with argparse's line wrapping undone."""
    with pytest.raises(SystemExit) as exited:
        verify.parse_args(["--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_help_names_the_command_and_opens_with_the_modules_summary(capsys):
    text = help_text(capsys)
    assert text.startswith("usage: python -m tools.verify [-h] --stack STACK "), text
    description = text.split(" options: ")[0].split(" [--poll-seconds N] ", 1)[1]
    assert description == " ".join(verify.__doc__.split("\n\n")[0].split()), text


OPTION_HELP = [
    "--stack STACK stack name, e.g. lab",
    "--outputs OUTPUTS JSON from `pulumi stack output --json` (default: ask the CLI)",
    "--stack-file STACK_FILE stack file (default: config/Pulumi.<stack>.yaml)",
    "--timeout SECONDS how long to wait for records (default: 15 minutes, 25 when read from S3)",
    "--poll-seconds N seconds between reads of the log group (default: 15)",
]


@pytest.mark.parametrize("described", OPTION_HELP, ids=[line.split()[0] for line in OPTION_HELP])
def test_help_describes_each_option_and_its_default(described, capsys):
    assert described in help_text(capsys)


def test_a_run_without_a_stack_is_refused(capsys):
    with pytest.raises(SystemExit) as exited:
        verify.parse_args(["--timeout", "60"])
    assert exited.value.code == 2
    assert "the following arguments are required: --stack" in capsys.readouterr().err


def test_options_arrive_as_paths_and_seconds():
    args = verify.parse_args(["--stack", "lab", "--outputs", "out.json", "--stack-file", "lab.yaml",
                              "--timeout", "90"])
    assert (args.stack, args.outputs, args.stack_file) == ("lab", Path("out.json"), Path("lab.yaml")), args
    assert (args.timeout, args.poll_seconds) == (90.0, verify.DEFAULT_POLL_SECONDS), args


def test_unset_timeouts_are_left_to_the_outputs():
    args = verify.parse_args(["--stack", "lab"])
    assert (args.outputs, args.stack_file, args.timeout) == (None, None, None), args



# What main hands the run, and reads that fail

@pytest.fixture
def handed_to_verify(monkeypatch) -> list[tuple]:
    """The arguments `main` calls `verify` with; nothing is probed or read."""
    calls: list[tuple] = []
    monkeypatch.setattr(verify, "verify", lambda *arguments: calls.append(arguments) or 0)
    return calls


@pytest.mark.parametrize("destination, minutes", [({"logGroupName": "/vpc-flow-logs/lab"}, 15),
                                                  ({"flowLogBuckets": {"s3": "records"}}, 25)],
                         ids=["log group", "s3 only"])
def test_main_waits_the_outputs_default_and_polls_every_15_seconds(tmp_path, handed_to_verify, destination,
                                                                  minutes):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"region": REGION, "hosts": HOSTS, **destination}), encoding="utf-8")
    assert verify.main(["--stack", "lab", "--outputs", str(path)]) == 0
    (settings, outputs, _prober, timeout, poll, _out), = handed_to_verify
    assert (settings.region, outputs.region, timeout, poll) == (REGION, REGION, minutes * 60.0, 15.0)


def test_main_reads_the_stack_named_when_no_stack_file_is_given(tmp_path, handed_to_verify):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"region": REGION, "logGroupName": "/g", "hosts": HOSTS}), encoding="utf-8")
    assert verify.main(["--stack", "lab", "--outputs", str(path), "--timeout", "5", "--poll-seconds", "1"]) == 0
    (settings, *_rest, timeout, poll, _out), = handed_to_verify
    assert (settings, timeout, poll) == (settings_from_stack_file(stack_file("lab")), 5.0, 1.0)


def test_main_names_the_stack_file_whose_format_verification_cannot_read(tmp_path, capsys):
    stack = lab_stack_file(tmp_path, logFormat="${version} ${interface-id} ${dstport} ${protocol} ${packets}")
    assert verify.main(["--stack", "lab", "--stack-file", str(stack)]) == 2
    assert capsys.readouterr().err.startswith(f"verify: the log format of {stack} lacks action, bytes; "), stack


ACCESS_DENIED = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}


class DeniedPaginator:
    def __init__(self, operation: str):
        self.operation = operation

    def paginate(self, **kwargs):
        raise ClientError(ACCESS_DENIED, self.operation)


def test_a_log_group_that_cannot_be_described_is_refused_naming_it_and_the_region():
    client = type("DeniedLogs", (), {"get_paginator": lambda self, operation: DeniedPaginator("DescribeLogGroups")})()
    settings = settings_from_stack_file(stack_file("lab"))
    outputs = StackOutputs(region=REGION, log_group_name=GROUP, hosts=(WEB_0,))
    with pytest.raises(VerifyError) as raised:
        verify.check_log_group(client, settings, outputs)
    assert str(raised.value) == (f"cannot read log group {GROUP} in {REGION}: An error occurred "
                                 "(AccessDeniedException) when calling the DescribeLogGroups operation: not allowed")


def test_records_that_cannot_be_read_are_refused_naming_the_group(log_group, monkeypatch):
    def denied(*arguments):
        raise ClientError(ACCESS_DENIED, "FilterLogEvents")

    monkeypatch.setattr(verify, "read_messages", denied)
    with pytest.raises(VerifyError) as raised:
        run_in_process({"lab-web-0": probes_of(WEB_0), "lab-web-1": probes_of(WEB_1)})
    assert str(raised.value) == (f"cannot read log group {GROUP} in {REGION}: An error occurred "
                                 "(AccessDeniedException) when calling the FilterLogEvents operation: not allowed")


def test_an_s3_only_stack_reads_its_bucket_in_the_stacks_region(aws_env, monkeypatch):
    regions: list[str] = []

    def denied_s3(region: str):
        regions.append(region)
        return type("DeniedS3", (), {"get_paginator": lambda self, operation: DeniedPaginator("ListObjectsV2")})()

    monkeypatch.setattr(verify, "s3_client", denied_s3)
    outputs = StackOutputs(region=REGION, log_group_name="", hosts=(WEB_0,), bucket="records")
    with pytest.raises(VerifyError) as raised:
        verify.verify(settings_from_stack_file(stack_file("lab")), outputs,
                      CannedProber({"lab-web-0": probes_of(WEB_0)}), 30, 10, io.StringIO())
    assert regions == [REGION]
    assert str(raised.value).startswith(f"cannot read s3://records/ in {REGION}: An error occurred "
                                        "(AccessDeniedException) when calling the ListObjectsV2 operation"), raised.value


def test_an_outputs_file_is_read_as_utf8_whatever_the_locale(tmp_path, monkeypatch):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(with_host(0, name="web-café"), ensure_ascii=False), encoding="utf-8")
    # What a Latin-1 locale would make of a file opened without an encoding.
    monkeypatch.setattr(io, "text_encoding", lambda encoding, stacklevel=2: encoding or "latin-1")
    assert read_outputs("lab", path).hosts[0].name == "web-café"


class Pages:
    """A paginator whose pages are given, as a client may return them: a page can lack its list."""

    def __init__(self, *pages: dict):
        self.pages = pages

    def get_paginator(self, operation: str) -> "Pages":
        return self

    def paginate(self, **kwargs) -> tuple[dict, ...]:
        return self.pages


def test_a_page_without_events_adds_no_messages():
    assert verify.read_messages(Pages({}, {"events": [{"message": "m"}]}), GROUP, 0) == ["m"]


def test_a_page_without_log_groups_finds_none():
    settings = settings_from_stack_file(stack_file("lab"))
    outputs = StackOutputs(region=REGION, log_group_name=GROUP, hosts=(WEB_0,))
    with pytest.raises(VerifyError, match="does not exist in ap-northeast-1"):
        verify.check_log_group(Pages({}), settings, outputs)
