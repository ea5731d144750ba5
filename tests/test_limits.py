"""Deploy-time limits of AWS, checked at config time by `config.limits`.

The first part tests each check on its own. The second part states the same refusals through
`settings_from_config`, which calls these checks on the values it has parsed.
"""

from __future__ import annotations

import base64
import json
import struct

import pulumi
import pytest

from config.limits import (MAX_ALARM_WINDOW_SECONDS, check_alarm_window, check_distinct_cidrs, check_distinct_emails,
                           check_distinct_tag_keys, check_email, check_ingress_rule_count, check_instance_type,
                           check_key_pair_name, check_ssh_public_key, check_tag_text, check_tags, hide_nested_secrets)
from config.settings import settings_from_config
from tests.conftest import lab_config

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"


def openssh_line(key_type: str, encoded_type: str | None = None) -> str:
    name = (encoded_type or key_type).encode()
    blob = struct.pack(">I", len(name)) + name + b"\x00" * 32
    return f"{key_type} {base64.b64encode(blob).decode()} ops@example"


def refusal(check, *args) -> str:
    with pytest.raises(pulumi.RunError) as caught:
        check(*args)
    return str(caught.value)


# Tags

def test_tags_within_the_limits_pass():
    check_tags({f"Team{i}": "platform" for i in range(46)} | {"Owner": "a b_c.d:e/f=g+h-i@j"})


@pytest.mark.parametrize("tags, expected", [
    ({f"K{i}": "v" for i in range(48)}, "at most 47 tags"),
    ({"aws:createdBy": "me"}, "vpc-flow-logs:tags.aws:createdBy"),
    ({"AWS:x": "me"}, "not starting with aws:"),
    ({"k" * 129: "v"}, "tag keys of 1 to 128"),
    ({"Owner": "v" * 257}, "values of up to 256"),
    ({"Owner": "a;b"}, "vpc-flow-logs:tags.Owner"),
    ({"Owner": 3}, "a string value"),
])
def test_tags_aws_would_refuse_are_refused(tags, expected):
    message = refusal(check_tags, tags)
    assert expected in message and len(message) < 600, message


@pytest.mark.parametrize("tags, key, other", [
    ({"project": "x"}, "tags.project", "Project"),
    ({"ENVIRONMENT": "x"}, "tags.ENVIRONMENT", "Environment"),
    ({"name": "web"}, "tags.name", "Name"),
    ({"Owner": "a", "owner": "b"}, "tags.owner", "Owner"),
])
def test_tag_keys_differing_only_in_case_are_refused_naming_both(tags, key, other):
    message = refusal(check_tags, tags)
    assert f"vpc-flow-logs:{key} = " in message and f"differs from {other} in more than case" in message, message
    assert "IAM treats tag keys case-insensitively" in message, message


def test_tag_keys_that_differ_beyond_case_pass():
    check_tags({"Owner": "a", "Owners": "b", "Name": "web", "ProjectCode": "c"})


def test_a_tag_key_collision_names_the_property_path_it_is_given():
    assert "vpc-flow-logs:args.tags.TEAM = " in refusal(check_distinct_tag_keys, "args.tags", ["Team", "TEAM"], ())


@pytest.mark.parametrize("name, value, where", [
    ("Owner", "line one\nline two", "the value has U+000A (a control character) at position 9"),
    ("Owner", "a\tb", "the value has U+0009"),
    ("Owner", "zero\u200bwidth", "U+200B (ZERO WIDTH SPACE)"),
    ("Own\ner", "x", "the key has U+000A"),
    ("Owner", "a;b", "U+003B (SEMICOLON) at position 2"),
])
def test_tag_characters_ec2_and_iam_refuse_are_refused_naming_the_character(name, value, where):
    message = refusal(check_tag_text, f"tags.{name}", name, value)
    assert where in message and "letters, digits, spaces and + - = . _ : / @" in message, message


@pytest.mark.parametrize("name, value", [("Équipe", "réseau 東京 ٣"), ("Owner", "a b_c.d:e/f=g+h-i@j"),
                                         ("Owner", "[secret]"), ("Owner", "no\u00a0break")])
def test_letters_digits_spaces_of_any_script_and_the_tag_punctuation_pass(name, value):
    check_tag_text(f"tags.{name}", name, value)


# Security group rules

def test_duplicate_cidrs_are_refused():
    assert "203.0.113.0/24 appears twice" in refusal(check_distinct_cidrs, "sshAllowedCidrs",
                                                      ["203.0.113.0/24", "198.51.100.0/24", "203.0.113.0/24"])


def test_distinct_cidrs_pass():
    check_distinct_cidrs("httpAllowedCidrs", ["0.0.0.0/0", "::/0"])


