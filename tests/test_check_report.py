"""`make check`'s output and exit codes, in this process: the text report (tree, violations, summary),
the JSON document, how several stacks combine, the command line, and stopping on a signal.

Reports are built from hand-made registrations and violations, and `check_all` runs over stand-in
results, so these take milliseconds; only the tests of `analyze` start the policy pack.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tools import check
from tools.analyzer import PolicyPackError, Violation
from tools.render import PROJECT_ROOT, ROOT_STACK_TYPE, Registration, Rendering

PREFIX = "urn:pulumi:lab::vpc-flow-logs::"
STACK_URN = f"{PREFIX}{ROOT_STACK_TYPE}::vpc-flow-logs-lab"
COMPONENT = "vpcflowlogs:index:FlowLogs"
COMPONENT_URN = f"{PREFIX}{COMPONENT}::flow-logs"
VPC_URN = f"{PREFIX}aws:ec2/vpc:Vpc::lab"
LOG_GROUP_URN = f"{PREFIX}{COMPONENT}$aws:cloudwatch/logGroup:LogGroup::flow-logs"
FLOW_LOG_URN = f"{PREFIX}{COMPONENT}$aws:ec2/flowLog:FlowLog::flow-logs-vpc"
ROLE_URN = f"{PREFIX}{COMPONENT}$aws:iam/role:Role::flow-logs"


def registration(urn: str, parent: str = "", protect: bool = False, delete_before_replace: bool = False,
                 **inputs) -> Registration:
    _, type_, name = urn.rsplit("::", 2)
    return Registration(urn=urn, type=type_.rsplit("$", 1)[-1], name=name, parent=parent, inputs=inputs,
                        options={"protect": protect, "deleteBeforeReplace": delete_before_replace,
                                 "replaceOnChanges": [], "retainOnDelete": False, "dependsOn": []},
                        dependencies={})


# Registered out of URN order, as the SDK's concurrent registrations may arrive.
REGISTRATIONS = [
    registration(STACK_URN),
    registration(COMPONENT_URN, parent=STACK_URN),
    registration(ROLE_URN, parent=COMPONENT_URN, protect=True, delete_before_replace=True),
    registration(FLOW_LOG_URN, parent=COMPONENT_URN, delete_before_replace=True, trafficType="ALL"),
    registration(LOG_GROUP_URN, parent=COMPONENT_URN, protect=True, retentionInDays=7),
    registration(VPC_URN, parent=STACK_URN, cidrBlock="10.0.0.0/16"),
]
RENDERING = Rendering(stack="lab", registrations=REGISTRATIONS, outputs={})
ADVISORY = Violation("egress-unrestricted", "advisory", VPC_URN, "egress is open")
MANDATORY_ON_STACK = Violation("flow-log-required", "mandatory", "", "no flow log on the VPC")
MANDATORY_ELSEWHERE = Violation("log-group-protected", "mandatory", "urn:pulumi:lab::other::x:y:Z::gone",
                                "not protected")
VIOLATIONS = [ADVISORY, MANDATORY_ELSEWHERE, MANDATORY_ON_STACK]


def row(depth: int, type_: str, name: str, flags: str = "") -> str:
    """One tree line: four spaces per level, `+ `, the type in a 60-wide column, the name, any flags."""
    return "    " * depth + "+ " + type_.ljust(60) + " " + name + flags


EXPECTED_TREE = [
    row(0, ROOT_STACK_TYPE, "vpc-flow-logs-lab"),
    row(1, "aws:ec2/vpc:Vpc", "lab"),
    row(1, COMPONENT, "flow-logs"),
    row(2, "aws:cloudwatch/logGroup:LogGroup", "flow-logs", "  [protect]"),
    row(2, "aws:ec2/flowLog:FlowLog", "flow-logs-vpc", "  [delete-before-replace]"),
    row(2, "aws:iam/role:Role", "flow-logs", "  [protect, delete-before-replace]"),
]


# --- the report's parts ------------------------------------------------------------------------

def test_policy_config_path_is_the_stacks_file_in_the_packs_config_folder():
    path = check.policy_config_path("prod")
    assert path == PROJECT_ROOT / "policies" / "config" / "prod.json", path
    assert path.is_file(), f"{path}: prod's enforcement file should exist"


def test_tree_nests_each_resource_under_its_parent_with_siblings_by_urn_and_flags():
    lines = check.tree_lines(REGISTRATIONS)
    assert lines == EXPECTED_TREE, "\n".join(lines)


def test_summary_counts_resources_without_the_stack_and_each_enforcement():
    line = check.summary(RENDERING, VIOLATIONS)
    assert line == "lab: 5 resources, 2 mandatory violations, 1 advisory violations", line


@pytest.mark.parametrize("given, expected", [
    ([ADVISORY, MANDATORY_ON_STACK], [MANDATORY_ON_STACK, ADVISORY]),
    ([Violation("b", "mandatory", "u", "m"), Violation("a", "mandatory", "u", "m")],
     [Violation("a", "mandatory", "u", "m"), Violation("b", "mandatory", "u", "m")]),
    ([Violation("a", "advisory", "u2", "m"), Violation("a", "advisory", "u1", "m")],
     [Violation("a", "advisory", "u1", "m"), Violation("a", "advisory", "u2", "m")]),
    ([Violation("a", "advisory", "u", "n"), Violation("a", "advisory", "u", "m")],
     [Violation("a", "advisory", "u", "m"), Violation("a", "advisory", "u", "n")]),
], ids=["mandatory-first", "by-rule", "by-resource", "by-message"])
def test_violations_are_ordered_mandatory_first_then_rule_resource_message(given, expected):
    ordered = check.violations_in_report_order(given)
    assert ordered == expected, [(v.enforcement, v.policy, v.urn, v.message) for v in ordered]


def test_text_report_is_header_tree_violations_and_summary():
    report = check.text_report(RENDERING, VIOLATIONS)
    assert report.split("\n") == [
        "Stack lab (rendered offline under Pulumi's mock runtime)",
        "",
        *EXPECTED_TREE,
        "",
        "Policy violations:",
        # A violation names its resource; one of no resource in this stack keeps its URN; none means the stack.
        "    [mandatory] flow-log-required  stack",
        "        no flow log on the VPC",
        f"    [mandatory] log-group-protected  {MANDATORY_ELSEWHERE.urn}",
        "        not protected",
        "    [advisory] egress-unrestricted  lab",
        "        egress is open",
        "",
        "lab: 5 resources, 2 mandatory violations, 1 advisory violations",
    ], report


def test_text_report_without_violations_says_none():
    report = check.text_report(RENDERING, [])
    assert report.split("\n")[-3:] == ["Policy violations: none", "",
                                       "lab: 5 resources, 0 mandatory violations, 0 advisory violations"], report


def test_json_report_is_stack_resources_by_urn_and_ordered_violations():
    document = check.json_report(RENDERING, VIOLATIONS)
    assert document == {
        "stack": "lab",
        "resources": [r.as_dict() for r in sorted(REGISTRATIONS, key=lambda r: r.urn)],
        "violations": [
            {"policy": "flow-log-required", "enforcement": "mandatory", "urn": "", "message": "no flow log on the VPC"},
            {"policy": "log-group-protected", "enforcement": "mandatory", "urn": MANDATORY_ELSEWHERE.urn,
             "message": "not protected"},
            {"policy": "egress-unrestricted", "enforcement": "advisory", "urn": VPC_URN, "message": "egress is open"},
        ],
        "undecided": [],
    }, json.dumps(document, indent=2)


# --- one stack: check() ------------------------------------------------------------------------

@pytest.fixture
def analyzed_as(monkeypatch):
    """check() over RENDERING, with the pack's answer replaced by `violations` (or by raising it)."""
    def use(answer):
        monkeypatch.setattr(check, "render_stack_file", lambda path, preview: RENDERING)

        def analyze(rendering):
            if isinstance(answer, Exception):
                raise answer
            return list(answer)
        monkeypatch.setattr(check, "analyze", analyze)
    return use


