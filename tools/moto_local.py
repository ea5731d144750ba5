"""Start and stop the moto server that the `local` stack's endpoints name.

`tools/local_stack.sh` and the tests start it the same way, `python -m tools.moto_local start`,
so the tests prove the server the script runs: bound to 127.0.0.1 only, at the port the stack
file's endpoints name, and answering the program's first AWS call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from config.settings import config_from_stack_file, stack_file_of
from tools.emulator import LOOPBACK, moto_client, single_endpoint
from tools.render import PROJECT_ROOT

LOCAL_STACK_FILE = stack_file_of("local")
STATE_DIR = PROJECT_ROOT / ".pulumi-state"
PID_FILE = "moto-server.pid"
LOG_FILE = "moto-server.log"
# moto imports every service model on start; a cold start takes a few seconds.
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class StackEmulator:
    """Where a stack file expects its emulator: one loopback URL for every endpoint, one region."""

    endpoints: dict[str, str]
    url: str
    region: str

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80


def stack_emulator(path: Path = LOCAL_STACK_FILE) -> StackEmulator:
    """The emulator a stack file's `aws:endpoints` name; a second address or a remote one fails."""
    config = config_from_stack_file(path)
    entries = json.loads(config.get("aws:endpoints", "[]"))
    url = single_endpoint(entries, str(path))
    return StackEmulator(endpoints={service: address for entry in entries for service, address in entry.items()},
                         url=url, region=config["aws:region"])


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.hostname}:{port}").geturl()


def first_call(url: str, region: str) -> list[str]:
    """The program's first AWS call, DescribeAvailabilityZones, at `url`: the zone names."""
    zones = moto_client("ec2", region, url).describe_availability_zones()["AvailabilityZones"]
    return [zone["ZoneName"] for zone in zones]


def _live_pid(pid_file: Path) -> Optional[int]:
    """The pid in `pid_file` if that process is still a running moto server; else forget it."""
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    # -ww: the whole command line, whatever COLUMNS says (ps cuts it to COLUMNS otherwise).
    state = subprocess.run(["ps", "-ww", "-p", str(pid), "-o", "stat=,command="], capture_output=True,
                           text=True).stdout
    if state.strip() and not state.lstrip().startswith("Z") and "moto.server" in state:
        return pid
    pid_file.unlink()
    return None


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def start(port: int, region: str, state_dir: Path = STATE_DIR) -> int:
    """Start moto on 127.0.0.1:`port` in the background (or keep the one running); its pid."""
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file, log_file = state_dir / PID_FILE, state_dir / LOG_FILE
    url = f"http://{LOOPBACK}:{port}"
    running = _live_pid(pid_file)
    if running is not None:
        first_call(url, region)
        return running
    if not _port_is_free(port):
        raise RuntimeError(f"{LOOPBACK}:{port} is already in use by another program: stop it or change the "
                           f"port in {LOCAL_STACK_FILE.name}'s aws:endpoints")
    with log_file.open("ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    pid_file.write_text(str(server.pid))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if server.poll() is not None:
            pid_file.unlink()
            raise RuntimeError(f"the moto server exited with {server.returncode}; see {log_file}")
        try:
            first_call(url, region)
            return server.pid
        except (BotoCoreError, ClientError):
            if time.monotonic() > deadline:
                stop(state_dir)
                raise
            time.sleep(0.2)


def stop(state_dir: Path = STATE_DIR) -> Optional[int]:
    """Stop the server `start` recorded in `state_dir`, by its pid only; the pid, or None."""
    pid_file = state_dir / PID_FILE
    pid = _live_pid(pid_file)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _live_pid(pid_file) is not None:
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    return pid


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop"))
    parser.add_argument("--port", type=int, help="default: the port of the stack file's endpoints")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    parser.add_argument("--stack-file", type=Path, default=LOCAL_STACK_FILE)
    args = parser.parse_args(argv)
    if args.command == "stop":
        pid = stop(args.state_dir)
        print(f"moto server (pid {pid}) stopped" if pid else "no moto server was running")
        return 0
    emulator = stack_emulator(args.stack_file)
    port = args.port or emulator.port
    pid = start(port, emulator.region, args.state_dir)
    print(f"moto server answering on http://{LOOPBACK}:{port} (pid {pid}, log {args.state_dir / LOG_FILE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
