"""The local node lives exactly as long as the command that started it, and listens on 127.0.0.1 only."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from flowlogs.trino import REPOSITORY

# A command that starts a node, says which process it is, and runs a query that takes minutes.
COMMAND = """
import os, sys
from flowlogs.trino import local_trino
with local_trino(show_progress=False) as engine:
    print(os.getpid(), flush=True)
    engine.rows("SELECT count(*) FROM UNNEST(sequence(1, 100000)) a(x) CROSS JOIN UNNEST(sequence(1, 100000)) b(y)")
"""
GONE_WITHIN_SECONDS = 60


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _started_command() -> tuple[subprocess.Popen, list[int], Path]:
    """The command, once its node answers and its query runs; the node's processes (wrapper, JVM) and folder."""
    command = subprocess.Popen([sys.executable, "-c", COMMAND], cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)
    assert command.stdout is not None
    line = command.stdout.readline()
    assert line.strip() == str(command.pid), f"the command did not start a node: {line!r}"
    wrappers = _children(command.pid)
    node = wrappers + [pid for wrapper in wrappers for pid in _children(wrapper)]
    assert len(node) == 2, f"expected the wrapper and the JVM under {command.pid}, found {node}"
    arguments = Path(f"/proc/{node[1]}/cmdline").read_bytes().decode().split("\0")
    (data_dir,) = [a.split("=", 1)[1] for a in arguments if a.startswith("-Dnode.data-dir=")]
    time.sleep(2)  # the query is running
    return command, node, Path(data_dir).parent


def _wait_gone(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return [pid for pid in pids if _alive(pid)]


def test_ctrl_c_on_a_running_command_leaves_no_trino_process():
    command, node, folder = _started_command()
    command.send_signal(signal.SIGINT)
    command.wait(GONE_WITHIN_SECONDS)
    assert command.returncode != 0, "the interrupted command claimed success"
    assert _wait_gone(node) == [], f"still running after Ctrl-C: {node}"
    assert not folder.exists(), f"{folder} was left behind"


def test_sigterm_on_a_running_command_leaves_no_trino_process():
    command, node, folder = _started_command()
    command.send_signal(signal.SIGTERM)
    command.wait(GONE_WITHIN_SECONDS)
    assert command.returncode == 128 + signal.SIGTERM, command.returncode
    assert _wait_gone(node) == [], f"still running after SIGTERM: {node}"
    assert not folder.exists(), f"{folder} was left behind"


def test_a_command_killed_outright_takes_its_node_with_it():
    command, node, folder = _started_command()
    command.kill()
    command.wait(GONE_WITHIN_SECONDS)
    assert _wait_gone(node) == [], f"still running after SIGKILL of {command.pid}: {node}"
    shutil.rmtree(folder)  # nothing ran to clean it up


def test_the_node_listens_on_loopback_only(trino_engine):
    port = urlsplit(trino_engine.url).port
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line for line in listening if line.split()[3].endswith(f":{port}")]
    assert ours, f"nothing listens on port {port}: {listening}"
    pid = ours[0].split("pid=", 1)[1].split(",", 1)[0]
    sockets = [line.split()[3] for line in listening if f"pid={pid}," in line]
    assert sockets and all(address.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]") for address in sockets), \
        sockets
