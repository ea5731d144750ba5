"""The networks `audit` logs, created first in moto as the networks people already run."""

from __future__ import annotations

from typing import Any


def create_existing_networks(ec2: Any) -> list[dict[str, Any]]:
    """Two VPCs (audit's documentation ids stand for them), one tagged for its vpcTags target, a
    subnet and an ENI; returns them as flowLogTargets entries."""
    first, second = (ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"] for cidr in ("10.40.0.0/16", "10.41.0.0/16"))
    ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Team", "Value": "payments"}]}])
    subnet = ec2.create_subnet(VpcId=first, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    return [{"vpcId": first}, {"vpcId": second}, {"vpcTags": {"Team": "payments"}}, {"subnetId": subnet},
            {"eniId": eni}]
