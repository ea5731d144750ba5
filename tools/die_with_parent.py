"""Run a command that ends when the process that started it ends, however that one ends.

`python tools/die_with_parent.py <program> <args...>` runs the command as its child and reads
its own stdin, a pipe whose other end only the starting process holds. When that process
exits, even by SIGKILL, the kernel closes the pipe and the command is killed. On Linux the
command also dies with this wrapper itself (PR_SET_PDEATHSIG). SIGTERM, SIGHUP and SIGINT are
passed on to the command. The exit status is the command's (128 + the signal
when a signal ended it). The policy pack runs under it: otherwise a `make check` killed
outright leaves the pack listening, reparented to PID 1.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_this_process() -> None:
    """In the child, before exec: SIGKILL when the wrapper dies (this single-threaded process forks)."""
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)


def main(command: list[str]) -> int:
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                             preexec_fn=_die_with_this_process if sys.platform.startswith("linux") else None)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, lambda received, frame: child.send_signal(received))

    def kill_when_parent_is_gone() -> None:
        sys.stdin.buffer.read()  # returns at end of file: the parent closed the pipe or died
        child.kill()

    threading.Thread(target=kill_when_parent_is_gone, daemon=True).start()
    code = child.wait()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    # _exit: the reader thread is blocked on stdin, which a normal interpreter shutdown cannot finalize.
    os._exit(main(sys.argv[1:]))
