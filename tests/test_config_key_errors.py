"""Every config key has an invalid value whose refusal names exactly that key.

The cases are keyed by `CONFIG_KEYS`: a key added there without a case here fails
`test_every_config_key_has_an_invalid_case`, so a new key cannot ship without one.
"""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from config.settings import CONFIG_KEYS, settings_from_config
from tests.conftest import lab_config

KEY = "vpc-flow-logs:"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0aVxyFaQxTf2fJcl3Fh8p2w5T1Aq7mJwqzY3k4u9Zb ops@example"

# key -> (the values that make it invalid, including any other key it conflicts with, and
# what the message must say besides the key).
INVALID_CASES: dict[str, list[tuple[dict[str, object], str]]] = {
    "vpcCidr": [({"vpcCidr": "10.0.0.0/12"}, "/16 to /28"), ({"vpcCidr": "ten"}, "CIDR")],
    "subnetCidrs": [({"subnetCidrs": "10.0.0.0/24"}, "list"), ({"subnetCidrs": ["10.0.0.0/24"]}, "at least 2")],
    "sshAllowedCidrs": [({"sshAllowedCidrs": ["0.0.0.0"]}, "CIDR"), ({"sshAllowedCidrs": {"a": 1}}, "list")],
    "httpAllowedCidrs": [({"httpAllowedCidrs": ["10.0.0.1/8"]}, "no host bits"),
                         ({"httpAllowedCidrs": "0.0.0.0/0"}, "list")],
    "instanceType": [({"instanceType": "T3 micro"}, "t3.micro"), ({"instanceType": "t3"}, "t3.micro")],
    "trafficType": [({"trafficType": "all"}, "ALL, ACCEPT, REJECT")],
    "aggregationInterval": [({"aggregationInterval": "120"}, "60, 600")],
    "logRetentionDays": [({"logRetentionDays": "31"}, "3653"), ({"logRetentionDays": "a month"}, "3653")],
    "logFormat": [({"logFormat": "${version} ${srcadr}"}, "srcadr")],
    "logKmsKeyArn": [({"logKmsKeyArn": "alias/flow-logs"}, "KMS key ARN")],
    "createLogKmsKey": [({"createLogKmsKey": "yes"}, "true or false"),
                        ({"createLogKmsKey": "true",
                          "logKmsKeyArn": "arn:aws:kms:ap-northeast-1:123456789012:key/k"}, "logKmsKeyArn")],
    "protectLogs": [({"protectLogs": "on"}, "true or false")],
    "tags": [({"tags": {"Project": "other"}}, "Project and Environment are set"),
             ({"tags": {"Owner": 7}}, "a string value"), ({"tags": ["Owner"]}, "object")],
    "sshPublicKey": [({"sshPublicKey": "not a key"}, "OpenSSH public key"),
                     ({"sshPublicKey": "ssh-ed25519 c2VjcmV0"}, "OpenSSH public key")],
    "keyPairName": [({"keyPairName": "ops", "sshPublicKey": PUBLIC_KEY}, "sshPublicKey")],
    "monitoring": [({"monitoring": "enabled"}, "true or false")],
    "alertEmails": [({"alertEmails": ["ops"]}, "e-mail"), ({"alertEmails": "ops@example.com"}, "e-mail")],
    "alarms": [({"alarms": {"loud": {}}}, "rejectedFlows, rejectedPackets, externalSsh"),
               ({"alarms": []}, "an object")],
    "lab": [({"lab": "maybe"}, "true or false")],
    "flowLogTargets": [({"flowLogTargets": "vpc-1"}, "a list of targets")],
    "destinations": [({"destinations": "s3"}, "a non-empty list of destinations"),
                     ({"destinations": [{"type": "ftp"}]}, '{"type": "cloud-watch-logs"}')],
    "internalCidr": [({"internalCidr": "10.0.0.1/8"}, "no host bits")],
    "amiId": [({"amiId": "ubuntu"}, "an AMI ID")],
    "encryptAlarmTopic": [({"encryptAlarmTopic": "yes"}, "true or false")],
    "publicHosts": [({"publicHosts": "no"}, "true or false")],
}
CASES = [pytest.param(key, changes, expected, id=f"{key}-{index}")
         for key, cases in INVALID_CASES.items() for index, (changes, expected) in enumerate(cases)]


def refusal(changes: dict[str, object]) -> str:
    config = lab_config()
    config.update({KEY + name: value if isinstance(value, str) else json.dumps(value)
                   for name, value in changes.items()})
    with pytest.raises(pulumi.RunError) as error:
        settings_from_config("lab", config)
    return str(error.value)


def test_every_config_key_has_an_invalid_case():
    assert set(INVALID_CASES) == set(CONFIG_KEYS), "keys without an invalid case: " + ", ".join(
        sorted(set(CONFIG_KEYS) - set(INVALID_CASES)))


@pytest.mark.parametrize("key, changes, expected", CASES)
def test_refusal_names_the_key(key, changes, expected):
    message = refusal(changes)
    # The key itself (or one of its entries, `tags.Owner`, `alertEmails[1]`), not a longer key that starts with it.
    assert re.match(rf"config {re.escape(KEY + key)}(\.\S+|\[\d+\])?( = | \(value not shown\) | is )", message), \
        f"{key}: {message}"
    assert expected in message, f"{key}: {message}"
    assert "Traceback" not in message


def test_a_refused_public_key_is_not_echoed():
    message = refusal({"sshPublicKey": "ssh-ed25519 c2VjcmV0"})
    assert "c2VjcmV0" not in message, message


@pytest.mark.parametrize("value", [PUBLIC_KEY, "[secret]", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=",
                                   "ssh-rsa AAAAB3NzaC1yc2E= "])
def test_public_keys_and_the_secret_placeholder_are_accepted(value):
    config = {**lab_config(), KEY + "sshPublicKey": value}
    assert settings_from_config("lab", config).ssh_public_key == value


@pytest.mark.parametrize("log_format, reason", [
    ("${version} ${srcadr}", "unknown field 'srcadr'"),
    ("${version} $action", "'$action' is not a ${field} token"),
    ("${version} ${action} ${version}", "field 'version' appears twice"),
])
def test_log_format_refusal_says_what_is_wrong_with_which_token(log_format, reason):
    message = refusal({"logFormat": log_format})
    assert f"is invalid: {reason}; use " in message, message
