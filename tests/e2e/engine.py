"""The Go-built Pulumi CLI (`make pulumi-cli`, .tools/bin/) run as a user runs it, in isolation.

Each `Engine` has its own PULUMI_HOME, a file backend and a passphrase in a temporary
directory, so nothing touches the user's Pulumi login, plugin cache or Pulumi Cloud. Plugins
are never downloaded (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION): the engine uses only
what .tools/bin/ and venv/bin/ hold, and a missing plugin is an error, not a download.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
PULUMI = TOOLS_BIN / "pulumi"
VENV = REPO_ROOT / "venv"
PASSPHRASE = "e2e-rehearsal-only"
COMMAND_TIMEOUT_SECONDS = 600
# After pulumi exits, how long its plugins get to exit on SIGTERM before SIGKILL.
STRAGGLER_GRACE_SECONDS = 5


class PulumiFailed(AssertionError):
    """A pulumi command exited non-zero where the test needed it to succeed."""


@dataclass(frozen=True)
class Engine:
    """`pulumi` in `project_dir`, with state, home and secrets in `work_dir`."""

    project_dir: Path
    work_dir: Path

    @property
    def env(self) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items()
                     if not key.startswith(("PULUMI_", "AWS_"))}
        return {
            **inherited,
            # .tools/bin first: its pulumi, language host and plugins win over any installed ones.
            "PATH": os.pathsep.join([str(TOOLS_BIN), str(VENV / "bin"), inherited.get("PATH", "")]),
            "PULUMI_HOME": str(self.work_dir / "home"),
            "PULUMI_BACKEND_URL": f"file://{self.work_dir / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # Enables --event-log on preview, up and destroy.
            "PULUMI_DEBUG_COMMANDS": "true",
            # moto accepts any keys; these keep the AWS SDKs away from real credentials.
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`pulumi <args>`; every process it started is gone when this returns."""
        (self.work_dir / "state").mkdir(parents=True, exist_ok=True)
        command = [str(PULUMI), *args, "--non-interactive"]
        # A session of its own: plugins run in process groups of their own, but stay in it.
        process = subprocess.Popen(command, cwd=self.project_dir, env=self.env, text=True,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=STRAGGLER_GRACE_SECONDS * 6)
            raise PulumiFailed(f"`pulumi {' '.join(args)}` took over {COMMAND_TIMEOUT_SECONDS}s\n{stdout}\n{stderr}")
        finally:
            end_session(process.pid)
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise PulumiFailed(f"`pulumi {' '.join(args)}` exited {result.returncode}\n"
                               f"stdout:\n{stdout}\nstderr:\n{stderr}")
        return result

    def document(self, *args: str) -> Any:
        """The JSON document `pulumi <args>` prints (`stack export`, or a command given --json)."""
        return json.loads(self.run(*args).stdout)

    def events(self, *args: str, check: bool = True) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
        """`pulumi <args>` with an --event-log: the result and the engine events, in order."""
        log = self.work_dir / "events.jsonl"
        log.unlink(missing_ok=True)
        result = self.run(*args, "--event-log", str(log), check=check)
        return result, [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def session_members(session_id: int) -> list[int]:
    """Pids of the live processes in a session."""
    listing = subprocess.run(["ps", "-e", "-o", "pid=,sid=,stat="], capture_output=True, text=True,
                             check=True).stdout
    return [int(pid) for pid, sid, stat in (line.split()[:3] for line in listing.splitlines())
            if int(sid) == session_id and not stat.startswith("Z")]


def end_session(session_id: int) -> None:
    """Stop what is left of a session this harness started: SIGTERM, then SIGKILL, by pid."""
    deadline = time.monotonic() + STRAGGLER_GRACE_SECONDS
    signal_to_send = signal.SIGTERM
    while members := session_members(session_id):
        if time.monotonic() > deadline:
            signal_to_send = signal.SIGKILL
        for pid in members:
            with suppress(ProcessLookupError):
                os.kill(pid, signal_to_send)
        time.sleep(0.2)


def copy_project(source: Path, destination: Path, *, ignore: tuple[str, ...] = ()) -> Path:
    """Copy a Pulumi project so the engine can write its config; its venv/ is the repo's own."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("venv", "__pycache__", *ignore))
    (destination / "venv").symlink_to(VENV, target_is_directory=True)
    return destination
