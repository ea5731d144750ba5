"""Time `make check` for one stack on a warm venv: render plus the policy gate, end to end.

A benchmark, not a test: it prints wall-clock times of a few runs of the real command.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from config.settings import stack_file_of
from tools.render import PROJECT_ROOT

RUNS = 5


def main() -> int:
    stack = sys.argv[1] if len(sys.argv) > 1 else "lab"
    command = [sys.executable, "-m", "tools.check", str(stack_file_of(stack))]
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        timings.append(time.perf_counter() - started)
    print(f"make check STACK={stack}: {RUNS} runs, median {statistics.median(timings):.2f}s, "
          f"min {min(timings):.2f}s, max {max(timings):.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
