"""Become a command that ends when the process that started it ends, however that one ends.

`python tools/die_with_parent.py <parent pid> <program> <args...>` asks Linux to send it SIGKILL
when its parent dies (PR_SET_PDEATHSIG, kept across exec), then execs the program in its place,
so the pid the parent knows stays the command's. A parent that died before the request is
noticed by comparing the parent pid. The policy pack runs under it: a `make check` stopped by
SIGKILL cannot clean up, and the pack would otherwise keep listening, reparented to PID 1.
Elsewhere than Linux the command is exec'd as it is.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
        if os.getppid() != parent:
            sys.exit(f"{command[0]}: not started, its parent {parent} has already exited")
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
