"""Pulumi.yaml plus a stack file, resolved as the CLI resolves them before the program runs.

`tests/e2e/test_config_parity.py` holds the same function against the real engine; these pin
each rule of the CLI's own code (named in config/project.py) on small files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.project import PROJECT_FILE, StackConfig, go_json, load_project, resolve_stack_config, stack_file_of
from config.settings import settings_from_stack_file
from config.stack_file import StackFileError
from tests.conftest import REPO_ROOT


def project_in(tmp_path: Path, config_block: str, name: str = "demo") -> Path:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(f"name: {name}\nruntime: python\nstackConfigDir: config\nconfig:\n{config_block}")
    (tmp_path / "config").mkdir(exist_ok=True)
    return path


def resolved(tmp_path: Path, config_block: str, stack_text: str, stack: str = "dev") -> StackConfig:
    project = load_project(project_in(tmp_path, config_block))
    stack_file = project.stack_file(stack)
    stack_file.write_text(stack_text)
    return resolve_stack_config(stack_file, project)


def refusal(tmp_path: Path, config_block: str, stack_text: str) -> str:
    with pytest.raises(StackFileError) as caught:
        resolved(tmp_path, config_block, stack_text)
    return str(caught.value)


def test_an_unset_project_key_takes_its_default_as_text(tmp_path):
    config = resolved(tmp_path, "  size: {type: integer, default: 600}\n  on: {type: boolean, default: true}\n",
                      "config: {}\n")
    assert dict(config.values) == {"demo:size": "600", "demo:on": "true"}


def test_a_stack_value_wins_over_the_default(tmp_path):
    config = resolved(tmp_path, "  size: {type: integer, default: 600}\n", "config:\n  demo:size: 60\n")
    assert config.values["demo:size"] == "60"


def test_a_shorthand_value_is_a_default_for_the_project_and_a_value_for_another_namespace(tmp_path):
    config = resolved(tmp_path, "  size: t3.micro\n  aws:region: us-east-1\n", "config: {}\n")
    assert dict(config.values) == {"demo:size": "t3.micro", "aws:region": "us-east-1"}


def test_a_list_default_reaches_the_program_as_go_json(tmp_path):
    config = resolved(tmp_path, "  cidrs: {type: array, items: {type: string}, default: [10.0.0.0/8, a&b]}\n",
                      "config: {}\n")
    assert config.values["demo:cidrs"] == '["10.0.0.0/8","a\\u0026b"]'


def test_a_stack_key_without_a_namespace_is_the_projects(tmp_path):
    config = resolved(tmp_path, "  size: {default: a}\n", "config:\n  size: b\n")
    assert dict(config.values) == {"demo:size": "b"}


def test_the_old_config_module_form_names_the_same_key(tmp_path):
    config = resolved(tmp_path, "  size: {default: a}\n", "config:\n  demo:config:size: b\n")
    assert dict(config.values) == {"demo:size": "b"}


def test_a_key_set_twice_is_refused_naming_it(tmp_path):
    message = refusal(tmp_path, "  size: {default: a}\n", "config:\n  size: b\n  demo:size: c\n")
    assert "config demo:size is set twice" in message


def test_a_key_the_cli_cannot_parse_is_refused_naming_it(tmp_path):
    message = refusal(tmp_path, "  size: {default: a}\n", "config:\n  demo:size:extra: b\n")
    assert "could not parse demo:size:extra as a configuration key" in message


def test_a_required_project_key_left_unset_is_missing(tmp_path):
    message = refusal(tmp_path, "  size: {type: string}\n  zone: {type: string}\n", "config: {}\n")
    assert "Stack 'dev' is missing configuration values 'size', 'zone'" in message


@pytest.mark.parametrize("type_, text", [("integer", "abc"), ("integer", "'0x10'"), ("integer", "'60.0'"),
                                         ("boolean", "'True'"), ("boolean", "yes"), ("string", "[a]"),
                                         ("object", "x"), ("integer", "9223372036854775808"),
                                         ("integer", "9" * 5000)])
def test_a_value_that_does_not_fit_the_declared_type_is_refused(tmp_path, type_, text):
    message = refusal(tmp_path, f"  key: {{type: {type_}}}\n", f"config:\n  demo:key: {text}\n")
    assert "config demo:key = " in message and f"must be of type '{type_}'" in message, message


@pytest.mark.parametrize("type_, text", [("integer", "+60"), ("integer", "007"), ("boolean", "false"),
                                         ("boolean", "'true'"), ("object", "{a: 1}"), ("string", "60")])
def test_a_value_that_fits_the_declared_type_is_kept(tmp_path, type_, text):
    config = resolved(tmp_path, f"  key: {{type: {type_}}}\n", f"config:\n  demo:key: {text}\n")
    assert "demo:key" in config.values, text


def test_a_secret_declared_key_must_be_secure(tmp_path):
    message = refusal(tmp_path, "  token: {type: string, secret: true}\n", "config:\n  demo:token: plain\n")
    assert "config demo:token must be encrypted as it's secret" in message and "plain" not in message


def test_a_nested_secure_value_marks_its_key_secret_and_is_never_decrypted(tmp_path):
    config = resolved(tmp_path, "  tags: {type: object, default: {}}\n",
                      "config:\n  demo:tags: {Owner: {secure: v1:AAAA}, Team: a}\n")
    assert config.secret_keys == ("demo:tags",)
    assert config.values["demo:tags"] == '{"Owner":"[secret]","Team":"a"}'


@pytest.mark.parametrize("value, text", [({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
                                         (1.0, "1"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (1e20, "100000000000000000000"),
                                         ("<é>\u2028", '"\\u003cé\\u003e\\u2028"')])
def test_objects_reach_the_program_as_go_writes_json(value, text):
    assert go_json(value) == text


def test_a_project_default_of_the_wrong_type_is_refused(tmp_path):
    with pytest.raises(StackFileError) as caught:
        load_project(project_in(tmp_path, "  size: {type: integer, default: big}\n"))
    assert "default value specified for configuration key 'size' is not of the expected type 'integer'" in \
        str(caught.value)


def test_stack_files_live_in_the_projects_stack_config_dir():
    assert stack_file_of("lab") == REPO_ROOT / load_project(PROJECT_FILE).stack_config_dir / "Pulumi.lab.yaml"


def test_a_stack_without_the_lab_receives_the_projects_lab_defaults_and_is_valid():
    """The audit stack sets no instanceType, but the CLI hands it Pulumi.yaml's t3.micro."""
    config = resolve_stack_config(stack_file_of("audit"))
    settings = settings_from_stack_file(stack_file_of("audit"))
    assert (config.values["vpc-flow-logs:instanceType"], settings.lab) == ("t3.micro", False)


