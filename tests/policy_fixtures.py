"""Hand-built registrations, in the shape `tools.render` records, for exercising single rules."""

from __future__ import annotations

import json
from typing import Any

TAGS = {"Project": "vpc-flow-logs", "Environment": "test"}
GROUP_ARN = "arn:aws:logs:ap-northeast-1:123456789012:log-group:/vpc-flow-logs/test"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::vpc-flow-logs::{type_}::{name}"


def resource(type_: str, name: str, inputs: dict[str, Any] | None = None, *, protect: bool = False,
             delete_before_replace: bool = False, dependencies: dict[str, list[str]] | None = None) -> dict:
    return {"urn": urn(type_, name), "type": type_, "name": name, "parent": "",
            "inputs": inputs or {},
            "options": {"deleteBeforeReplace": delete_before_replace, "replaceOnChanges": [], "protect": protect,
                        "retainOnDelete": False, "dependsOn": []},
            "dependencies": dependencies or {}}


def vpc(name: str = "vpc") -> dict:
    return resource("aws:ec2/vpc:Vpc", name, {"cidrBlock": "10.0.0.0/16", "tags": TAGS})


def trust(principal: dict | None = None, conditions: bool = True) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole",
                                 "Principal": principal or {"Service": "vpc-flow-logs.amazonaws.com"}}
    if conditions:
        statement["Condition"] = {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": "arn:aws:ec2:ap-northeast-1:123456789012:vpc-flow-log/*"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def permissions(actions: list[str] | None = None, resource_arn: str = f"{GROUP_ARN}:*") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Resource": resource_arn,
        "Action": actions or ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
                              "logs:DescribeLogStreams"]}]})


def delivery(trust_policy: str | None = None, policy: str | None = None, traffic_type: str = "ALL",
             linked_to_vpc: bool = True, delete_before_replace: bool = True) -> list[dict]:
    """A VPC, and a flow log with its role, role policy and log group, wired by reference."""
    network = vpc()
    group = resource("aws:cloudwatch/logGroup:LogGroup", "group", {"name": "/vpc-flow-logs/test", "tags": TAGS,
                                                                   "retentionInDays": 7})
    role = resource("aws:iam/role:Role", "role", {"assumeRolePolicy": trust_policy or trust(), "tags": TAGS})
    role_policy = resource("aws:iam/rolePolicy:RolePolicy", "role-policy",
                           {"role": "role-id", "policy": policy or permissions()},
                           dependencies={"role": [role["urn"]], "policy": [group["urn"]]})
    flow_log = resource(
        "aws:ec2/flowLog:FlowLog", "flow-log",
        {"vpcId": "vpc-0123", "trafficType": traffic_type, "logDestination": GROUP_ARN,
         "iamRoleArn": "arn:aws:iam::123456789012:role/role", "tags": TAGS},
        delete_before_replace=delete_before_replace,
        dependencies={"vpcId": [network["urn"]] if linked_to_vpc else [],
                      "logDestination": [group["urn"]], "iamRoleArn": [role["urn"]]})
    return [network, group, role, role_policy, flow_log]


def ingress_rule(name: str, port: int, cidr: str, description: str = "needed", protocol: str = "tcp",
                 to_port: int | None = None) -> dict:
    cidr_key = "cidrIpv6" if ":" in cidr else "cidrIpv4"
    return resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name,
                    {"securityGroupId": "sg-0123", "ipProtocol": protocol, "fromPort": port,
                     "toPort": port if to_port is None else to_port, cidr_key: cidr, "description": description,
                     "tags": TAGS})


def security_group(name: str, ingress: list[dict]) -> dict:
    return resource("aws:ec2/securityGroup:SecurityGroup", name,
                    {"vpcId": "vpc-0123", "description": "test", "ingress": ingress, "tags": TAGS})


def instance(name: str, http_tokens: str = "required", encrypted: bool = True) -> dict:
    return resource("aws:ec2/instance:Instance", name,
                    {"ami": "ami-0123", "instanceType": "t3.micro", "tags": TAGS,
                     "metadataOptions": {"httpTokens": http_tokens}, "rootBlockDevice": {"encrypted": encrypted}})