def test_more_ingress_rules_than_a_group_holds_are_refused():
    ssh = [f"10.0.{i}.0/24" for i in range(40)]
    http = [f"10.1.{i}.0/24" for i in range(21)]
    assert "61 IPv4 blocks" in refusal(check_ingress_rule_count, {"sshAllowedCidrs": ssh, "httpAllowedCidrs": http})


def test_sixty_rules_per_ip_version_pass():
    check_ingress_rule_count({"sshAllowedCidrs": [f"10.0.{i}.0/24" for i in range(60)],
                              "httpAllowedCidrs": [f"2001:db8:{i:x}::/48" for i in range(60)]})


# Alerting

@pytest.mark.parametrize("address, reason", [
    ("<ops@example.com>", "angle brackets"),
    ("Ops <ops@example.com>", "display name"),
    ("ops@example..com", "two periods in a row"),
    ("a::b@example.com", "invalid characters before the @-sign"),
    ("ops", "must have an @-sign"),
    ("ops@localhost", "should have a period"),
    ("ops@example.com\n", "invalid characters"),
])
def test_addresses_sns_cannot_confirm_are_refused_naming_the_entry(address, reason):
    message = refusal(check_email, "alertEmails[1]", address)
    assert message.startswith(f"config vpc-flow-logs:alertEmails[1] = {json.dumps(address)} is invalid: ") and \
        reason in message, message


@pytest.mark.parametrize("address", ["ops@example.com", "network-security+alerts@sub.example.co.jp", "[secret]"])
def test_plain_addresses_pass(address):
    check_email("alertEmails[0]", address)


def test_duplicate_alert_emails_are_refused_whatever_their_case():
    assert "Ops@example.com appears twice" in refusal(check_distinct_emails, ["ops@example.com", "Ops@example.com"])


@pytest.mark.parametrize("raw, period, periods, expected", [
    ({"periodSeconds": 3600, "evaluationPeriods": 25}, 3600, 25, f"at most {MAX_ALARM_WINDOW_SECONDS} s"),
    ({"evaluationPeriods": True}, 300, 1, "evaluationPeriods is a number, not true or false"),
    ({"threshold": False}, 300, 1, "threshold is a number"),
])
def test_alarms_cloudwatch_would_refuse_are_refused(raw, period, periods, expected):
    assert expected in refusal(check_alarm_window, "alarms.rejectedFlows", raw, period, periods)


def test_a_day_of_evaluation_passes():
    check_alarm_window("alarms.rejectedFlows", {"periodSeconds": 3600, "evaluationPeriods": 24}, 3600, 24)


# SSH key