@pytest.mark.parametrize("violations, code", [
    ([], check.EXIT_OK),
    ([ADVISORY], check.EXIT_OK),
    ([ADVISORY, MANDATORY_ON_STACK], check.EXIT_VIOLATIONS),
], ids=["clean", "advisory-only", "mandatory"])
def test_check_fails_only_on_a_mandatory_violation(analyzed_as, violations, code):
    analyzed_as(violations)
    result = check.check(Path("Pulumi.lab.yaml"))
    assert result == (code, RENDERING, violations), [(v.policy, v.enforcement) for v in violations]


def test_check_exits_3_when_the_pack_cannot_run_saying_why_on_stderr(analyzed_as, capsys):
    analyzed_as(PolicyPackError("the pack exited before it listened"))
    result = check.check(Path("Pulumi.lab.yaml"))
    output = capsys.readouterr()
    assert result == (check.EXIT_GATE_BROKEN, None, [])
    assert output.err == "Pulumi.lab.yaml: the policy gate could not run: the pack exited before it listened\n"
    assert output.out == ""


def test_a_file_not_named_like_a_stack_exits_2_naming_the_rule(tmp_path, capsys):
    path = tmp_path / "lab.yaml"
    path.write_text("config: {}\n", encoding="utf-8")
    code = check.main([str(path)])
    output = capsys.readouterr()
    assert code == check.EXIT_CONFIG, output.err
    assert "a stack file is named Pulumi.<stack>.yaml" in output.err and str(path) in output.err, output.err
    assert output.out == ""


