"""`make mutation`: mutation testing of the program, the pack and the gate tools, and its report.

Runs mutmut (pinned in requirements-mutation.txt, configured in setup.cfg) over config/settings.py,
components/, policies/rules/, flowlogs/, tools/check.py and tools/verify.py. mutmut records which
tests reach each function; this narrows that set to the function's fastest covering tests, up to a
budget of test time per mutant, and mutmut runs those against each of its mutants. Then this writes
a report per module: killed, survived, timed out, and which survivors tests/mutation_equivalents.txt
explains as equivalent (no observable behaviour changes).

Not part of `make test` or CI: a full run takes hours on two cores (the README gives the last one's time).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MUTANTS = PROJECT_ROOT / "mutants"
REPORT = PROJECT_ROOT / "mutation-report.md"
# One line per mutmut run, oldest first, beside the results the runs left (mutants/ is not committed).
RUNS = MUTANTS / "runs.txt"
EQUIVALENTS = PROJECT_ROOT / "tests" / "mutation_equivalents.txt"
# The columns of the report, in mutmut's status words; the rest are summed under "other".
STATUSES = ("killed", "survived", "timeout", "no tests", "not checked")
# Seconds of test time a mutant may cost: the settings are reached by over 400 tests (every render),
# which would make one surviving mutant cost minutes; a function's fastest tests are its own.
TEST_BUDGET_SECONDS = 2.0
# A survivor of that budget runs again with this much: enough to reach the tests that render or
# check whole stacks, still short of the minutes some functions' whole covering sets take.
CONFIRM_BUDGET_SECONDS = 30.0


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


def run_line(measured: str, mutant_globs: Sequence[str], budget: float) -> str:
    """What one run tried, for the report: a mutant's results are those of the last run that tried it."""
    if not mutant_globs:
        tried = "every mutant"
    elif len(mutant_globs) <= 4:
        tried = ", ".join(f"`{glob}`" for glob in mutant_globs)
    else:
        tried = f"{len(mutant_globs)} named mutants or globs"
    return f"{measured}: {tried}; each ran its function's fastest covering tests within {budget:g} s"


