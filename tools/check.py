"""`make check`: render each stack offline and gate it on the policy pack.

For each stack file: render the real program under Pulumi's mock runtime as a preview of a new
stack sees it (every value a provider computes unknown), hand every registration to `policies/`
through the analyzer protocol (as `pulumi preview --policy-pack` would), print a preview-like tree,
the violations and the rules that cannot decide at preview, and exit 1 if anything mandatory is
violated or undecided: the engine runs an undecided rule as advisory, so it would not be enforced. Invalid config exits 2 with the config error alone; 3 means the policy pack
itself could not run (its message says why).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Sequence

import pulumi

from config.stack_file import StackFileError
from tools.analyzer import PolicyPackError, PolicyPackSession, Violation, load_policy_config
from tools.render import PROJECT_ROOT, ROOT_STACK_TYPE, Registration, Rendering, render_stack_file

POLICY_PACK = PROJECT_ROOT / "policies"
EXIT_OK, EXIT_VIOLATIONS, EXIT_CONFIG, EXIT_GATE_BROKEN = 0, 1, 2, 3


def policy_config_path(stack: str) -> Path:
    return POLICY_PACK / "config" / f"{stack}.json"


def analyze(rendering: Rendering) -> list[Violation]:
    """Every violation the pack reports for a rendering, with that stack's enforcement."""
    path = policy_config_path(rendering.stack)
    config = load_policy_config(path) if path.exists() else None
    with PolicyPackSession(POLICY_PACK, rendering.stack, policy_config=config) as session:
        return session.analyze([r.as_dict() for r in rendering.registrations])


def in_report_order(registrations: Sequence[Registration]) -> list[Registration]:
    """Resources by URN: the SDK registers siblings concurrently, so registration order varies by run."""
    return sorted(registrations, key=lambda registration: registration.urn)


def violations_in_report_order(violations: Sequence[Violation]) -> list[Violation]:
    """Mandatory first, then by rule, resource and message: the same order on every run."""
    return sorted(violations, key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn, v.message))


def tree_lines(registrations: Sequence[Registration]) -> list[str]:
    """A preview-like tree: each resource under its parent, siblings by URN (type, then name)."""
    children: dict[str, list[Registration]] = {}
    for registration in in_report_order(registrations):
        children.setdefault(registration.parent, []).append(registration)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for registration in children.get(parent, []):
            flags = [flag for flag, on in (("protect", registration.options["protect"]),
                                           ("delete-before-replace", registration.options["deleteBeforeReplace"]))
                     if on]
            suffix = f"  [{', '.join(flags)}]" if flags else ""
            lines.append(f"{'    ' * depth}+ {registration.type:<60} {registration.name}{suffix}")
            walk(registration.urn, depth + 1)

    walk("", 0)
    return lines


def summary(rendering: Rendering, violations: Sequence[Violation]) -> str:
    resources = sum(1 for r in rendering.registrations if r.type != ROOT_STACK_TYPE)
    decided = [v for v in violations if not v.undecided]
    mandatory = sum(1 for v in decided if v.enforcement == "mandatory")
    undecided = [v for v in violations if v.undecided]
    line = (f"{rendering.stack}: {resources} resources, {mandatory} mandatory violations, "
            f"{len(decided) - mandatory} advisory violations")
    if undecided:
        line += (f", {len(undecided)} undecided at preview "
                 f"({sum(1 for v in undecided if v.enforcement == 'mandatory')} mandatory)")
    return line


def text_report(rendering: Rendering, violations: Sequence[Violation]) -> str:
    names = {r.urn: r.name for r in rendering.registrations}
    lines = [f"Stack {rendering.stack} (rendered offline under Pulumi's mock runtime)", ""]
    lines += tree_lines(rendering.registrations)
    lines.append("")
    decided = [v for v in violations if not v.undecided]
    if decided:
        lines.append("Policy violations:")
        for violation in violations_in_report_order(decided):
            where = names.get(violation.urn, violation.urn or "stack")
            lines.append(f"    [{violation.enforcement}] {violation.policy}  {where}")
            lines.append(f"        {violation.message}")
    else:
        lines.append("Policy violations: none")
    undecided = [v for v in violations if v.undecided]
    if undecided:
        lines.append("")
        lines.append("Undecided at preview (`pulumi preview` prints \"can't run policy\" and does not enforce them):")
        for violation in violations_in_report_order(undecided):
            lines.append(f"    [{violation.enforcement}] {violation.policy}  {violation.urn or 'stack'}")
            lines.append(f"        {violation.message}")
    lines.append("")
    lines.append(summary(rendering, violations))
    return "\n".join(lines)


def json_report(rendering: Rendering, violations: Sequence[Violation]) -> dict:
    return {
        "stack": rendering.stack,
        "resources": [r.as_dict() for r in in_report_order(rendering.registrations)],
        "violations": [{"policy": v.policy, "enforcement": v.enforcement, "urn": v.urn, "message": v.message}
                       for v in violations_in_report_order(violations) if not v.undecided],
        "undecided": [{"policy": v.policy, "enforcement": v.enforcement, "urn": v.urn, "unknown": v.unknown,
                       "message": v.message}
                      for v in violations_in_report_order(violations) if v.undecided],
    }


def check(path: Path) -> tuple[int, Rendering | None, list[Violation]]:
    """Exit code, rendering and violations for one stack file."""
    try:
        rendering = render_stack_file(path, preview=True)
    except StackFileError as error:  # it names the file already
        print(error, file=sys.stderr)
        return EXIT_CONFIG, None, []
    except pulumi.RunError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return EXIT_CONFIG, None, []
    try:
        violations = analyze(rendering)
    except PolicyPackError as error:
        print(f"{path}: the policy gate could not run: {error}", file=sys.stderr)
        return EXIT_GATE_BROKEN, None, []
    failed = any(v.enforcement == "mandatory" for v in violations)
    return (EXIT_VIOLATIONS if failed else EXIT_OK), rendering, violations


class Stopped(Exception):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so the running policy pack is stopped first."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise Stopped(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Check every stack; on TERM, HUP or INT, stop the pack and exit 128 + the signal number."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        return check_all(argv)
    except KeyboardInterrupt:
        print("check: interrupted (SIGINT)", file=sys.stderr)
        return 128 + signal.SIGINT
    except Stopped as stopped:
        print(f"check: stopped ({stopped})", file=sys.stderr)
        return 128 + stopped.signum


def check_all(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack_files", nargs="+", type=Path, help="Pulumi.<stack>.yaml files")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    exit_code, documents = EXIT_OK, []
    for path in args.stack_files:
        code, rendering, violations = check(path)
        exit_code = max(exit_code, code)
        if rendering is None:
            continue
        if args.format == "json":
            documents.append(json_report(rendering, violations))
        else:
            print(text_report(rendering, violations), end="\n\n" if len(args.stack_files) > 1 else "\n")
    if args.format == "json":
        # One document per run: the stack's own, or a list when several stacks were checked.
        print(json.dumps(documents[0] if len(args.stack_files) == 1 and documents else documents, indent=2,
                         sort_keys=True))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
