"""`--engine trino` and `--trino-url` refuse what they cannot run with exit 2, before any node starts.

The answers themselves are held to DuckDB's in tests/trino (`make trino-test`, needs Java).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowlogs import cli


@pytest.fixture
def delivered(tmp_path) -> Path:
    """An AWSLogs/ folder holding one Parquet object where S3 puts it."""
    folder = tmp_path / "AWSLogs" / "123456789010" / "vpcflowlogs" / "us-east-1" / "2026" / "11" / "28"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"version": pa.array([5], pa.int32())}), folder / "records.log.parquet")
    return tmp_path / "AWSLogs"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_text_source_on_trino_is_refused_naming_what_trino_reads(tmp_path, capsys):
    records = tmp_path / "records.log"
    records.write_text("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n")
    assert cli.main(["analyze", str(records), "--engine", "trino"]) == 2
    err = capsys.readouterr().err
    assert "folder of Parquet" in err and str(records) in err and "Traceback" not in err, err


def test_a_cluster_that_does_not_answer_exits_2_with_the_clients_message(tmp_path, delivered, capsys):
    url = f"http://127.0.0.1:{_closed_port()}"
    assert cli.main(["report", str(delivered), "--out", str(tmp_path / "r.html"), "--trino-url", url]) == 2
    err = capsys.readouterr().err
    assert f"Trino at {url}" in err and "Traceback" not in err and not (tmp_path / "r.html").exists(), err


def test_a_url_that_is_not_http_is_refused(delivered, capsys):
    assert cli.main(["analyze", str(delivered), "--trino-url", "ftp://127.0.0.1:1"]) == 2
    assert "not http(s)" in capsys.readouterr().err
