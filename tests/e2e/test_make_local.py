"""`make up-local` / `make down-local` with no Pulumi CLI on PATH: the rehearsal fallback.

Runs on a copy of the checkout (sharing venv/ and .tools/bin/), so the checkout's own
.pulumi-state/ is never touched. The stack file fixes moto at 127.0.0.1:5000.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.engine import REPO_ROOT, VENV, end_session
from tests.e2e.observe import Moto, flow_log_summary
from tools.emulator import LOOPBACK

MOTO_PORT = 5000
# A PATH with the system's tools and no Pulumi CLI, as on a machine where only Python is installed.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def make(checkout: Path, target: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "AWS_"))}
    env.update(PATH=SYSTEM_PATH, PULUMI_HOME=str(home))
    process = subprocess.Popen(["make", "--no-print-directory", target], cwd=checkout, env=env, text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=600)
    finally:
        end_session(process.pid)
    return subprocess.CompletedProcess(process.args, process.returncode, output)


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A copy of the checkout; whatever moto server it started is stopped afterwards, by its pid file."""
    assert shutil.which("pulumi", path=SYSTEM_PATH) is None, f"a pulumi CLI is on {SYSTEM_PATH}: no fallback to test"
    assert not port_in_use(MOTO_PORT), f"{LOOPBACK}:{MOTO_PORT} is in use: the local stack's moto needs it"
    # copytree keeps modification times, so make sees venv/ as up to date.
    copy = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT, copy, symlinks=True,
                    ignore=shutil.ignore_patterns("venv", ".tools", ".git", ".pulumi-state", "__pycache__"))
    (copy / "venv").symlink_to(VENV, target_is_directory=True)
    (copy / ".tools").symlink_to(REPO_ROOT / ".tools", target_is_directory=True)
    try:
        yield copy
    finally:
        subprocess.run([str(VENV / "bin" / "python"), "-m", "tools.moto_local", "stop",
                        "--state-dir", str(copy / ".pulumi-state")], cwd=copy, timeout=60, check=False)


def test_up_and_down_local_fall_back_to_the_rehearsal_cli(checkout: Path, tmp_path: Path) -> None:
    up = make(checkout, "up-local", tmp_path / "pulumi-home")
    assert up.returncode == 0 and "REHEARSAL" in up.stdout and "NOT pulumi-aws" in up.stdout, \
        f"make up-local exited {up.returncode}:\n{up.stdout}"
    flow_logs = Moto(f"http://{LOOPBACK}:{MOTO_PORT}").flow_logs()
    assert len(flow_logs) == 1, f"after make up-local, moto holds {[flow_log_summary(f) for f in flow_logs]}"
    down = make(checkout, "down-local", tmp_path / "pulumi-home")
    assert down.returncode == 0 and "REHEARSAL" in down.stdout, f"make down-local exited {down.returncode}:\n{down.stdout}"
    assert not port_in_use(MOTO_PORT), f"{LOOPBACK}:{MOTO_PORT} still answers after make down-local"
