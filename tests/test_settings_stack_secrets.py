"""The stack as a whole: refusals quoted exactly, secret keys kept secret, stack files read as the program reads them.

Fast in-process checks of `settings_from_config`, `secrets_kept`, `load_settings` and the stack-file
readers, without rendering the program.
"""

from __future__ import annotations

import contextvars
import json

import pulumi
import pytest
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.sync_await import _sync_await

from config.settings import (CONFIG_KEYS, config_from_stack_file, load_settings, secrets_kept, settings_from_config,
                             settings_from_stack_file)
from tests.conftest import lab_config, stack_file
from tests.test_config_key_errors import PUBLIC_KEY
from tests.test_settings import AUDIT, with_values
from tests.test_stack_file import write

LAB_ONLY = "unset when lab is false: it configures the lab's network and hosts, which are not created"

# (config changes, the key refused, the whole message)
REFUSALS = [
    ({"aws:region": "Tokyo"}, "aws:region",
     'config aws:region = "Tokyo" is invalid: set it to an AWS region such as ap-northeast-1'),
    ({"vpc-flow-logs:lab:extra": "true"}, "vpc-flow-logs:lab:extra",
     "config vpc-flow-logs:lab:extra is not a known key: use one of " + ", ".join(CONFIG_KEYS)),
    ({"vpc-flow-logs:extra:lab": "true"}, "vpc-flow-logs:extra:lab",
     "config vpc-flow-logs:extra:lab is not a known key: use one of " + ", ".join(CONFIG_KEYS)),
    ({"destinations": [{"type": "s3"}]}, "monitoring",
     'config vpc-flow-logs:monitoring = "true" is invalid: false when destinations has no cloud-watch-logs entry: '
     "metric filters and queries read the CloudWatch Logs group"),
    ({"logFormat": "${version} ${tgw-id}"}, "logFormat",
     'config vpc-flow-logs:logFormat = "${version} ${tgw-id}" is invalid: fields a VPC, subnet or ENI flow log can '
     "record, for flowLogTargets vpcId the lab's VPC: drop tgw-id"),
    ({**AUDIT, "vpcCidr": "10.0.0.0/16"}, "vpcCidr",
     f'config vpc-flow-logs:vpcCidr = "10.0.0.0/16" is invalid: {LAB_ONLY}'),
    ({**AUDIT, "sshPublicKey": PUBLIC_KEY}, "sshPublicKey",
     f"config vpc-flow-logs:sshPublicKey = [secret] is invalid: {LAB_ONLY}"),
]


@pytest.mark.parametrize("changes, key, expected", REFUSALS, ids=[key for _, key, _ in REFUSALS])
def test_refusal_is_quoted_exactly(changes, key, expected):
    with pytest.raises(pulumi.RunError) as error:
        settings_from_config("lab", with_values(**changes))
    assert str(error.value) == expected, f"{key}: {error.value}"


# Secret keys: each value of a key the stack marks secret becomes a secret output.

# (the key, config changes that set it, the value as Settings holds it)
SECRET_VALUES = [
    ("sshPublicKey", {"sshPublicKey": PUBLIC_KEY}, lambda settings: settings.ssh_public_key, PUBLIC_KEY),
    ("keyPairName", {"keyPairName": "ops"}, lambda settings: settings.key_pair_name, "ops"),
    ("tags", {"tags": {"Owner": "net"}}, lambda settings: settings.tags["Owner"], "net"),
]
SECRET_IDS = [key for key, *_ in SECRET_VALUES]


def resolved(output: pulumi.Output) -> tuple[object, bool]:
    """An output's value and whether it is secret."""
    return _sync_await(output.future()), _sync_await(output.is_secret())


@pytest.mark.parametrize("key, changes, value_of, value", SECRET_VALUES, ids=SECRET_IDS)
def test_the_value_of_a_secret_key_becomes_a_secret_output(key, changes, value_of, value):
    settings = secrets_kept(settings_from_config("lab", with_values(**changes)), lambda name: name == key)
    kept = value_of(settings)
    assert isinstance(kept, pulumi.Output), f"vpc-flow-logs:{key}: {kept!r} is not an output"
    assert resolved(kept) == (value, True), f"vpc-flow-logs:{key}: {resolved(kept)}"


@pytest.mark.parametrize("key, changes, value_of, value", SECRET_VALUES, ids=SECRET_IDS)
def test_the_value_of_a_key_not_marked_secret_stays_plain(key, changes, value_of, value):
    settings = secrets_kept(settings_from_config("lab", with_values(**changes)), lambda name: False)
    assert value_of(settings) == value, f"vpc-flow-logs:{key}: {value_of(settings)!r}"


def test_secret_alert_addresses_are_flagged_secret_and_kept():
    plain = settings_from_config("lab", with_values(alertEmails=["ops@example.com"]))
    kept = secrets_kept(plain, lambda name: name == "alertEmails").monitoring
    assert kept.alert_emails_secret, "vpc-flow-logs:alertEmails is secret but not flagged"
    assert kept.alert_emails == ("ops@example.com",) and kept.rejected_flows == plain.monitoring.rejected_flows


def test_alert_addresses_not_marked_secret_are_not_flagged():
    plain = settings_from_config("lab", with_values(alertEmails=["ops@example.com"]))
    assert not secrets_kept(plain, lambda name: False).monitoring.alert_emails_secret, "vpc-flow-logs:alertEmails"


def test_a_secret_key_left_unset_stays_unset():
    settings = secrets_kept(settings_from_config("lab", lab_config()), lambda name: True)
    assert (settings.ssh_public_key, settings.key_pair_name) == (None, None), "vpc-flow-logs:sshPublicKey/keyPairName"
    assert not settings.monitoring.alert_emails_secret, "vpc-flow-logs:alertEmails is unset but flagged secret"


def test_load_settings_keeps_the_keys_the_engine_marks_secret(monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)

    def load():
        pulumi.runtime.set_all_config(with_values(keyPairName="ops"), ["vpc-flow-logs:keyPairName"])
        SETTINGS.stack = "lab"
        return load_settings()

    # A copy of the context, so the config and stack set here stay out of every other test.
    settings = contextvars.copy_context().run(load)
    assert settings.stack == "lab"
    assert isinstance(settings.key_pair_name, pulumi.Output), f"vpc-flow-logs:keyPairName: {settings.key_pair_name!r}"
    assert resolved(settings.key_pair_name) == ("ops", True), "vpc-flow-logs:keyPairName"


# Stack files, read without the engine

def test_settings_of_a_stack_file_are_named_after_its_stack(tmp_path):
    path = write(tmp_path, stack_file("lab").read_text(), name="Pulumi.staging.yaml")
    assert settings_from_stack_file(path).stack == "staging", path


def test_a_key_without_a_namespace_is_the_projects(tmp_path):
    config = config_from_stack_file(write(tmp_path, "config:\n  vpcCidr: 10.0.0.0/16\n  aws:region: us-east-1\n"))
    assert config == {"vpc-flow-logs:vpcCidr": "10.0.0.0/16", "aws:region": "us-east-1"}, config


@pytest.mark.parametrize("flag", ["true", "false"])
def test_a_config_value_aliasing_a_nested_boolean_reaches_the_program_as_written(tmp_path, flag):
    text = f"config:\n  vpc-flow-logs:tags: {{Flag: &flag {flag}}}\n  vpc-flow-logs:lab: *flag\n"
    config = config_from_stack_file(write(tmp_path, text))
    assert config["vpc-flow-logs:lab"] == flag, config
    assert json.loads(config["vpc-flow-logs:tags"]) == {"Flag": flag == "true"}, config
