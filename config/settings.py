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

from config.limits import (SECRET_PLACEHOLDER, check_alarm_window, check_distinct_cidrs, check_distinct_emails,
                           check_email, check_ingress_rule_count, check_instance_type, check_key_pair_name,
                           check_ssh_public_key, check_tags, refuse, shown)
# stack_file_of and stack_name_of are the tools' way to a stack file, through the settings.
from config.project import resolve_stack_config, stack_file_of, stack_name_of  # noqa: F401
from flowlogs.fields import (KNOWN_FIELDS, TRANSIT_GATEWAY_FIELDS, VPC_FIELDS, LogFormatError, fields_outside,
                             parse_log_format)

PROJECT = "vpc-flow-logs"

TRAFFIC_TYPES = ("ALL", "ACCEPT", "REJECT")
AGGREGATION_INTERVALS = (60, 600)
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                  1827, 2192, 2557, 2922, 3288, 3653)
MIN_SUBNETS = 2


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
    # alertEmails is a secret of the stack: the addresses reach the state only as secrets.
    alert_emails_secret: bool = False


# What a flowLogTargets entry may name: its key -> (the FlowLog input it sets, the id's prefix).
TARGET_KINDS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "vpcId": ("vpc_id", "vpc"),
    "subnetId": ("subnet_id", "subnet"),
    "eniId": ("eni_id", "eni"),
    "transitGatewayId": ("transit_gateway_id", "tgw"),
    "transitGatewayAttachmentId": ("transit_gateway_attachment_id", "tgw-attach"),
})
TRANSIT_GATEWAY_KINDS = ("transitGatewayId", "transitGatewayAttachmentId")
VPC_TAGS = "vpcTags"
# Keys that describe the lab's network and hosts; with lab: false they have nothing to configure.
LAB_ONLY_KEYS = ("vpcCidr", "subnetCidrs", "sshAllowedCidrs", "httpAllowedCidrs", "instanceType", "sshPublicKey",
                 "keyPairName", "amiId", "publicHosts")
CLOUD_WATCH_LOGS = "cloud-watch-logs"
S3 = "s3"
FILE_FORMATS = ("plain-text", "parquet")
OBJECT_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
TRANSIT_GATEWAY_INTERVAL = 60
_ID_HEX = r"(?:[0-9a-f]{8}|[0-9a-f]{17})"
_BUCKET_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?P<prefix>/[^\s*?]*)?$")


@dataclass(frozen=True)
class FlowLogTarget:
    """One thing to put a flow log on: an id of a kind (`vpcId`...), or the VPCs carrying tags."""

    kind: str
    resource_id: str | None = None
    vpc_tags: Mapping[str, str] | None = None

    @property
    def is_transit_gateway(self) -> bool:
        return self.kind in TRANSIT_GATEWAY_KINDS


@dataclass(frozen=True)
class ObjectLock:
    mode: str
    days: int


@dataclass(frozen=True)
class Destination:
    """Where flow logs deliver: the stack's CloudWatch Logs group, or S3 (a created or a given bucket)."""

    type: str
    file_format: str = "plain-text"
    hive_compatible_partitions: bool = False
    per_hour_partition: bool = False
    retention_days: int | None = None
    object_lock: ObjectLock | None = None
    bucket_arn: str | None = None

    @property
    def key(self) -> str:
        """What names this destination in logical names: its type, and a given bucket's name."""
        if self.bucket_arn:
            match = _BUCKET_ARN.match(self.bucket_arn)
            return f"s3-{match.group('bucket') if match else self.bucket_arn}"
        return "cloudwatch" if self.type == CLOUD_WATCH_LOGS else "s3"


DEFAULT_DESTINATIONS = (Destination(CLOUD_WATCH_LOGS),)


