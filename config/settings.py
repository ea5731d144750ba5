"""Stack config -> one frozen, validated `Settings`.

This is the only module that reads Pulumi config. Every invalid value stops the program with
a `pulumi.RunError` naming the key, the value and what is allowed, before any resource is
registered. The tools read stack files through `settings_from_stack_file`, so the program,
`make check` and `make verify` all apply the same rules.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import pulumi

from config.stack_file import read_stack_config
from flowlogs.fields import KNOWN_FIELDS, LogFormatError, parse_log_format

PROJECT = "vpc-flow-logs"
CONFIG_DIR = Path(__file__).resolve().parent

TRAFFIC_TYPES = ("ALL", "ACCEPT", "REJECT")
AGGREGATION_INTERVALS = (60, 600)
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                  1827, 2192, 2557, 2922, 3288, 3653)
MIN_SUBNETS = 2
# The longest value an error message quotes: a pasted file must not come back in full.
MAX_SHOWN = 200
# Placeholder shown instead of a `secure:` value that the tools never decrypt.
SECRET_PLACEHOLDER = "[secret]"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")


@dataclass(frozen=True)
class AlarmSettings:
    """When a monitoring alarm fires: `threshold` or more in `evaluation_periods` periods."""

    threshold: float
    period_seconds: int
    evaluation_periods: int


@dataclass(frozen=True)
class MonitoringSettings:
    enabled: bool
    alert_emails: tuple[str, ...]
    rejected_flows: AlarmSettings
    rejected_packets: AlarmSettings
    external_ssh: AlarmSettings


@dataclass(frozen=True)
class Settings:
    stack: str
    region: str
    vpc_cidr: str
    subnet_cidrs: tuple[str, ...]
    ssh_allowed_cidrs: tuple[str, ...]
    http_allowed_cidrs: tuple[str, ...]
    instance_type: str
    traffic_type: str
    aggregation_interval: int
    log_retention_days: int
    log_format: str | None
    log_fields: tuple[str, ...]
    log_kms_key_arn: str | None
    create_log_kms_key: bool
    protect_logs: bool
    tags: Mapping[str, str]
    ssh_public_key: pulumi.Input[str] | None
    key_pair_name: str | None
    monitoring: MonitoringSettings
    # Hosts and alerting hardening (CONFIG_KEYS' second block); defaults keep the article's lab.
    ami_id: str | None = None
    public_hosts: bool = True
    encrypt_alarm_topic: bool = False

    @property
    def base_tags(self) -> dict[str, str]:
        """Tags for every taggable resource: the configured ones plus Project and Environment."""
        return {**self.tags, "Project": PROJECT, "Environment": self.stack}


ALARM_DEFAULTS: Mapping[str, AlarmSettings] = MappingProxyType({
    "rejectedFlows": AlarmSettings(threshold=100, period_seconds=300, evaluation_periods=1),
    "rejectedPackets": AlarmSettings(threshold=1000, period_seconds=300, evaluation_periods=1),
    "externalSsh": AlarmSettings(threshold=1, period_seconds=300, evaluation_periods=1),
})


def _shown(value: Any) -> str:
    """A value as an error quotes it: JSON, secrets hidden, cut at MAX_SHOWN characters."""
    shown = SECRET_PLACEHOLDER if value == SECRET_PLACEHOLDER else json.dumps(value)
    return shown if len(shown) <= MAX_SHOWN else f"{shown[:MAX_SHOWN]}... ({len(shown)} characters)"


def _fail(key: str, value: Any, allowed: str) -> pulumi.RunError:
    return pulumi.RunError(f"config {PROJECT}:{key} = {_shown(value)} is invalid: {allowed}")


class _Reader:
    """Typed access to the raw string config map, failing with the key and what is allowed."""

    def __init__(self, values: Mapping[str, str]):
        self._values = values

    def raw(self, key: str) -> str | None:
        value = self._values.get(f"{PROJECT}:{key}")
        return None if value is None or value == "" else value

    def required(self, key: str, allowed: str) -> str:
        value = self.raw(key)
        if value is None:
            raise pulumi.RunError(f"config {PROJECT}:{key} is missing: set it to {allowed}")
        return value

    def json(self, key: str, expected: type, allowed: str, default: Any, required: bool = False) -> Any:
        text = self.required(key, allowed) if required else self.raw(key)
        if text is None:
            return default
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: thousands of nested brackets
            raise _fail(key, text, allowed) from None
        if not isinstance(value, expected):
            raise _fail(key, value, allowed)
        return value

    def integer(self, key: str, allowed: str, default: int | None = None) -> int:
        text = self.raw(key)
        if text is None:
            if default is None:
                return int(self.required(key, allowed))
            return default
        try:
            return int(text)
        except ValueError:
            raise _fail(key, text, allowed) from None

    def boolean(self, key: str, default: bool) -> bool:
        text = self.raw(key)
        if text is None:
            return default
        if text.lower() not in ("true", "false"):
            raise _fail(key, text, "true or false")
        return text.lower() == "true"

    def choice(self, key: str, choices: tuple, default: Any, convert: Callable[[str], Any] = str) -> Any:
        allowed = "one of " + ", ".join(str(c) for c in choices)
        text = self.raw(key)
        if text is None:
            return default
        try:
            value = convert(text)
        except ValueError:
            raise _fail(key, text, allowed) from None
        if value not in choices:
            raise _fail(key, text, allowed)
        return value


def _network(key: str, text: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    allowed = "a CIDR block such as 10.0.0.0/16, with no host bits set"
    if not isinstance(text, str) or "/" not in text:
        raise _fail(key, text, allowed)
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise _fail(key, text, allowed) from None


def _cidr_list(reader: _Reader, key: str, default: list[str] | None) -> tuple[str, ...]:
    allowed = 'a list of CIDR blocks, e.g. ["203.0.113.0/24"]'
    cidrs = reader.json(key, list, allowed, default, required=default is None)
    return tuple(str(_network(key, cidr)) for cidr in cidrs)


def _subnets(reader: _Reader, vpc: ipaddress.IPv4Network) -> tuple[str, ...]:
    key = "subnetCidrs"
    allowed = f"a list of at least {MIN_SUBNETS} non-overlapping IPv4 CIDR blocks inside vpcCidr {vpc}"
    cidrs = reader.json(key, list, allowed, None, required=True)
    if len(cidrs) < MIN_SUBNETS:
        raise _fail(key, cidrs, allowed)
    networks = [_network(key, cidr) for cidr in cidrs]
    for cidr, network in zip(cidrs, networks):
        if network.version != 4 or not network.subnet_of(vpc):
            raise _fail(key, cidrs, f"{cidr} is outside vpcCidr {vpc}; {allowed}")
        if not 16 <= network.prefixlen <= 28:
            raise _fail(key, cidrs, f"{cidr} is not a /16 to /28 block, the sizes AWS allows; {allowed}")
    for i, first in enumerate(networks):
        for second in networks[i + 1:]:
            if first.overlaps(second):
                raise _fail(key, cidrs, f"{first} overlaps {second}; {allowed}")
    return tuple(str(n) for n in networks)


def _vpc(reader: _Reader) -> ipaddress.IPv4Network:
    key = "vpcCidr"
    allowed = "an IPv4 CIDR block from /16 to /28, such as 10.0.0.0/16"
    text = reader.required(key, allowed)
    network = _network(key, text)
    if network.version != 4 or not 16 <= network.prefixlen <= 28:
        raise _fail(key, text, allowed)
    return network


def _log_format(reader: _Reader) -> tuple[str | None, tuple[str, ...]]:
    key = "logFormat"
    text = reader.raw(key)
    try:
        return text, parse_log_format(text)
    except LogFormatError as error:
        allowed = ("space-separated ${field} tokens, each field once, from: " + ", ".join(KNOWN_FIELDS))
        raise _fail(key, text, f"{error}; use {allowed}") from None


def _tags(reader: _Reader) -> Mapping[str, str]:
    key = "tags"
    allowed = 'an object of string tags, e.g. {"Owner": "platform"}; Project and Environment are set for you'
    tags = reader.json(key, dict, allowed, {})
    for name, value in tags.items():
        if not _TAG_KEY.match(name) or not isinstance(value, str) or name in ("Project", "Environment"):
            raise _fail(key, tags, allowed)
    return MappingProxyType(dict(tags))


def _alarm(key: str, name: str, raw: Any) -> AlarmSettings:
    default = ALARM_DEFAULTS[name]
    allowed = ('an object {"threshold": number >= 0, "periodSeconds": 60 or a multiple of 60, '
               '"evaluationPeriods": integer >= 1}')
    if raw is None:
        return default
    if not isinstance(raw, dict) or set(raw) - {"threshold", "periodSeconds", "evaluationPeriods"}:
        raise _fail(f"{key}.{name}", raw, allowed)
    threshold = raw.get("threshold", default.threshold)
    period = raw.get("periodSeconds", default.period_seconds)
    periods = raw.get("evaluationPeriods", default.evaluation_periods)
    numbers_ok = (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold >= 0
                  and isinstance(period, int) and period >= 60 and period % 60 == 0
                  and isinstance(periods, int) and periods >= 1)
    if not numbers_ok:
        raise _fail(f"{key}.{name}", raw, allowed)
    return AlarmSettings(threshold=float(threshold), period_seconds=period, evaluation_periods=periods)


def _monitoring(reader: _Reader) -> MonitoringSettings:
    emails = reader.json("alertEmails", list, 'a list of e-mail addresses, e.g. ["ops@example.com"]', [])
    for email in emails:
        if not isinstance(email, str) or not _EMAIL.match(email):
            raise _fail("alertEmails", emails, "a list of e-mail addresses, e.g. [\"ops@example.com\"]")
    key = "alarms"
    alarms = reader.json(key, dict, "an object with any of " + ", ".join(ALARM_DEFAULTS), {})
    unknown = set(alarms) - set(ALARM_DEFAULTS)
    if unknown:
        raise _fail(key, alarms, "an object with any of " + ", ".join(ALARM_DEFAULTS))
    return MonitoringSettings(
        enabled=reader.boolean("monitoring", default=True),
        alert_emails=tuple(emails),
        rejected_flows=_alarm(key, "rejectedFlows", alarms.get("rejectedFlows")),
        rejected_packets=_alarm(key, "rejectedPackets", alarms.get("rejectedPackets")),
        external_ssh=_alarm(key, "externalSsh", alarms.get("externalSsh")),
    )


def _kms_key_arn(reader: _Reader) -> str | None:
    key = "logKmsKeyArn"
    arn = reader.raw(key)
    if arn is not None and not re.match(r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:(key|alias)/\S+$", arn):
        raise _fail(key, arn, "a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>")
    return arn


# The project's config keys: type, description and default, as Pulumi.yaml declares them.
CONFIG_KEYS: Mapping[str, tuple[str, str, Any]] = MappingProxyType({
    "vpcCidr": ("string", "IPv4 CIDR of the VPC (/16 to /28)", None),
    "subnetCidrs": ("array", "Public subnets, one EC2 host each, at least two, inside vpcCidr", None),
    "sshAllowedCidrs": ("array", "CIDRs allowed to reach the hosts on SSH (22)", None),
    "httpAllowedCidrs": ("array", "CIDRs allowed to reach the hosts on HTTP (80)", ["0.0.0.0/0"]),
    "instanceType": ("string", "EC2 instance type of the web hosts", "t3.micro"),
    "trafficType": ("string", "Traffic the flow log captures: ALL, ACCEPT or REJECT", "ALL"),
    "aggregationInterval": ("integer", "Maximum aggregation interval in seconds: 60 or 600", 600),
    "logRetentionDays": ("integer", "Retention of the flow-log group, a value CloudWatch accepts", 30),
    "logFormat": ("string", "Custom record format (${field} tokens); empty means AWS's default", None),
    "logKmsKeyArn": ("string", "KMS key ARN that encrypts the flow-log group", None),
    "createLogKmsKey": ("boolean", "Create a dedicated KMS key for the flow-log group", False),
    "protectLogs": ("boolean", "Protect and retain the flow-log group on destroy and replace", False),
    "tags": ("object", "Extra tags for every taggable resource", None),
    "sshPublicKey": ("string", "Public key of a new EC2 key pair for SSH", None),
    "keyPairName": ("string", "Existing EC2 key pair for SSH", None),
    "monitoring": ("boolean", "Metric filters, alarms, dashboard and saved queries", True),
    "alertEmails": ("array", "E-mail addresses subscribed to the alarm topic", []),
    "alarms": ("object", "Alarm overrides: rejectedFlows, rejectedPackets, externalSsh", None),
    # Hosts and alerting hardening.
    "amiId": ("string", "AMI of the hosts, pinned; empty means the current Amazon Linux 2023, kept once "
                        "launched", None),
    "publicHosts": ("boolean", "Hosts get public IPs in public subnets (the lab's design); false keeps "
                               "them private", True),
    "encryptAlarmTopic": ("boolean", "Encrypt the alarm topic with a customer-managed KMS key that "
                                     "CloudWatch alarms may use", False),
})


def _hardening(reader: _Reader) -> dict[str, Any]:
    """The hosts and alerting keys, as Settings fields."""
    ami_id = reader.raw("amiId")
    if ami_id is not None and not re.fullmatch(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})", ami_id):
        raise _fail("amiId", ami_id, "an AMI ID such as ami-0123456789abcdef0, or empty to look it up")
    return {"ami_id": ami_id, "public_hosts": reader.boolean("publicHosts", default=True),
            "encrypt_alarm_topic": reader.boolean("encryptAlarmTopic", default=False)}


def settings_from_config(stack: str, values: Mapping[str, str]) -> Settings:
    """Validate a raw config map (`namespace:key` -> string, objects as JSON) into `Settings`."""
    unknown = sorted(k for k in values if k.startswith(f"{PROJECT}:") and k.split(":", 1)[1] not in CONFIG_KEYS)
    if unknown:
        raise pulumi.RunError(f"config {unknown[0]} is not a known key: use one of " + ", ".join(CONFIG_KEYS))
    reader = _Reader(values)
    region = values.get("aws:region") or ""
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
        raise pulumi.RunError(f"config aws:region = {_shown(region or None)} is invalid: "
                              "set it to an AWS region such as ap-northeast-1")
    vpc = _vpc(reader)
    log_format, log_fields = _log_format(reader)
    kms_key_arn = _kms_key_arn(reader)
    create_kms_key = reader.boolean("createLogKmsKey", default=False)
    if kms_key_arn and create_kms_key:
        raise _fail("createLogKmsKey", "true", "false when logKmsKeyArn is set (use one or the other)")
    ssh_public_key = reader.raw("sshPublicKey")
    key_pair_name = reader.raw("keyPairName")
    if ssh_public_key and key_pair_name:
        raise _fail("keyPairName", key_pair_name, "unset when sshPublicKey is set (use one or the other)")
    instance_type = reader.raw("instanceType") or "t3.micro"
    if not re.match(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", instance_type):
        raise _fail("instanceType", instance_type, "an EC2 instance type such as t3.micro")
    return Settings(
        stack=stack,
        region=region,
        vpc_cidr=str(vpc),
        subnet_cidrs=_subnets(reader, vpc),
        ssh_allowed_cidrs=_cidr_list(reader, "sshAllowedCidrs", None),
        http_allowed_cidrs=_cidr_list(reader, "httpAllowedCidrs", ["0.0.0.0/0"]),
        instance_type=instance_type,
        traffic_type=reader.choice("trafficType", TRAFFIC_TYPES, "ALL"),
        aggregation_interval=reader.choice("aggregationInterval", AGGREGATION_INTERVALS, 600, int),
        log_retention_days=reader.choice("logRetentionDays", RETENTION_DAYS, 30, int),
        log_format=log_format,
        log_fields=log_fields,
        log_kms_key_arn=kms_key_arn,
        create_log_kms_key=create_kms_key,
        protect_logs=reader.boolean("protectLogs", default=False),
        tags=_tags(reader),
        ssh_public_key=ssh_public_key,
        key_pair_name=key_pair_name,
        monitoring=_monitoring(reader),
        **_hardening(reader),
    )


def load_settings() -> Settings:
    """Settings of the running stack, read from Pulumi config; secret values stay secret."""
    values = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    settings = settings_from_config(pulumi.get_stack(), values)
    if settings.ssh_public_key and pulumi.runtime.is_config_secret(f"{PROJECT}:sshPublicKey"):
        return replace(settings, ssh_public_key=pulumi.Output.secret(settings.ssh_public_key))
    return settings


def config_from_stack_file(path: Path) -> dict[str, str]:
    """A stack file's config as the CLI hands it to the program: `ns:key` -> string.

    Objects and lists become JSON, as Pulumi passes them; `secure:` values are never
    decrypted: they become SECRET_PLACEHOLDER.
    """
    config = _stack_file_config(path)
    return {_qualified(key): _as_config_string(value) for key, value in config.items()}


def secret_keys_of_stack_file(path: Path) -> list[str]:
    """Keys whose values are `secure:` in a stack file."""
    return [_qualified(key) for key, value in _stack_file_config(path).items() if _is_secure(value)]


def _stack_file_config(path: Path) -> dict[str, Any]:
    return read_stack_config(path)


def stack_file_of(stack: str) -> Path:
    """`config/Pulumi.lab.yaml` for `lab`, wherever the tool runs from."""
    return CONFIG_DIR / f"Pulumi.{stack}.yaml"


def stack_name_of(path: Path) -> str:
    """`lab` for `Pulumi.lab.yaml`."""
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    if not match:
        raise pulumi.RunError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    return match.group(1)


def settings_from_stack_file(path: Path) -> Settings:
    """Settings for a stack file, without the Pulumi engine (for the tools)."""
    return settings_from_config(stack_name_of(path), config_from_stack_file(path))


def _qualified(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _as_config_string(value: Any) -> str:
    if _is_secure(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
