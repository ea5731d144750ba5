"""Subnets, tags, flow-log targets and the typed reader: refusals word for word, accepted targets as read.

Each refusal quotes the key, the value exactly as given and what is allowed; a message that lost
the value, or the allowed text, tells the user nothing about what to change.
"""

from __future__ import annotations

import pulumi
import pytest

from config.settings import FlowLogTarget, settings_from_config
from flowlogs.fields import KNOWN_FIELDS
from tests.test_settings import AUDIT, TGW, TGW_FORMAT, with_values

CIDR_ALLOWED = "a CIDR block such as 10.0.0.0/16, with no host bits set"
SUBNETS_ALLOWED = "a list of at least 2 non-overlapping IPv4 CIDR blocks inside vpcCidr 10.0.0.0/16"
TAGS_ALLOWED = 'an object of string tags, e.g. {"Owner": "platform"}; Project and Environment are set for you'
TARGETS_ALLOWED = 'a list of targets, e.g. [{"vpcId": "vpc-0123456789abcdef0"}, {"vpcTags": {"Team": "core"}}]'
TARGET_ALLOWED = ("an object with exactly one of vpcId, subnetId, eniId, transitGatewayId, "
                  'transitGatewayAttachmentId, vpcTags, e.g. {"vpcId": "vpc-0123456789abcdef0"} or '
                  '{"vpcTags": {"Environment": "prod"}}')
VPC_TAGS_ALLOWED = "a non-empty object of tag names and string values"
CORE = {"vpcTags": {"Team": "core"}}

