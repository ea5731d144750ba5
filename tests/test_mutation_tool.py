"""`make mutation`'s own choices: which covering tests each mutant runs, and how survivors are explained."""

from __future__ import annotations

import pytest

from tools.mutation import AloneCost, ModuleResult, narrowed, read_equivalents, report, run_line

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


SHARED_WORK = """
import time

import pytest


@pytest.fixture(scope="module")
def made_once():
    time.sleep(0.3)


def test_makes_it(made_once):
    pass


def test_reuses_it(made_once):
    pass


def test_reuses_a_cache(request):
    request.node.user_properties.append(("alone_seconds", 5.0))


def test_shares_nothing():
    pass


@pytest.fixture(scope="module", params=["dear", "cheap"])
def either(request):
    if request.param == "dear":
        time.sleep(0.3)


def test_takes_either(either):
    pass


def test_reuses_either(either):
    pass
"""


@pytest.fixture(scope="module")
def alone_costs(tmp_path_factory) -> dict[str, float]:
    """Each test's cost in a stats run over SHARED_WORK, as AloneCost charges it."""
    tests = tmp_path_factory.mktemp("shared") / "test_shared_work.py"
    tests.write_text(SHARED_WORK, encoding="utf-8")
    durations: dict[str, float] = {}
    assert pytest.main([str(tests), "-q", "-p", "no:cacheprovider"], plugins=[AloneCost(durations)]) == 0
    return {nodeid.rpartition("::")[2]: seconds for nodeid, seconds in durations.items()}


def test_a_shared_fixture_is_charged_to_the_test_that_made_it(alone_costs):
    assert alone_costs["test_makes_it"] >= 0.3, alone_costs


def test_a_shared_fixture_is_charged_to_every_test_that_reuses_it(alone_costs):
    assert alone_costs["test_reuses_it"] >= 0.3, alone_costs


def test_a_test_pays_what_it_reports_a_cache_spared_it(alone_costs):
    assert alone_costs["test_reuses_a_cache"] >= 5.0, alone_costs


def test_a_test_sharing_nothing_pays_only_its_own_time(alone_costs):
    assert alone_costs["test_shares_nothing"] < 0.3, alone_costs


def test_a_test_pays_only_for_its_own_parameter_of_a_shared_fixture(alone_costs):
    assert alone_costs["test_reuses_either[dear]"] >= 0.3, alone_costs
    assert alone_costs["test_reuses_either[cheap]"] < 0.3, alone_costs


def test_a_run_names_a_few_globs_and_counts_many():
    assert run_line("2026-01-02", ["a.*", "b.*"], 2.0) == (
        "2026-01-02: `a.*`, `b.*`; each ran its function's fastest covering tests within 2 s")
    assert run_line("2026-01-02", [f"m.x_f__mutmut_{n}" for n in range(9)], 30.0).startswith(
        "2026-01-02: 9 named mutants or globs; each ran its function's fastest covering tests within 30 s")
    assert run_line("2026-01-02", [], 2.0).startswith("2026-01-02: every mutant;")


def test_the_report_lists_every_run_and_scores_without_equivalents():
    results = [ModuleResult("m.py", {"m.x_f__mutmut_1": "killed", "m.x_f__mutmut_2": "survived",
                                     "m.x_f__mutmut_3": "survived"})]
    text = report(results, {"m.x_f__mutmut_3": "changes nothing"}, ["first run", "second run"])
    assert "\n- first run\n- second run\n" in text, text
    assert "| `m.py` | 3 | 1 | 2 | 0 | 0 | 0 | 0 | 1 | 50% |" in text, text
    assert "- `m.x_f__mutmut_2`" in text and "- `m.x_f__mutmut_3` (survived): changes nothing" in text, text
