"""An evaluator of CloudWatch Logs space-delimited filter patterns, for the subset we generate.

It exists so tests can ask "which records would CloudWatch count?" without AWS. It is written
from CloudWatch's documented pattern syntax, independently of `flowlogs.patterns`, and refuses
(`UnsupportedPattern`) anything outside this subset rather than guessing:

- a pattern is `[term, term, ...]`: one term per record field, in order; no `...`, so the
  record must have exactly as many fields as the pattern has terms;
- a term is a bare `name`, or conditions on that name joined by `&&` (no `||`, no parentheses);
- a condition is `name=value` or `name!=value` with a string value, double-quoted (`\\"` and `\\\\`
  escapes) or bare, where `*` matches any run of characters; or `name<op>number` with an
  integer or decimal and op one of `=`, `<`, `<=`, `>`, `>=`, true only when the field is a number;
- no regular expressions (`%...%`), no JSON or term patterns.

Records are split on whitespace. CloudWatch also keeps "quoted" and [bracketed] text of a log
line together as one field; flow-log records never contain either, so lines that do are refused.
A match publishes the metric value (`1`, a number, or `$name`, only when that field is numeric)
with dimensions `{"Dim": "$name"}` taken from the matched fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional

_NAME = r"[A-Za-z0-9_-]+"
_CONDITION = re.compile(rf'^({_NAME})\s*(!=|<=|>=|=|<|>)\s*("(?:[^"\\]|\\.)*"|[^\s"&|]+)$')
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_NUMERIC_OPERATORS = {"=": float.__eq__, "<": float.__lt__, "<=": float.__le__,
                      ">": float.__gt__, ">=": float.__ge__}


class UnsupportedPattern(ValueError):
    """A pattern or record outside the subset this evaluator implements."""


@dataclass(frozen=True)
class Condition:
    operator: str
    value: str
    numeric: bool

    def holds(self, field_value: str) -> bool:
        if self.numeric:
            return bool(_NUMBER.match(field_value)) and _NUMERIC_OPERATORS[self.operator](
                float(field_value), float(self.value))
        matched = _glob(self.value).fullmatch(field_value) is not None
        return matched if self.operator == "=" else not matched


@dataclass(frozen=True)
class Term:
    name: str
    conditions: tuple[Condition, ...]


def _glob(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.DOTALL)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, in_quote, i = [], "", False, 0
    while i < len(text):
        char = text[i]
        if in_quote and char == "\\":
            current += text[i:i + 2]
            i += 2
            continue
        if char == '"':
            in_quote = not in_quote
        if not in_quote and text.startswith(separator, i):
            parts.append(current)
            current, i = "", i + len(separator)
            continue
        current += char
        i += 1
    if in_quote:
        raise UnsupportedPattern(f"unterminated quote in {text!r}")
    return parts + [current]


def _condition(text: str) -> tuple[str, Condition]:
    match = _CONDITION.match(text.strip())
    if not match:
        raise UnsupportedPattern(f"not a condition of the supported subset: {text.strip()!r}")
    name, operator, raw = match.groups()
    if raw.startswith("%"):
        raise UnsupportedPattern(f"regular expressions are not supported: {text.strip()!r}")
    if raw.startswith('"'):
        value, numeric = re.sub(r"\\(.)", r"\1", raw[1:-1]), False
    else:
        value, numeric = raw, bool(_NUMBER.match(raw))
    if numeric and operator not in _NUMERIC_OPERATORS:
        raise UnsupportedPattern(f"numeric {operator} is not supported: {text.strip()!r}")
    if not numeric and operator not in ("=", "!="):
        raise UnsupportedPattern(f"string {operator} is not supported: {text.strip()!r}")
    return name, Condition(operator, value, numeric)


def _term(text: str) -> Term:
    text = text.strip()
    if text == "...":
        raise UnsupportedPattern("'...' is not supported")
    if re.fullmatch(_NAME, text):
        return Term(text, ())
    if len(_split_outside_quotes(text, "||")) > 1:
        raise UnsupportedPattern(f"'||' is not supported: {text!r}")
    parsed = [_condition(part) for part in _split_outside_quotes(text, "&&")]
    names = {name for name, _ in parsed}
    if len(names) != 1:
        raise UnsupportedPattern(f"conditions of one term must name one field: {text!r}")
    return Term(names.pop(), tuple(condition for _, condition in parsed))


def parse(pattern: str) -> tuple[Term, ...]:
    """The terms of a bracketed space-delimited pattern."""
    text = pattern.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise UnsupportedPattern(f"not a space-delimited pattern: {pattern!r}")
    terms = tuple(_term(part) for part in _split_outside_quotes(text[1:-1], ","))
    names = [term.name for term in terms]
    if len(set(names)) != len(names):
        raise UnsupportedPattern(f"a field is named twice in {pattern!r}")
    return terms


def captures(pattern: str, line: str) -> Optional[dict[str, str]]:
    """The record's fields by pattern name when the pattern matches the line, else None."""
    if '"' in line or "[" in line:
        raise UnsupportedPattern(f"quoted or bracketed record text is not supported: {line!r}")
    terms = parse(pattern)
    values = line.split()
    if len(values) != len(terms):
        return None
    if all(condition.holds(value) for term, value in zip(terms, values) for condition in term.conditions):
        return {term.name: value for term, value in zip(terms, values)}
    return None


def matches(pattern: str, line: str) -> bool:
    return captures(pattern, line) is not None


@dataclass(frozen=True)
class Published:
    value: float
    dimensions: Mapping[str, str]


def published(pattern: str, value: str, dimensions: Mapping[str, str], line: str) -> Optional[Published]:
    """What a metric filter publishes for one record: nothing, or a value with dimensions."""
    fields = captures(pattern, line)
    if fields is None:
        return None

    def resolve(reference: str) -> str:
        if not reference.startswith("$"):
            return reference
        if reference[1:] not in fields:
            raise UnsupportedPattern(f"{reference} names no field of {pattern!r}")
        return fields[reference[1:]]

    number = resolve(value)
    if not _NUMBER.match(number):
        return None
    return Published(float(number), {name: resolve(ref) for name, ref in dimensions.items()})