REFUSALS = [
    pytest.param({"vpcCidr": "banana"}, f'config vpc-flow-logs:vpcCidr = "banana" is invalid: {CIDR_ALLOWED}',
                 id="vpcCidr-not-a-cidr"),
    pytest.param({"vpcCidr": "10.0.0.0/12"},
                 'config vpc-flow-logs:vpcCidr = "10.0.0.0/12" is invalid: '
                 "an IPv4 CIDR block from /16 to /28, such as 10.0.0.0/16",
                 id="vpcCidr-too-large"),
    pytest.param({"vpcCidr": "10.0.0.0/29"},
                 'config vpc-flow-logs:vpcCidr = "10.0.0.0/29" is invalid: '
                 "an IPv4 CIDR block from /16 to /28, such as 10.0.0.0/16",
                 id="vpcCidr-too-small"),
    pytest.param({"vpcCidr": "10.0.0.0/28", "subnetCidrs": ["10.0.0.0/28", "10.0.0.16/28"]},
                 'config vpc-flow-logs:subnetCidrs = ["10.0.0.0/28", "10.0.0.16/28"] is invalid: '
                 "10.0.0.16/28 is outside vpcCidr 10.0.0.0/28; a list of at least 2 non-overlapping IPv4 CIDR "
                 "blocks inside vpcCidr 10.0.0.0/28",
                 id="vpcCidr-smallest-is-taken"),
    pytest.param({"vpcCidr": None},
                 "config vpc-flow-logs:vpcCidr is missing: set it to "
                 "an IPv4 CIDR block from /16 to /28, such as 10.0.0.0/16",
                 id="vpcCidr-missing"),
    pytest.param({"internalCidr": "10.0.0.1/8"},
                 f'config vpc-flow-logs:internalCidr = "10.0.0.1/8" is invalid: {CIDR_ALLOWED}',
                 id="internalCidr-host-bits"),
    pytest.param({"sshAllowedCidrs": ["203.0.113.0/24", "203.0.113.0/24"]},
                 'config vpc-flow-logs:sshAllowedCidrs = ["203.0.113.0/24", "203.0.113.0/24"] is invalid: '
                 "203.0.113.0/24 appears twice; list each block once",
                 id="sshAllowedCidrs-twice"),
    pytest.param({"subnetCidrs": ["10.0.0.0/24"]},
                 f'config vpc-flow-logs:subnetCidrs = ["10.0.0.0/24"] is invalid: {SUBNETS_ALLOWED}',
                 id="subnetCidrs-one-block"),
    pytest.param({"subnetCidrs": ["10.0.0.0/24", "10.1.0.0/24"]},
                 'config vpc-flow-logs:subnetCidrs = ["10.0.0.0/24", "10.1.0.0/24"] is invalid: '
                 f"10.1.0.0/24 is outside vpcCidr 10.0.0.0/16; {SUBNETS_ALLOWED}",
                 id="subnetCidrs-outside-vpc"),
    pytest.param({"subnetCidrs": ["10.0.0.0/24", "10.0.1.0/29"]},
                 'config vpc-flow-logs:subnetCidrs = ["10.0.0.0/24", "10.0.1.0/29"] is invalid: '
                 f"10.0.1.0/29 is not a /16 to /28 block, the sizes AWS allows; {SUBNETS_ALLOWED}",
                 id="subnetCidrs-too-small"),
    pytest.param({"subnetCidrs": ["10.0.0.0/24", "10.0.0.128/25"]},
                 'config vpc-flow-logs:subnetCidrs = ["10.0.0.0/24", "10.0.0.128/25"] is invalid: '
                 f"10.0.0.0/24 overlaps 10.0.0.128/25; {SUBNETS_ALLOWED}",
                 id="subnetCidrs-overlap"),
    pytest.param({"subnetCidrs": None},
                 f"config vpc-flow-logs:subnetCidrs is missing: set it to {SUBNETS_ALLOWED}",
                 id="subnetCidrs-missing"),
    pytest.param({"sshAllowedCidrs": None},
                 'config vpc-flow-logs:sshAllowedCidrs is missing: set it to a list of CIDR blocks, '
                 'e.g. ["203.0.113.0/24"]',
                 id="sshAllowedCidrs-missing"),
    pytest.param({"tags": {"Environment": "prod"}},
                 f'config vpc-flow-logs:tags.Environment = "prod" is invalid: {TAGS_ALLOWED}',
                 id="tags-Environment"),
    pytest.param({"tags": {"Project": "other"}},
                 f'config vpc-flow-logs:tags.Project = "other" is invalid: {TAGS_ALLOWED}',
                 id="tags-Project"),
    pytest.param({"tags": "{Owner: platform}"},
                 f'config vpc-flow-logs:tags = "{{Owner: platform}}" is invalid: {TAGS_ALLOWED}',
                 id="tags-not-json"),
    pytest.param({"lab": "maybe"},
                 'config vpc-flow-logs:lab = "maybe" is invalid: true or false',
                 id="lab-not-boolean"),
    pytest.param({"trafficType": "EVERYTHING"},
                 'config vpc-flow-logs:trafficType = "EVERYTHING" is invalid: one of ALL, ACCEPT, REJECT',
                 id="trafficType-not-a-choice"),
    pytest.param({"aggregationInterval": "sixty"},
                 'config vpc-flow-logs:aggregationInterval = "sixty" is invalid: one of 60, 600',
                 id="aggregationInterval-not-a-number"),
    pytest.param({"flowLogTargets": {"vpcId": "vpc-0123456789abcdef0"}},
                 'config vpc-flow-logs:flowLogTargets = {"vpcId": "vpc-0123456789abcdef0"} is invalid: '
                 f"{TARGETS_ALLOWED}",
                 id="flowLogTargets-not-a-list"),
    pytest.param({**AUDIT, "flowLogTargets": None},
                 "config vpc-flow-logs:flowLogTargets = [] is invalid: at least one target when lab is false; "
                 f"{TARGETS_ALLOWED}",
                 id="flowLogTargets-none-without-lab"),
    pytest.param({"flowLogTargets": [CORE, CORE]},
                 'config vpc-flow-logs:flowLogTargets = {"vpcTags": {"Team": "core"}} is invalid: '
                 "each target once: this one is listed twice",
                 id="flowLogTargets-twice"),
    pytest.param({"flowLogTargets": ["vpc-0123456789abcdef0"]},
                 f'config vpc-flow-logs:flowLogTargets = "vpc-0123456789abcdef0" is invalid: {TARGET_ALLOWED}',
                 id="flowLogTargets-entry-not-an-object"),
    pytest.param({"flowLogTargets": [{"vpcTags": {"Team": 7}}]},
                 f'config vpc-flow-logs:flowLogTargets.vpcTags = {{"Team": 7}} is invalid: {VPC_TAGS_ALLOWED}',
                 id="flowLogTargets-vpcTags-number"),
    pytest.param({"flowLogTargets": [{"vpcTags": {}}]},
                 f"config vpc-flow-logs:flowLogTargets.vpcTags = {{}} is invalid: {VPC_TAGS_ALLOWED}",
                 id="flowLogTargets-vpcTags-empty"),
    pytest.param({"logFormat": "${version} ${srcadr}"},
                 """config vpc-flow-logs:logFormat = "${version} ${srcadr}" is invalid: unknown field 'srcadr'; """
                 "use space-separated ${field} tokens, each field once, from: " + ", ".join(KNOWN_FIELDS),
                 id="logFormat-unknown-field"),
    pytest.param({**AUDIT, "flowLogTargets": [TGW], "aggregationInterval": "600", "logFormat": TGW_FORMAT},
                 "config vpc-flow-logs:aggregationInterval = 600 is invalid: "
                 "60 when flowLogTargets has a transit gateway (transitGatewayId tgw-0123456789abcdef0)",
                 id="aggregationInterval-600-with-transit-gateway"),
    pytest.param({**AUDIT, "flowLogTargets": [TGW], "aggregationInterval": "60"},
                 """config vpc-flow-logs:logFormat = "(AWS's default format)" is invalid: fields a transit gateway """
                 "flow log can record, for flowLogTargets transitGatewayId tgw-0123456789abcdef0: "
                 "drop interface-id, action",
                 id="logFormat-default-on-transit-gateway"),
    pytest.param({**AUDIT, "flowLogTargets": [CORE], "logFormat": "${version} ${tgw-id}"},
                 'config vpc-flow-logs:logFormat = "${version} ${tgw-id}" is invalid: fields a VPC, subnet or ENI '
                 "flow log can record, for flowLogTargets vpcTags {'Team': 'core'}: drop tgw-id",
                 id="logFormat-transit-gateway-field-on-vpcTags"),
    pytest.param({**AUDIT, "logFormat": "${version} ${tgw-id}"},
                 'config vpc-flow-logs:logFormat = "${version} ${tgw-id}" is invalid: fields a VPC, subnet or ENI '
                 "flow log can record, for flowLogTargets vpcId vpc-0123456789abcdef0: drop tgw-id",
                 id="logFormat-transit-gateway-field-on-vpcId"),
]


