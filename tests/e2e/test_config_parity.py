"""What the engine hands the program equals what the offline path resolves, key by key.

A probe program (projects/config-probe) runs under the real CLI with this project's Pulumi.yaml,
once per stack file: every stack in config/, then a seeded set of generated stack files. For each,
`config.project.resolve_stack_config` must give the same keys, the same text for each value and
the same secret flags; where the CLI refuses a file before the program runs, it must refuse it too.
The offline path may refuse more (explicit YAML tags, for one): those files are counted, and the
test fails should too few remain to compare.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings, strategies as st

from config.project import StackConfig, load_project, resolve_stack_config
from config.settings import PROJECT, SECRET_PLACEHOLDER
from config.stack_file import StackFileError
from tests.conftest import STACK_FILES
from tests.e2e.conftest import PROJECTS
from tests.e2e.engine import REPO_ROOT, Engine, copy_project
from tests.test_generated_stack_files import KEYS, lab_with, value

PROBE_STACK = "probe"
GENERATED = 100
# Below this many generated files compared value by value, the set says too little (57 of the 100
# compare, 43 are refused by both); above this many refused offline only, the gate is stricter than it need be.
MIN_COMPARED = 50
MAX_REFUSED_OFFLINE_ONLY = 10
BOGUS_CIPHERTEXT = "v1:AAAA"
SECRET_TEXT = "probe-secret-value"


@dataclass
class Probe:
    engine: Engine
    stack_file: Path
    header: str  # the stack's encryptionsalt line, which every written file keeps
    ciphertext: str

    def received(self, text: str) -> tuple[Optional[dict], str]:
        """What the program received for a stack file of `text`, or None and the CLI's refusal."""
        self.stack_file.write_text(self.header + text.replace(BOGUS_CIPHERTEXT, self.ciphertext))
        received = self.engine.project_dir / "received-config.json"
        received.unlink(missing_ok=True)
        result = self.engine.run("preview", check=False)
        if result.returncode != 0:
            return None, result.stdout + result.stderr
        return json.loads(received.read_text()), ""

    def offline(self) -> tuple[Optional[StackConfig], str]:
        try:
            return resolve_stack_config(self.stack_file, load_project(self.engine.project_dir / "Pulumi.yaml")), ""
        except StackFileError as error:
            return None, str(error)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probe]:
    work = tmp_path_factory.mktemp("config-probe")
    project = copy_project(PROJECTS / "config-probe", work / "project")
    shutil.copy(REPO_ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    engine = Engine(project, work / "engine")
    engine.run("stack", "init", PROBE_STACK)
    engine.run("config", "set", "--secret", "vpc-flow-logs:keyPairName", SECRET_TEXT)
    stack_file = load_project(project / "Pulumi.yaml").stack_file(PROBE_STACK)
    written = stack_file.read_text()
    salt = re.search(r"^encryptionsalt: .*$", written, re.MULTILINE)
    ciphertext = re.search(r"secure: (v1:\S+)", written)
    assert salt and ciphertext, f"`pulumi stack init` and `config set --secret` wrote:\n{written}"
    yield Probe(engine, stack_file, salt.group(0) + "\n", ciphertext.group(1))


def generated_stack_files() -> list[str]:
    """Seeded lab files, each with one key set to a value of tests/test_generated_stack_files' strategy.

    One key in five is written without its namespace, which the CLI reads as the project's.
    """
    drawn: list[str] = []

    @hypothesis_settings(max_examples=GENERATED, derandomize=True, database=None, phases=[Phase.generate],
                         deadline=None, suppress_health_check=list(HealthCheck))
    @given(key=st.sampled_from(KEYS), namespaced=st.integers(0, 4).map(bool), text=value)
    def draw(key: str, namespaced: bool, text: str) -> None:
        written = lab_with(key, text)
        if not namespaced and key.startswith(f"{PROJECT}:"):
            written = written.replace(f"\n  {key}: {text}\n", f"\n  {key.removeprefix(PROJECT + ':')}: {text}\n")
        drawn.append(written)

    draw()
    return drawn


def compare(probe: Probe, text: str) -> str:
    """'compared', 'both refused' or 'offline refused'; an AssertionError on any disagreement."""
    received, engine_refusal = probe.received(text)
    offline, offline_refusal = probe.offline()
    where = f"stack file:\n{text}"
    if offline is None:
        return "both refused" if received is None else "offline refused"
    assert received is not None, f"the offline path accepts what the CLI refuses:\n{engine_refusal}\n{where}"
    secret = sorted(received["secret_keys"])
    assert sorted(offline.secret_keys) == secret, f"secret keys differ: offline {offline.secret_keys}\n{where}"
    shown = {key: (SECRET_PLACEHOLDER if key in secret else text_) for key, text_ in received["values"].items()}
    offline_values = {key: (SECRET_PLACEHOLDER if key in secret else text_) for key, text_ in offline.values.items()}
    assert offline_values == shown, (
        f"values differ:\n engine only: {sorted(set(shown.items()) - set(offline_values.items()))}\n"
        f" offline only: {sorted(set(offline_values.items()) - set(shown.items()))}\n{where}")
    assert received["stack"] == offline.stack == PROBE_STACK
    return "compared"


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=[path.stem for path in STACK_FILES])
def test_each_repository_stack_reaches_the_program_as_resolved_offline(probe: Probe, stack_file: Path) -> None:
    assert compare(probe, stack_file.read_text()) == "compared", f"{stack_file} was refused"


def test_a_secure_value_reaches_the_program_as_a_secret(probe: Probe) -> None:
    text = f"config:\n  aws:region: us-east-1\n  vpc-flow-logs:tags:\n    Owner:\n      secure: {BOGUS_CIPHERTEXT}\n"
    received, refusal = probe.received(text)
    assert received is not None, refusal
    assert (received["secret_keys"], json.loads(received["values"]["vpc-flow-logs:tags"])) == \
        (["vpc-flow-logs:tags"], {"Owner": SECRET_TEXT}), received
    assert compare(probe, text) == "compared"


def test_generated_stack_files_reach_the_program_as_resolved_offline(probe: Probe) -> None:
    outcomes: dict[str, int] = {}
    for text in generated_stack_files():
        outcome = compare(probe, text)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("compared", 0) >= MIN_COMPARED, f"too few files compared: {outcomes}"
    assert outcomes.get("offline refused", 0) <= MAX_REFUSED_OFFLINE_ONLY, f"refused offline only: {outcomes}"
