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
import struct
import unicodedata
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws as aws
from email_validator import EmailNotValidError, validate_email

from flowlogs.quoting import cut

PROJECT = "vpc-flow-logs"
SECRET_PLACEHOLDER = "[secret]"
MAX_SHOWN = 200

# EC2 and most services: 50 tags per resource. The program adds Project, Environment and Name.
MAX_TAGS = 50
PROGRAM_TAGS = ("Project", "Environment", "Name")
# The program sets these on every resource itself; a configured one would be overwritten.
PROGRAM_SET_TAGS = ("Project", "Environment")
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
# EC2 and IAM tags: letters and digits in any script, spaces, and + - = . _ : / @. Newlines,
# tabs and other control or format characters are refused.
TAG_PUNCTUATION = frozenset("+-=._:/@")
TAG_CHARACTERS = "letters, digits, spaces and + - = . _ : / @"
# EC2 key pair names (CreateKeyPair, ImportKeyPair): up to 255 ASCII characters.
MAX_KEY_PAIR_NAME = 255
# Amazon Linux 2023 does not support A1 instances (AWS CDK's EcsMachineImageType.ECS_AL2023,
# https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_batch.EcsMachineImageType.html):
# its arm64 image needs Graviton2 or later.
AL2023_UNSUPPORTED_FAMILIES = ("a1",)
AL2023_ARM64_FAMILIES_EXAMPLE = "t4g, m6g, c6g, r6g, m7g, c7g, m8g"
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


def refuse(key: str, value: Any, allowed: str, quoted: str | None = None, secret: bool = False) -> pulumi.RunError:
    """The error for `key`: its value (or `quoted`, or the placeholder for a secret, in its place) and what is allowed."""
    shown_value = SECRET_PLACEHOLDER if secret else quoted or shown(value)
    return pulumi.RunError(f"config {PROJECT}:{key} = {shown_value} is invalid: {allowed}")


def _tag_character_problem(text: str) -> str | None:
    """Where `text` has a character EC2 or IAM refuse in tags, as `U+000A at position 4`."""
    for position, character in enumerate(text, start=1):
        category = unicodedata.category(character)
        if not (category[0] in "LN" or category == "Zs" or character in TAG_PUNCTUATION):
            described = unicodedata.name(character, "a control character" if category == "Cc" else category)
            return f"U+{ord(character):04X} ({described}) at position {position}"
    return None


def check_tag_text(key: str, name: str, value: Any, secret: bool = False) -> None:
    """One tag as EC2 and IAM take it: the key 1 to 128 and the value up to 256 allowed characters.

    A `secret` value is never quoted: the refusal shows the placeholder.
    """
    allowed = (f"tag keys of 1 to {MAX_TAG_KEY} and values of up to {MAX_TAG_VALUE} {TAG_CHARACTERS}, "
               "keys not starting with aws:")
    if not isinstance(value, str):
        raise refuse(key, value, "a string value", secret=secret)
    if not 1 <= len(name) <= MAX_TAG_KEY or name.lower().startswith("aws:"):
        raise refuse(key, value, allowed, secret=secret)
    # A `secure:` value the tools do not decrypt: the engine's run checks the value itself.
    if value != SECRET_PLACEHOLDER and len(value) > MAX_TAG_VALUE:
        raise refuse(key, value, allowed, secret=secret)
    for part, text in (("key", name), ("value", None if value == SECRET_PLACEHOLDER else value)):
        problem = text is not None and _tag_character_problem(text)
        if problem:
            raise refuse(key, value, f"{allowed}; the {part} has {problem}", secret=secret)


def check_distinct_tag_keys(key: str, names: Sequence[str], program_tags: Sequence[str] = PROGRAM_TAGS) -> None:
    """Tag keys differing only in case, among themselves or with the program's: IAM refuses them.

    IAM compares tag keys case-insensitively, and the same tags go to the stack's IAM roles.
    """
    seen = {tag.lower(): tag for tag in program_tags}
    for name in names:
        other = seen.get(name.lower())
        if other is not None and other != name:
            raise refuse(f"{key}.{name[:MAX_TAG_KEY]}", name,
                         f"a tag key that differs from {other} in more than case: IAM treats tag keys "
                         f"case-insensitively, so {name} and {other} on one IAM role would be refused")
        seen[name.lower()] = name


