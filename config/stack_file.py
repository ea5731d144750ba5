"""Stack files read the way the Pulumi CLI reads them, or refused with the file, line and key.

The CLI parses `Pulumi.<stack>.yaml` with Go's yaml.v3, which follows YAML 1.2: `yes`, `on` and
`1:00` are strings, not a bool and 60; dates stay strings; there are no sexagesimal numbers.
A plain scalar is typed as yaml.v3 types it (ints in Go's base-0 syntax, floats, true/false,
null) and reaches the program as Go's JSON writes it; a quoted one arrives as written. A list or
an object reaches the program as JSON, keys sorted (`go_json`).

The file is read from PyYAML's event stream, without recursion, so that every input ends in a
`pulumi.RunError` and never in a traceback: invalid UTF-8, explicit tags (`!!binary`, `!!set`,
...), keys that are not strings, duplicate keys, nesting deeper than `MAX_DEPTH`, infinities
and NaN (JSON has neither) and aliases that expand beyond `MAX_EXPANDED_NODES` (an alias bomb
is refused after reading its few events, not after expanding it).
"""

from __future__ import annotations

import decimal
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pulumi
import yaml

# Far above any real stack file; they bound the work an adversarial file can cause.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_EXPANDED_NODES = 100_000

# yaml.v3's table of plain scalars with a fixed meaning (YAML 1.2 core schema).
_FIXED: dict[str, Any] = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_BASES = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_DIGITS = {2: set("01"), 8: set("01234567"), 10: set("0123456789"), 16: set("0123456789abcdefABCDEF")}
_INT64 = (-2**63, 2**63 - 1)
_UINT64_MAX = 2**64 - 1


class _Refused(Exception):
    """A stack file the CLI would not read, or that this project will not read."""


