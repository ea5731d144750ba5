"""Paths no stack file takes: Graviton hosts, IPv6 sources, and the hosts' public addresses.

The real program is rendered under the mock runtime from the lab's config with one key changed.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import lab_config
from tools.render import LabMocks, render

INSTANCE = "aws:ec2/instance:Instance"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GET_PARAMETER = "aws:ssm/getParameter:getParameter"


class LookupRecordingMocks(LabMocks):
    """The lab's mocks, keeping the arguments of every lookup the program makes."""

    def __init__(self, region: str):
        super().__init__(region)
        self.lookups: list[tuple[str, dict]] = []

    def call(self, args):
        self.lookups.append((args.token, dict(args.args)))
        return super().call(args)


def render_lab(**changes: object):
    """The lab rendered with some keys changed; the mocks, to read which lookups were made."""
    config = lab_config()
    config.update({f"vpc-flow-logs:{key}": value if isinstance(value, str) else json.dumps(value)
                   for key, value in changes.items()})
    mocks = LookupRecordingMocks("ap-northeast-1")
    return render("lab", config, mocks=mocks), mocks


def ami_parameters(mocks: LookupRecordingMocks) -> list[str]:
    return [args["name"] for token, args in mocks.lookups if token == GET_PARAMETER]


@pytest.mark.parametrize("instance_type, architecture", [
    ("t4g.small", "arm64"), ("m7g.large", "arm64"), ("c7gn.medium", "arm64"),
    ("t3.micro", "x86_64"), ("m5.large", "x86_64"), ("c6in.large", "x86_64"),
])
def test_instance_type_picks_the_ami_of_its_architecture(instance_type, architecture):
    rendering, mocks = render_lab(instanceType=instance_type)
    assert ami_parameters(mocks) == [
        f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"], instance_type
    instances = rendering.by_type(INSTANCE)
    assert instances and all(i.inputs["instanceType"] == instance_type for i in instances), \
        [i.urn for i in instances]


def ingress_sources(rendering) -> dict[tuple[int, str], dict]:
    """(port, source) -> the rule's inputs, whichever address field holds the source."""
    rules = {}
    for rule in rendering.by_type(INGRESS_RULE):
        source = rule.inputs.get("cidrIpv4") or rule.inputs.get("cidrIpv6")
        rules[(rule.inputs["fromPort"], source)] = rule.inputs
    return rules


@pytest.mark.parametrize("key, port", [("sshAllowedCidrs", 22), ("httpAllowedCidrs", 80)])
def test_ipv6_sources_go_in_cidr_ipv6_and_ipv4_in_cidr_ipv4(key, port):
    rendering, _ = render_lab(**{key: ["203.0.113.0/24", "2001:db8::/32"]})
    rules = ingress_sources(rendering)
    ipv6 = rules[(port, "2001:db8::/32")]
    ipv4 = rules[(port, "203.0.113.0/24")]
    assert ipv6.get("cidrIpv6") == "2001:db8::/32" and "cidrIpv4" not in ipv6, ipv6
    assert ipv4.get("cidrIpv4") == "203.0.113.0/24" and "cidrIpv6" not in ipv4, ipv4


def test_every_host_gets_a_public_address_and_exports_it():
    rendering, _ = render_lab()
    instances = rendering.by_type(INSTANCE)
    assert len(instances) == 2
    for instance in instances:
        assert instance.inputs.get("associatePublicIpAddress") is True, instance.urn
    hosts = rendering.outputs["hosts"]
    assert [host["publicIp"] for host in hosts] == rendering.outputs["publicIps"]
    assert all(host["publicIp"] and host["url"] == f"http://{host['publicIp']}/" for host in hosts), hosts
