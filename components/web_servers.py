"""The article's hosts: one Apache server per subnet behind a security group for SSH and HTTP."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.arns import managed_policy_arn
from components.network import EXPOSURE_TAG

SSH_PORT = 22
HTTP_PORT = 80
# Amazon Linux 2023's public SSM parameters always name the current AMI.
AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
# What SSM Session Manager needs on the instance: shell access without an open port 22.
SSM_MANAGED_POLICY = "AmazonSSMManagedInstanceCore"
EC2_TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


def ami_architecture(instance_type: str) -> str:
    """Graviton families (a1, t4g, m7g, c7gn, ...) need the arm64 image; the rest x86_64."""
    family = instance_type.split(".", 1)[0]
    return "arm64" if family == "a1" or re.fullmatch(r"[a-z]+\d+g[a-z]*", family) else "x86_64"


def user_data(host_name: str) -> str:
    """Install and start Apache with a page that names the host, as in the article."""
    return f"""#!/bin/bash
set -euo pipefail
dnf install -y httpd
cat > /var/www/html/index.html <<PAGE
<!doctype html>
<title>{host_name}</title>
<h1>{host_name}</h1>
<p>vpc-flow-logs lab host $(hostname -f)</p>
PAGE
systemctl enable --now httpd
"""


@dataclass
class WebServersArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    ssh_allowed_cidrs: Sequence[str]
    http_allowed_cidrs: Sequence[str]
    instance_type: str
    tags: Mapping[str, str]
    ssh_public_key: Optional[pulumi.Input[str]] = None
    key_pair_name: Optional[str] = None
    # The hosts boot only after these exist, so the flow log records their first packets.
    start_after: Sequence[pulumi.Resource] = field(default_factory=list)
    # A pinned AMI; None looks up the current Amazon Linux 2023 and keeps it once launched.
    ami_id: Optional[str] = None
    # Public IPs on the hosts: the lab's declared design (config publicHosts).
    public_hosts: bool = True


class WebServers(pulumi.ComponentResource):
    """A security group allowing only SSH and HTTP, and one hardened Apache host per subnet."""

    security_group: aws.ec2.SecurityGroup
    # Host name (the page's title and the Name tag) -> its instance.
    instances: dict[str, aws.ec2.Instance]

    def __init__(self, name: str, args: WebServersArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("vpcflowlogs:index:WebServers", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Lab web hosts: SSH and HTTP in, anything out",
            tags={**args.tags, "Name": f"{name}-sg"},
            opts=child,
        )
        for service, port, cidrs in (("ssh", SSH_PORT, args.ssh_allowed_cidrs),
                                     ("http", HTTP_PORT, args.http_allowed_cidrs)):
            for index, cidr in enumerate(cidrs):
                ip_field = {"cidr_ipv6": cidr} if ":" in cidr else {"cidr_ipv4": cidr}
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{service}-in-{index}",
                    security_group_id=self.security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"{service.upper()} ({port}) from {cidr}",
                    tags={**args.tags, "Name": f"{name}-{service}-in-{index}"},
                    opts=child,
                    **ip_field,
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-all-out",
            security_group_id=self.security_group.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="All outbound, for package installs and replies",
            tags={**args.tags, "Name": f"{name}-all-out"},
            opts=child,
        )

        key_name: pulumi.Input[str] | None = args.key_pair_name
        if args.ssh_public_key:
            key_name = aws.ec2.KeyPair(
                f"{name}-key",
                public_key=args.ssh_public_key,
                tags={**args.tags, "Name": f"{name}-key"},
                opts=child,
            ).key_name

        ssm_role = aws.iam.Role(
            f"{name}-ssm-role",
            assume_role_policy=EC2_TRUST_POLICY,
            description="Lab web hosts: SSM Session Manager instead of SSH",
            tags={**args.tags, "Name": f"{name}-ssm-role"},
            opts=child,
        )
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self)).partition
        aws.iam.RolePolicyAttachment(f"{name}-ssm-core", role=ssm_role.name,
                                     policy_arn=managed_policy_arn(partition, SSM_MANAGED_POLICY), opts=child)
        self.instance_profile = aws.iam.InstanceProfile(
            f"{name}-profile",
            role=ssm_role.name,
            tags={**args.tags, "Name": f"{name}-profile"},
            opts=child,
        )

        if args.ami_id:
            ami: str = args.ami_id
            keep_ami: list[str] = []
        else:
            ami = aws.ssm.get_parameter(
                name=AL2023_AMI_PARAMETER.format(arch=ami_architecture(args.instance_type)),
                opts=pulumi.InvokeOptions(parent=self),
            ).value
            # The parameter names a new AMI with every Amazon Linux release; without this each
            # `pulumi up` after one would replace the hosts. Set amiId to roll them on purpose.
            keep_ami = ["ami"]

        self.instances = {}
        for index, subnet_id in enumerate(args.subnet_ids):
            host_name = f"{name}-{index}"
            self.instances[host_name] = aws.ec2.Instance(
                host_name,
                ami=ami,
                instance_type=args.instance_type,
                subnet_id=subnet_id,
                vpc_security_group_ids=[self.security_group.id],
                associate_public_ip_address=args.public_hosts,
                iam_instance_profile=self.instance_profile.name,
                key_name=key_name,
                user_data=user_data(host_name),
                user_data_replace_on_change=True,
                metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                    http_endpoint="enabled", http_tokens="required"),
                root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                    encrypted=True, volume_type="gp3"),
                tags={**args.tags, "Name": host_name, **({EXPOSURE_TAG: "public"} if args.public_hosts else {})},
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.start_after), ignore_changes=keep_ami),
            )

        self.register_outputs({
            "security_group_id": self.security_group.id,
            "instance_ids": [instance.id for instance in self.instances.values()],
        })
