"""What the record format's errors quote: a value or line cut to a known length, and the names a caller can use.

A malformed record or format token can be arbitrarily long; an error quotes its start and says how
long it really is (flowlogs/quoting.cut), each at its own limit.
"""

from __future__ import annotations

import re

import pytest

from flowlogs.fields import DEFAULT_FIELDS, LogFormatError, format_string, parse_log_format
from flowlogs.patterns import (Condition, MissingFieldError, UnexpressibleCidrError, filter_pattern, metric_filters, outside_cidr,
                               require_fields)
from flowlogs.queries import QUERY_NAMES, LeftOut, QueryError, build_queries, vpc_network
from flowlogs.quoting import cut
from flowlogs.records import INTEGER_MAXIMUM, RecordFormatError, parse_record


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_an_unknown_field_is_quoted_up_to_60_characters():
    name = "x" * 100
    with pytest.raises(LogFormatError, match=exactly(f"unknown field '{'x' * 60}... (100 characters)'")):
        parse_log_format("${version} ${" + name + "}")


def test_a_record_with_too_few_values_is_quoted_up_to_400_characters():
    line = "2 " + "y" * 500
    with pytest.raises(RecordFormatError) as refused:
        parse_record(line)
    assert str(refused.value).endswith(f": '{line[:400]}... (502 characters)'"), str(refused.value)


def test_a_number_field_is_quoted_up_to_24_characters():
    values = ["2", "123456789012", "eni-0a1b2c3d", "10.0.1.5", "10.0.2.7", "4" * 30, "80", "6", "5", "420",
              "1700000000", "1700000060", "ACCEPT", "OK"]
    with pytest.raises(RecordFormatError, match="^" + re.escape(
            f"field 'srcport' is '{'4' * 24}... (30 characters)', not a whole number from 0 to "
            f"{INTEGER_MAXIMUM['srcport']}, in record '")):
        parse_record(" ".join(values))


def test_an_enumerated_field_is_quoted_up_to_40_characters():
    values = ["2", "123456789012", "eni-0a1b2c3d", "10.0.1.5", "10.0.2.7", "443", "80", "6", "5", "420",
              "1700000000", "1700000060", "A" * 41, "OK"]
    with pytest.raises(RecordFormatError, match="^" + re.escape(
            f"field 'action' is '{'A' * 40}... (41 characters)', not one of ACCEPT, REJECT, in record '")):
        parse_record(" ".join(values))


def test_a_record_with_a_trailing_space_has_an_empty_last_value():
    line = "2 123456789012 eni-0a1b2c3d 10.0.1.5 10.0.2.7 443 80 6 5 420 1700000000 1700000060 ACCEPT OK "
    with pytest.raises(RecordFormatError, match=exactly(
            f"record has 15 values but the format '{format_string(DEFAULT_FIELDS)}' has 14 fields: '{line}'")):
        parse_record(line + "\r\n")


@pytest.mark.parametrize("text, quoted", [("abcd", "abcd"), ("abcde", "abcd... (5 characters)")])
def test_a_quote_is_cut_only_past_its_limit(text, quoted):
    assert cut(text, 4) == quoted


def test_missing_fields_are_each_named_in_order():
    with pytest.raises(MissingFieldError, match=exactly(
            "the SSH alarm needs the field(s) 'action', 'dstport', which the log format "
            "'${version} ${srcaddr}' does not include")):
        require_fields(("version", "srcaddr"), ("srcaddr", "dstport", "action"), "the SSH alarm")


def test_an_unknown_query_is_named_with_the_queries_there_are():
    with pytest.raises(QueryError, match=exactly(
            f"unknown query 'top-talker'; the queries are {', '.join(QUERY_NAMES)}")):
        build_queries(DEFAULT_FIELDS, names=("summary", "top-talker", "everything"))


def test_a_filter_pattern_names_the_field_it_lacks():
    with pytest.raises(MissingFieldError, match=exactly(
            "the filter pattern needs the field(s) 'dstport', which the log format "
            "'${version} ${srcaddr}' does not include")):
        filter_pattern(("version", "srcaddr"), [Condition("dstport", "=", 22)])


def test_an_ipv6_block_cannot_be_written_as_a_pattern():
    with pytest.raises(UnexpressibleCidrError, match=exactly(
            "2001:db8::/56 is not an IPv4 block; only IPv4 VPC blocks can be expressed")):
        outside_cidr("srcaddr", "2001:db8::/56")


def test_a_pattern_block_with_host_bits_is_refused():
    with pytest.raises(ValueError, match=exactly("10.0.0.1/16 has host bits set")):
        outside_cidr("srcaddr", "10.0.0.1/16")


def test_a_block_too_fine_for_a_pattern_says_how_the_count_grows():
    with pytest.raises(UnexpressibleCidrError) as refused:
        metric_filters(DEFAULT_FIELDS, "10.0.0.0/18")
    assert str(refused.value).endswith(
        ": patterns compare addresses only as strings, so 'outside 10.0.0.0/18' takes 64 conditions. A VPC "
        "block whose prefix length is a multiple of 8 takes one; each bit short of that doubles the count"), \
        str(refused.value)


@pytest.mark.parametrize("vpc_cidr, message", [
    ("ten", "VPC CIDR 'ten' is not a network block ('ten' does not appear to be an IPv4 or IPv6 network); "
            "give an IPv4 block such as 10.0.0.0/16"),
    ("10.0.0.1/16", "VPC CIDR '10.0.0.1/16' is not a network block (10.0.0.1/16 has host bits set); "
                    "give an IPv4 block such as 10.0.0.0/16"),
    ("2001:db8::/56", "VPC CIDR '2001:db8::/56' is not IPv4; a VPC's primary block is an IPv4 block "
                      "such as 10.0.0.0/16"),
])
def test_a_query_vpc_block_names_the_value_and_what_is_allowed(vpc_cidr, message):
    with pytest.raises(QueryError, match=exactly(message)):
        vpc_network(vpc_cidr)


def test_a_query_the_format_cannot_answer_names_every_missing_field():
    fields = tuple(name for name in DEFAULT_FIELDS if name not in ("dstport", "protocol"))
    _, left_out = build_queries(fields, names=("rejected-by-port",))
    assert left_out == (LeftOut("rejected-by-port", "needs the field(s) dstport, protocol, which the log format "
                                                    f"'{format_string(fields)}' does not include"),)


def test_a_query_without_the_vpc_block_says_where_to_give_it():
    _, left_out = build_queries(DEFAULT_FIELDS, names=("ssh-from-outside",))
    assert left_out == (LeftOut("ssh-from-outside", "needs the VPC's IPv4 block (--vpc-cidr, or --stack to take "
                                                    "vpcCidr from a stack)"),)