@dataclass(frozen=True)
class Settings:
    stack: str
    region: str
    lab: bool
    vpc_cidr: str | None
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
    tags: Mapping[str, pulumi.Input[str]]
    ssh_public_key: pulumi.Input[str] | None
    key_pair_name: pulumi.Input[str] | None
    monitoring: MonitoringSettings
    # Hosts and alerting hardening (CONFIG_KEYS' second block); defaults keep the article's lab.
    ami_id: str | None = None
    public_hosts: bool = True
    encrypt_alarm_topic: bool = False
    flow_log_targets: tuple[FlowLogTarget, ...] = ()
    destinations: tuple[Destination, ...] = DEFAULT_DESTINATIONS
    internal_cidr: str | None = None

    @property
    def cloud_watch_logs(self) -> bool:
        """Whether a destination is the stack's CloudWatch Logs group."""
        return any(d.type == CLOUD_WATCH_LOGS for d in self.destinations)

    @property
    def monitored_cidr(self) -> str | None:
        """The range monitoring counts as inside: the lab's VPC, or internalCidr."""
        return self.internal_cidr or self.vpc_cidr

    @property
    def base_tags(self) -> dict[str, pulumi.Input[str]]:
        """Tags for every taggable resource: the configured ones plus Project and Environment."""
        return {**self.tags, "Project": PROJECT, "Environment": self.stack}


ALARM_DEFAULTS: Mapping[str, AlarmSettings] = MappingProxyType({
    "rejectedFlows": AlarmSettings(threshold=100, period_seconds=300, evaluation_periods=1),
    "rejectedPackets": AlarmSettings(threshold=1000, period_seconds=300, evaluation_periods=1),
    "externalSsh": AlarmSettings(threshold=1, period_seconds=300, evaluation_periods=1),
})


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
        # ValueError covers JSONDecodeError and integers past Python's 4,300-digit limit;
        # RecursionError, thousands of nested brackets.
        except (ValueError, RecursionError):
            raise refuse(key, text, allowed) from None
        if not isinstance(value, expected):
            raise refuse(key, value, allowed)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        text = self.raw(key)
        if text is None:
            return default
        if text.lower() not in ("true", "false"):
            raise refuse(key, text, "true or false")
        return text.lower() == "true"

    def choice(self, key: str, choices: tuple, default: Any, convert: Callable[[str], Any] = str) -> Any:
        allowed = "one of " + ", ".join(str(c) for c in choices)
        text = self.raw(key)
        if text is None:
            return default
        try:
            value = convert(text)
        except ValueError:
            raise refuse(key, text, allowed) from None
        if value not in choices:
            raise refuse(key, text, allowed)
        return value


