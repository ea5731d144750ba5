"""The lab's network: a VPC with public subnets in distinct AZs and a closed default SG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws


# The tag by which a stack declares a resource public on purpose (config publicHosts).
EXPOSURE_TAG = "Exposure"


@dataclass
class NetworkArgs:
    vpc_cidr: str
    subnet_cidrs: Sequence[str]
    tags: Mapping[str, str]
    # Instances launched here get public IPs: the lab's declared design (config publicHosts).
    public: bool = True


class Network(pulumi.ComponentResource):
    """A VPC with DNS, an internet gateway, one public route table and one subnet per AZ."""

    vpc: aws.ec2.Vpc
    subnets: list[aws.ec2.Subnet]
    availability_zones: list[str]

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("vpcflowlogs:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(parent=self)).names
        if len(zones) < len(args.subnet_cidrs):
            raise pulumi.RunError(
                f"config vpc-flow-logs:subnetCidrs lists {len(args.subnet_cidrs)} subnets but the region has "
                f"only {len(zones)} available AZs ({', '.join(zones)}): list at most {len(zones)} subnets")
        self.availability_zones = list(zones[: len(args.subnet_cidrs)])

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={**args.tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        # Adopting the default SG with no rules closes it: nothing can silently use it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags={**args.tags, "Name": f"{name}-default-sg (closed)"},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={**args.tags, "Name": f"{name}-igw"}, opts=child)
        route_table = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id, tags={**args.tags, "Name": f"{name}-public-rt"}, opts=child)
        aws.ec2.Route(
            f"{name}-internet-route",
            route_table_id=route_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
            opts=child,
        )

        self.subnets = []
        for index, (cidr, zone) in enumerate(zip(args.subnet_cidrs, self.availability_zones)):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=args.public,
                tags={**args.tags, "Name": f"{name}-public-{index} ({zone})",
                      **({EXPOSURE_TAG: "public"} if args.public else {})},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}-rta", subnet_id=subnet.id, route_table_id=route_table.id, opts=child)
            self.subnets.append(subnet)

        self.register_outputs({
            "vpc_id": self.vpc.id,
            "subnet_ids": [subnet.id for subnet in self.subnets],
        })
