"""Shared fixtures: the repo's stack files, the shared reference data and mock-runtime renders."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from config.project import load_project  # noqa: E402
from config.settings import config_from_stack_file, stack_name_of  # noqa: E402
from config.settings import stack_file_of as stack_file  # noqa: E402
from tests.policy_fixtures import PACK  # noqa: E402
from tests.policy_in_process import InProcessPack  # noqa: E402
from tools.analyzer import PolicyPackSession  # noqa: E402
from tools.render import Rendering, render_stack_file  # noqa: E402

STACK_FILES = sorted(load_project().stack_file("*").parent.glob("Pulumi.*.yaml"))
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


_renders: dict[str, tuple[Rendering, float]] = {}  # stack -> its rendering and the seconds it took


@pytest.fixture
def rendered(request):
    """Render a stack's program once per session (the renders are kept here); each stack runs the program afresh.

    A test given a render made for an earlier test reports what making it cost (`alone_seconds`):
    `make mutation` runs a few tests in a fresh process, where that test pays for it.
    """
    def get(stack: str) -> Rendering:
        if stack in _renders:
            rendering, seconds = _renders[stack]
            request.node.user_properties.append(("alone_seconds", seconds))
            return rendering
        start = time.perf_counter()
        rendering = render_stack_file(stack_file(stack))
        _renders[stack] = (rendering, time.perf_counter() - start)
        return rendering
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