def report(results: Sequence[ModuleResult], equivalents: Mapping[str, str], runs: Sequence[str]) -> str:
    lines = ["# Mutation testing report", "",
             "mutmut; a mutant's result is from the last of these runs that tried it. Score: killed or timed out, "
             "out of the checked mutants that are not listed as equivalent.", ""]
    lines += [f"- {run}" for run in runs] or ["- no run recorded"]
    lines += ["",
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


def narrowed(tests_by_function: Mapping[str, Iterable[str]], duration_by_test: Mapping[str, float],
             budget: float) -> dict[str, list[str]]:
    """Each function's fastest covering tests, fastest first, while their total stays within `budget`.

    The fastest test is always kept, so a function reached by tests keeps at least one. Fastest first
    also means a killed mutant usually stops (pytest -x) at its cheapest failing test.
    """
    chosen = {}
    for function, tests in tests_by_function.items():
        kept, spent = [], 0.0
        for test in sorted(tests, key=lambda name: (duration_by_test.get(name, 0.0), name)):
            cost = duration_by_test.get(test, 0.0)
            if kept and spent + cost > budget:
                break
            kept.append(test)
            spent += cost
        chosen[function] = kept
    return chosen


class AloneCost:
    """A pytest plugin for mutmut's stats run: each test's cost as a mutant's narrowed set pays it.

    mutmut times a test's call only, in one process running every test. A mutant runs a few tests in a
    fresh process, where nothing is shared yet, so a test also costs its setup and teardown, the setup
    of each module or session fixture it uses, with the test's own parameter of it (measured where it
    was made, even if an earlier test paid for it), and the seconds it reports as `alone_seconds` user
    properties for work a shared cache spared it (tests/conftest.py's stack renders).
    """

    def __init__(self, durations: dict[str, float]):
        self.durations = durations
        # (id(fixture definition), parameter index) -> seconds: a fixture's params can cost very differently,
        # as tests/conftest.py's `pack` does (starting the analyzer, or not).
        self.shared_setup: dict[tuple[int, int], float] = {}
        self.made_now: set[tuple[int, int]] = set()

    def _add(self, nodeid: str, seconds: float) -> None:
        self.durations[nodeid] = self.durations.get(nodeid, 0.0) + seconds

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        start = time.perf_counter()
        yield
        if fixturedef.scope != "function":
            key = (id(fixturedef), getattr(request, "param_index", 0))
            self.shared_setup[key] = max(self.shared_setup.get(key, 0.0), time.perf_counter() - start)
            self.made_now.add(key)

    def pytest_runtest_logstart(self, nodeid, location):
        self.made_now.clear()

    def pytest_runtest_makereport(self, item, call):
        if call.when not in ("setup", "teardown"):
            return
        self._add(item.nodeid, call.duration)
        if call.when == "teardown":
            definitions = item._fixtureinfo.name2fixturedefs  # pytest's own map; no public equivalent
            indices = item.callspec.indices if hasattr(item, "callspec") else {}
            shared = {(id(defs[-1]), indices.get(name, 0)) for name in item.fixturenames
                      if (defs := definitions.get(name))}
            spared = sum(self.shared_setup.get(key, 0.0) for key in shared - self.made_now)
            self._add(item.nodeid, spared + sum(value for name, value in item.user_properties
                                                if name == "alone_seconds"))


def run_mutmut(mutant_globs: Sequence[str], max_children: int, budget: float) -> int:
    """mutmut's own `run`, with each function's covering tests narrowed once its stats are known."""
    from collections import defaultdict

    import mutmut.__main__ as mutmut_main
    from mutmut.runners.harness import PytestRunner
    from mutmut.state import state

    execute_pytest = PytestRunner.execute_pytest

    def execute_pytest_with_alone_cost(self, params, **kwargs):
        if "plugins" in kwargs and "--collect-only" not in params:  # the stats run
            kwargs["plugins"] = [*kwargs["plugins"], AloneCost(state().duration_by_test)]
        return execute_pytest(self, params, **kwargs)

    PytestRunner.execute_pytest = execute_pytest_with_alone_cost
    collect_or_load_stats = mutmut_main.collect_or_load_stats

    def collect_then_narrow(*args, **kwargs):
        collect_or_load_stats(*args, **kwargs)  # saves the full sets; only this run's copy is narrowed
        current = state()
        current.tests_by_mangled_function_name = defaultdict(
            list, narrowed(current.tests_by_mangled_function_name, current.duration_by_test, budget))

    mutmut_main.collect_or_load_stats = collect_then_narrow
    # This process imported `tools` from the repo; the tests must import it from mutants/.
    for module in [name for name in sys.modules if name == "tools" or name.startswith("tools.")]:
        del sys.modules[module]
    try:
        mutmut_main.cli.main(["run", "--max-children", str(max_children), *mutant_globs], standalone_mode=False)
    except SystemExit as stopped:  # mutmut calls exit(1) when the clean run or the stats fail
        return stopped.code if isinstance(stopped.code, int) else 1
    return 0


def prepare(mutants: Path) -> None:
    """mutmut reads its settings from the working directory, also in the pack's own process."""
    (mutants / "policies").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "setup.cfg", mutants / "policies" / "setup.cfg")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mutants", nargs="*", help='only these mutant name globs, e.g. "flowlogs.fields.*"')
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--budget", type=float, default=TEST_BUDGET_SECONDS,
                        help="seconds of covering tests per mutant, fastest first (default %(default)s)")
    parser.add_argument("--confirm-budget", type=float, default=CONFIRM_BUDGET_SECONDS,
                        help="seconds of covering tests for a survivor's second run; 0 skips it (default %(default)s)")
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the last run")
    args = parser.parse_args(argv)
    if not args.report_only:
        prepare(MUTANTS)
        os.environ["VPC_FLOW_LOGS_SHARED_REFERENCE"] = str(PROJECT_ROOT.parent / "shared" / "reference")
        # Each mutant's process imports the mutated modules it has not inherited; without bytecode
        # caches it compiles them (every mutant inlined) afresh each time.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.chdir(PROJECT_ROOT)  # mutmut reads setup.cfg and writes mutants/ here
        exit_code = run_mutmut(args.mutants, args.max_children, args.budget)
        if exit_code == 0:
            with RUNS.open("a", encoding="utf-8") as runs:
                runs.write(run_line(datetime.now(timezone.utc).strftime("%Y-%m-%d"), args.mutants, args.budget) + "\n")
        survivors = [name for result in read_results(MUTANTS, args.mutants)
                     for name, status in result.statuses.items() if status == "survived"]
        if exit_code == 0 and survivors and args.confirm_budget > args.budget:
            # A survivor may only have missed the test that kills it: it runs again with the larger
            # budget, in a fresh process (mutmut's state is process-wide).
            print(f"mutation: {len(survivors)} survivors run again with {args.confirm_budget:g} s of tests each",
                  file=sys.stderr)
            exit_code = subprocess.run([sys.executable, "-m", "tools.mutation", "--budget", str(args.confirm_budget),
                                        "--confirm-budget", "0", "--max-children", str(args.max_children),
                                        "--report", str(args.report), *survivors], check=False).returncode
        if exit_code != 0:
            print(f"mutation: mutmut run exited {exit_code}; no report written", file=sys.stderr)
            return exit_code
    # Read after the run, so explanations written while it ran count. The report covers every mutant,
    # each with the result of the last run that tried it; the summary line, those this run tried.
    equivalents = read_equivalents(EQUIVALENTS)
    runs = RUNS.read_text(encoding="utf-8").splitlines() if RUNS.is_file() else []
    args.report.write_text(report(read_results(MUTANTS), equivalents, runs), encoding="utf-8")
    totals = Counter(status for result in read_results(MUTANTS, args.mutants) for status in result.statuses.values())
    print(f"mutation: {sum(totals.values())} mutants, " + ", ".join(f"{n} {s}" for s, n in totals.most_common())
          + f"; report in {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