def test_make_check_names_a_missing_stack_file_once():
    result = subprocess.run([sys.executable, "-m", "tools.check", "config/Pulumi.nope.yaml"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr.strip()) == \
        (2, "config/Pulumi.nope.yaml: cannot read the stack file: No such file or directory")


def test_every_repository_stack_resolves_with_every_project_key():
    declared = {f"vpc-flow-logs:{key}" for key in load_project().config}
    for path in sorted(stack_file_of("x").parent.glob("Pulumi.*.yaml")):
        missing = declared - set(resolve_stack_config(path).values)
        assert not missing, f"{path}: {sorted(missing)}"


def test_an_object_holding_a_secret_on_a_boolean_key_is_refused_as_the_cli_refuses_it(tmp_path):
    message = refusal(tmp_path, "  flag: {type: boolean}\n", "config:\n  demo:flag: {Owner: {secure: v1:AAAA}}\n")
    assert "must be of type 'boolean'" in message and "v1:AAAA" not in message, message


def test_a_whole_secure_value_is_not_type_checked_offline(tmp_path):
    config = resolved(tmp_path, "  name: {type: string}\n", "config:\n  demo:name: {secure: v1:AAAA}\n")
    assert (config.values["demo:name"], config.secret_keys) == ("[secret]", ("demo:name",))