# --- the policy pack, with each stack's enforcement ---------------------------------------------

UNPROTECTED_LOG_GROUP = registration("urn:pulumi:x::vpc-flow-logs::aws:cloudwatch/logGroup:LogGroup::flow-logs",
                                     retentionInDays=400)


@pytest.mark.parametrize("stack, enforcement", [
    ("lab", "advisory"),  # policies/config/lab.json relaxes log-group-protected
    ("scratch", "mandatory"),  # no config file: the pack's own enforcement
])
def test_analyze_applies_the_stacks_policy_config(stack, enforcement):
    violations = check.analyze(Rendering(stack=stack, registrations=[UNPROTECTED_LOG_GROUP], outputs={}))
    found = [(v.enforcement, v.urn) for v in violations if v.policy == "log-group-protected"]
    assert found == [(enforcement, UNPROTECTED_LOG_GROUP.urn)], \
        f"stack {stack}: log-group-protected reported as {found}, expected {enforcement}"


# --- several stacks and the command line: check_all() -------------------------------------------

CLEAN = Rendering(stack="lab", registrations=REGISTRATIONS, outputs={})
VIOLATING = Rendering(stack="prod", registrations=REGISTRATIONS[:2], outputs={})
RESULTS = {
    "Pulumi.lab.yaml": (check.EXIT_OK, CLEAN, [ADVISORY]),
    "Pulumi.prod.yaml": (check.EXIT_VIOLATIONS, VIOLATING, [MANDATORY_ON_STACK]),
    "Pulumi.bad.yaml": (check.EXIT_CONFIG, None, []),
}


@pytest.fixture
def results(monkeypatch):
    """check() answers from RESULTS by file name; the paths it was given are kept in order."""
    given: list[Path] = []

    def canned(path):
        given.append(path)
        return RESULTS[path.name]
    monkeypatch.setattr(check, "check", canned)
    return given


def test_one_stack_prints_its_report_once_and_returns_its_code(results, capsys):
    code = check.main(["Pulumi.prod.yaml"])
    assert code == check.EXIT_VIOLATIONS
    assert capsys.readouterr().out == check.text_report(VIOLATING, [MANDATORY_ON_STACK]) + "\n"
    assert results == [Path("Pulumi.prod.yaml")]


def test_several_stacks_each_end_with_a_blank_line(results, capsys):
    check.main(["Pulumi.lab.yaml", "Pulumi.prod.yaml"])
    out = capsys.readouterr().out
    assert out == (check.text_report(CLEAN, [ADVISORY]) + "\n\n"
                   + check.text_report(VIOLATING, [MANDATORY_ON_STACK]) + "\n\n"), out


def test_an_invalid_stack_prints_no_report_and_the_next_ones_are_still_checked(results, capsys):
    code = check.main(["Pulumi.bad.yaml", "Pulumi.lab.yaml", "Pulumi.prod.yaml"])
    out = capsys.readouterr().out
    assert code == check.EXIT_CONFIG
    assert out == (check.text_report(CLEAN, [ADVISORY]) + "\n\n"
                   + check.text_report(VIOLATING, [MANDATORY_ON_STACK]) + "\n\n"), out
    assert results == [Path("Pulumi.bad.yaml"), Path("Pulumi.lab.yaml"), Path("Pulumi.prod.yaml")]


@pytest.mark.parametrize("files, code", [
    (["Pulumi.lab.yaml", "Pulumi.prod.yaml"], check.EXIT_VIOLATIONS),
    (["Pulumi.prod.yaml", "Pulumi.lab.yaml"], check.EXIT_VIOLATIONS),
    (["Pulumi.bad.yaml", "Pulumi.prod.yaml"], check.EXIT_CONFIG),
    (["Pulumi.prod.yaml", "Pulumi.bad.yaml"], check.EXIT_CONFIG),
    (["Pulumi.lab.yaml", "Pulumi.lab.yaml"], check.EXIT_OK),
])
def test_the_exit_code_is_the_worst_stacks(results, capsys, files, code):
    assert check.main(files) == code, f"{files}: expected exit {code}"