def _network(key: str, text: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    allowed = "a CIDR block such as 10.0.0.0/16, with no host bits set"
    if not isinstance(text, str) or "/" not in text:
        raise refuse(key, text, allowed)
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise refuse(key, text, allowed) from None


def _cidr_list(reader: _Reader, key: str, default: list[str] | None) -> tuple[str, ...]:
    allowed = 'a list of CIDR blocks, e.g. ["203.0.113.0/24"]'
    cidrs = reader.json(key, list, allowed, default, required=default is None)
    networks = tuple(str(_network(key, cidr)) for cidr in cidrs)
    check_distinct_cidrs(key, networks)
    return networks


def _subnets(reader: _Reader, vpc: ipaddress.IPv4Network) -> tuple[str, ...]:
    key = "subnetCidrs"
    allowed = f"a list of at least {MIN_SUBNETS} non-overlapping IPv4 CIDR blocks inside vpcCidr {vpc}"
    cidrs = reader.json(key, list, allowed, None, required=True)
    if len(cidrs) < MIN_SUBNETS:
        raise refuse(key, cidrs, allowed)
    networks = [_network(key, cidr) for cidr in cidrs]
    for cidr, network in zip(cidrs, networks):
        if network.version != 4 or not network.subnet_of(vpc):
            raise refuse(key, cidrs, f"{cidr} is outside vpcCidr {vpc}; {allowed}")
        if not 16 <= network.prefixlen <= 28:
            raise refuse(key, cidrs, f"{cidr} is not a /16 to /28 block, the sizes AWS allows; {allowed}")
    for i, first in enumerate(networks):
        for second in networks[i + 1:]:
            if first.overlaps(second):
                raise refuse(key, cidrs, f"{first} overlaps {second}; {allowed}")
    return tuple(str(n) for n in networks)


def _vpc(reader: _Reader) -> ipaddress.IPv4Network:
    key = "vpcCidr"
    allowed = "an IPv4 CIDR block from /16 to /28, such as 10.0.0.0/16"
    text = reader.required(key, allowed)
    network = _network(key, text)
    if network.version != 4 or not 16 <= network.prefixlen <= 28:
        raise refuse(key, text, allowed)
    return network


def _log_format(reader: _Reader) -> tuple[str | None, tuple[str, ...]]:
    key = "logFormat"
    text = reader.raw(key)
    try:
        return text, parse_log_format(text)
    except LogFormatError as error:
        allowed = ("space-separated ${field} tokens, each field once, from: " + ", ".join(KNOWN_FIELDS))
        raise refuse(key, text, f"{error}; use {allowed}") from None


def _tags(reader: _Reader, secret: bool) -> Mapping[str, str]:
    key = "tags"
    allowed = 'an object of string tags, e.g. {"Owner": "platform"}; Project and Environment are set for you'
    tags = reader.json(key, dict, allowed, {})
    check_tags(tags, key, secret_values=secret)
    return MappingProxyType(dict(tags))


def _alarm(key: str, name: str, raw: Any) -> AlarmSettings:
    default = ALARM_DEFAULTS[name]
    allowed = ('an object {"threshold": number >= 0, "periodSeconds": 60 or a multiple of 60, '
               '"evaluationPeriods": integer >= 1}')
    if raw is None:
        return default
    if not isinstance(raw, dict) or set(raw) - {"threshold", "periodSeconds", "evaluationPeriods"}:
        raise refuse(f"{key}.{name}", raw, allowed)
    threshold = raw.get("threshold", default.threshold)
    period = raw.get("periodSeconds", default.period_seconds)
    periods = raw.get("evaluationPeriods", default.evaluation_periods)
    numbers_ok = (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold >= 0
                  and isinstance(period, int) and period >= 60 and period % 60 == 0
                  and isinstance(periods, int) and periods >= 1)
    if not numbers_ok:
        raise refuse(f"{key}.{name}", raw, allowed)
    check_alarm_window(f"{key}.{name}", raw, period, periods)
    return AlarmSettings(threshold=float(threshold), period_seconds=period, evaluation_periods=periods)


def _monitoring(reader: _Reader, secret_emails: bool) -> MonitoringSettings:
    emails = reader.json("alertEmails", list, 'a list of e-mail addresses, e.g. ["ops@example.com"]', [])
    for index, email in enumerate(emails):
        check_email(f"alertEmails[{index}]", email, secret=secret_emails)
    check_distinct_emails(emails, secret=secret_emails)
    key = "alarms"
    alarms = reader.json(key, dict, "an object with any of " + ", ".join(ALARM_DEFAULTS), {})
    unknown = set(alarms) - set(ALARM_DEFAULTS)
    if unknown:
        raise refuse(key, alarms, "an object with any of " + ", ".join(ALARM_DEFAULTS))
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
        raise refuse(key, arn, "a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>")
    return arn


def _target(key: str, entry: Any) -> FlowLogTarget:
    allowed = ("an object with exactly one of " + ", ".join([*TARGET_KINDS, VPC_TAGS])
               + ', e.g. {"vpcId": "vpc-0123456789abcdef0"} or {"vpcTags": {"Environment": "prod"}}')
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in (*TARGET_KINDS, VPC_TAGS):
        raise refuse(key, entry, allowed)
    ((kind, value),) = entry.items()
    if kind == VPC_TAGS:
        if (not isinstance(value, dict) or not value
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
            raise refuse(f"{key}.{VPC_TAGS}", value, "a non-empty object of tag names and string values")
        return FlowLogTarget(kind, vpc_tags=MappingProxyType(dict(sorted(value.items()))))
    prefix = TARGET_KINDS[kind][1]
    if not isinstance(value, str) or not re.fullmatch(rf"{prefix}-{_ID_HEX}", value):
        raise refuse(f"{key}.{kind}", value, f"an id of the form {prefix}- followed by 8 or 17 hex digits")
    return FlowLogTarget(kind, resource_id=value)


def _targets(reader: _Reader, lab: bool) -> tuple[FlowLogTarget, ...]:
    key = "flowLogTargets"
    allowed = 'a list of targets, e.g. [{"vpcId": "vpc-0123456789abcdef0"}, {"vpcTags": {"Team": "core"}}]'
    entries = reader.json(key, list, allowed, [])
    if not entries and not lab:
        raise refuse(key, entries, f"at least one target when lab is false; {allowed}")
    targets = tuple(_target(key, entry) for entry in entries)
    seen: set[tuple] = set()
    for target, entry in zip(targets, entries):
        identity = (target.kind, target.resource_id, tuple(sorted((target.vpc_tags or {}).items())))
        if identity in seen:
            raise refuse(key, entry, "each target once: this one is listed twice")
        seen.add(identity)
    return targets


def _bool_option(key: str, entry: Mapping[str, Any], name: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise refuse(f"{key}.{name}", value, "true or false")
    return value


def _object_lock(key: str, value: Any) -> ObjectLock:
    allowed = '{"mode": "GOVERNANCE" or "COMPLIANCE", "days": a whole number of days >= 1}'
    if (not isinstance(value, dict) or set(value) != {"mode", "days"} or value["mode"] not in OBJECT_LOCK_MODES
            or not isinstance(value["days"], int) or isinstance(value["days"], bool) or value["days"] < 1):
        raise refuse(f"{key}.objectLock", value, allowed)
    return ObjectLock(value["mode"], value["days"])


S3_OPTIONS = ("fileFormat", "hiveCompatiblePartitions", "perHourPartition", "retentionDays", "objectLock", "bucketArn")
# What a bucket the stack does not create cannot be given: its owner decides them.
CREATED_BUCKET_OPTIONS = ("retentionDays", "objectLock")


def _destination(key: str, entry: Any) -> Destination:
    allowed = (f'{{"type": "{CLOUD_WATCH_LOGS}"}} or {{"type": "{S3}", "fileFormat": "parquet", '
               '"hiveCompatiblePartitions": true, "perHourPartition": true, "retentionDays": 365, '
               '"objectLock": {"mode": "GOVERNANCE", "days": 90}} (or "bucketArn" instead of the last two)')
    if not isinstance(entry, dict) or entry.get("type") not in (CLOUD_WATCH_LOGS, S3):
        raise refuse(key, entry, allowed)
    options = sorted(set(entry) - {"type"})
    if entry["type"] == CLOUD_WATCH_LOGS:
        if options:
            raise refuse(f"{key}.{options[0]}", entry[options[0]],
                        f"only on an s3 destination: a {CLOUD_WATCH_LOGS} destination takes no options (its "
                        "group is set by logRetentionDays, logKmsKeyArn, createLogKmsKey and protectLogs)")
        return Destination(CLOUD_WATCH_LOGS)
    unknown = [option for option in options if option not in S3_OPTIONS]
    if unknown:
        raise refuse(f"{key}.{unknown[0]}", entry[unknown[0]], "an s3 option: " + ", ".join(S3_OPTIONS))
    file_format = entry.get("fileFormat", "plain-text")
    if file_format not in FILE_FORMATS:
        raise refuse(f"{key}.fileFormat", file_format, "one of " + ", ".join(FILE_FORMATS))
    bucket_arn = entry.get("bucketArn")
    if bucket_arn is not None:
        if not isinstance(bucket_arn, str) or not _BUCKET_ARN.match(bucket_arn):
            raise refuse(f"{key}.bucketArn", bucket_arn,
                        "an S3 bucket ARN, arn:aws:s3:::<bucket> or arn:aws:s3:::<bucket>/<prefix>")
        given = [option for option in CREATED_BUCKET_OPTIONS if option in entry]
        if given:
            raise refuse(f"{key}.{given[0]}", entry[given[0]],
                        "unset with bucketArn: the stack creates no bucket, so its owner sets expiry and object lock")
        retention_days = None
    else:
        retention_days = entry.get("retentionDays", 365)
        if not isinstance(retention_days, int) or isinstance(retention_days, bool) or retention_days < 1:
            raise refuse(f"{key}.retentionDays", retention_days, "a whole number of days >= 1")
    object_lock = _object_lock(key, entry["objectLock"]) if "objectLock" in entry else None
    if object_lock and retention_days is not None and object_lock.days > retention_days:
        raise refuse(f"{key}.objectLock", entry["objectLock"],
                    f"days at most retentionDays ({retention_days}): expiry cannot remove locked records")
    return Destination(S3, file_format=file_format,
                       hive_compatible_partitions=_bool_option(key, entry, "hiveCompatiblePartitions"),
                       per_hour_partition=_bool_option(key, entry, "perHourPartition"),
                       retention_days=retention_days, object_lock=object_lock, bucket_arn=bucket_arn)


def _destinations(reader: _Reader) -> tuple[Destination, ...]:
    key = "destinations"
    entries = reader.json(key, list, f'a non-empty list of destinations, e.g. [{{"type": "{CLOUD_WATCH_LOGS}"}}]',
                          None)
    if entries is None:
        return DEFAULT_DESTINATIONS
    if not entries:
        raise refuse(key, entries, f'at least one destination, e.g. [{{"type": "{CLOUD_WATCH_LOGS}"}}]')
    destinations = tuple(_destination(key, entry) for entry in entries)
    keys = [destination.key for destination in destinations]
    for destination, entry in zip(destinations, entries):
        if keys.count(destination.key) > 1:
            raise refuse(key, entry, "each destination once: one CloudWatch Logs group, one created bucket and "
                                    "each bucketArn once")
    return destinations


def _targets_fit(targets: tuple[FlowLogTarget, ...], log_fields: tuple[str, ...], aggregation_interval: int,
                 log_format: str | None) -> None:
    """Transit gateways record other fields than VPCs, subnets and ENIs, and only every 60 seconds."""
    shown_format = log_format if log_format is not None else "(AWS's default format)"
    for target in targets:
        label = f"{target.kind} {target.resource_id or dict(target.vpc_tags or {})}"
        if target.is_transit_gateway:
            if aggregation_interval != TRANSIT_GATEWAY_INTERVAL:
                raise refuse("aggregationInterval", aggregation_interval,
                            f"{TRANSIT_GATEWAY_INTERVAL} when flowLogTargets has a transit gateway ({label})")
            wrong = fields_outside(log_fields, TRANSIT_GATEWAY_FIELDS)
            where = "transit gateway"
        else:
            wrong = fields_outside(log_fields, VPC_FIELDS)
            where = "VPC, subnet or ENI"
        if wrong:
            raise refuse("logFormat", shown_format,
                        f"fields a {where} flow log can record, for flowLogTargets {label}: drop "
                        + ", ".join(wrong))


def _declared_default(key: str) -> str | None:
    """The text the CLI hands the program for `key` when a stack leaves it unset (Pulumi.yaml's default)."""
    default = CONFIG_KEYS[key][2]
    if isinstance(default, bool):
        return "true" if default else "false"
    return None if default is None else str(default)


def _lab_keys_absent(reader: _Reader) -> None:
    for key in LAB_ONLY_KEYS:
        value = reader.raw(key)
        # The CLI applies Pulumi.yaml's defaults to every stack: a default configures nothing.
        default = _declared_default(key)
        if value is not None and value != default:
            raise refuse(key, SECRET_PLACEHOLDER if key == "sshPublicKey" else value,
                        f"unset{f' or {default}' if default else ''} when lab is false: it configures the lab's "
                        "network and hosts, which are not created")


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
    "lab": ("boolean", "Create the lab's network and hosts and put a flow log on its VPC", True),
    "flowLogTargets": ("array", "Existing VPCs, subnets, ENIs and transit gateways (or VPCs by tag) to log", []),
    "destinations": ("array", "Where flow logs deliver: cloud-watch-logs and/or s3", None),
    "internalCidr": ("string", "Range monitoring counts as inside (external SSH); defaults to vpcCidr", None),
})


def _hardening(reader: _Reader) -> dict[str, Any]:
    """The hosts and alerting keys, as Settings fields."""
    ami_id = reader.raw("amiId")
    if ami_id is not None and not re.fullmatch(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})", ami_id):
        raise refuse("amiId", ami_id, "an AMI ID such as ami-0123456789abcdef0, or empty to look it up")
    return {"ami_id": ami_id, "public_hosts": reader.boolean("publicHosts", default=True),
            "encrypt_alarm_topic": reader.boolean("encryptAlarmTopic", default=False)}


