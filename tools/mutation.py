"""`make mutation`: mutation testing of the program, the pack and the gate tools, and its report.

Runs mutmut (pinned in requirements-mutation.txt, configured in setup.cfg) over config/settings.py,
components/, policies/rules/, flowlogs/, tools/check.py and tools/verify.py. mutmut records which
tests reach each function and runs only those against each of its mutants. Then this writes a
report per module: killed, survived, timed out, and which survivors tests/mutation_equivalents.txt
explains as equivalent (no observable behaviour changes).

Not part of `make test` or CI: a full run takes about an hour on two cores.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MUTANTS = PROJECT_ROOT / "mutants"
REPORT = PROJECT_ROOT / "mutation-report.md"
EQUIVALENTS = PROJECT_ROOT / "tests" / "mutation_equivalents.txt"
# The columns of the report, in mutmut's status words; the rest are summed under "other".
STATUSES = ("killed", "survived", "timeout", "no tests", "not checked")


@dataclass(frozen=True)
class ModuleResult:
    module: str
    statuses: Mapping[str, str]  # mutant name -> mutmut status

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses.values() if s == status)

    @property
    def other(self) -> int:
        return sum(1 for s in self.statuses.values() if s not in STATUSES)

    def score(self, equivalent: Iterable[str]) -> Optional[float]:
        """Killed or timed out, out of the checked mutants that are not equivalent."""
        equivalent = set(equivalent)
        checked = [name for name, status in self.statuses.items()
                   if status != "not checked" and not (status == "survived" and name in equivalent)]
        caught = sum(1 for name in checked if self.statuses[name] in ("killed", "timeout"))
        return caught / len(checked) if checked else None


def read_equivalents(path: Path) -> dict[str, str]:
    """`mutant-name  why it changes nothing observable`, one a line; `#` starts a comment."""
    equivalents = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path}:{number}: {name} needs a reason after the mutant name")
        equivalents[name] = reason.strip()
    return equivalents


def read_results(mutants: Path, selected: Sequence[str] = ()) -> list[ModuleResult]:
    """Per source module, each mutant's status from mutmut's `.meta` files (optionally only `selected` globs)."""
    from mutmut.stats import status_by_exit_code

    results = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        statuses = {name: status_by_exit_code[code] for name, code in exit_codes.items()
                    if not selected or any(fnmatch.fnmatch(name, glob) for glob in selected)}
        if statuses:
            results.append(ModuleResult(module, statuses))
    return results


def report(results: Sequence[ModuleResult], equivalents: Mapping[str, str], measured: str, scope: str) -> str:
    lines = ["# Mutation testing report", "",
             f"mutmut, measured {measured}; {scope}. Score: killed or timed out, out of the checked mutants "
             "that are not listed as equivalent.", "",
             "| module | mutants | killed | survived | timed out | no tests | not checked | other "
             "| equivalent | score |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        equivalent = [name for name, status in result.statuses.items()
                      if status == "survived" and name in equivalents]
        score = result.score(equivalent)
        lines.append(f"| `{result.module}` | {len(result.statuses)} | {result.count('killed')} "
                     f"| {result.count('survived')} | {result.count('timeout')} | {result.count('no tests')} "
                     f"| {result.count('not checked')} | {result.other} | {len(equivalent)} "
                     f"| {'-' if score is None else f'{score:.0%}'} |")
    unexplained = [name for result in results for name, status in result.statuses.items()
                   if status in ("survived", "no tests") and name not in equivalents]
    lines += ["", f"## Survivors without an explanation ({len(unexplained)})", "",
              "Each needs a test that kills it, or a line in tests/mutation_equivalents.txt saying why no "
              "behaviour changes. `venv/bin/mutmut show <name>` prints the mutant.", ""]
    lines += [f"- `{name}`" for name in unexplained] or ["none"]
    listed = {name: status for result in results for name, status in result.statuses.items() if name in equivalents}
    lines += ["", f"## Equivalent mutants ({len(listed)})", ""]
    lines += [f"- `{name}` ({status}): {equivalents[name]}" for name, status in sorted(listed.items())] or ["none"]
    return "\n".join(lines) + "\n"


def prepare(mutants: Path) -> None:
    """mutmut reads its settings from the working directory, also in the pack's own process."""
    (mutants / "policies").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "setup.cfg", mutants / "policies" / "setup.cfg")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mutants", nargs="*", help='only these mutant name globs, e.g. "flowlogs.fields.*"')
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the last run")
    args = parser.parse_args(argv)
    if not args.report_only:
        prepare(MUTANTS)
        shared = PROJECT_ROOT.parent / "shared" / "reference"
        env = {**os.environ, "VPC_FLOW_LOGS_SHARED_REFERENCE": str(shared)}
        mutmut = Path(sys.executable).with_name("mutmut")
        run = subprocess.run([str(mutmut), "run", "--max-children", str(args.max_children), *args.mutants],
                             cwd=PROJECT_ROOT, env=env, check=False)
        if run.returncode != 0:
            print(f"mutation: mutmut run exited {run.returncode}; no report written", file=sys.stderr)
            return run.returncode
    # Read after the run, so explanations written while it ran count.
    equivalents = read_equivalents(EQUIVALENTS)
    results = read_results(MUTANTS, args.mutants)
    scope = ("mutants " + ", ".join(args.mutants) + " only") if args.mutants else "every module"
    measured = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    args.report.write_text(report(results, equivalents, measured, scope), encoding="utf-8")
    totals = Counter(status for result in results for status in result.statuses.values())
    print(f"mutation: {sum(totals.values())} mutants, " + ", ".join(f"{n} {s}" for s, n in totals.most_common())
          + f"; report in {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
