"""An evaluator of CloudWatch Logs Insights queries, for the subset the program writes.

It exists so tests can ask "which rows would this saved query or dashboard table show?"
without AWS. It is written from the Logs Insights query syntax reference, independently of
`flowlogs.patterns`, and refuses (`UnsupportedQuery`) anything outside this subset:

- commands joined by `|`: an optional leading `SOURCE '<group>'` (dashboard widgets), then
  `parse @message "<glob>" as f1, f2, ...`, `filter <condition>`, `stats <aggregates> by f1, ...`,
  `sort <field> asc|desc`, `limit <n>`;
- a glob is literal text with `*` wildcards, one per field named after `as`, matched against
  the whole message; a message it does not match yields no fields (and so fails filters);
- a condition is comparisons `field = value` / `field != value` (a double-quoted string or an
  integer), `isIpv4InSubnet(field, "cidr")`, `not <condition>`, joined by `and`;
  numbers compare numerically with fields that hold a number, never equal otherwise; a
  comparison on a field the record lacks is false (`!=` too), as Logs Insights drops it;
- aggregates are `count(*) as name`, and `sum`, `min` or `max(field) as name`; they skip
  non-numeric values.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

Row = dict[str, object]
Predicate = Callable[[Row], bool]


class UnsupportedQuery(ValueError):
    """A query outside the subset this evaluator implements."""


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quote = [], "", ""
    for char in text:
        if char in "\"'" and quote in ("", char):
            quote = "" if quote else char
        if char == separator and not quote:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if quote:
        raise UnsupportedQuery(f"unterminated quote in {text!r}")
    return parts + [current.strip()]


def _number(value: object) -> Optional[int]:
    return int(value) if isinstance(value, str) and re.fullmatch(r"-?\d+", value) else None


# filter conditions

_COMPARISON = re.compile(r'^([A-Za-z_@][\w.]*)\s*(!=|=)\s*("(?:[^"\\]|\\.)*"|-?\d+)$')
_SUBNET = re.compile(r'^isIpv4InSubnet\(\s*([A-Za-z_][\w.]*)\s*,\s*"([^"]+)"\s*\)$')


def _comparison(text: str) -> Predicate:
    match = _COMPARISON.match(text)
    if match:
        name, operator, literal = match.groups()

        def equal(row: Row) -> bool:
            value = row[name]
            if literal.startswith('"'):
                return value == literal[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            return _number(value) == int(literal)

        if operator == "=":
            return lambda row: name in row and equal(row)
        return lambda row: name in row and not equal(row)
    match = _SUBNET.match(text)
    if match:
        name, cidr = match.groups()
        network = ipaddress.IPv4Network(cidr, strict=True)

        def inside(row: Row) -> bool:
            try:
                return ipaddress.IPv4Address(str(row[name])) in network
            except (KeyError, ValueError):
                return False
        return inside
    raise UnsupportedQuery(f"condition {text!r}")


def condition(text: str) -> Predicate:
    """`a and not b and ...`: the conjunction of (possibly negated) comparisons."""
    if re.search(r"\bor\b", text):
        raise UnsupportedQuery(f"only `and` joins conditions here: {text!r}")
    predicates = []
    for part in re.split(r"\s+and\s+", text.strip()):
        negated = part.startswith("not ")
        predicate = _comparison(part[4:].strip() if negated else part)
        predicates.append((lambda p: lambda row: not p(row))(predicate) if negated else predicate)
    return lambda row: all(predicate(row) for predicate in predicates)


# commands

@dataclass
class Query:
    source: Optional[str]
    steps: list[Callable[[list[Row]], list[Row]]]
    parse_names: tuple[str, ...]

    def run(self, messages: Iterable[str], log_group: Optional[str] = None) -> list[Row]:
        if self.source is not None and log_group is not None and self.source != log_group:
            return []
        rows: list[Row] = [{"@message": message} for message in messages]
        for step in self.steps:
            rows = step(rows)
        return rows


def _parse_step(glob: str, names: list[str]) -> Callable[[list[Row]], list[Row]]:
    if glob.count("*") != len(names):
        raise UnsupportedQuery(f"{glob.count('*')} wildcards for {len(names)} names")
    pattern = re.compile("^" + "(.*?)".join(re.escape(part) for part in glob.split("*")) + "$", re.DOTALL)

    def step(rows: list[Row]) -> list[Row]:
        parsed = []
        for row in rows:
            match = pattern.match(str(row["@message"]))
            parsed.append({**row, **dict(zip(names, match.groups()))} if match else dict(row))
        return parsed
    return step


def _stats_step(text: str) -> Callable[[list[Row]], list[Row]]:
    match = re.fullmatch(r"(.+?)\s+by\s+(.+)", text)
    if not match:
        raise UnsupportedQuery(f"stats without `by`: {text!r}")
    aggregates_text, keys_text = match.groups()
    keys = [key.strip() for key in keys_text.split(",")]
    aggregates = []
    for aggregate in _split_outside_quotes(aggregates_text, ","):
        found = re.fullmatch(r"(count|sum|min|max)\((\*|[A-Za-z_][\w.]*)\)\s+as\s+([A-Za-z_]\w*)", aggregate)
        if not found or (found.group(1) == "count") != (found.group(2) == "*"):
            raise UnsupportedQuery(f"aggregate {aggregate!r}")
        aggregates.append(found.groups())

    def step(rows: list[Row]) -> list[Row]:
        groups: dict[tuple, list[Row]] = defaultdict(list)
        for row in rows:
            if all(key in row for key in keys):
                groups[tuple(row[key] for key in keys)].append(row)
        result = []
        for values, members in groups.items():
            out: Row = dict(zip(keys, values))
            for function, argument, name in aggregates:
                numbers = [n for n in (_number(m.get(argument)) for m in members) if n is not None]
                if function == "count":
                    out[name] = len(members)
                elif function == "sum":
                    out[name] = sum(numbers)
                else:
                    out[name] = (min if function == "min" else max)(numbers, default=None)
            result.append(out)
        return result
    return step


def _sort_step(text: str) -> Callable[[list[Row]], list[Row]]:
    match = re.fullmatch(r"([A-Za-z_]\w*)\s+(asc|desc)", text)
    if not match:
        raise UnsupportedQuery(f"sort {text!r}")
    name, direction = match.groups()
    # Stable, as the tests then compare whole tables: ties keep their first-seen order.
    return lambda rows: sorted(rows, key=lambda row: row[name], reverse=direction == "desc")


def compile_query(text: str) -> Query:
    commands = _split_outside_quotes(text, "|")
    source = None
    if commands[0].startswith("SOURCE "):
        found = re.fullmatch(r"SOURCE '([^']+)'", commands.pop(0))
        if not found:
            raise UnsupportedQuery(f"source {text!r}")
        source = found.group(1)
    steps: list[Callable[[list[Row]], list[Row]]] = []
    parse_names: tuple[str, ...] = ()
    for command in commands:
        verb, _, rest = command.partition(" ")
        if verb == "parse":
            found = re.fullmatch(r'@message\s+"([^"]*)"\s+as\s+(.+)', rest)
            if not found:
                raise UnsupportedQuery(f"parse {rest!r}")
            names = [name.strip() for name in found.group(2).split(",")]
            parse_names = tuple(names)
            steps.append(_parse_step(found.group(1), names))
        elif verb == "filter":
            predicate = condition(rest)
            steps.append(lambda rows, p=predicate: [row for row in rows if p(row)])
        elif verb == "stats":
            steps.append(_stats_step(rest))
        elif verb == "sort":
            steps.append(_sort_step(rest))
        elif verb == "limit" and rest.isdigit():
            steps.append(lambda rows, n=int(rest): rows[:n])
        else:
            raise UnsupportedQuery(f"command {command!r}")
    return Query(source, steps, parse_names)


def run_query(text: str, messages: Iterable[str], log_group: Optional[str] = None) -> list[Row]:
    """The rows the query returns over `messages` (in `log_group`, for a query with SOURCE)."""
    return compile_query(text).run(messages, log_group)