def test_json_for_one_stack_is_its_document_with_sorted_keys_and_two_space_indent(results, capsys):
    code = check.main(["--format", "json", "Pulumi.prod.yaml"])
    out = capsys.readouterr().out
    assert code == check.EXIT_VIOLATIONS
    expected = check.json_report(VIOLATING, [MANDATORY_ON_STACK])
    assert out == json.dumps(expected, indent=2, sort_keys=True) + "\n", out
    assert out.startswith('{\n  "resources": [\n'), out


def test_json_for_several_stacks_is_one_list_of_the_valid_ones_in_order(results, capsys):
    code = check.main(["--format", "json", "Pulumi.prod.yaml", "Pulumi.bad.yaml", "Pulumi.lab.yaml"])
    out = capsys.readouterr().out
    assert code == check.EXIT_CONFIG
    expected = [check.json_report(VIOLATING, [MANDATORY_ON_STACK]), check.json_report(CLEAN, [ADVISORY])]
    assert out == json.dumps(expected, indent=2, sort_keys=True) + "\n", out


def test_json_for_one_invalid_stack_is_an_empty_list(results, capsys):
    code = check.main(["--format", "json", "Pulumi.bad.yaml"])
    assert (code, capsys.readouterr().out) == (check.EXIT_CONFIG, "[]\n")


def test_format_text_is_the_default(results, capsys):
    check.main(["Pulumi.lab.yaml"])
    default = capsys.readouterr().out
    check.main(["--format", "text", "Pulumi.lab.yaml"])
    assert capsys.readouterr().out == default == check.text_report(CLEAN, [ADVISORY]) + "\n"


def test_an_unknown_format_exits_2_naming_the_choices(results, capsys):
    with pytest.raises(SystemExit) as exited:
        check.main(["--format", "yaml", "Pulumi.lab.yaml"])
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "--format: invalid choice: 'yaml' (choose from 'text', 'json')" in err, err
    assert results == []


def test_no_stack_file_exits_2(results, capsys):
    with pytest.raises(SystemExit) as exited:
        check.main([])
    assert exited.value.code == 2
    assert "stack_files" in capsys.readouterr().err


def test_help_says_what_the_tool_does_and_what_it_takes(capsys):
    with pytest.raises(SystemExit) as exited:
        check.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert exited.value.code == 0
    assert "`make check`: render each stack offline and gate it on the policy pack." in out, out
    assert "stack_files Pulumi.<stack>.yaml files" in out, out
    assert "--format {text,json}" in out, out


# --- stopping: main() ---------------------------------------------------------------------------

@pytest.fixture
def handlers_restored():
    """main() installs its own TERM and HUP handlers: put pytest's back afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_during_the_check_exits_128_plus_its_number(monkeypatch, capsys, handlers_restored, signum):
    def signalled(argv):
        if not callable(signal.getsignal(signum)):
            return check.EXIT_OK  # no handler: the signal would end the test process itself
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts this
        return check.EXIT_OK
    monkeypatch.setattr(check, "check_all", signalled)
    code = check.main(["Pulumi.lab.yaml"])
    assert code == 128 + signum, f"{signum.name}: exit {code}"
    assert capsys.readouterr().err == f"check: stopped ({signum.name})\n"


def test_ctrl_c_exits_130_saying_it_was_interrupted(monkeypatch, capsys, handlers_restored):
    def interrupted(argv):
        raise KeyboardInterrupt
    monkeypatch.setattr(check, "check_all", interrupted)
    code = check.main(["Pulumi.lab.yaml"])
    output = capsys.readouterr()
    assert code == 130
    assert (output.err, output.out) == ("check: interrupted (SIGINT)\n", "")


def test_main_returns_what_checking_its_arguments_returns(monkeypatch, handlers_restored):
    seen = []
    monkeypatch.setattr(check, "check_all", lambda argv: seen.append(argv) or check.EXIT_VIOLATIONS)
    assert check.main(["--format", "json", "Pulumi.lab.yaml"]) == check.EXIT_VIOLATIONS
    assert seen == [["--format", "json", "Pulumi.lab.yaml"]]
