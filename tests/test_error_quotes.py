"""What the record format's errors quote: a value or line cut to a known length, and the names a caller can use.

A malformed record or format token can be arbitrarily long; an error quotes its start and says how
long it really is (flowlogs/quoting.cut), each at its own limit.
"""

from __future__ import annotations

import re

import pytest

from flowlogs.fields import DEFAULT_FIELDS, LogFormatError, parse_log_format
from flowlogs.patterns import MissingFieldError, require_fields
from flowlogs.queries import QUERY_NAMES, QueryError, build_queries
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
    with pytest.raises(RecordFormatError, match=f"^field 'srcport' is '{'4' * 24}... \\(30 characters\\)', "
                                                f"not a whole number from 0 to {INTEGER_MAXIMUM['srcport']}, in record '"):
        parse_record(" ".join(values))


def test_missing_fields_are_each_named_in_order():
    with pytest.raises(MissingFieldError, match=exactly(
            "the SSH alarm needs the field(s) 'action', 'dstport', which the log format "
            "'${version} ${srcaddr}' does not include")):
        require_fields(("version", "srcaddr"), ("srcaddr", "dstport", "action"), "the SSH alarm")


def test_an_unknown_query_is_named_with_the_queries_there_are():
    with pytest.raises(QueryError, match=exactly(
            f"unknown query 'top-talker'; the queries are {', '.join(QUERY_NAMES)}")):
        build_queries(DEFAULT_FIELDS, names=("summary", "top-talker", "everything"))
