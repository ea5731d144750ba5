"""Generated stack files, every key: each one is read into Settings or refused naming its key, never a traceback.

Seeded and bounded (25 files per key, about 500 in all) so that it stays a few seconds. A second
part generates values of the kinds AWS refuses at deploy time (tag keys equal but for case, tag
characters, key-pair names, e-mail addresses, A1 hosts): each is refused naming its key and rule.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from config.limits import INSTANCE_TYPES, MAX_KEY_PAIR_NAME
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
           "'${version} ${srcaddr}'", "'${bogus}'", "{secure: v1:AAAA}", "k" * 256, "clé", "a1.metal"]
COLLECTIONS = ["[]", "{}", "[1, 2]", "[yes, on]", "[~]", "[.inf]", "{1: a}", "{~: a}", "{a: 1}", "{a: [b]}",
               "[10.0.0.0/24, 10.0.0.0/24]", "[10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24]",
               "[[[[[[]]]]]]", "[" * 40 + "]" * 40, "{Owner: {secure: v1:AAAA}}", "[{secure: v1:AAAA}]",
               "{aws:x: y}", "{Project: x}", "{rejectedFlows: 5}", "{project: x}", "{Owner: a, owner: b}",
               '{Owner: "a\\nb"}', '["<ops@example.com>"]', '["ops@example..com"]', '["a::b@example.com"]']

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
    # What AWS refuses at deploy time: each file refused by the gate, naming its key.
    refused_by_aws = {"tag-case": ("tags", "{project: x}", "tags.project"),
                      "tag-newline": ("tags", '{Owner: "a\\nb"}', "tags.Owner"),
                      "key-pair-name": ("keyPairName", "k" * 256, "keyPairName"),
                      "e-mail": ("alertEmails", '["<ops@example.com>"]', "alertEmails[0]"),
                      "a1": ("instanceType", "a1.large", "instanceType")}
    for name, (key, text, _) in refused_by_aws.items():
        (tmp_path / name).mkdir()
        paths.append(tmp_path / name / "Pulumi.lab.yaml")
        paths[-1].write_text(lab_with(f"{PROJECT}:{key}", text))
    result = subprocess.run([sys.executable, "-m", "tools.check", *map(str, paths), str(stack_file("lab"))],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    for path in paths:
        assert str(path) in result.stderr, f"{path} is not named in the refusals: {result.stderr[-2000:]}"
    for name, (_, _, named_key) in refused_by_aws.items():
        (line,) = [line for line in result.stderr.splitlines() if str(tmp_path / name / "Pulumi.lab.yaml") in line]
        assert f"config {PROJECT}:{named_key} = " in line, line
    assert result.stdout.rstrip().splitlines()[-1].startswith("lab: "), "the valid stack after them was not checked"


# Values AWS refuses at deploy time, after other resources exist: refused here, naming key and rule.

GENERATED = hypothesis_settings(max_examples=25, derandomize=True, deadline=None,
                                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LETTERS = st.characters(categories=("Lu", "Ll"), max_codepoint=0x24F)
# Keys whose case-swapped twin is the same key to lower() (not ß, whose upper case is SS).
tag_key = st.text(LETTERS, min_size=1, max_size=20).filter(
    lambda key: key.swapcase() != key and key.swapcase().lower() == key.lower())
# Characters EC2 and IAM refuse in tags: controls (newline, tab, NUL...), format characters, symbols.
REFUSED_TAG_CHARACTERS = st.sampled_from(["\n", "\r", "\t", "\x00", "\x7f", "\u200b", "\u2028", ";", "<", "#", "*",
                                          "!", "\u00a9"])
A1_TYPES = sorted(t for t in INSTANCE_TYPES if t.startswith("a1."))
dot_atom = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=10)
address = st.builds(lambda local, domain: f"{local}@{domain}.com", dot_atom, dot_atom)
malformed_address = st.one_of(
    address.map(lambda a: f"<{a}>"),
    address.map(lambda a: f"Ops <{a}>"),
    st.builds(lambda local, domain: f"{local}@{domain}..com", dot_atom, dot_atom),
    st.builds(lambda a, b, domain: f"{a}::{b}@{domain}.com", dot_atom, dot_atom, dot_atom),
    st.builds(lambda local, domain: f"{local}..x@{domain}.com", dot_atom, dot_atom),
    address.map(lambda a: a.replace("@", "@@")),
)
long_or_non_ascii_name = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=MAX_KEY_PAIR_NAME + 1,
            max_size=MAX_KEY_PAIR_NAME + 40),
    st.builds(lambda head, letter: head + letter, st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                                                          max_size=20),
              st.characters(min_codepoint=0x80, max_codepoint=0x30FF, categories=("Lu", "Ll", "Lo"))),
)


def refusal_of(workdir: Path, key: str, text: str) -> str:
    """The refusal of the lab stack file with `key` set to the YAML (or JSON) `text`."""
    path = workdir / "Pulumi.lab.yaml"
    path.write_text(lab_with(f"{PROJECT}:{key}", text), encoding="utf-8")
    with pytest.raises(pulumi.RunError) as refused:
        settings_from_stack_file(path)
    return str(refused.value)


@GENERATED
@given(key=tag_key, value=st.text(LETTERS, max_size=10))
def test_generated_tag_keys_differing_only_in_case_are_refused(workdir, key, value):
    message = refusal_of(workdir, "tags", json.dumps({key: value, key.swapcase(): value}))
    # The program receives an object's keys sorted, as Go's JSON writes them: the later one is refused.
    first, second = sorted([key, key.swapcase()])
    assert message.startswith(f"config {PROJECT}:tags.{second} = "), message
    assert f"differs from {first} in more than case" in message, message


@GENERATED
@given(program_tag=st.sampled_from(["Project", "Environment", "Name"]), flips=st.sets(st.integers(0, 10), min_size=1))
def test_generated_case_variants_of_the_programs_tags_are_refused(workdir, program_tag, flips):
    variant = "".join(c.swapcase() if i in flips else c for i, c in enumerate(program_tag))
    if variant == program_tag:
        variant = program_tag.lower()
    message = refusal_of(workdir, "tags", json.dumps({variant: "x"}))
    assert message.startswith(f"config {PROJECT}:tags.{variant} = "), message
    assert f"differs from {program_tag} in more than case" in message, message


@GENERATED
@given(head=st.text(LETTERS, max_size=8), bad=REFUSED_TAG_CHARACTERS, tail=st.text(LETTERS, max_size=8),
       in_key=st.booleans())
def test_generated_tag_characters_ec2_and_iam_refuse_are_refused(workdir, head, bad, tail, in_key):
    text = head + bad + tail
    tags = {text: "value"} if in_key else {"Owner": text}
    message = refusal_of(workdir, "tags", json.dumps(tags))
    assert message.startswith(f"config {PROJECT}:tags."), message
    assert f"the {'key' if in_key else 'value'} has U+{ord(bad):04X}" in message and \
        f"at position {len(head) + 1}" in message, message


@GENERATED
@given(name=long_or_non_ascii_name)
def test_generated_key_pair_names_ec2_refuses_are_refused(workdir, name):
    message = refusal_of(workdir, "keyPairName", json.dumps(name))
    assert message.startswith(f"config {PROJECT}:keyPairName = "), message
    assert f"1 to {MAX_KEY_PAIR_NAME} printable ASCII characters (this one: {len(name)} characters)" in message
    assert len(message) <= MAX_MESSAGE and (len(name) < LONG_VALUE or name not in message), message[:300]


@GENERATED
@given(good=st.lists(address, max_size=2, unique_by=str.lower), bad=malformed_address)
def test_generated_addresses_sns_cannot_confirm_are_refused_naming_the_entry(workdir, good, bad):
    message = refusal_of(workdir, "alertEmails", json.dumps([*good, bad]))
    assert message.startswith(f"config {PROJECT}:alertEmails[{len(good)}] = {json.dumps(bad)} is invalid: "
                              "an e-mail address"), message


@GENERATED
@given(addresses=st.lists(address, min_size=1, max_size=3, unique_by=str.lower))
def test_generated_plain_addresses_are_read(workdir, addresses):
    path = workdir / "Pulumi.lab.yaml"
    path.write_text(lab_with(f"{PROJECT}:alertEmails", json.dumps(addresses)))
    assert settings_from_stack_file(path).monitoring.alert_emails == tuple(addresses)


@pytest.mark.parametrize("instance_type", A1_TYPES)
def test_every_a1_type_is_refused_naming_what_amazon_linux_2023_supports(workdir, instance_type):
    message = refusal_of(workdir, "instanceType", instance_type)
    assert message.startswith(f'config {PROJECT}:instanceType = "{instance_type}" is invalid: '), message
    assert "does not support A1 instances" in message and "Graviton2 or later" in message, message


def test_pulumi_aws_still_lists_a1_types():
    assert A1_TYPES, "pulumi-aws lists no a1 types: the A1 refusal is then untested"
