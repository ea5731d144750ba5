"""`make mutation`'s own choices: which covering tests each mutant runs, and how survivors are explained."""

from __future__ import annotations

import pytest

from tools.mutation import narrowed, read_equivalents

DURATIONS = {"slow": 5.0, "medium": 1.5, "fast": 0.25, "instant": 0.0}


def test_a_function_keeps_its_fastest_tests_fastest_first_within_the_budget():
    chosen = narrowed({"f": ["slow", "medium", "fast", "instant"]}, DURATIONS, budget=2.0)
    assert chosen == {"f": ["instant", "fast", "medium"]}


def test_a_function_reached_only_by_slow_tests_keeps_the_fastest_of_them():
    chosen = narrowed({"f": ["slow"], "g": ["slow", "medium"]}, DURATIONS, budget=1.0)
    assert chosen == {"f": ["slow"], "g": ["medium"]}


def test_an_unlimited_budget_keeps_every_covering_test():
    chosen = narrowed({"f": ["slow", "medium", "fast"]}, DURATIONS, budget=float("inf"))
    assert chosen == {"f": ["fast", "medium", "slow"]}


def test_an_equivalent_mutant_needs_its_reason(tmp_path):
    listed = tmp_path / "equivalents.txt"
    listed.write_text("# comment\nmodule.x_f__mutmut_1  changes nothing\nmodule.x_f__mutmut_2\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"equivalents.txt:3: module.x_f__mutmut_2 needs a reason"):
        read_equivalents(listed)


def test_equivalent_mutants_are_read_with_their_reasons(tmp_path):
    listed = tmp_path / "equivalents.txt"
    listed.write_text("# comment\n\nmodule.x_f__mutmut_1  changes nothing\n", encoding="utf-8")
    assert read_equivalents(listed) == {"module.x_f__mutmut_1": "changes nothing"}
