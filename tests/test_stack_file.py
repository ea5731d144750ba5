"""Stack files read as the Pulumi CLI reads them (YAML 1.2), and every malformed one refused cleanly."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pulumi
import pytest

from config.settings import config_from_stack_file, secret_keys_of_stack_file, settings_from_stack_file
from config.stack_file import MAX_DEPTH, MAX_EXPANDED_NODES, read_stack_config, resolve_plain
from tests.conftest import stack_file


def write(tmp_path: Path, text: str | bytes, name: str = "Pulumi.lab.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def refusal(tmp_path: Path, text: str | bytes) -> str:
    path = write(tmp_path, text)
    with pytest.raises(pulumi.RunError) as caught:
        read_stack_config(path)
    message = str(caught.value)
    assert str(path) in message, f"the refusal does not name the file: {message}"
    return message


# YAML 1.2, as Go's yaml.v3 reads it

@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "y", "1:00", "1e400", "'0x10'", "t3.micro"])
def test_a_config_string_reaches_the_program_as_written(tmp_path, text):
    config = config_from_stack_file(write(tmp_path, f"config:\n  vpc-flow-logs:instanceType: {text}\n"))
    assert config["vpc-flow-logs:instanceType"] == text.strip("'"), text


@pytest.mark.parametrize("text, received", [("0x10", "16"), ("010", "8"), ("1_000", "1000"), ("60.0", "60"),
                                            ("True", "true"), ("FALSE", "false"), ("1e3", "1000"),
                                            ("9999999999999999999999", "1e+22"), ("-0.0", "0")])
def test_a_plain_config_number_or_boolean_reaches_the_program_as_go_json_writes_it(tmp_path, text, received):
    """What the engine hands the program (tests/e2e/test_config_parity.py holds it to the real CLI)."""
    config = config_from_stack_file(write(tmp_path, f"config:\n  vpc-flow-logs:instanceType: {text}\n"))
    assert config["vpc-flow-logs:instanceType"] == received, text


@pytest.mark.parametrize("text", ["2024-01-01", "2001-12-14t21:59:43.10-05:00", ".inf", "-.inf", ".nan"])
def test_a_plain_config_scalar_the_cli_rewrites_or_cannot_read_is_refused(tmp_path, text):
    message = refusal(tmp_path, f"config:\n  vpc-flow-logs:instanceType: {text}\n")
    assert "config.vpc-flow-logs:instanceType" in message and "quote it" in message, message


def test_an_empty_config_value_is_unset(tmp_path):
    config = config_from_stack_file(write(tmp_path, "config:\n  vpc-flow-logs:keyPairName:\n"))
    assert config["vpc-flow-logs:keyPairName"] == ""


@pytest.mark.parametrize("text, value", [
    ("yes", "yes"), ("on", "on"), ("No", "No"), ("1:00", "1:00"), ("2024-01-01", "2024-01-01"),
    ("true", True), ("FALSE", False), ("~", None), ("null", None),
    ("60", 60), ("-3", -3), ("0x10", 16), ("0o17", 15), ("010", 8), ("0b101", 5), ("1_000", 1000),
    ("1.5", 1.5), ("1e3", 1000.0), (".5", 0.5), ("1e400", "1e400"), ("9" * 30, 1e30),
    ("18446744073709551615", 2**64 - 1), ("-9223372036854775809", -9223372036854775809.0),
])
def test_plain_scalars_inside_lists_and_objects_are_typed_as_yaml_v3_types_them(text, value):
    assert resolve_plain(text) == value and type(resolve_plain(text)) is type(value), text


def test_nested_values_become_json_with_yaml_1_2_types(tmp_path):
    path = write(tmp_path, "config:\n  vpc-flow-logs:tags: {Owner: yes, Shift: 1:00, Since: 2024-01-01, On: true}\n")
    assert json.loads(config_from_stack_file(path)["vpc-flow-logs:tags"]) == \
        {"Owner": "yes", "Shift": "1:00", "Since": "2024-01-01", "On": True}


def test_quoted_scalars_stay_strings(tmp_path):
    path = write(tmp_path, "config:\n  vpc-flow-logs:tags: {A: '60', B: \"true\"}\n")
    assert json.loads(config_from_stack_file(path)["vpc-flow-logs:tags"]) == {"A": "60", "B": "true"}


def test_aliases_within_bounds_are_expanded(tmp_path):
    path = write(tmp_path, "config:\n  vpc-flow-logs:sshAllowedCidrs: &cidrs [203.0.113.0/24]\n"
                           "  vpc-flow-logs:httpAllowedCidrs: *cidrs\n")
    config = config_from_stack_file(path)
    assert config["vpc-flow-logs:httpAllowedCidrs"] == '["203.0.113.0/24"]'


def test_the_repository_stack_files_read_as_before():
    config = config_from_stack_file(stack_file("prod"))
    assert config["vpc-flow-logs:aggregationInterval"] == "600"
    assert json.loads(config["vpc-flow-logs:alarms"])["rejectedFlows"]["threshold"] == 500


# Refusals: file, line and key named, never a traceback

@pytest.mark.parametrize("text, expected", [
    ("config:\n  vpc-flow-logs:sshPublicKey: !!binary aGVsbG8=\n", "explicit tag tag:yaml.org,2002:binary"),
    ("config:\n  vpc-flow-logs:tags: !!set {a, b}\n", "explicit tag tag:yaml.org,2002:set"),
    ("config:\n  vpc-flow-logs:tags: !!python/object:os.system {}\n", "explicit tag"),
    ("config:\n  vpc-flow-logs:tags: {1: one}\n", "config.vpc-flow-logs:tags: the key '1' is not a string"),
    ("config:\n  vpc-flow-logs:tags: {~: none}\n", "config.vpc-flow-logs:tags: the key '~' is not a string"),
    ("config:\n  vpc-flow-logs:tags: {true: yes}\n", "the key 'true' is not a string"),
    ("config:\n  ? [a, b]\n  : c\n", "config: a key is a list or an object"),
    ("config:\n  vpc-flow-logs:vpcCidr: 10.0.0.0/16\n  vpc-flow-logs:vpcCidr: 10.1.0.0/16\n",
     "config: the key 'vpc-flow-logs:vpcCidr' appears twice"),
    ("config:\n  vpc-flow-logs:alarms: {rejectedFlows: {threshold: .inf}}\n",
     "config.vpc-flow-logs:alarms.rejectedFlows.threshold: .inf is not a finite number"),
    ("config:\n  vpc-flow-logs:alertEmails: [.nan]\n", "config.vpc-flow-logs:alertEmails[0]: .nan is not a finite number"),
    ("config:\n  vpc-flow-logs:tags: *nowhere\n", "the alias *nowhere refers to no complete anchor"),
    ("config:\n  vpc-flow-logs:tags: &loop {self: *loop}\n", "the alias *loop refers to no complete anchor"),
    ("config:\n  vpc-flow-logs:tags: {<<: {a: b}}\n", "merge keys (<<) are not supported"),
    ("config: [unclosed\n", "line 2"),
    ("config:\n  vpc-flow-logs:vpcCidr: [::/0]\n", "(reading config.vpc-flow-logs:vpcCidr[0])"),
    ("config:\n  a: \"\x07\"\n", "unacceptable character"),
])
def test_malformed_yaml_is_refused_naming_where(tmp_path, text, expected):
    assert expected in refusal(tmp_path, text)


def test_invalid_utf8_is_refused_naming_the_byte(tmp_path):
    assert "line 2: not UTF-8 (byte 0xff at offset 41)" in refusal(tmp_path, b"config:\n  vpc-flow-logs:instanceType: t3.\xffmicro\n")


def test_deep_nesting_is_refused(tmp_path):
    depth = MAX_DEPTH + 5
    message = refusal(tmp_path, "config:\n  vpc-flow-logs:tags: " + "[" * depth + "]" * depth + "\n")
    assert f"nested deeper than {MAX_DEPTH} levels" in message and "config.vpc-flow-logs:tags" in message


def test_very_deep_nesting_is_refused_without_a_recursion_error(tmp_path):
    message = refusal(tmp_path, "config:\n  vpc-flow-logs:tags: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert "nested deeper than" in message


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["config:", "  vpc-flow-logs:a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  vpc-flow-logs:a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "\n".join(lines) + "\n"
    assert len(text) < 1500
    started = time.monotonic()
    message = refusal(tmp_path, text)
    assert time.monotonic() - started < 2, "the bomb was expanded before being refused"
    assert f"more than {MAX_EXPANDED_NODES} values" in message


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(pulumi.RunError, match="cannot read the stack file"):
        read_stack_config(tmp_path / "Pulumi.none.yaml")


@pytest.mark.parametrize("text", ["", "- a\n", "config: 3\n", "config:\n"])
def test_a_document_without_a_config_mapping_is_refused(tmp_path, text):
    assert "expected a top-level 'config' mapping" in refusal(tmp_path, text)


def test_a_string_of_thousands_of_brackets_is_a_config_error_not_a_recursion_error(tmp_path):
    text = stack_file("lab").read_text() + f'  vpc-flow-logs:alarms: "{"[" * 100_000}"\n'
    with pytest.raises(pulumi.RunError) as caught:
        settings_from_stack_file(write(tmp_path, text))
    assert "vpc-flow-logs:alarms" in str(caught.value)
    assert len(str(caught.value)) < 600, "the error echoes the whole value"


def test_1e400_threshold_is_a_config_error_naming_the_alarm(tmp_path):
    text = stack_file("lab").read_text() + "  vpc-flow-logs:alarms: {rejectedFlows: {threshold: 1e400}}\n"
    with pytest.raises(pulumi.RunError, match=r"vpc-flow-logs:alarms\.rejectedFlows"):
        settings_from_stack_file(write(tmp_path, text))


# `secure:` values nested in lists and objects

NESTED_SECRETS = (
    "config:\n  aws:region: ap-northeast-1\n  vpc-flow-logs:vpcCidr: 10.0.0.0/16\n"
    "  vpc-flow-logs:subnetCidrs: [10.0.0.0/24, 10.0.1.0/24]\n  vpc-flow-logs:sshAllowedCidrs: []\n"
    "  vpc-flow-logs:tags: {Owner: {secure: v1:CIPHERTEXTOWNER}, Team: net}\n"
    "  vpc-flow-logs:alertEmails: [ops@example.com, {secure: v1:CIPHERTEXTEMAIL}]\n"
)


def test_a_nested_secure_value_is_shown_as_secret_and_the_key_counts_as_secret(tmp_path):
    path = write(tmp_path, NESTED_SECRETS)
    config = config_from_stack_file(path)
    assert json.loads(config["vpc-flow-logs:tags"]) == {"Owner": "[secret]", "Team": "net"}
    assert json.loads(config["vpc-flow-logs:alertEmails"]) == ["ops@example.com", "[secret]"]
    assert "CIPHERTEXT" not in json.dumps(config)
    assert {"vpc-flow-logs:tags", "vpc-flow-logs:alertEmails"} <= set(secret_keys_of_stack_file(path))


def test_nested_secret_tag_values_and_addresses_are_accepted_not_refused(tmp_path):
    settings = settings_from_stack_file(write(tmp_path, NESTED_SECRETS.replace(
        "{secure: v1:CIPHERTEXTEMAIL}]", "{secure: v1:CIPHERTEXTEMAIL}, {secure: v1:CIPHERTEXTOTHER}]")))
    assert settings.tags["Owner"] == "[secret]", dict(settings.tags)
    assert settings.monitoring.alert_emails == ("ops@example.com", "[secret]", "[secret]")


@pytest.mark.parametrize("entry", ["{vpcId: {secure: v1:CIPHERTEXTVPC}}",
                                   "{type: s3, bucketArn: {secure: v1:CIPHERTEXTARN}}"])
def test_a_nested_secret_in_targets_or_destinations_is_never_echoed(tmp_path, entry):
    key = "flowLogTargets" if "vpcId" in entry else "destinations"
    text = NESTED_SECRETS + f"  vpc-flow-logs:{key}: [{entry}]\n"
    with pytest.raises(pulumi.RunError) as caught:
        settings_from_stack_file(write(tmp_path, text))
    assert "CIPHERTEXT" not in str(caught.value) and "[secret]" in str(caught.value), str(caught.value)


def test_an_escaped_surrogate_is_refused_as_the_cli_refuses_it(tmp_path):
    message = refusal(tmp_path, 'config:\n  vpc-flow-logs:tags: {Owner: "a\\udbad\\uddf6"}\n')
    assert "config.vpc-flow-logs:tags.Owner" in message and "surrogate" in message, message
