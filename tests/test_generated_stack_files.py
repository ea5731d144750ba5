"""Generated stack files, every key: each one is read into Settings or refused naming its key, never a traceback.

Seeded and bounded (25 files per key, about 500 in all) so that it stays a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from config.settings import CONFIG_KEYS, PROJECT, Settings, settings_from_stack_file
from tests.conftest import REPO_ROOT, stack_file

KEYS = ["aws:region", *(f"{PROJECT}:{key}" for key in CONFIG_KEYS)]
# Refusals quote values cut short, never a whole pasted file; what is allowed may be a long list.
MAX_MESSAGE = 3000
LONG_VALUE = 300

SCALARS = ["yes", "no", "on", "off", "1:00", "2024-01-01", "~", "''", '""', ".inf", "-.inf", ".nan", "1e400", "-1",
           "0", "60", "600", "0x10", "010", "9" * 5000, "3.5", "true", "false", "TRUE", "t3.micro", "a1.large",
           "10.0.0.0/16", "0.0.0.0/0", "::/0", "ALL", "ops@example.com", "'ops@example.com'", '"\\u00a0"',
           "!!binary aGk=", "!!set {a}", "!!timestamp 2024-01-01", "!!str 60", "!!int 60", "&a x", "*a",
           "'${version} ${srcaddr}'", "'${bogus}'", "{secure: v1:AAAA}"]
COLLECTIONS = ["[]", "{}", "[1, 2]", "[yes, on]", "[~]", "[.inf]", "{1: a}", "{~: a}", "{a: 1}", "{a: [b]}",
               "[10.0.0.0/24, 10.0.0.0/24]", "[10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24]",
               "[[[[[[]]]]]]", "[" * 40 + "]" * 40, "{Owner: {secure: v1:AAAA}}", "[{secure: v1:AAAA}]",
               "{aws:x: y}", "{Project: x}", "{rejectedFlows: 5}"]

scalar = st.sampled_from(SCALARS) | st.integers(-2**70, 2**70).map(str) | \
    st.floats(allow_nan=False, allow_infinity=False).map(repr) | st.text(max_size=40).map(json.dumps)
alarm = st.fixed_dictionaries({}, optional={"threshold": scalar, "periodSeconds": scalar,
                                            "evaluationPeriods": scalar, "bogus": scalar}).map(
    lambda fields: "{" + ", ".join(f"{name}: {value}" for name, value in fields.items()) + "}")
alarms = st.dictionaries(st.sampled_from(["rejectedFlows", "rejectedPackets", "externalSsh", "other"]),
                         alarm | scalar, max_size=3).map(
    lambda items: "{" + ", ".join(f"{name}: {value}" for name, value in items.items()) + "}")
value = scalar | st.sampled_from(COLLECTIONS) | st.lists(scalar, max_size=4).map(lambda v: "[" + ", ".join(v) + "]") \
    | alarms


def lab_with(key: str, text: str) -> str:
    """The lab stack file with `key` set to the YAML fragment `text` (replacing its own value)."""
    lines, skipping = [], False
    for line in stack_file("lab").read_text().splitlines():
        if skipping and line.startswith("    "):
            continue
        skipping = line.startswith(f"  {key}:")
        if not skipping:
            lines.append(line)
    return "\n".join([*lines, f"  {key}: {text}", ""])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("generated")


@pytest.mark.parametrize("key", KEYS)
@hypothesis_settings(max_examples=25, derandomize=True, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=value)
def test_generated_value_is_read_or_refused_naming_its_key(workdir, key, text):
    path = workdir / "Pulumi.lab.yaml"
    path.write_text(lab_with(key, text))
    try:
        assert isinstance(settings_from_stack_file(path), Settings)
    except pulumi.RunError as error:
        message = str(error)
        assert key in message, f"{key} = {text[:80]!r}: the refusal does not name the key: {message[:300]}"
        assert len(message) <= MAX_MESSAGE, f"{key} = {text[:80]!r}: a {len(message)}-character refusal"
        assert len(text) < LONG_VALUE or text not in message, f"{key}: the refusal echoes a {len(text)}-character value"


def test_make_check_refuses_each_malformed_file_and_still_checks_the_others(tmp_path):
    malformed = {"binary": "!!binary aGk=", "set": "!!set {a}", "null-key": "{~: a}", "deep": "[" * 60 + "]" * 60,
                 "inf": "{rejectedFlows: {threshold: .inf}}", "huge": "{rejectedFlows: {threshold: 1e400}}"}
    paths = []
    for name, text in malformed.items():
        directory = tmp_path / name
        directory.mkdir()
        paths.append(directory / "Pulumi.lab.yaml")
        paths[-1].write_text(lab_with(f"{PROJECT}:alarms", text))
    utf8 = tmp_path / "utf8"
    utf8.mkdir()
    paths.append(utf8 / "Pulumi.lab.yaml")
    paths[-1].write_bytes(stack_file("lab").read_bytes() + b"  vpc-flow-logs:keyPairName: \xff\n")
    result = subprocess.run([sys.executable, "-m", "tools.check", *map(str, paths), str(stack_file("lab"))],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    for path in paths:
        assert str(path) in result.stderr, f"{path} is not named in the refusals: {result.stderr[-2000:]}"
    assert result.stdout.rstrip().splitlines()[-1].startswith("lab: "), "the valid stack after them was not checked"
