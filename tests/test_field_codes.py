"""Which fields have a closed list of codes, and exactly which: every field of AWS's table at once.

Tools that validate or decode records (the record parser, the Parquet schema) trust this list, so a
field silently gaining or losing codes, or a free-form field turning into a list, must fail here.
"""

from __future__ import annotations

from flowlogs.fields import KNOWN_FIELDS, enumerated_values

# AWS's documented codes; `-` (no value) is allowed everywhere and never listed.
CODES = {
    "action": ("ACCEPT", "REJECT"),
    "log-status": ("OK", "NODATA", "SKIPDATA"),
    "type": ("IPv4", "IPv6", "EFA"),
    "sublocation-type": ("wavelength", "outpost", "localzone"),
    "flow-direction": ("ingress", "egress"),
    "traffic-path": ("1", "2", "3", "4", "5", "6", "7", "8"),
    "reject-reason": ("BPA",),
    "resource-type": ("TransitGateway", "TransitGatewayAttachment"),
}


def test_exactly_these_fields_have_codes_and_exactly_these_codes():
    actual = {field: enumerated_values(field) for field in KNOWN_FIELDS}
    assert {field: codes for field, codes in actual.items() if codes is not None} == CODES