@pytest.mark.parametrize("changes, message", REFUSALS)
def test_refusal_quotes_key_value_and_what_is_allowed(changes, message):
    with pytest.raises(pulumi.RunError) as error:
        settings_from_config("lab", with_values(**changes))
    assert str(error.value) == message, f"{sorted(changes)}: {error.value}"


@pytest.mark.parametrize("entries, expected", [
    pytest.param([{"vpcTags": {"Team": "core", "Environment": "prod"}}],
                 (FlowLogTarget("vpcTags", vpc_tags={"Environment": "prod", "Team": "core"}),), id="vpcTags"),
    pytest.param([{"subnetId": "subnet-01234567"}, {"vpcTags": {"Team": "core"}}],
                 (FlowLogTarget("subnetId", resource_id="subnet-01234567"),
                  FlowLogTarget("vpcTags", vpc_tags={"Team": "core"})), id="subnetId-and-vpcTags"),
])
def test_targets_are_read_as_their_kind(entries, expected):
    targets = settings_from_config("lab", with_values(flowLogTargets=entries)).flow_log_targets
    assert targets == expected, f"flowLogTargets {entries}: {targets}"


@pytest.mark.parametrize("key, field, default", [
    ("httpAllowedCidrs", "http_allowed_cidrs", ("0.0.0.0/0",)),
    ("flowLogTargets", "flow_log_targets", ()),
])
def test_unset_key_takes_its_default(key, field, default):
    settings = settings_from_config("lab", with_values(**{key: None}))
    assert getattr(settings, field) == default, f"{key} unset: {getattr(settings, field)}"