def check_tags(tags: Mapping[str, Any], key: str = "tags", secret_values: bool = False) -> None:
    """At most 50 tags in all, allowed characters, and no two keys the same but for case.

    `key` is where the tags come from, a config key or a component's property path; with
    `secret_values` no refusal quotes a value (the names are never secret).
    """
    room = MAX_TAGS - len(PROGRAM_TAGS)
    if len(tags) > room:
        raise refuse(key, None, f"at most {room} tags: AWS allows {MAX_TAGS} per resource and the program adds "
                                f"{', '.join(PROGRAM_TAGS)}", quoted=f"{len(tags)} tags")
    for name, value in tags.items():
        check_tag_text(f"{key}.{name[:MAX_TAG_KEY]}", name, value, secret=secret_values)
        if name in PROGRAM_SET_TAGS:
            raise refuse(f"{key}.{name}", value, 'an object of string tags, e.g. {"Owner": "platform"}; Project '
                                                 "and Environment are set for you", secret=secret_values)
    check_distinct_tag_keys(key, list(tags))


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


def check_distinct_emails(emails: Sequence[str], secret: bool = False) -> None:
    """Each address once (case-insensitively): a second subscription would have the same name."""
    seen: set[str] = set()
    # Addresses the tools cannot decrypt are not known to be the same.
    for index, email in enumerate(emails):
        if email != SECRET_PLACEHOLDER and email.lower() in seen:
            if secret:
                raise refuse(f"alertEmails[{index}]", None, "each address once: this one is listed twice",
                             secret=True)
            raise refuse("alertEmails", list(emails), f"{email} appears twice; list each address once")
        seen.add(email.lower())


def check_email(key: str, value: Any, secret: bool = False) -> None:
    """An address SNS can subscribe and deliver to: a plain addr-spec, no display name or brackets.

    email-validator checks the syntax only (check_deliverability=False): no DNS is queried. A
    `secret` address is never quoted, nor is email-validator's reason, which may quote part of it.
    """
    allowed = 'an e-mail address such as "ops@example.com"'
    if value == SECRET_PLACEHOLDER:
        return  # a secret the tools do not decrypt; the engine checks the decrypted value
    if not isinstance(value, str):
        raise refuse(key, value, allowed, secret=secret)
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        reason = "a plain address, no display name, brackets or repeated dots" if secret else str(error)
        raise refuse(key, value, f"{allowed}, which SNS can confirm: {reason}", secret=secret) from None


def check_key_pair_name(key: str, value: Any, secret: bool = False) -> None:
    """The name of an EC2 key pair: 1 to 255 ASCII characters; a `secret` name is never quoted."""
    if value == SECRET_PLACEHOLDER:
        return  # a secret the tools do not decrypt; the engine checks the decrypted value
    if (not isinstance(value, str) or not 1 <= len(value) <= MAX_KEY_PAIR_NAME
            or not all(" " <= character <= "~" for character in value)):
        length = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise refuse(key, value, f"the name of an existing EC2 key pair: 1 to {MAX_KEY_PAIR_NAME} printable ASCII "
                                 f"characters (this one: {length})", secret=secret)


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


def check_instance_type(value: str, key: str = "instanceType") -> None:
    """An instance type EC2 has, as pulumi-aws lists them, that Amazon Linux 2023 (the hosts' image) runs on."""
    family = value.split(".", 1)[0]
    if family in AL2023_UNSUPPORTED_FAMILIES:
        raise refuse(key, value, "an instance type Amazon Linux 2023 supports: the hosts run Amazon Linux 2023 "
                                 f"(their setup is written for it), which does not support {family.upper()} "
                                 f"instances; use a Graviton2 or later arm64 family ({AL2023_ARM64_FAMILIES_EXAMPLE}) "
                                 "or an x86_64 family such as t3")
    if value not in INSTANCE_TYPES:
        families = sorted({name.split(".", 1)[0] for name in INSTANCE_TYPES})
        hint = (f"sizes of {family}: " + ", ".join(sorted(t for t in INSTANCE_TYPES if t.startswith(family + "."))[:12])
                if family in families else "an EC2 instance type such as t3.micro or t4g.small")
        raise refuse(key, value, hint)


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