class StackFileError(pulumi.RunError):
    """A stack or project file that cannot be read; the message names the file once."""


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint: None where Go fails."""
    sign, digits = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    base = _GO_BASES.get(digits[:2])
    if base:
        digits = digits[2:]
    elif len(digits) > 1 and digits.startswith("0"):
        base, digits = 8, digits[1:]
    else:
        base = 10
    if not digits or len(digits) > 70 or not set(digits) <= _DIGITS[base]:
        return None
    value = int(digits, base) * (-1 if sign == "-" else 1)
    if _INT64[0] <= value <= _INT64[1] or (sign == "" and value <= _UINT64_MAX):
        return value
    return None


def resolve_plain(text: str) -> Any:
    """A plain (unquoted, untagged) scalar as yaml.v3 types it when decoding into interface{}."""
    if text in _FIXED:
        return _FIXED[text]
    if text[:1] == ".":
        return _go_float(text, text)
    if text[:1] in "+-0123456789":
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return number
        if _GO_FLOAT.match(plain):
            return _go_float(plain, text)
    return text


def _go_float(text: str, original: str) -> Any:
    """strconv.ParseFloat: out of range (`1e400`) is an error, so yaml.v3 keeps the string."""
    try:
        value = float(text)
    except ValueError:
        return original
    return original if math.isinf(value) else value


def _json_float(number: float) -> str:
    """A float64 as Go's encoding/json writes it: shortest digits, exponent only below 1e-6 or from 1e21."""
    if number == 0:
        # The CLI writes the stack back as YAML and reads it again: -0.0 comes back as the integer 0.
        return "0"
    if 1e-6 <= abs(number) < 1e21:
        text = format(decimal.Decimal(repr(number)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    sign, digits, exponent = decimal.Decimal(repr(number)).normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    power = exponent + len(mantissa) - 1
    head = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    # 'e' with two exponent digits at least, then Go trims the zero of e-07 (but not of e+07).
    written = f"{abs(power):02d}"
    if power < 0 and len(written) == 2 and written[0] == "0":
        written = written[1:]
    return f"{'-' if sign else ''}{head}e{'-' if power < 0 else '+'}{written}"


# Characters Go's json.Marshal escapes that Python's json.dumps keeps (HTML-safe output).
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(value: Any) -> str:
    """`json.Marshal` of a config value: map keys sorted, no spaces, HTML characters escaped."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_json(key)}:{go_json(value[key])}" for key in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return "".join(_GO_ESCAPES.get(char, char) for char in text)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return _json_float(value)
    return str(value)


# A plain scalar yaml.v3 may read as a timestamp (four digits and a dash first, then a date).
_SURROGATE = re.compile("[\ud800-\udfff]")
_TIMESTAMP_LIKE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")


def config_scalar(text: str, plain: bool) -> str:
    """A scalar right under `config:` as the program receives it.

    A quoted scalar arrives as written. A plain one is typed as yaml.v3 types it and written back
    as Go's JSON: `0x10` arrives as 16, `True` as true, `60.0` as 60, `1_000` as 1000, null as empty.
    """
    if not plain:
        return text
    value = resolve_plain(text)
    if value is None:
        return ""
    if isinstance(value, str):
        if _TIMESTAMP_LIKE.match(text):
            # The CLI turns an unquoted date into a Go time ("2024-01-01 00:00:00 +0000 UTC").
            raise _Refused(f"{text[:40]} is an unquoted date, which the CLI rewrites as a Go timestamp; quote it")
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(f"{text[:40]} is not a finite number, which the CLI cannot read; quote it")
    return go_json(value)


@dataclass
class _Node:
    """A mapping or sequence being built, with its expanded size so far."""

    value: Any
    where: str
    anchor: str | None
    size: int = 1
    key: Any = None
    has_key: bool = False


def _events(path: Path) -> Iterator[yaml.Event]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _Refused(error.strerror) from None
    if len(data) > MAX_BYTES:
        raise _Refused(f"the stack file is {len(data)} bytes; stack files are at most {MAX_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _Refused(f"line {line}: not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})") from None
    return yaml.parse(text, Loader=yaml.SafeLoader)


def _document(path: Path, config_scalars_as_text: bool = True) -> Any:
    """The first YAML document of the file, built from its events.

    With `config_scalars_as_text` (stack files), a scalar right under `config:` is kept as its text.
    """
    stack: list[_Node] = []
    anchors: dict[str, tuple[Any, int]] = {}
    total = 0  # values in the document, each alias counted as the values it stands for
    result: Any = None

    def where_next() -> str:
        if not stack:
            return ""
        parent = stack[-1]
        if isinstance(parent.value, list):
            return f"[{len(parent.value)}]"
        if not parent.has_key:
            return ""
        return f".{parent.key}" if len(stack) > 1 else str(parent.key)

    def here() -> str:
        """Where the next value goes, as `config.vpc-flow-logs:tags.Owner`."""
        return "".join(node.where for node in stack) + where_next() or "the document"

    def count(size: int) -> None:
        nonlocal total
        total += size
        if total > MAX_EXPANDED_NODES:
            raise _Refused(f"{here()}: the document (aliases expanded) holds more than "
                           f"{MAX_EXPANDED_NODES} values")

    def place(value: Any, size: int, is_scalar: bool, text: str | None = None) -> None:
        nonlocal result
        if not stack:
            result = value
            return
        if isinstance(value, float) and not math.isfinite(value):
            raise _Refused(f"{here()}: {text} is not a finite number (JSON has no infinity or NaN)")
        parent = stack[-1]
        parent.size += size
        if isinstance(parent.value, list):
            parent.value.append(value)
            return
        if not parent.has_key:
            if not is_scalar or not isinstance(value, str):
                shown = text if text is not None else type(value).__name__
                raise _Refused(f"{here()}: the key {shown!r} is not a string; keys are names such as "
                               "vpc-flow-logs:vpcCidr")
            if value == "<<":
                raise _Refused(f"{here()}: merge keys (<<) are not supported in stack files")
            if value in parent.value:
                raise _Refused(f"{here()}: the key {value!r} appears twice")
            parent.key, parent.has_key = value, True
            return
        parent.value[parent.key] = value
        parent.has_key = False

    def build(event: yaml.Event) -> None:
        if getattr(event, "tag", None) is not None:
            raise _Refused(f"{here()}: the explicit tag {event.tag} is not used in stack files; "
                           "write plain strings, numbers, lists and objects")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise _Refused(f"{here()}: nested deeper than {MAX_DEPTH} levels")
            if stack and isinstance(stack[-1].value, dict) and not stack[-1].has_key:
                raise _Refused(f"{here()}: a key is a list or an object; keys are strings")
            count(1)
            container = {} if isinstance(event, yaml.MappingStartEvent) else []
            stack.append(_Node(container, where_next(), event.anchor))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            node = stack.pop()
            if node.anchor is not None:
                anchors[node.anchor] = (node.value, node.size)
            place(node.value, node.size, is_scalar=False)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise _Refused(f"{here()}: the alias *{event.anchor} refers to no complete anchor")
            value, size = anchors[event.anchor]
            count(size)
            place(value, size, is_scalar=not isinstance(value, (dict, list)), text=f"*{event.anchor}")
        elif isinstance(event, yaml.ScalarEvent):
            if _SURROGATE.search(event.value):
                # Only an escape such as "\ud800" makes one (UTF-8 cannot); yaml.v3 refuses it.
                raise _Refused(f"{here()}: an escape for a UTF-16 surrogate (\\ud800 to \\udfff) is not a character; "
                               "write the character itself")
            plain = event.style is None and event.implicit[0]
            at_config_value = (config_scalars_as_text and len(stack) == 2 and isinstance(stack[-1].value, dict) and stack[-1].has_key
                               and stack[0].key == "config")
            if at_config_value:
                try:
                    value = config_scalar(event.value, plain)
                except _Refused as error:
                    raise _Refused(f"{here()}: {error}") from None
            else:
                value = resolve_plain(event.value) if plain else event.value
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1)
            count(1)
            place(value, 1, is_scalar=True, text=event.value[:40])

    events = _events(path)
    while True:
        try:
            event = next(events)
        except StopIteration:
            break
        except yaml.YAMLError as error:
            raise _Refused(f"{_yaml_problem(error)} (reading {here()})") from None
        if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentStartEvent)):
            continue
        if isinstance(event, (yaml.DocumentEndEvent, yaml.StreamEndEvent)):
            break
        try:
            build(event)
        except _Refused as error:
            raise _Refused(f"line {event.start_mark.line + 1}: {error}") from None
    return result


def read_yaml_file(path: Path, what: str, config_scalars_as_text: bool = True) -> Any:
    """The file's first document as yaml.v3 reads it, or a `StackFileError` naming the file once."""
    try:
        return _document(path, config_scalars_as_text)
    except _Refused as error:
        raise StackFileError(f"{path}: cannot read the {what}: {error}") from None


def read_stack_config(path: Path) -> dict[str, Any]:
    """The stack file's `config` mapping: `ns:key` -> a string, or the list/object written there."""
    document = read_yaml_file(path, "stack file")
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: expected a top-level 'config' mapping")
    return config


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's error without the source excerpt, which may quote a secret or a huge line."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"{where}{error.problem or error.context}"
    return str(error).splitlines()[0]
