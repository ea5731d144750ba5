"""Limits AWS enforces at deploy time, checked when the config is read instead.

Each check raises `pulumi.RunError` in the same form as `config.settings`: the key, the value
(cut short, never a secret or a private key) and what is allowed. `config.settings` calls them
on the values it has already parsed.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import struct
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws as aws

from flowlogs.quoting import cut

PROJECT = "vpc-flow-logs"
SECRET_PLACEHOLDER = "[secret]"
MAX_SHOWN = 200

# EC2 and most services: 50 tags per resource. The program adds Project, Environment and Name.
MAX_TAGS = 50
PROGRAM_TAGS = ("Project", "Environment", "Name")
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
# Letters, digits and spaces in any script, and + - = . _ : / @ (the tagging rules of AWS).
_TAG_TEXT = re.compile(r"^[\w\s+\-=.:/@]*$", re.UNICODE)
# Inbound rules per security group, per IP version (the default VPC quota).
MAX_INGRESS_RULES_PER_VERSION = 60
# CloudWatch: an alarm evaluates at most one day of data (period x evaluation periods).
MAX_ALARM_WINDOW_SECONDS = 86_400
# The key types EC2 ImportKeyPair accepts, as OpenSSH writes them.
SSH_KEY_TYPES = ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
INSTANCE_TYPES = frozenset(member.value for member in aws.ec2.InstanceType)


def shown(value: Any) -> str:
    """A value as an error quotes it: JSON, secrets hidden, cut at MAX_SHOWN characters."""
    text = SECRET_PLACEHOLDER if value == SECRET_PLACEHOLDER else json.dumps(value)
    return cut(text, MAX_SHOWN)


def refuse(key: str, value: Any, allowed: str, quoted: str | None = None) -> pulumi.RunError:
    """The error for `key`: its value (or `quoted` in its place) and what is allowed."""
    return pulumi.RunError(f"config {PROJECT}:{key} = {quoted or shown(value)} is invalid: {allowed}")


def check_tags(tags: Mapping[str, Any]) -> None:
    """At most 50 tags in all, no `aws:` keys, keys up to 128 and values up to 256 allowed characters."""
    key = "tags"
    room = MAX_TAGS - len(PROGRAM_TAGS)
    if len(tags) > room:
        raise refuse(key, None, f"at most {room} tags: AWS allows {MAX_TAGS} per resource and the program adds "
                                f"{', '.join(PROGRAM_TAGS)}", quoted=f"{len(tags)} tags")
    for name, value in tags.items():
        allowed = (f"tag keys of 1 to {MAX_TAG_KEY} and values of up to {MAX_TAG_VALUE} letters, digits, spaces "
                   "and + - = . _ : / @, keys not starting with aws:")
        if not isinstance(value, str):
            raise refuse(f"{key}.{name[:MAX_TAG_KEY]}", value, "a string value")
        # A `secure:` value the tools do not decrypt: the engine's run checks the value itself.
        value_ok = value == SECRET_PLACEHOLDER or (len(value) <= MAX_TAG_VALUE and _TAG_TEXT.match(value))
        if (not 1 <= len(name) <= MAX_TAG_KEY or name.lower().startswith("aws:") or not _TAG_TEXT.match(name)
                or not value_ok):
            raise refuse(f"{key}.{name[:MAX_TAG_KEY]}", value, allowed)


def check_distinct_cidrs(key: str, cidrs: Sequence[str]) -> None:
    """The same block twice is the same rule twice, which AWS refuses as a duplicate."""
    seen: set[Any] = set()
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if network in seen:
            raise refuse(key, list(cidrs), f"{cidr} appears twice; list each block once")
        seen.add(network)


def check_ingress_rule_count(cidrs_by_key: Mapping[str, Sequence[str]]) -> None:
    """All ingress rules share one security group: 60 per IP version."""
    for version in (4, 6):
        count = sum(1 for cidrs in cidrs_by_key.values() for cidr in cidrs
                    if ipaddress.ip_network(cidr, strict=False).version == version)
        if count > MAX_INGRESS_RULES_PER_VERSION:
            keys = ", ".join(cidrs_by_key)
            raise refuse(keys, None, f"at most {MAX_INGRESS_RULES_PER_VERSION} IPv{version} blocks in all, one "
                                      "inbound rule each in the hosts' security group",
                          quoted=f"{count} IPv{version} blocks")


def check_distinct_emails(emails: Sequence[str]) -> None:
    """Each address once (case-insensitively): a second subscription would have the same name."""
    seen: set[str] = set()
    # Addresses the tools cannot decrypt are not known to be the same.
    for email in (email for email in emails if email != SECRET_PLACEHOLDER):
        if email.lower() in seen:
            raise refuse("alertEmails", list(emails), f"{email} appears twice; list each address once")
        seen.add(email.lower())


def check_alarm_window(key: str, raw: Mapping[str, Any], period_seconds: int, evaluation_periods: int) -> None:
    """Whole numbers, not booleans, and no more than a day of data per evaluation."""
    for field in ("periodSeconds", "evaluationPeriods", "threshold"):
        if isinstance(raw.get(field), bool):
            raise refuse(key, dict(raw), f"{field} is a number, not true or false")
    if period_seconds * evaluation_periods > MAX_ALARM_WINDOW_SECONDS:
        raise refuse(key, dict(raw), f"periodSeconds x evaluationPeriods = {period_seconds * evaluation_periods} "
                                      f"s; CloudWatch evaluates at most {MAX_ALARM_WINDOW_SECONDS} s (one day)")


def check_ssh_public_key(value: str) -> None:
    """An OpenSSH public key line of a type EC2 imports; a private key is refused and never shown."""
    key = "sshPublicKey"
    if value == SECRET_PLACEHOLDER:
        return  # a secret the tools do not decrypt; the engine checks the decrypted value
    if "PRIVATE KEY" in value:
        raise refuse(key, None, "a PUBLIC key (the contents of ~/.ssh/id_ed25519.pub). This looks like a private "
                                 "key: do not paste it anywhere, and consider it exposed", quoted="[not shown]")
    allowed = ("an OpenSSH public key line, '<type> <base64> [comment]', of type " + ", ".join(SSH_KEY_TYPES))
    parts = value.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise refuse(key, None, allowed, quoted="[not shown]")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded = blob[4:4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise refuse(key, None, f"{allowed}; its base64 part does not decode", quoted="[not shown]") from None
    if embedded != parts[0]:
        raise refuse(key, None, f"{allowed}; the key says {parts[0]} but encodes {embedded[:40]}",
                      quoted="[not shown]")


def check_instance_type(value: str) -> None:
    """An instance type EC2 has, as pulumi-aws lists them."""
    if value not in INSTANCE_TYPES:
        families = sorted({name.split(".", 1)[0] for name in INSTANCE_TYPES})
        family = value.split(".", 1)[0]
        hint = (f"sizes of {family}: " + ", ".join(sorted(t for t in INSTANCE_TYPES if t.startswith(family + "."))[:12])
                if family in families else "an EC2 instance type such as t3.micro or t4g.small")
        raise refuse("instanceType", value, hint)


def hide_nested_secrets(value: Any) -> tuple[Any, bool]:
    """`value` with every nested `{"secure": ...}` replaced by the placeholder, and whether any was."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        items = {name: hide_nested_secrets(item) for name, item in value.items()}
        return {name: hidden for name, (hidden, _) in items.items()}, any(found for _, found in items.values())
    if isinstance(value, list):
        items = [hide_nested_secrets(item) for item in value]
        return [hidden for hidden, _ in items], any(found for _, found in items)
    return value, False
