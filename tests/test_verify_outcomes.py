"""`make verify` outcomes that must change the result: a wrong page, a port that should be dropped,
a log format verify cannot read.

Probes go to loopback stand-ins through the loopback-only `Prober` (and the network guard of
tests/test_verify.py); the log group's records are handed to verify directly instead of read
from an emulator, since what matters here is the verdict on them.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from flowlogs.fields import DEFAULT_FIELDS, format_string
from tests.moto_server import LOOPBACK
from tests.test_verify import (HOSTS, assert_only_loopback, host_ports, lab_stack_file, lab_traffic,  # noqa: F401
                               loopback_only_network, loopback_prober, outputs_file)
from tests.conftest import stack_file
from tools import verify
from tools.verify import CONNECTED, DROPPED_PORT, HTTP_PORT, REFUSED, SSH_PORT, Host, Prober

GROUP = "/vpc-flow-logs/lab"


@dataclass
class LogGroup:
    """What verify reads from the log group: every expected record, by default, and who read it."""

    messages: list[str] = field(default_factory=lambda: lab_traffic(DEFAULT_FIELDS))
    reads: list[str] = field(default_factory=list)
    # Set when verify must stop before reading: a read then fails the test at once, not after polling.
    unreadable: bool = False


@pytest.fixture
def records(monkeypatch) -> LogGroup:
    held = LogGroup()

    def read_messages(client, log_group, since_ms):
        held.reads.append(log_group)
        assert not held.unreadable, f"verify read {log_group} although it should have stopped before"
        return list(held.messages)
    monkeypatch.setattr(verify, "logs_client", lambda region: object())
    # The group exists: these tests are about the verdict on what was read (check_log_group has its own).
    monkeypatch.setattr(verify, "check_log_group", lambda client, settings, outputs: None)
    monkeypatch.setattr(verify, "read_messages", read_messages)
    return held


def run(tmp_path, prober: Prober, stack=None) -> tuple[int, str]:
    out = io.StringIO()
    code = verify.main(["--stack", "lab", "--stack-file", str(stack or stack_file("lab")), "--outputs",
                        str(outputs_file(tmp_path, GROUP)), "--timeout", "0.5", "--poll-seconds", "0.1"],
                       prober=prober, out=out)
    return code, out.getvalue()


def page_server(status: int, body: str) -> ThreadingHTTPServer:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            """Quiet."""
    server = ThreadingHTTPServer((LOOPBACK, 0), Page)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture
def listener() -> Iterator[int]:
    """A loopback port that accepts connections."""
    server = socket.create_server((LOOPBACK, 0), backlog=16)
    yield server.getsockname()[1]
    server.close()


def test_all_records_and_probes_as_expected_pass(tmp_path, records, host_ports):
    """The premise of the tests below: with nothing changed, verify passes."""
    prober = loopback_prober(host_ports)
    code, output = run(tmp_path, prober)
    assert code == 0, output
    assert "<- unexpected" not in output and "Unexpected:" not in output
    assert_only_loopback(prober)


@pytest.mark.parametrize("status", [500, 404, 301])
def test_a_page_naming_the_host_with_another_status_fails(tmp_path, records, host_ports, status):
    server = page_server(status, "<title>lab-web-0</title><h1>lab-web-0</h1>")
    try:
        host_ports["lab-web-0"] = {**host_ports["lab-web-0"], HTTP_PORT: server.server_address[1]}
        prober = loopback_prober(host_ports)
        code, output = run(tmp_path, prober)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1, output
    assert f"Unexpected: lab-web-0 HTTP GET :80 was {status}, page names lab-web-0" in output
    assert "Unexpected: lab-web-1" not in output
    assert "Never appeared" not in output
    assert_only_loopback(prober)


def test_a_dropped_port_that_connects_is_unexpected(tmp_path, records, host_ports, listener):
    host_ports["lab-web-1"] = {**host_ports["lab-web-1"], DROPPED_PORT: listener}
    prober = loopback_prober(host_ports)
    code, output = run(tmp_path, prober)
    assert code == 1, output
    assert "Unexpected: lab-web-1 TCP connect :8080 (dropped) was connected" in output
    flagged = [line for line in output.splitlines() if line.endswith("<- unexpected")]
    assert len(flagged) == 1 and "lab-web-1" in flagged[0] and ":8080" in flagged[0], flagged
    assert_only_loopback(prober)


def test_ssh_that_is_refused_is_unexpected(tmp_path, records, host_ports):
    closed = socket.create_server((LOOPBACK, 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    host_ports["lab-web-0"] = {**host_ports["lab-web-0"], SSH_PORT: closed_port}
    prober = loopback_prober(host_ports)
    code, output = run(tmp_path, prober)
    assert code == 1, output
    assert "Unexpected: lab-web-0 TCP connect :22 was refused" in output


# Tie a record to a host, a port and a verdict, and sum it: what the tables and verdict rest on.
NEEDED_FIELDS = ("interface-id", "dstport", "protocol", "action", "packets", "bytes")


@pytest.mark.parametrize("lacking", NEEDED_FIELDS)
def test_a_format_lacking_a_needed_field_exits_2_at_once(tmp_path, records, capsys, lacking):
    fields = tuple(name for name in DEFAULT_FIELDS if name != lacking)
    stack = lab_stack_file(tmp_path, logFormat=format_string(fields))
    prober = loopback_prober({})
    records.unreadable = True
    started = time.monotonic()
    # The default timeout: 15 minutes of polling if the refusal came late.
    code = verify.main(["--stack", "lab", "--stack-file", str(stack), "--outputs",
                        str(outputs_file(tmp_path, GROUP))], prober=prober, out=io.StringIO())
    assert code == 2
    assert time.monotonic() - started < 5
    assert f"lacks {lacking};" in capsys.readouterr().err
    assert prober.sent == [] and records.reads == []


def test_a_format_with_every_needed_field_in_another_order_is_read(tmp_path, records, host_ports):
    fields = tuple(reversed(DEFAULT_FIELDS))
    records.messages = lab_traffic(fields)
    stack = lab_stack_file(tmp_path, logFormat=format_string(fields))
    code, output = run(tmp_path, loopback_prober(host_ports), stack)
    assert code == 0, output


# The probes one at a time

@pytest.mark.parametrize("status, body, ok", [
    (200, "<h1>lab-web-0</h1>", True),
    (200, "<h1>lab-web-1</h1>", False),
    (500, "<h1>lab-web-0</h1>", False),
    (204, "", False),
])
def test_http_probe_is_ok_only_for_200_naming_the_host(status, body, ok):
    server = page_server(status, body)
    try:
        prober = loopback_prober({"lab-web-0": {HTTP_PORT: server.server_address[1]}})
        result = prober.http_page(Host("lab-web-0", "eni-0", public_ip=LOOPBACK))
    finally:
        server.shutdown()
        server.server_close()
    assert result.ok is ok, result
    assert result.outcome.startswith(f"{status}, page "), result


def test_dropped_probe_is_ok_unless_it_connects(listener):
    closed = socket.create_server((LOOPBACK, 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    host = Host("lab-web-0", "eni-0", public_ip=LOOPBACK)
    connected = loopback_prober({"lab-web-0": {DROPPED_PORT: listener}}).dropped_connect(host)
    refused = loopback_prober({"lab-web-0": {DROPPED_PORT: closed_port}}).dropped_connect(host)
    assert (connected.outcome, connected.ok) == (CONNECTED, False)
    assert (refused.outcome, refused.ok) == (REFUSED, True)


def test_ssh_probe_is_ok_only_when_it_connects(listener):
    host = Host("lab-web-0", "eni-0", public_ip=LOOPBACK)
    result = loopback_prober({"lab-web-0": {SSH_PORT: listener}}).ssh_connect(host)
    assert (result.outcome, result.ok) == (CONNECTED, True)


def test_the_loopback_guard_still_refuses_a_public_address():
    prober = loopback_prober({})
    with pytest.raises(verify.NonLoopbackTargetError):
        prober.dropped_connect(Host("lab-web-0", "eni-0", public_ip="203.0.113.10"))
    assert prober.sent == []
