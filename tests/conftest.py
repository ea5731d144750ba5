"""Shared fixtures: the repo's stack files, the shared reference data and mock-runtime renders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from config.settings import CONFIG_DIR, config_from_stack_file, stack_name_of  # noqa: E402
from config.settings import stack_file_of as stack_file  # noqa: E402
from tests.policy_fixtures import PACK  # noqa: E402
from tests.policy_in_process import InProcessPack  # noqa: E402
from tools.analyzer import PolicyPackSession  # noqa: E402
from tools.render import Rendering, render_stack_file  # noqa: E402

STACK_FILES = sorted(CONFIG_DIR.glob("Pulumi.*.yaml"))
STACKS = [stack_name_of(path) for path in STACK_FILES]
# `make mutation` runs the tests from a copy of the repo (mutants/), one level deeper, and says where it is.
SHARED_REFERENCE = Path(os.environ.get("VPC_FLOW_LOGS_SHARED_REFERENCE") or REPO_ROOT.parent / "shared" / "reference")


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """`../shared/reference`, used as it is; its absence is a failure, not a skip."""
    assert SHARED_REFERENCE.is_dir(), f"missing shared reference data at {SHARED_REFERENCE}"
    return SHARED_REFERENCE


def stack_config(stack: str) -> dict[str, str]:
    """A stack file's config as the CLI hands it to the program."""
    return config_from_stack_file(stack_file(stack))


def lab_config() -> dict[str, str]:
    return stack_config("lab")


_renders: dict[str, Rendering] = {}


@pytest.fixture(scope="session")
def rendered():
    """Render a stack's program once per session; each stack runs the program afresh."""
    def get(stack: str) -> Rendering:
        if stack not in _renders:
            _renders[stack] = render_stack_file(stack_file(stack))
        return _renders[stack]
    return get


@pytest.fixture(scope="module")
def analyzer_pack():
    """The policy pack in its own process, every rule mandatory, through the analyzer protocol."""
    with PolicyPackSession(PACK, "test", policy_config={"all": "mandatory"}) as session:
        yield session


@pytest.fixture(scope="module", params=["analyzer", "in-process"])
def pack(request):
    """Each rule test twice: through the analyzer protocol, and with the same rule functions called in
    this process (tests/policy_in_process.py), where a mutation run can follow them without starting the pack."""
    return request.getfixturevalue("analyzer_pack") if request.param == "analyzer" else InProcessPack()