def settings_from_config(stack: str, values: Mapping[str, str], secret_keys: frozenset[str] = frozenset()) -> Settings:
    """Validate a raw config map (`namespace:key` -> string, objects as JSON) into `Settings`.

    `secret_keys` are the keys whose values are decrypted secrets: no refusal quotes them.
    """
    unknown = sorted(k for k in values if k.startswith(f"{PROJECT}:") and k.split(":", 1)[1] not in CONFIG_KEYS)
    if unknown:
        raise pulumi.RunError(f"config {unknown[0]} is not a known key: use one of " + ", ".join(CONFIG_KEYS))
    reader = _Reader(values)
    region = values.get("aws:region") or ""
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
        raise pulumi.RunError(f"config aws:region = {shown(region or None)} is invalid: "
                              "set it to an AWS region such as ap-northeast-1")
    lab = reader.boolean("lab", default=True)
    if not lab:
        _lab_keys_absent(reader)
    vpc = _vpc(reader) if lab else None
    log_format, log_fields = _log_format(reader)
    targets = _targets(reader, lab)
    aggregation_interval = reader.choice("aggregationInterval", AGGREGATION_INTERVALS, 600, int)
    # The lab's own VPC is a target too, a VPC one.
    lab_target = (FlowLogTarget("vpcId", "the lab's VPC"),) if lab else ()
    _targets_fit(lab_target + targets, log_fields, aggregation_interval, log_format)
    destinations = _destinations(reader)
    monitoring = _monitoring(reader, "alertEmails" in secret_keys)
    internal_cidr = reader.raw("internalCidr")
    if internal_cidr is not None:
        internal_cidr = str(_network("internalCidr", internal_cidr))
    if monitoring.enabled and not any(d.type == CLOUD_WATCH_LOGS for d in destinations):
        raise refuse("monitoring", "true", f"false when destinations has no {CLOUD_WATCH_LOGS} entry: metric "
                                          "filters and queries read the CloudWatch Logs group")
    if monitoring.enabled and not lab and internal_cidr is None:
        raise refuse("internalCidr", None, "a CIDR block monitoring counts as inside (e.g. 10.0.0.0/8) when lab is "
                                          "false, or set monitoring to false")
    kms_key_arn = _kms_key_arn(reader)
    create_kms_key = reader.boolean("createLogKmsKey", default=False)
    if kms_key_arn and create_kms_key:
        raise refuse("createLogKmsKey", "true", "false when logKmsKeyArn is set (use one or the other)")
    if create_kms_key and not any(d.type == CLOUD_WATCH_LOGS for d in destinations):
        raise refuse("createLogKmsKey", "true", f"false without a {CLOUD_WATCH_LOGS} destination, whose component "
                                               "owns the key; give logKmsKeyArn to encrypt an s3 bucket")
    ssh_public_key = reader.raw("sshPublicKey")
    key_pair_name = reader.raw("keyPairName")
    if ssh_public_key and key_pair_name:
        raise refuse("keyPairName", key_pair_name, "unset when sshPublicKey is set (use one or the other)")
    if ssh_public_key:
        check_ssh_public_key(ssh_public_key)
    if key_pair_name:
        check_key_pair_name("keyPairName", key_pair_name, secret="keyPairName" in secret_keys)
    instance_type = reader.raw("instanceType") or "t3.micro"
    if lab:
        check_instance_type(instance_type)
    ssh_allowed_cidrs = _cidr_list(reader, "sshAllowedCidrs", None) if lab else ()
    http_allowed_cidrs = _cidr_list(reader, "httpAllowedCidrs", ["0.0.0.0/0"]) if lab else ()
    check_ingress_rule_count({"sshAllowedCidrs": ssh_allowed_cidrs, "httpAllowedCidrs": http_allowed_cidrs})
    return Settings(
        stack=stack,
        region=region,
        lab=lab,
        vpc_cidr=str(vpc) if vpc else None,
        subnet_cidrs=_subnets(reader, vpc) if vpc else (),
        ssh_allowed_cidrs=ssh_allowed_cidrs,
        http_allowed_cidrs=http_allowed_cidrs,
        instance_type=instance_type,
        traffic_type=reader.choice("trafficType", TRAFFIC_TYPES, "ALL"),
        aggregation_interval=aggregation_interval,
        log_retention_days=reader.choice("logRetentionDays", RETENTION_DAYS, 30, int),
        log_format=log_format,
        log_fields=log_fields,
        log_kms_key_arn=kms_key_arn,
        create_log_kms_key=create_kms_key,
        protect_logs=reader.boolean("protectLogs", default=False),
        tags=_tags(reader, "tags" in secret_keys),
        ssh_public_key=ssh_public_key,
        key_pair_name=key_pair_name,
        monitoring=monitoring,
        flow_log_targets=targets,
        destinations=destinations,
        internal_cidr=internal_cidr,
        **_hardening(reader),
    )


