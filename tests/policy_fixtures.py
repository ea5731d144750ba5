"""Hand-built registrations, in the shape `tools.render` records, for exercising one rule at a time.

`compliant_stack()` passes every rule; each test changes one thing in it and expects exactly
that rule to name exactly that resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

PACK = Path(__file__).resolve().parents[1] / "policies"
TAGS = {"Project": "vpc-flow-logs", "Environment": "test"}
ACCOUNT = "123456789012"
GROUP_ARN = f"arn:aws:logs:ap-northeast-1:{ACCOUNT}:log-group:/vpc-flow-logs/test"
DELIVERY_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"]

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INSTANCE = "aws:ec2/instance:Instance"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
SUBNET = "aws:ec2/subnet:Subnet"
TOPIC = "aws:sns/topic:Topic"
KMS_KEY = "aws:kms/key:Key"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::vpc-flow-logs::{type_}::{name}"


def resource(type_: str, name: str, inputs: Optional[dict[str, Any]] = None, *, protect: bool = False,
             delete_before_replace: bool = False, dependencies: Optional[dict[str, list[str]]] = None) -> dict:
    return {"urn": urn(type_, name), "type": type_, "name": name, "parent": "",
            "inputs": inputs or {},
            "options": {"deleteBeforeReplace": delete_before_replace, "replaceOnChanges": [], "protect": protect,
                        "retainOnDelete": False, "dependsOn": []},
            "dependencies": dependencies or {}}


def trust(principal: Optional[dict] = None, conditions: Optional[dict] = None) -> str:
    """A trust policy; by default only the flow-logs service, under both confused-deputy conditions."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": principal or {"Service": "vpc-flow-logs.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:ap-northeast-1:{ACCOUNT}:vpc-flow-log/*"}}
        if conditions is None else conditions}]})


def permissions(actions: Optional[list[str]] = None, resource_arn: str = f"{GROUP_ARN}:*") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": actions or DELIVERY_ACTIONS, "Resource": resource_arn}]})


def vpc(name: str = "vpc") -> dict:
    return resource(VPC, name, {"cidrBlock": "10.0.0.0/16", "tags": TAGS})


def log_group(name: str = "group", *, protect: bool = True, **inputs: Any) -> dict:
    return resource(LOG_GROUP, name, {"name": "/vpc-flow-logs/test", "retentionInDays": 30,
                                      "kmsKeyId": f"arn:aws:kms:ap-northeast-1:{ACCOUNT}:key/k", "tags": TAGS,
                                      **inputs}, protect=protect)


@dataclass
class Delivery:
    """A VPC and its flow log, delivering into a log group through a role, all wired by reference."""

    vpc: dict
    group: dict
    role: dict
    role_policy: dict
    flow_log: dict

    @property
    def resources(self) -> list[dict]:
        return [self.vpc, self.group, self.role, self.role_policy, self.flow_log]


def delivery(*, trust_policy: Optional[str] = None, policy: Optional[str] = None, traffic_type: str = "ALL",
             linked_to_vpc: bool = True, delete_before_replace: bool = True) -> Delivery:
    network, group = vpc(), log_group()
    role = resource(ROLE, "role", {"assumeRolePolicy": trust_policy or trust(), "tags": TAGS})
    role_policy = resource(ROLE_POLICY, "role-policy", {"role": "role", "policy": policy or permissions()},
                           dependencies={"role": [role["urn"]], "policy": [group["urn"]]})
    flow_log = resource(
        FLOW_LOG, "flow-log",
        {"vpcId": "vpc-0123", "trafficType": traffic_type, "logDestination": GROUP_ARN,
         "logDestinationType": "cloud-watch-logs", "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/role",
         "maxAggregationInterval": 60, "tags": TAGS},
        delete_before_replace=delete_before_replace,
        dependencies={"vpcId": [network["urn"]] if linked_to_vpc else [],
                      "logDestination": [group["urn"]], "iamRoleArn": [role["urn"]]})
    return Delivery(network, group, role, role_policy, flow_log)


