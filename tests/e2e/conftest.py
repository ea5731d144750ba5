"""Fixtures for `make e2e`: the Go-built CLI on isolated state, projects copied to tmp, moto."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.request import Request, urlopen

import pytest
import yaml

from config.project import resolve_stack_config, stack_file_of
from tests.e2e.engine import PULUMI, REPO_ROOT, TOOLS_BIN, Engine, copy_project
from tests.moto_server import running_moto_server
from tools.emulator import require_loopback

PROJECTS = Path(__file__).resolve().parent / "projects"
RESET_TIMEOUT_SECONDS = 120


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
        # The reset reloads AWS's managed IAM policies, which takes a while on a loaded machine.
        urlopen(Request(f"{require_loopback(url)}/moto-api/reset", method="POST"), timeout=RESET_TIMEOUT_SECONDS).close()
        yield url


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A fresh, empty moto server on a free 127.0.0.1 port."""
    with fresh_moto_server() as url:
        yield url


def provider_settings_for(moto_url: str) -> dict[str, Any]:
    """The `local` stack's aws provider settings (every endpoint, path-style S3, no AWS checks),
    with each endpoint pointed at `moto_url`."""
    local = resolve_stack_config(stack_file_of("local")).values
    settings: dict[str, Any] = {key: value for key, value in local.items()
                                if key.startswith("aws:") and key not in ("aws:region", "aws:endpoints")}
    settings["aws:endpoints"] = [{service: require_loopback(moto_url) for entry in json.loads(local["aws:endpoints"])
                                  for service in entry}]
    return settings


def stack_engine(work_dir: Path, moto_url: str, stack: str, changes: Mapping[str, Any] | None = None) -> Engine:
    """The CLI on a copy of this project whose `stack` sends every AWS call to `moto_url`, with
    `changes` (`ns:key` -> value) written into the copy of its stack file."""
    project = copy_project(REPO_ROOT, work_dir / "project",
                           ignore=(".*", "tests", "tools", "*.md", "Makefile", "pytest.ini"))
    stack_file = project / stack_file_of(stack).relative_to(REPO_ROOT)
    document = yaml.safe_load(stack_file.read_text())
    document["config"].update({**provider_settings_for(moto_url), **(changes or {})})
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    engine = Engine(project, work_dir / "engine")
    engine.run("stack", "init", stack)
    return engine


def local_stack_engine(work_dir: Path, moto_url: str) -> Engine:
    """The CLI on a copy of this project whose `local` stack sends every AWS call to `moto_url`."""
    return stack_engine(work_dir, moto_url, "local")


@pytest.fixture
def local_engine(tmp_path: Path, moto_endpoint: str) -> Engine:
    """A fresh `local` stack on a fresh moto server, for scenarios that change it."""
    return local_stack_engine(tmp_path, moto_endpoint)