def load_settings() -> Settings:
    """Settings of the running stack, read from Pulumi config; secret values stay secret.

    Every value of a key the stack marks secret (a whole `secure:` value, or one nested in it)
    reaches the resources as a secret output, so the state holds it encrypted.
    """
    values = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}

    def is_secret(key: str) -> bool:
        return pulumi.runtime.is_config_secret(f"{PROJECT}:{key}")
    settings = settings_from_config(pulumi.get_stack(), values, frozenset(filter(is_secret, CONFIG_KEYS)))
    return secrets_kept(settings, is_secret)


def secrets_kept(settings: Settings, is_secret: Callable[[str], bool]) -> Settings:
    """`settings` with the values of each secret key wrapped in `pulumi.Output.secret`."""
    changes: dict[str, Any] = {}
    for key, name in (("sshPublicKey", "ssh_public_key"), ("keyPairName", "key_pair_name")):
        if getattr(settings, name) and is_secret(key):
            changes[name] = pulumi.Output.secret(getattr(settings, name))
    if settings.tags and is_secret("tags"):
        # Tag names stay plain (a resource's tags map cannot be one secret); their values do not.
        changes["tags"] = MappingProxyType({name: pulumi.Output.secret(value) for name, value in settings.tags.items()})
    if settings.monitoring.alert_emails and is_secret("alertEmails"):
        changes["monitoring"] = replace(settings.monitoring, alert_emails_secret=True)
    return replace(settings, **changes)


def config_from_stack_file(path: Path) -> dict[str, str]:
    """A stack file's config exactly as the CLI hands it to the program: `ns:key` -> string.

    Pulumi.yaml's defaults are applied, objects and lists become Go's JSON, and `secure:` values
    are never decrypted: they become SECRET_PLACEHOLDER.
    """
    return dict(resolve_stack_config(path).values)


def secret_keys_of_stack_file(path: Path) -> list[str]:
    """Keys whose values are `secure:` (or hold one) in a stack file."""
    return list(resolve_stack_config(path).secret_keys)


def settings_from_stack_file(path: Path) -> Settings:
    """Settings for a stack file, without the Pulumi engine (for the tools)."""
    return settings_from_config(stack_name_of(path), config_from_stack_file(path))
