"""Fixtures for `make e2e`: the Go-built CLI on isolated state, projects copied to tmp, moto."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.request import Request, urlopen

import pytest
import yaml

from tests.e2e.engine import PULUMI, REPO_ROOT, TOOLS_BIN, Engine, copy_project
from tests.moto_server import running_moto_server
from tools.emulator import require_loopback

PROJECTS = Path(__file__).resolve().parent / "projects"


@pytest.fixture(scope="session", autouse=True)
def built_cli() -> None:
    """The CLI and language host `make pulumi-cli` builds; missing ones fail, never skip."""
    for tool in (PULUMI, TOOLS_BIN / "pulumi-language-python", TOOLS_BIN / "pulumi-language-python-exec"):
        assert os.access(tool, os.X_OK), f"{tool} is missing: run `make e2e`, which builds it with `make pulumi-cli`"


@pytest.fixture
def component_engine(tmp_path: Path) -> Engine:
    """The CLI on a copy of projects/component (no provider), stack `e2e` created."""
    engine = Engine(copy_project(PROJECTS / "component", tmp_path / "project"), tmp_path / "engine")
    engine.run("stack", "init", "e2e")
    return engine


@contextmanager
def fresh_moto_server() -> Iterator[str]:
    """A moto server on a free 127.0.0.1 port, emptied first: moto keeps one state per process,
    shared by every server it runs, so without the reset a test would see the last one's resources."""
    with running_moto_server() as url:
        urlopen(Request(f"{require_loopback(url)}/moto-api/reset", method="POST"), timeout=10).close()
        yield url


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A fresh, empty moto server on a free 127.0.0.1 port."""
    with fresh_moto_server() as url:
        yield url


def local_stack_engine(work_dir: Path, moto_url: str, stack: str = "local") -> Engine:
    """The CLI on a copy of this project whose `stack` sends every AWS call to `moto_url`: the
    `local` stack's endpoints, each pointed there, and its provider settings for an emulator."""
    project = copy_project(REPO_ROOT, work_dir / "project",
                           ignore=(".*", "tests", "tools", "*.md", "Makefile", "pytest.ini"))
    local = yaml.safe_load((project / "config" / "Pulumi.local.yaml").read_text())["config"]
    stack_file = project / "config" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"].update({key: value for key, value in local.items()
                               if key.startswith("aws:") and key != "aws:region"})
    document["config"]["aws:endpoints"] = [{service: moto_url for entry in local["aws:endpoints"]
                                            for service in entry}]
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    engine = Engine(project, work_dir / "engine")
    engine.run("stack", "init", stack)
    return engine


@pytest.fixture
def local_engine(tmp_path: Path, moto_endpoint: str) -> Engine:
    """A fresh `local` stack on a fresh moto server, for scenarios that change it."""
    return local_stack_engine(tmp_path, moto_endpoint)