@pytest.mark.parametrize("key_type", ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"])
def test_openssh_public_keys_pass(key_type):
    check_ssh_public_key(openssh_line(key_type))


def test_a_pasted_private_key_is_refused_without_echoing_it():
    message = refusal(check_ssh_public_key, PRIVATE_KEY)
    assert "looks like a private key" in message and "b3BlbnNzaC1rZXktdjEAAAAA" not in message


@pytest.mark.parametrize("value", ["not a key", "ssh-dss AAAAB3NzaC1kc3M= me", "ssh-ed25519 !!!notbase64",
                                   openssh_line("ssh-ed25519", encoded_type="ssh-rsa")])
def test_values_that_are_not_openssh_public_keys_are_refused_without_echoing_them(value):
    message = refusal(check_ssh_public_key, value)
    assert "vpc-flow-logs:sshPublicKey = [not shown]" in message and value not in message


# Key pair name

@pytest.mark.parametrize("name", ["ops", "k" * 255, "my key (2024) #1", "[secret]"])
def test_key_pair_names_ec2_takes_pass(name):
    check_key_pair_name("keyPairName", name)


@pytest.mark.parametrize("name, length", [("k" * 256, "256 characters"), ("clé", "3 characters"),
                                          ("キー", "2 characters"), ("tab\there", "8 characters")])
def test_key_pair_names_ec2_refuses_are_refused_with_the_rule(name, length):
    message = refusal(check_key_pair_name, "keyPairName", name)
    assert message.startswith("config vpc-flow-logs:keyPairName = ") and \
        f"1 to 255 printable ASCII characters (this one: {length})" in message and len(message) < 600, message


# Instance type

@pytest.mark.parametrize("instance_type", ["t3.micro", "t4g.small", "m6g.medium", "c7gn.large"])
def test_instance_types_ec2_has_pass(instance_type):
    check_instance_type(instance_type)


@pytest.mark.parametrize("instance_type", ["a1.medium", "a1.large", "a1.metal"])
def test_a1_types_are_refused_naming_the_families_amazon_linux_2023_supports(instance_type):
    message = refusal(check_instance_type, instance_type)
    assert f'vpc-flow-logs:instanceType = "{instance_type}"' in message, message
    assert "does not support A1 instances" in message and "Graviton2 or later arm64 family (t4g" in message, message


@pytest.mark.parametrize("instance_type, expected", [("t3.gigantic", "sizes of t3: "), ("zz9.large", "such as")])
def test_instance_types_ec2_does_not_have_are_refused(instance_type, expected):
    assert expected in refusal(check_instance_type, instance_type)


# Secrets nested anywhere

def test_nested_secure_values_are_hidden_wherever_they_are():
    value = {"Owner": {"secure": "AAAB"}, "Team": "net", "List": ["a", {"secure": "AAAC"}]}
    assert hide_nested_secrets(value) == ({"Owner": "[secret]", "Team": "net", "List": ["a", "[secret]"]}, True)
    assert hide_nested_secrets(["a", {"b": 1}]) == (["a", {"b": 1}], False)


# The same refusals through settings_from_config

def with_values(**changes) -> dict[str, str]:
    config = lab_config()
    config.update({f"vpc-flow-logs:{key}": value if isinstance(value, str) else json.dumps(value)
                   for key, value in changes.items()})
    return config


@pytest.mark.parametrize("changes, key", [
    ({"tags": {f"K{i}": "v" for i in range(48)}}, "vpc-flow-logs:tags"),
    ({"tags": {"aws:x": "v"}}, "vpc-flow-logs:tags"),
    ({"sshAllowedCidrs": ["203.0.113.0/24", "203.0.113.0/24"]}, "vpc-flow-logs:sshAllowedCidrs"),
    ({"alertEmails": ["ops@example.com", "ops@example.com"]}, "vpc-flow-logs:alertEmails"),
    ({"alarms": {"rejectedFlows": {"periodSeconds": 3600, "evaluationPeriods": 48}}}, "vpc-flow-logs:alarms"),
    ({"alarms": {"rejectedFlows": {"evaluationPeriods": True}}}, "vpc-flow-logs:alarms"),
    ({"instanceType": "t3.gigantic"}, "vpc-flow-logs:instanceType"),
    ({"sshPublicKey": PRIVATE_KEY}, "vpc-flow-logs:sshPublicKey"),
    ({"sshAllowedCidrs": [f"10.0.{i}.0/24" for i in range(40)],
      "httpAllowedCidrs": [f"10.1.{i}.0/24" for i in range(21)]}, "vpc-flow-logs:sshAllowedCidrs"),
    ({"httpAllowedCidrs": ["0.0.0.0/0", "0.0.0.0/0"]}, "vpc-flow-logs:httpAllowedCidrs"),
    ({"tags": {"project": "x"}}, "vpc-flow-logs:tags.project"),
    ({"tags": {"Team": "a", "team": "b"}}, "vpc-flow-logs:tags.team"),
    ({"tags": {"Owner": "two\nlines"}}, "vpc-flow-logs:tags.Owner"),
    ({"keyPairName": "k" * 256}, "vpc-flow-logs:keyPairName"),
    ({"keyPairName": "clé"}, "vpc-flow-logs:keyPairName"),
    ({"alertEmails": ["ops@example.com", "<ops@example.com>"]}, "vpc-flow-logs:alertEmails[1]"),
    ({"alertEmails": ["ops@example..com"]}, "vpc-flow-logs:alertEmails[0]"),
    ({"alertEmails": ["a::b@example.com"]}, "vpc-flow-logs:alertEmails[0]"),
    ({"instanceType": "a1.large"}, "vpc-flow-logs:instanceType"),
])
def test_settings_refuse_what_aws_would_refuse(changes, key):
    try:
        settings_from_config("lab", with_values(**changes))
    except pulumi.RunError as error:
        assert key in str(error) and "BEGIN OPENSSH" not in str(error) and len(str(error)) < 800, str(error)
    else:
        raise AssertionError(f"{key}: accepted {changes}")


@pytest.mark.parametrize("changes, secret, key", [
    ({"alertEmails": ["<oncall@corp.example.com>"]}, "alertEmails", "alertEmails[0]"),
    ({"alertEmails": ["oncall@corp.example.com", "Oncall@corp.example.com"]}, "alertEmails", "alertEmails[1]"),
    ({"keyPairName": "oncall-clé"}, "keyPairName", "keyPairName"),
    ({"tags": {"Owner": "oncall\ncorp"}}, "tags", "tags.Owner"),
])
def test_refusals_of_a_secret_key_never_quote_its_decrypted_value(changes, secret, key):
    with pytest.raises(pulumi.RunError) as refused:
        settings_from_config("lab", with_values(**changes), secret_keys=frozenset({secret}))
    message = str(refused.value)
    assert message.startswith(f"config vpc-flow-logs:{key} = [secret] is invalid: ") and "oncall" not in message, \
        message
