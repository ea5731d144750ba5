"""The stack as a whole: refusals quoted exactly, secret keys kept secret, stack files read as the program reads them.

Fast in-process checks of `settings_from_config`, `secrets_kept`, `load_settings` and the stack-file
readers, without rendering the program.
"""

from __future__ import annotations

import contextvars
import json
from operator import attrgetter

import pulumi
import pytest
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.sync_await import _sync_await

from config.settings import (CONFIG_KEYS, DEFAULT_DESTINATIONS, AlarmSettings, Destination, FlowLogTarget,
                             config_from_stack_file, load_settings, secrets_kept, settings_from_config,
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
    ({**AUDIT, "monitoring": None}, "internalCidr",
     "config vpc-flow-logs:internalCidr = null is invalid: a CIDR block monitoring counts as inside (e.g. 10.0.0.0/8) "
     "when lab is false, or set monitoring to false"),
    ({"createLogKmsKey": "true", "logKmsKeyArn": "arn:aws:kms:ap-northeast-1:123456789012:key/k"}, "createLogKmsKey",
     'config vpc-flow-logs:createLogKmsKey = "true" is invalid: false when logKmsKeyArn is set (use one or the other)'),
    ({"createLogKmsKey": "true", "monitoring": "false", "destinations": [{"type": "s3"}]}, "createLogKmsKey",
     'config vpc-flow-logs:createLogKmsKey = "true" is invalid: false without a cloud-watch-logs destination, whose '
     "component owns the key; give logKmsKeyArn to encrypt an s3 bucket"),
    ({"keyPairName": "ops", "sshPublicKey": PUBLIC_KEY}, "keyPairName",
     'config vpc-flow-logs:keyPairName = "ops" is invalid: unset when sshPublicKey is set (use one or the other)'),
    ({"instanceType": "t3"}, "instanceType",
     'config vpc-flow-logs:instanceType = "t3" is invalid: sizes of t3: t3.2xlarge, t3.large, t3.medium, t3.micro, '
     "t3.nano, t3.small, t3.xlarge"),
    ({"sshAllowedCidrs": [f"10.0.{third}.0/24" for third in range(60)]}, "sshAllowedCidrs",
     "config vpc-flow-logs:sshAllowedCidrs, httpAllowedCidrs = 61 IPv4 blocks is invalid: at most 60 IPv4 blocks in "
     "all, one inbound rule each in the hosts' security group"),
    ({"alertEmails": ["ops"]}, "alertEmails",
     'config vpc-flow-logs:alertEmails[0] = "ops" is invalid: an e-mail address such as "ops@example.com", which '
     "SNS can confirm: An email address must have an @-sign."),
    ({"alertEmails": ["[secret]", "ops"]}, "alertEmails",
     'config vpc-flow-logs:alertEmails[1] = "ops" is invalid: an e-mail address such as "ops@example.com", which '
     "SNS can confirm: An email address must have an @-sign."),
    ({"alertEmails": [7]}, "alertEmails",
     'config vpc-flow-logs:alertEmails[0] = 7 is invalid: an e-mail address such as "ops@example.com"'),
    ({"alertEmails": "ops@example.com"}, "alertEmails",
     'config vpc-flow-logs:alertEmails = "ops@example.com" is invalid: a list of e-mail addresses, '
     'e.g. ["ops@example.com"]'),
    ({"alertEmails": ["ops@example.com", "ops@example.com"]}, "alertEmails",
     'config vpc-flow-logs:alertEmails = ["ops@example.com", "ops@example.com"] is invalid: ops@example.com appears '
     "twice; list each address once"),
    ({"alarms": {"loud": {}}}, "alarms",
     'config vpc-flow-logs:alarms = {"loud": {}} is invalid: an object with any of rejectedFlows, rejectedPackets, '
     "externalSsh"),
    ({"alarms": []}, "alarms",
     "config vpc-flow-logs:alarms = [] is invalid: an object with any of rejectedFlows, rejectedPackets, externalSsh"),
    ({"alarms": {"rejectedFlows": {"periodSeconds": 86400, "evaluationPeriods": 2}}}, "alarms.rejectedFlows",
     'config vpc-flow-logs:alarms.rejectedFlows = {"periodSeconds": 86400, "evaluationPeriods": 2} is invalid: '
     "periodSeconds x evaluationPeriods = 172800 s; CloudWatch evaluates at most 86400 s (one day)"),
    ({"amiId": "ubuntu"}, "amiId",
     'config vpc-flow-logs:amiId = "ubuntu" is invalid: an AMI ID such as ami-0123456789abcdef0, or empty to look '
     "it up"),
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


ALARM_ALLOWED = ('an object {"threshold": number >= 0, "periodSeconds": 60 or a multiple of 60, '
                 '"evaluationPeriods": integer >= 1}')
# (the alarm, an override its rules refuse)
ALARM_REFUSALS = [
    ("rejectedFlows", {"threshold": -1}), ("rejectedFlows", {"threshold": "5"}), ("rejectedFlows", {"threshold": True}),
    ("rejectedPackets", {"periodSeconds": 59}), ("rejectedPackets", {"periodSeconds": 90}),
    ("rejectedPackets", {"periodSeconds": 60.0}), ("rejectedPackets", {"periodSeconds": "300"}),
    ("externalSsh", {"evaluationPeriods": 0}), ("externalSsh", {"evaluationPeriods": 1.5}),
    ("externalSsh", {"threshold": 1, "sound": "loud"}), ("externalSsh", "loud"), ("rejectedFlows", [1]),
]


@pytest.mark.parametrize("name, raw", ALARM_REFUSALS)
def test_an_alarm_override_outside_its_rules_is_refused_exactly(name, raw):
    with pytest.raises(pulumi.RunError) as error:
        settings_from_config("lab", with_values(alarms={name: raw}))
    expected = f"config vpc-flow-logs:alarms.{name} = {json.dumps(raw)} is invalid: {ALARM_ALLOWED}"
    assert str(error.value) == expected, f"alarms.{name}: {error.value}"


AUDIT_WITH_MONITORING = {**AUDIT, "monitoring": None, "internalCidr": "10.0.0.0/8"}
KMS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/k"
TARGET = {"vpcId": "vpc-0123456789abcdef0"}
# With the default HTTP rule, the most IPv4 blocks the hosts' security group takes.
SIXTY_RULES = [f"10.0.{third}.0/24" for third in range(59)]
# (config changes, the setting as a dotted attribute of Settings, its value)
ACCEPTED = [
    ({}, "stack", "lab"),
    ({}, "region", "ap-northeast-1"),
    ({}, "lab", True),
    ({"lab": "false", **AUDIT}, "lab", False),
    ({}, "vpc_cidr", "10.0.0.0/16"),
    (AUDIT, "vpc_cidr", None),
    ({}, "subnet_cidrs", ("10.0.0.0/24", "10.0.1.0/24")),
    (AUDIT, "subnet_cidrs", ()),
    ({"sshAllowedCidrs": ["203.0.113.0/24", "2001:db8::/32"]}, "ssh_allowed_cidrs",
     ("203.0.113.0/24", "2001:db8::/32")),
    (AUDIT, "ssh_allowed_cidrs", ()),
    ({"httpAllowedCidrs": None}, "http_allowed_cidrs", ("0.0.0.0/0",)),
    ({"httpAllowedCidrs": ["198.51.100.0/24"]}, "http_allowed_cidrs", ("198.51.100.0/24",)),
    (AUDIT, "http_allowed_cidrs", ()),
    ({"sshAllowedCidrs": SIXTY_RULES}, "ssh_allowed_cidrs", tuple(SIXTY_RULES)),
    ({"instanceType": None}, "instance_type", "t3.micro"),
    ({"instanceType": "m7g.large"}, "instance_type", "m7g.large"),
    (AUDIT, "instance_type", "t3.micro"),
    ({"trafficType": None}, "traffic_type", "ALL"),
    ({"trafficType": "REJECT"}, "traffic_type", "REJECT"),
    ({"aggregationInterval": None}, "aggregation_interval", 600),
    ({"logRetentionDays": None}, "log_retention_days", 30),
    ({"logRetentionDays": "3653"}, "log_retention_days", 3653),
    ({}, "log_format", None),
    ({"logFormat": "${version} ${srcaddr}"}, "log_format", "${version} ${srcaddr}"),
    ({"logFormat": "${version} ${srcaddr}"}, "log_fields", ("version", "srcaddr")),
    ({}, "log_kms_key_arn", None),
    ({"logKmsKeyArn": KMS_KEY}, "log_kms_key_arn", KMS_KEY),
    ({}, "create_log_kms_key", False),
    ({"createLogKmsKey": "true"}, "create_log_kms_key", True),
    ({"protectLogs": None}, "protect_logs", False),
    ({"protectLogs": "true"}, "protect_logs", True),
    ({}, "tags", {"Purpose": "vpc-flow-logs-lab"}),
    ({}, "ssh_public_key", None),
    ({"sshPublicKey": PUBLIC_KEY}, "ssh_public_key", PUBLIC_KEY),
    ({}, "key_pair_name", None),
    ({"keyPairName": "ops"}, "key_pair_name", "ops"),
    ({}, "monitoring.enabled", True),
    ({"monitoring": "false"}, "monitoring.enabled", False),
    ({}, "monitoring.alert_emails", ()),
    ({"alertEmails": ["ops@example.com", "[secret]", "[secret]"]}, "monitoring.alert_emails",
     ("ops@example.com", "[secret]", "[secret]")),
    ({}, "monitoring.rejected_flows", AlarmSettings(threshold=100, period_seconds=300, evaluation_periods=1)),
    ({}, "monitoring.rejected_packets", AlarmSettings(threshold=1000, period_seconds=300, evaluation_periods=1)),
    ({}, "monitoring.external_ssh", AlarmSettings(threshold=1, period_seconds=300, evaluation_periods=1)),
    ({"alarms": {"rejectedFlows": None}}, "monitoring.rejected_flows",
     AlarmSettings(threshold=100, period_seconds=300, evaluation_periods=1)),
    ({"alarms": {"rejectedFlows": {"threshold": 5}}}, "monitoring.rejected_flows",
     AlarmSettings(threshold=5, period_seconds=300, evaluation_periods=1)),
    ({"alarms": {"rejectedPackets": {"periodSeconds": 60, "evaluationPeriods": 3}}}, "monitoring.rejected_packets",
     AlarmSettings(threshold=1000, period_seconds=60, evaluation_periods=3)),
    ({"alarms": {"externalSsh": {"threshold": 0, "periodSeconds": 120, "evaluationPeriods": 1}}},
     "monitoring.external_ssh", AlarmSettings(threshold=0, period_seconds=120, evaluation_periods=1)),
    ({"alarms": {"externalSsh": {"threshold": 2.5, "periodSeconds": 86400}}}, "monitoring.external_ssh",
     AlarmSettings(threshold=2.5, period_seconds=86400, evaluation_periods=1)),
    ({"alarms": {"rejectedFlows": {"threshold": 7}}}, "monitoring.rejected_flows.threshold.__class__", float),
    ({"alarms": {"externalSsh": {"threshold": 7}}}, "monitoring.rejected_packets",
     AlarmSettings(threshold=1000, period_seconds=300, evaluation_periods=1)),
    ({}, "ami_id", None),
    ({"amiId": "ami-12345678"}, "ami_id", "ami-12345678"),
    ({"amiId": "ami-0123456789abcdef0"}, "ami_id", "ami-0123456789abcdef0"),
    ({}, "public_hosts", True),
    ({"publicHosts": "false"}, "public_hosts", False),
    ({}, "encrypt_alarm_topic", False),
    ({"encryptAlarmTopic": "true"}, "encrypt_alarm_topic", True),
    ({}, "flow_log_targets", ()),
    ({"flowLogTargets": [TARGET]}, "flow_log_targets", (FlowLogTarget("vpcId", "vpc-0123456789abcdef0"),)),
    ({}, "destinations", DEFAULT_DESTINATIONS),
    ({"destinations": [{"type": "s3"}], "monitoring": "false"}, "destinations",
     (Destination("s3", retention_days=365),)),
    ({}, "internal_cidr", None),
    ({"internalCidr": "10.0.0.0/8"}, "internal_cidr", "10.0.0.0/8"),
    (AUDIT_WITH_MONITORING, "monitoring.enabled", True),
    (AUDIT_WITH_MONITORING, "monitored_cidr", "10.0.0.0/8"),
]


@pytest.mark.parametrize("changes, setting, expected", ACCEPTED)
def test_accepted_config_gives_its_setting(changes, setting, expected):
    value = attrgetter(setting)(settings_from_config("lab", with_values(**changes)))
    assert value == expected, f"{setting} from {changes}: {value!r}"


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
    given = {key: config.get(key) for key in ("vpc-flow-logs:vpcCidr", "aws:region", "vpcCidr")}
    assert given == {"vpc-flow-logs:vpcCidr": "10.0.0.0/16", "aws:region": "us-east-1", "vpcCidr": None}, config


@pytest.mark.parametrize("flag", ["true", "false"])
def test_a_config_value_aliasing_a_nested_boolean_reaches_the_program_as_written(tmp_path, flag):
    text = f"config:\n  vpc-flow-logs:tags: {{Flag: &flag {flag}}}\n  vpc-flow-logs:lab: *flag\n"
    config = config_from_stack_file(write(tmp_path, text))
    assert config["vpc-flow-logs:lab"] == flag, config
    assert json.loads(config["vpc-flow-logs:tags"]) == {"Flag": flag == "true"}, config
