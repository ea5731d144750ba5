"""`make check` leaves no policy pack behind, however it is stopped, and prints the same bytes every run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, stack_file
from tools import check
from tools.render import Rendering

LINUX_ONLY = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads processes from /proc")


def processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        found[int(entry.name)] = (int(parent), command)
    return found


def pack_children(ancestor: int) -> list[int]:
    """Descendants of `ancestor` that run `python -m pulumi.policy` itself."""
    table = processes()
    descendants, frontier = set(), {ancestor}
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - descendants
        descendants |= frontier
    return [pid for pid in descendants
            if b"pulumi.policy" in table[pid][1] and b"die_with_parent" not in table[pid][1]]


def listening(pid: int) -> bool:
    """The process holds a listening TCP socket: the pack has printed its port and serves."""
    try:
        inodes = {os.readlink(fd)[len("socket:["):-1] for fd in Path(f"/proc/{pid}/fd").iterdir()
                  if os.readlink(fd).startswith("socket:[")}
        tables = [Path(f"/proc/{pid}/net/{name}").read_text() for name in ("tcp", "tcp6")]
    except OSError:
        return False
    rows = [line.split() for table in tables for line in table.splitlines()[1:]]
    return any(row[3] == "0A" and row[9] in inodes for row in rows)  # 0A: LISTEN


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for PID 1 to reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "zombie" not in state


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@LINUX_ONLY
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_the_policy_pack_never_outlives_the_check(signum):
    # The smallest stack: the pack starts once the program has rendered, so less to render is less to wait.
    # A job started in the background by a shell ignores SIGINT, and its children inherit that; a check
    # started from a terminal does not. A handler set here is reset to the default in the child.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        check = subprocess.Popen([sys.executable, "-m", "tools.check", str(stack_file("local"))], cwd=REPO_ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    pack = None
    try:
        assert wait_for(lambda: pack_children(check.pid), 120), "the check never started its policy pack"
        pack = pack_children(check.pid)[0]
        assert wait_for(lambda: listening(pack), 60), "the policy pack never listened"
        os.kill(check.pid, signum)
        code = check.wait(timeout=30)
        stderr = check.stderr.read()
        assert wait_for(lambda: not alive(pack), 10), \
            f"policy pack {pack} still runs after the check got {signal.Signals(signum).name}"
    finally:
        if check.poll() is None:
            check.kill()
            check.wait()
        if pack is not None and alive(pack):
            os.kill(pack, signal.SIGKILL)  # a failed run must not leave it behind either
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == 128 + signum, stderr
        assert "Traceback" not in stderr, stderr


def run_json(seed: int) -> bytes:
    # `local` is the smallest stack that still has violations to order.
    return subprocess.run([sys.executable, "-m", "tools.check", "--format", "json", str(stack_file("local"))],
                          cwd=REPO_ROOT, capture_output=True, timeout=300, check=True,
                          env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout


def test_json_is_byte_identical_across_processes_and_hash_seeds():
    assert run_json(1) == run_json(2), "two runs of `--format json` differ"


def test_reports_do_not_depend_on_registration_or_violation_order(rendered):
    rendering = rendered("prod")
    violations = check.analyze(rendering)
    shuffled = Rendering(stack=rendering.stack, registrations=list(reversed(rendering.registrations)),
                         outputs=rendering.outputs, invokes=rendering.invokes)
    assert violations, "prod should report at least one advisory violation to order"
    reordered = list(reversed(violations))
    assert check.text_report(shuffled, reordered) == check.text_report(rendering, violations)
    assert json.dumps(check.json_report(shuffled, reordered)) == json.dumps(check.json_report(rendering, violations))
