"""`make check` over several stacks: the exit code is the worst of them, whatever their order.

The tool runs in this process (its `main`), as `make check` runs it over `config/Pulumi.*.yaml`;
one stack file is clean, one violates a mandatory rule of prod, one is invalid config.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import stack_file
from tools import check

CLEAN, VIOLATING, INVALID = "clean", "violating", "invalid"
EXPECTED_CODE = {CLEAN: check.EXIT_OK, VIOLATING: check.EXIT_VIOLATIONS, INVALID: check.EXIT_CONFIG}


def prod_copy(directory: Path, **changes: object) -> Path:
    """prod's stack file with some keys changed, in a directory of its own (the name stays prod)."""
    document = yaml.safe_load(stack_file("prod").read_text(encoding="utf-8"))
    document["config"].update({f"vpc-flow-logs:{key}": value for key, value in changes.items()})
    directory.mkdir()
    path = directory / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stacks")
    return {
        CLEAN: stack_file("prod"),
        # prod's config makes log-group-protected mandatory.
        VIOLATING: prod_copy(root / VIOLATING, protectLogs=False),
        INVALID: prod_copy(root / INVALID, aggregationInterval=120),
    }


@pytest.fixture(scope="module")
def single_codes(stack_files) -> dict[str, int]:
    """Each stack file alone: the premise of the orderings below."""
    return {kind: check.check(path)[0] for kind, path in stack_files.items()}


def test_each_stack_alone_has_its_own_code(single_codes):
    assert single_codes == EXPECTED_CODE


@pytest.mark.parametrize("order", [
    (CLEAN, VIOLATING),
    (VIOLATING, CLEAN),
    (CLEAN, INVALID),
    (INVALID, CLEAN),
    (VIOLATING, INVALID, CLEAN),
    (INVALID, VIOLATING),
    (CLEAN, CLEAN),
], ids="-then-".join)
def test_exit_code_is_the_worst_of_all_stacks(stack_files, capsys, order):
    code = check.main([str(stack_files[kind]) for kind in order])
    expected = max(EXPECTED_CODE[kind] for kind in order)
    assert code == expected, f"stacks {order}: exit {code}, expected {expected}"
    output = capsys.readouterr()
    summaries = [line for line in output.out.splitlines() if line.startswith("prod: ")]
    assert len(summaries) == sum(kind != INVALID for kind in order), output.out


def test_json_over_several_stacks_is_one_list_with_every_valid_stack(stack_files, capsys):
    code = check.main(["--format", "json", str(stack_files[CLEAN]), str(stack_files[INVALID]),
                       str(stack_files[VIOLATING])])
    output = capsys.readouterr()
    documents = json.loads(output.out)
    assert code == check.EXIT_CONFIG
    assert isinstance(documents, list) and [d["stack"] for d in documents] == ["prod", "prod"], output.out
    mandatory = [[v["policy"] for v in d["violations"] if v["enforcement"] == "mandatory"] for d in documents]
    assert mandatory == [[], ["log-group-protected"]]
    assert "vpc-flow-logs:aggregationInterval" in output.err


def test_text_over_several_stacks_separates_them_with_a_blank_line(stack_files, capsys):
    check.main([str(stack_files[CLEAN]), str(stack_files[VIOLATING])])
    output = capsys.readouterr().out
    first_summary = next(line for line in output.splitlines() if line.startswith("prod: "))
    assert f"{first_summary}\n\nStack prod" in output