def attached_policy(role: dict, document: Optional[str] = None, *, literal_arn: Optional[str] = None) -> list[dict]:
    """A RolePolicyAttachment of a Policy the stack defines, or of a literal (managed) policy ARN."""
    if literal_arn:
        return [resource(POLICY_ATTACHMENT, "attachment", {"role": "role", "policyArn": literal_arn},
                         dependencies={"role": [role["urn"]]})]
    policy = resource(POLICY, "policy", {"policy": document or permissions(), "tags": TAGS})
    return [policy, resource(POLICY_ATTACHMENT, "attachment",
                             {"role": "role", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/policy"},
                             dependencies={"role": [role["urn"]], "policyArn": [policy["urn"]]})]


def default_group(vpc_urn: str, **inputs: Any) -> dict:
    return resource(DEFAULT_SECURITY_GROUP, "default-sg", {"vpcId": "vpc-0123", "tags": TAGS, **inputs},
                    dependencies={"vpcId": [vpc_urn]})


def ingress_rule(name: str, port: int, cidr: str, *, description: str = "office SSH", protocol: str = "tcp",
                 to_port: Optional[int] = None, group_urn: Optional[str] = None) -> dict:
    inputs: dict[str, Any] = {"securityGroupId": "sg-0123", "ipProtocol": protocol,
                              "cidrIpv6" if ":" in cidr else "cidrIpv4": cidr, "description": description,
                              "tags": TAGS}
    if protocol != "-1":
        inputs.update(fromPort=port, toPort=port if to_port is None else to_port)
    return resource(INGRESS_RULE, name, inputs,
                    dependencies={"securityGroupId": [group_urn]} if group_urn else None)


def inline_entry(port: int, cidr: str, description: Optional[str] = "web clients", protocol: str = "tcp") -> dict:
    entry: dict[str, Any] = {"protocol": protocol, "fromPort": port, "toPort": port,
                             "ipv6CidrBlocks" if ":" in cidr else "cidrBlocks": [cidr]}
    if description is not None:
        entry["description"] = description
    return entry


def security_group(name: str, ingress: list[dict], egress: Optional[list[dict]] = None) -> dict:
    return resource(SECURITY_GROUP, name, {"vpcId": "vpc-0123", "description": "web hosts", "ingress": ingress,
                                           "egress": egress or [], "tags": TAGS})


def legacy_rule(name: str, direction: str, port: int, cidr: str, description: str = "legacy rule") -> dict:
    return resource(LEGACY_RULE, name, {"type": direction, "protocol": "tcp", "fromPort": port, "toPort": port,
                                        "cidrBlocks": [cidr], "securityGroupId": "sg-0123",
                                        "description": description})


def instance(name: str = "host", *, http_tokens: str = "required", encrypted: bool = True,
             profile_urn: Optional[str] = None, **inputs: Any) -> dict:
    return resource(INSTANCE, name, {"ami": "ami-0123", "instanceType": "t3.micro", "tags": TAGS,
                                     "metadataOptions": {"httpTokens": http_tokens},
                                     "rootBlockDevice": {"encrypted": encrypted}, **inputs},
                    dependencies={"iamInstanceProfile": [profile_urn]} if profile_urn else None)


def ssm_profile(policy_arn: str = SSM_CORE) -> list[dict]:
    """A role for EC2 with a managed policy attached, and the instance profile that carries it."""
    role = resource(ROLE, "host-role", {"assumeRolePolicy": "{}", "tags": TAGS})
    attachment = resource(POLICY_ATTACHMENT, "host-role-ssm", {"role": "host-role", "policyArn": policy_arn},
                          dependencies={"role": [role["urn"]]})
    profile = resource(INSTANCE_PROFILE, "host-profile", {"role": "host-role", "tags": TAGS},
                       dependencies={"role": [role["urn"]]})
    return [role, attachment, profile]


def managed_instance(name: str = "host", **inputs: Any) -> list[dict]:
    """An instance reachable through SSM Session Manager, with its profile."""
    profile = ssm_profile()
    return [*profile, instance(name, profile_urn=profile[-1]["urn"], **inputs)]


def compliant_stack() -> list[dict]:
    """One of everything the rules look at, each as the rules want it."""
    flow = delivery()
    return [*flow.resources, default_group(flow.vpc["urn"]),
            security_group("web-sg", [inline_entry(80, "10.0.0.0/8")], [inline_entry(443, "0.0.0.0/0")]),
            ingress_rule("ssh-in", 22, "203.0.113.0/24"), *managed_instance(), *s3_delivery()]


def replaced(resources: list[dict], new: dict) -> list[dict]:
    """`resources` with the one of the same URN swapped for `new`."""
    assert any(r["urn"] == new["urn"] for r in resources), new["urn"]
    return [new if r["urn"] == new["urn"] else r for r in resources]


BUCKET = "aws:s3/bucket:Bucket"
WORKGROUP = "aws:athena/workgroup:Workgroup"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
DEFAULT_COLUMNS = ["version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
                   "packets", "bytes", "start", "end", "action", "log_status"]


def workgroup(name: str = "workgroup", *, enforce: bool = True, encryption: Optional[str] = "SSE_S3") -> dict:
    result: dict[str, Any] = {"outputLocation": "s3://query-results/"}
    if encryption:
        result["encryptionConfiguration"] = {"encryptionOption": encryption}
    return resource(WORKGROUP, name, {"name": name, "tags": TAGS, "configuration": {
        "enforceWorkgroupConfiguration": enforce, "bytesScannedCutoffPerQuery": 10_000_000_000,
        "resultConfiguration": result}})


def s3_parquet_delivery(columns: list[str], log_format: Optional[str] = None) -> list[dict]:
    """A flow log delivering Parquet into a bucket, and a Glue table over that bucket, linked by reference."""
    network, bucket = vpc(), resource(BUCKET, "records", {"tags": TAGS})
    inputs = {"vpcId": "vpc-0123", "trafficType": "ALL", "logDestination": "arn:aws:s3:::records",
              "logDestinationType": "s3", "destinationOptions": {"fileFormat": "parquet"}, "tags": TAGS}
    if log_format:
        inputs["logFormat"] = log_format
    flow_log = resource(FLOW_LOG, "s3-flow-log", inputs, delete_before_replace=True,
                        dependencies={"vpcId": [network["urn"]], "logDestination": [bucket["urn"]]})
    table = resource(GLUE_TABLE, "records-table", {
        "databaseName": "flow_logs", "name": "flow_logs", "tableType": "EXTERNAL_TABLE",
        "storageDescriptor": {"location": "s3://records/AWSLogs/",
                              "columns": [{"name": column, "type": "string"} for column in columns]}},
        dependencies={"storageDescriptor": [bucket["urn"]]})
    return [network, bucket, flow_log, table]
BUCKET_ARN = "arn:aws:s3:::flow-logs-bucket"


def bucket_policy_document(*, conditions: bool = True, tls_deny: bool = True) -> str:
    source = {"StringEquals": {"aws:SourceAccount": ACCOUNT},
              "ArnLike": {"aws:SourceArn": f"arn:aws:logs:ap-northeast-1:{ACCOUNT}:*"}} if conditions else {}
    statements = [
        {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{BUCKET_ARN}/AWSLogs/{ACCOUNT}/*", "Condition": source},
        {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": BUCKET_ARN, "Condition": source},
    ]
    if tls_deny:
        statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                           "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
                           "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def bucket_part(bucket: dict, type_: str, name: str, inputs: dict) -> dict:
    """A bucket sub-resource whose `bucket` input depends on the bucket."""
    return resource(type_, name, {"bucket": "flow-logs-bucket", **inputs}, dependencies={"bucket": [bucket["urn"]]})


def s3_delivery(*, without: tuple[str, ...] = (), **changes: Any) -> list[dict]:
    """A hardened bucket and a flow log delivering into it; `without` drops sub-resources by type,
    `changes` replaces a sub-resource's inputs (keyed by its short name)."""
    bucket = resource(BUCKET, "flow-logs-bucket", {"tags": TAGS})
    parts = {
        "publicAccessBlock": ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                              {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
                               "restrictPublicBuckets": True}),
        "encryption": ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                       {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}),
        "lifecycle": ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                      {"rules": [{"id": "expire", "status": "Enabled", "expiration": {"days": 365},
                                  "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}),
        "versioning": ("aws:s3/bucketVersioning:BucketVersioning",
                       {"versioningConfiguration": {"status": "Enabled"}}),
        "policy": ("aws:s3/bucketPolicy:BucketPolicy", {"policy": bucket_policy_document()}),
    }
    resources = [bucket]
    for short, (type_, inputs) in parts.items():
        if short not in without:
            resources.append(bucket_part(bucket, type_, f"bucket-{short}", changes.get(short, inputs)))
    resources.append(resource(
        FLOW_LOG, "s3-flow-log",
        {"vpcId": "vpc-0123", "trafficType": "ALL", "logDestination": BUCKET_ARN, "logDestinationType": "s3",
         "maxAggregationInterval": 600, "tags": TAGS},
        delete_before_replace=True, dependencies={"logDestination": [bucket["urn"]]}))
    return resources
