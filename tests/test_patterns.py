"""Generated filter patterns and queries, judged by an independent evaluator on real and synthetic records."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.settings import settings_from_stack_file
from flowlogs.fields import DEFAULT_FIELDS, KNOWN_FIELDS, format_string, parse_log_format
from flowlogs.patterns import (BYTES_BY_ACTION, EXTERNAL_SSH, MAX_PATTERN_LENGTH, REJECTED_FLOWS, REJECTED_PACKETS,
                               Condition, MetricFilter, MissingFieldError, PatternTooLongError, UnexpressibleCidrError,
                               _metric_filter, insights_queries, metric_filters, outside_cidr, parse_command,
                               pattern_name, quoted)
from flowlogs.records import ENUMERATED_FIELDS, INTEGER_FIELDS
from tests.cloudwatch_pattern import Published, UnsupportedPattern, matches, parse, published
from tests.conftest import stack_file

LAB_CIDR = "10.0.0.0/16"
# prod's own custom format: the version-2 fields, then v3-v5 context.
PROD_FIELDS = settings_from_stack_file(stack_file("prod")).log_fields
# Only what monitoring needs, reordered, with v3 and v5 fields between.
REORDERED_FIELDS = parse_log_format("${flow-direction} ${action} ${pkt-srcaddr} ${srcaddr} ${dstport} ${tcp-flags} "
                                    "${protocol} ${traffic-path} ${packets} ${dstaddr} ${bytes} ${vpc-id}")
FORMATS = {"default": DEFAULT_FIELDS, "prod": PROD_FIELDS, "reordered": REORDERED_FIELDS}


def by_key(fields: tuple[str, ...], vpc_cidr: str = LAB_CIDR) -> dict[str, MetricFilter]:
    return {f.key: f for f in metric_filters(fields, vpc_cidr)}


def publish(metric_filter: MetricFilter, line: str) -> Optional[Published]:
    return published(metric_filter.pattern, metric_filter.value, metric_filter.dimensions, line)


# Field positions

@pytest.mark.parametrize("format_name", FORMATS)
def test_every_pattern_names_the_formats_fields_in_order(format_name):
    fields = FORMATS[format_name]
    for metric_filter in metric_filters(fields, LAB_CIDR):
        assert [term.name for term in parse(metric_filter.pattern)] == [pattern_name(f) for f in fields], \
            metric_filter.key


@pytest.mark.parametrize("format_name", FORMATS)
def test_conditions_sit_at_their_fields_position(format_name):
    fields = FORMATS[format_name]
    terms = parse(by_key(fields)[EXTERNAL_SSH].pattern)
    constrained = {term.name: [(c.operator, c.value) for c in term.conditions] for term in terms if term.conditions}
    assert constrained == {"srcaddr": [("!=", "10.0.*")], "dstport": [("=", "22")], "protocol": [("=", "6")],
                           "action": [("=", "ACCEPT")]}
    assert terms[fields.index("action")].name == "action"


def test_default_pattern_is_the_documented_shape():
    assert by_key(DEFAULT_FIELDS)[REJECTED_FLOWS].pattern == (
        '[version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, '
        'start, end, action="REJECT", log_status]')


@pytest.mark.parametrize("format_name", FORMATS)
def test_insights_queries_parse_every_field_in_order(format_name):
    fields = FORMATS[format_name]
    expected = parse_command(fields)
    assert expected.count("*") == len(fields)
    assert expected.endswith(" as " + ", ".join(pattern_name(f) for f in fields))
    for query in insights_queries(fields, LAB_CIDR):
        assert query.query.startswith(expected + " | "), query.key


def test_conditions_on_one_field_are_joined_with_and():
    term = next(t for t in by_key(DEFAULT_FIELDS, "10.0.16.0/20")[EXTERNAL_SSH].pattern[1:-1].split(", ")
                if t.startswith("srcaddr"))
    assert term == " && ".join(f'srcaddr!="10.0.{octet}.*"' for octet in range(16, 32))


def test_the_filters_publish_these_metrics_in_these_units():
    assert [(f.key, f.title, f.metric_name, f.unit) for f in metric_filters(DEFAULT_FIELDS, LAB_CIDR)] == [
        (REJECTED_FLOWS, "Rejected flows", "RejectedFlows", "Count"),
        (REJECTED_PACKETS, "Rejected packets", "RejectedPackets", "Count"),
        (EXTERNAL_SSH, "SSH accepted from outside the VPC", "ExternalSshAccepted", "Count"),
        (BYTES_BY_ACTION, "Bytes by action", "Bytes", "Bytes"),
    ]


def test_the_saved_queries_have_these_titles():
    assert [(q.key, q.title) for q in insights_queries(DEFAULT_FIELDS, LAB_CIDR)] == [
        ("summary", "Records by action and status"),
        ("top-talkers", "Top talkers by bytes"),
        ("rejected-by-port", "Rejected traffic by port"),
        ("ssh-sources", "SSH sources outside the VPC"),
    ]


def test_a_pattern_string_escapes_backslashes_and_quotes_and_keeps_wildcards():
    assert quoted('a\\b "c" 10.0.*') == '"a\\\\b \\"c\\" 10.0.*"'


def test_a_pattern_of_exactly_the_longest_length_is_accepted():
    short = _metric_filter(DEFAULT_FIELDS, "probe", "Probe", "Probe", "Count", [Condition("srcaddr", "=", "")])
    padding = "x" * (MAX_PATTERN_LENGTH - len(short.pattern))
    longest = _metric_filter(DEFAULT_FIELDS, "probe", "Probe", "Probe", "Count", [Condition("srcaddr", "=", padding)])
    assert len(longest.pattern) == MAX_PATTERN_LENGTH
    with pytest.raises(PatternTooLongError, match=f"a {MAX_PATTERN_LENGTH + 1}-character pattern"):
        _metric_filter(DEFAULT_FIELDS, "probe", "Probe", "Probe", "Count", [Condition("srcaddr", "=", padding + "x")])


def test_an_accepted_flow_of_zero_bytes_is_published():
    line = "2 123456789012 eni-0a1b2c3d 10.0.1.5 10.0.2.7 443 80 6 1 0 1700000000 1700000060 ACCEPT OK"
    assert publish(by_key(DEFAULT_FIELDS)[BYTES_BY_ACTION], line) == Published(0.0, {"Action": "ACCEPT"})


# AWS's published records

def reference_records(shared_reference: Path) -> list[str]:
    path = shared_reference / "flow-log-records-aws-docs.txt"
    assert path.is_file(), f"missing AWS reference records at {path}"
    lines = [line.strip() for line in path.read_text().splitlines()]
    records = [line for line in lines if line and not line.startswith("#")]
    assert len(records) == 4 and all(len(r.split()) == len(DEFAULT_FIELDS) for r in records), records
    return records


def reference_publications(shared_reference: Path, key: str, vpc_cidr: str = LAB_CIDR) -> list[tuple[str, Published]]:
    """(dstport, what was published) for each AWS record the filter counts."""
    metric_filter = by_key(DEFAULT_FIELDS, vpc_cidr)[key]
    return [(line.split()[6], result) for line in reference_records(shared_reference)
            if (result := publish(metric_filter, line)) is not None]


def test_rejected_flows_count_only_the_rejected_rdp_record(shared_reference):
    assert reference_publications(shared_reference, REJECTED_FLOWS) == [("3389", Published(1.0, {}))]


def test_rejected_packets_publish_the_rejected_records_packets(shared_reference):
    assert reference_publications(shared_reference, REJECTED_PACKETS) == [("3389", Published(20.0, {}))]


def test_accepted_ssh_from_outside_the_vpc_is_counted(shared_reference):
    assert reference_publications(shared_reference, EXTERNAL_SSH) == [("22", Published(1.0, {}))]


def test_accepted_ssh_from_inside_the_vpc_is_not_counted(shared_reference):
    # AWS's example SSH client, 172.31.16.139, is inside a 172.31.0.0/16 VPC.
    assert reference_publications(shared_reference, EXTERNAL_SSH, vpc_cidr="172.31.0.0/16") == []


def test_bytes_are_published_per_action_and_nodata_records_are_left_out(shared_reference):
    assert reference_publications(shared_reference, BYTES_BY_ACTION) == [
        ("22", Published(4249.0, {"Action": "ACCEPT"})),
        ("3389", Published(4249.0, {"Action": "REJECT"})),
    ]


# Synthetic records in several formats

HEX = "0123456789abcdef"


def hex_id(prefix: str, length: int) -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=length, max_size=length).map(lambda h: f"{prefix}{h}")


def ipv4() -> st.SearchStrategy[str]:
    return st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))


def near(network: ipaddress.IPv4Network) -> st.SearchStrategy[str]:
    """Addresses inside the block, just outside it, and in the same wider octet block."""
    start, size = int(network.network_address), network.num_addresses
    return st.integers(max(0, start - 2 * size), min(2**32 - 1, start + 3 * size)).map(
        lambda n: str(ipaddress.IPv4Address(n)))


def source(network: ipaddress.IPv4Network) -> st.SearchStrategy[str]:
    return st.one_of(near(network), ipv4(), st.just("2001:db8::1"))


def small_or_any(common: list[int], upper: int) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(common), st.integers(0, upper)).map(str)


FIELD_VALUES: dict[str, st.SearchStrategy[str]] = {
    "version": st.sampled_from("2345"),
    "account-id": st.text("0123456789", min_size=12, max_size=12),
    "interface-id": hex_id("eni-", 17),
    "dstaddr": ipv4(),
    "srcport": small_or_any([22, 80, 443], 65535),
    "dstport": small_or_any([22, 80, 443, 3389], 65535),
    "protocol": small_or_any([6, 17, 1], 255),
    "packets": st.integers(1, 10**6).map(str),
    "bytes": st.integers(40, 10**9).map(str),
    "start": st.integers(1_400_000_000, 1_800_000_000).map(str),
    "end": st.integers(1_400_000_000, 1_800_000_000).map(str),
    "action": st.sampled_from(["ACCEPT", "REJECT"]),
    "log-status": st.just("OK"),
    "vpc-id": hex_id("vpc-", 17),
    "subnet-id": hex_id("subnet-", 17),
    "instance-id": st.one_of(hex_id("i-", 17), st.just("-")),
    "tcp-flags": small_or_any([0, 2, 18, 19], 63),
    "type": st.sampled_from(["IPv4", "IPv6", "EFA"]),
    "pkt-srcaddr": ipv4(),
    "pkt-dstaddr": ipv4(),
    "region": st.just("ap-northeast-1"),
    "az-id": st.just("apne1-az4"),
    "sublocation-type": st.sampled_from(["-", "wavelength", "outpost", "localzone"]),
    "sublocation-id": st.just("-"),
    "pkt-src-aws-service": st.sampled_from(["-", "AMAZON", "S3", "EC2"]),
    "pkt-dst-aws-service": st.sampled_from(["-", "AMAZON", "S3", "EC2"]),
    "flow-direction": st.sampled_from(["ingress", "egress"]),
    "traffic-path": st.sampled_from(["-", *"12345678"]),
}
# The newer fields (ECS, transit gateway, reject-reason, ...) get values of their table type.
FIELD_VALUES.update({
    name: (st.sampled_from(["-", *ENUMERATED_FIELDS[name]]) if name in ENUMERATED_FIELDS
           else st.integers(0, 2**31).map(str) if name in INTEGER_FIELDS
           else st.one_of(st.just("-"), hex_id("x-", 8)))
    for name in KNOWN_FIELDS if name not in FIELD_VALUES and name != "srcaddr"
})
# Kept in NODATA and SKIPDATA records; every other field is "-".
NO_TRAFFIC_KEPT = {"version", "account-id", "interface-id", "start", "end", "region", "az-id", "vpc-id",
                   "subnet-id", "instance-id"}


def test_synthetic_values_cover_every_known_field():
    assert set(FIELD_VALUES) | {"srcaddr"} == set(KNOWN_FIELDS)


@st.composite
def record(draw, fields: tuple[str, ...], network: ipaddress.IPv4Network) -> dict[str, str]:
    values = {name: draw(source(network)) if name == "srcaddr" else draw(FIELD_VALUES[name]) for name in fields}
    status = draw(st.sampled_from(["OK", "OK", "OK", "NODATA", "SKIPDATA"]))
    if status != "OK":
        values = {name: value if name in NO_TRAFFIC_KEPT else "-" for name, value in values.items()}
    if "log-status" in values:
        values["log-status"] = status
    return values


@st.composite
def vpc_and_records(draw) -> tuple[tuple[str, ...], ipaddress.IPv4Network, list[dict[str, str]]]:
    fields = FORMATS[draw(st.sampled_from(sorted(FORMATS)))]
    prefix = draw(st.sampled_from([16, 20, 21, 22, 23, 24, 28]))
    network = ipaddress.ip_network(f"{draw(ipv4())}/{prefix}", strict=False)
    return fields, network, draw(st.lists(record(fields, network), min_size=1, max_size=20))


def expected(key: str, values: dict[str, str], network: ipaddress.IPv4Network) -> Optional[Published]:
    """What each filter should count, decided with `ipaddress`, not with patterns."""
    action = values.get("action")
    if key == REJECTED_FLOWS:
        return Published(1.0, {}) if action == "REJECT" else None
    if key == REJECTED_PACKETS:
        return Published(float(values["packets"]), {}) if action == "REJECT" else None
    if key == EXTERNAL_SSH:
        source_address = ipaddress.ip_address(values["srcaddr"]) if values["srcaddr"] != "-" else None
        inside = source_address is not None and source_address.version == 4 and source_address in network
        ssh = action == "ACCEPT" and values["dstport"] == "22" and values["protocol"] == "6"
        return Published(1.0, {}) if ssh and not inside else None
    assert key == BYTES_BY_ACTION
    return Published(float(values["bytes"]), {"Action": action}) if values["bytes"] != "-" else None


@settings(max_examples=150, deadline=None)
@given(vpc_and_records())
def test_filters_count_exactly_the_records_an_independent_oracle_selects(case):
    fields, network, records = case
    for metric_filter in metric_filters(fields, str(network)):
        for values in records:
            line = " ".join(values[name] for name in fields)
            assert publish(metric_filter, line) == expected(metric_filter.key, values, network), \
                (metric_filter.key, str(network), line)


@settings(max_examples=50, deadline=None)
@given(vpc_and_records())
def test_a_record_with_a_field_too_many_or_too_few_never_matches(case):
    fields, network, records = case
    for metric_filter in metric_filters(fields, str(network)):
        for values in records:
            line = " ".join(values[name] for name in fields)
            assert not matches(metric_filter.pattern, line + " extra")
            assert not matches(metric_filter.pattern, line.rsplit(" ", 1)[0])


# Outside the VPC, and what cannot be expressed

@pytest.mark.parametrize("cidr, values", [
    ("10.0.0.0/16", ["10.0.*"]),
    ("10.0.16.0/20", [f"10.0.{octet}.*" for octet in range(16, 32)]),
    ("10.0.0.0/24", ["10.0.0.*"]),
    ("10.0.0.16/28", [f"10.0.0.{host}" for host in range(16, 32)]),
])
def test_outside_a_block_is_one_condition_per_octet_prefix(cidr, values):
    conditions = outside_cidr("srcaddr", cidr)
    assert [(c.operator, c.value) for c in conditions] == [("!=", value) for value in values]


@pytest.mark.parametrize("cidr", ["10.0.0.0/18", "10.0.0.0/25"])
def test_a_block_needing_too_many_conditions_is_refused_with_the_reason(cidr):
    with pytest.raises(UnexpressibleCidrError, match=rf"outside {cidr}' takes \d+ conditions") as error:
        metric_filters(DEFAULT_FIELDS, cidr)
    assert str(MAX_PATTERN_LENGTH) in str(error.value)


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.0.16.0/20", "10.0.0.16/28"])
def test_expressible_blocks_stay_within_cloudwatchs_pattern_length(cidr):
    for fields in FORMATS.values():
        assert all(len(f.pattern) <= MAX_PATTERN_LENGTH for f in metric_filters(fields, cidr))


# Missing fields

def without(*names: str) -> tuple[str, ...]:
    return tuple(name for name in DEFAULT_FIELDS if name not in names)


@pytest.mark.parametrize("missing, needed_by", [
    ("action", f"metric filter '{REJECTED_FLOWS}'"),
    ("packets", f"metric filter '{REJECTED_PACKETS}'"),
    ("dstport", f"metric filter '{EXTERNAL_SSH}'"),
    ("bytes", f"metric filter '{BYTES_BY_ACTION}'"),
])
def test_a_filter_needing_an_absent_field_names_the_field_and_the_format(missing, needed_by):
    fields = without(missing)
    with pytest.raises(MissingFieldError) as error:
        metric_filters(fields, LAB_CIDR)
    assert error.value.missing == (missing,) and error.value.needed_by == needed_by
    assert f"'{missing}'" in str(error.value) and format_string(fields) in str(error.value)


def test_a_query_needing_an_absent_field_names_the_field_and_the_format():
    fields = without("dstaddr")
    with pytest.raises(MissingFieldError, match="Logs Insights query 'top-talkers' needs the field") as error:
        insights_queries(fields, LAB_CIDR)
    assert error.value.missing == ("dstaddr",) and error.value.log_format == format_string(fields)


# The evaluator itself

@pytest.mark.parametrize("pattern", ["[a, ...]", "[a, b=1 || b=2]", "[a, b=%x%]", "[a, b!=1]", "ERROR",
                                     "[a, b=1 && c=2]", "[a, a]"])
def test_evaluator_refuses_syntax_outside_its_subset(pattern):
    with pytest.raises(UnsupportedPattern):
        parse(pattern)


@pytest.mark.parametrize("pattern, line, result", [
    ('[a, b="x*z", c]', "1 xyz 3", True),
    ('[a, b="x*z", c]', "1 xy 3", False),
    ('[a, b!="10.0.*", c]', "1 10.0.3.4 3", False),
    ('[a, b!="10.0.*", c]', "1 10.1.3.4 3", True),
    ("[a, b>=0, c]", "1 - 3", False),
    ("[a, b=22, c]", "1 22.0 3", True),
    ('[a, b="22", c]', "1 22.0 3", False),
])
def test_evaluator_semantics(pattern, line, result):
    assert matches(pattern, line) is result
