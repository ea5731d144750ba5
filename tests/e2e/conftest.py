"""Fixtures for `make e2e`: the Go-built CLI on isolated state, projects copied to tmp, moto."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests.e2e.engine import PULUMI, REPO_ROOT, TOOLS_BIN, Engine, copy_project
from tests.moto_server import running_moto_server

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


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A fresh moto server on a free 127.0.0.1 port."""
    with running_moto_server() as url:
        yield url


@pytest.fixture
def local_engine(tmp_path: Path, moto_endpoint: str) -> Engine:
    """The CLI on a copy of this project whose `local` stack sends every AWS call to `moto_endpoint`."""
    project = copy_project(REPO_ROOT, tmp_path / "project",
                           ignore=(".*", "tests", "tools", "*.md", "Makefile", "pytest.ini"))
    stack_file = project / "config" / "Pulumi.local.yaml"
    stack = yaml.safe_load(stack_file.read_text())
    stack["config"]["aws:endpoints"] = [{service: moto_endpoint for entry in stack["config"]["aws:endpoints"]
                                         for service in entry}]
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))
    engine = Engine(project, tmp_path / "engine")
    engine.run("stack", "init", "local")
    return engine
