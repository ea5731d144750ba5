"""Each component alone under Pulumi's mock runtime, asserted on the properties it registers."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.flow_log import FlowLogDelivery, FlowLogDeliveryArgs
from components.s3_destination import S3FlowLogDestination, S3FlowLogDestinationArgs
from components.targets import FlowLogOptions, ResolvedTarget
from components.network import Network, NetworkArgs
from components.web_servers import WebServers, WebServersArgs, ami_architecture, user_data
from config.settings import Destination
from tests.conftest import REPO_ROOT, lab_config
from tools.render import AMI_ID, Rendering, render

TAGS = {"Project": "vpc-flow-logs", "Environment": "lab"}


def render_component(build) -> Rendering:
    return render("lab", lab_config(), program=build)


def network(subnets=("10.0.0.0/24", "10.0.1.0/24")) -> Rendering:
    return render_component(lambda: Network("lab", NetworkArgs("10.0.0.0/16", list(subnets), TAGS)))


VPC_TARGET = ResolvedTarget("vpc-0123456789abcdef0", "vpc_id", "vpc-0123456789abcdef0")


def flow_log_options(**overrides) -> FlowLogOptions:
    return FlowLogOptions(**{**dict(traffic_type="ALL", aggregation_interval=60, log_format=None, tags=TAGS),
                             **overrides})


def delivery_args(**overrides) -> FlowLogDeliveryArgs:
    args = dict(targets=[VPC_TARGET], flow_logs=flow_log_options(), region="ap-northeast-1",
                log_group_name="/vpc-flow-logs/lab", retention_days=7, kms_key_arn=None, create_kms_key=False,
                protect_logs=False, tags=TAGS)
    return FlowLogDeliveryArgs(**{**args, **overrides})


def delivery(**overrides) -> Rendering:
    return render_component(lambda: FlowLogDelivery("lab-flow-logs", delivery_args(**overrides)))


def web(**overrides) -> Rendering:
    args = dict(vpc_id="vpc-0123", subnet_ids=["subnet-a", "subnet-b"], ssh_allowed_cidrs=["203.0.113.0/24"],
                http_allowed_cidrs=["0.0.0.0/0", "::/0"], instance_type="t3.micro", tags=TAGS)
    args.update(overrides)
    return render_component(lambda: WebServers("lab-web", WebServersArgs(**args)))


# Network

def test_vpc_has_dns_support_and_hostnames():
    vpc = network().one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16", vpc.urn
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True, vpc.urn


def test_subnets_are_public_and_in_distinct_zones():
    rendering = network(("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"))
    subnets = rendering.by_type("aws:ec2/subnet:Subnet")
    zones = [s.inputs["availabilityZone"] for s in subnets]
    assert len(set(zones)) == 3, [s.urn for s in subnets]
    assert all(s.inputs["mapPublicIpOnLaunch"] is True for s in subnets)
    assert "aws:index/getAvailabilityZones:getAvailabilityZones" in rendering.invokes


def test_more_subnets_than_zones_is_a_config_error():
    with pytest.raises(pulumi.RunError, match="subnetCidrs lists 4 subnets but the region has only 3"):
        network(("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"))


def test_public_route_goes_to_the_internet_gateway():
    rendering = network()
    route = rendering.one("aws:ec2/route:Route")
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0", route.urn
    assert route.dependencies["gatewayId"] == [rendering.one("aws:ec2/internetGateway:InternetGateway").urn]
    associations = rendering.by_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert len(associations) == 2


def test_default_security_group_is_adopted_with_no_rules():
    rendering = network()
    default_sg = rendering.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.inputs.get("ingress", []) == [] and default_sg.inputs.get("egress", []) == [], default_sg.urn
    assert default_sg.dependencies["vpcId"] == [rendering.one("aws:ec2/vpc:Vpc").urn]


def test_network_children_are_parented_and_tagged():
    rendering = network()
    component = rendering.one("vpcflowlogs:index:Network")
    for child in rendering.registrations:
        if child.type.startswith("aws:"):
            assert child.parent == component.urn, child.urn
    vpc = rendering.one("aws:ec2/vpc:Vpc")
    assert vpc.name == "lab-vpc" and vpc.inputs["tags"]["Project"] == "vpc-flow-logs", vpc.urn


# Flow-log delivery

def test_log_group_retention_and_name():
    group = delivery().one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 7 and group.inputs["name"] == "/vpc-flow-logs/lab", group.urn
    assert "kmsKeyId" not in group.inputs, group.urn


def test_log_group_uses_a_given_kms_key():
    arn = "arn:aws:kms:ap-northeast-1:123456789012:key/abcd"
    group = delivery(kms_key_arn=arn).one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["kmsKeyId"] == arn, group.urn


def test_created_kms_key_rotates_and_encrypts_only_this_group():
    rendering = delivery(create_kms_key=True)
    key = rendering.one("aws:kms/key:Key")
    group = rendering.one("aws:cloudwatch/logGroup:LogGroup")
    assert key.inputs["enableKeyRotation"] is True, key.urn
    assert group.dependencies["kmsKeyId"] == [key.urn], group.urn
    logs_statement = json.loads(key.inputs["policy"])["Statement"][1]
    assert logs_statement["Principal"] == {"Service": "logs.ap-northeast-1.amazonaws.com"}
    assert logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:/vpc-flow-logs/lab")


def test_arns_and_service_hosts_come_from_the_partition():
    config = {**lab_config(), "aws:region": "cn-north-1"}
    rendering = render("lab", config, program=lambda: FlowLogDelivery("lab-flow-logs", delivery_args(
        region="cn-north-1", create_kms_key=True)))
    assert "aws:index/getPartition:getPartition" in rendering.invokes
    role = rendering.one("aws:iam/role:Role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws-cn:ec2:cn-north-1:"), role.urn
    key = rendering.one("aws:kms/key:Key")
    admin, logs = json.loads(key.inputs["policy"])["Statement"]
    assert admin["Principal"]["AWS"].startswith("arn:aws-cn:iam::"), key.urn
    assert logs["Principal"] == {"Service": "logs.cn-north-1.amazonaws.com.cn"}, key.urn
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].startswith("arn:aws-cn:logs:"), key.urn


def test_no_component_hard_codes_the_aws_partition():
    sources = sorted((REPO_ROOT / "components").glob("*.py")) + [REPO_ROOT / "__main__.py"]
    offenders = [f"{path.name}:{number}" for path in sources
                 for number, line in enumerate(path.read_text().splitlines(), 1) if "arn:aws:" in line]
    assert not offenders, offenders


def test_protect_logs_protects_and_retains_the_group():
    group = delivery(protect_logs=True).one("aws:cloudwatch/logGroup:LogGroup")
    assert group.options["protect"] is True and group.options["retainOnDelete"] is True, group.urn


def test_protect_logs_turns_on_the_groups_aws_side_deletion_protection():
    group = delivery(protect_logs=True).one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["deletionProtectionEnabled"] is True, group.urn


def test_unprotected_group_leaves_deletion_protection_unset():
    group = delivery().one("aws:cloudwatch/logGroup:LogGroup")
    assert "deletionProtectionEnabled" not in group.inputs, group.urn


def test_flow_log_properties_come_from_args():
    log_format = "${version} ${interface-id} ${dstport} ${action}"
    flow_log = delivery(flow_logs=flow_log_options(traffic_type="REJECT", aggregation_interval=600,
                                                   log_format=log_format)).one("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "REJECT", flow_log.urn
    assert flow_log.inputs["maxAggregationInterval"] == 600, flow_log.urn
    assert flow_log.inputs["logFormat"] == log_format, flow_log.urn
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs", flow_log.urn
    assert flow_log.inputs["tags"]["Environment"] == "lab", flow_log.urn


def test_flow_log_is_named_in_the_console_by_its_logical_name():
    flow_log = delivery().one("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["tags"]["Name"] == flow_log.name, flow_log.urn


def test_flow_log_waits_for_its_delivery_permissions():
    rendering = delivery()
    flow_log = rendering.one("aws:ec2/flowLog:FlowLog")
    assert rendering.one("aws:iam/rolePolicy:RolePolicy").urn in flow_log.options["dependsOn"], flow_log.urn


# Web servers

def ingress(rendering: Rendering) -> list[tuple[int, str]]:
    rules = rendering.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    return sorted((r.inputs["fromPort"], r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6")) for r in rules)


def test_security_group_allows_only_ssh_and_http_from_configured_cidrs():
    assert ingress(web()) == [(22, "203.0.113.0/24"), (80, "0.0.0.0/0"), (80, "::/0")]


def test_every_security_group_rule_is_described():
    rendering = web()
    rules = [r for r in rendering.registrations if "securityGroup" in r.type and "Rule" in r.type]
    assert len(rules) == 4
    for rule in rules:
        assert rule.inputs["description"].strip(), rule.urn
        if rule.type.endswith("IngressRule"):
            assert rule.inputs["fromPort"] == rule.inputs["toPort"] and rule.inputs["ipProtocol"] == "tcp", rule.urn


def test_one_hardened_host_per_subnet():
    rendering = web()
    instances = rendering.by_type("aws:ec2/instance:Instance")
    assert sorted(i.inputs["subnetId"] for i in instances) == ["subnet-a", "subnet-b"]
    for instance in instances:
        assert instance.inputs["metadataOptions"]["httpTokens"] == "required", instance.urn
        assert instance.inputs["rootBlockDevice"]["encrypted"] is True, instance.urn
        assert instance.inputs["ami"] == AMI_ID, instance.urn
        assert "keyName" not in instance.inputs, instance.urn


def test_ami_is_looked_up_not_hard_coded():
    assert "aws:ssm/getParameter:getParameter" in web().invokes


def instance_options(**overrides) -> dict[str, pulumi.ResourceOptions]:
    """The options each instance is registered with, as a stack transformation sees them."""
    seen: dict[str, pulumi.ResourceOptions] = {}

    def remember(args: pulumi.ResourceTransformationArgs):
        if args.type_ == "aws:ec2/instance:Instance":
            seen[args.name] = args.opts
        return None

    def build():
        pulumi.runtime.register_stack_transformation(remember)
        args = dict(vpc_id="vpc-0123", subnet_ids=["subnet-a", "subnet-b"], ssh_allowed_cidrs=["203.0.113.0/24"],
                    http_allowed_cidrs=["0.0.0.0/0"], instance_type="t3.micro", tags=TAGS)
        WebServers("lab-web", WebServersArgs(**{**args, **overrides}))

    render_component(build)
    return seen


def test_a_looked_up_ami_is_kept_when_amazon_linux_publishes_a_new_one():
    options = instance_options()
    assert options and all(o.ignore_changes == ["ami"] for o in options.values()), options


def test_a_pinned_ami_is_used_as_is_and_rolls_the_hosts_when_changed():
    pinned = "ami-0fedcba9876543210"
    rendering = render_component(lambda: WebServers("lab-web", WebServersArgs(
        vpc_id="vpc-0123", subnet_ids=["subnet-a"], ssh_allowed_cidrs=[], http_allowed_cidrs=["0.0.0.0/0"],
        instance_type="t3.micro", tags=TAGS, ami_id=pinned)))
    assert "aws:ssm/getParameter:getParameter" not in rendering.invokes
    assert [i.inputs["ami"] for i in rendering.by_type("aws:ec2/instance:Instance")] == [pinned]
    options = instance_options(ami_id=pinned)
    assert all(not o.ignore_changes for o in options.values()), options


@pytest.mark.parametrize("instance_type, arch", [("t3.micro", "x86_64"), ("t4g.small", "arm64"),
                                                 ("c7gn.large", "arm64"), ("m5.large", "x86_64"),
                                                 ("a1.medium", "arm64")])
def test_ami_architecture_follows_instance_type(instance_type, arch):
    assert ami_architecture(instance_type) == arch


def test_user_data_installs_apache_and_names_the_host():
    instance = web().by_type("aws:ec2/instance:Instance")[0]
    script = instance.inputs["userData"]
    assert "dnf install -y httpd" in script and "systemctl enable --now httpd" in script, instance.urn
    assert f"<h1>{instance.name}</h1>" in script, instance.urn
    assert script == user_data(instance.name)


def test_public_key_creates_a_key_pair_for_the_hosts():
    rendering = web(ssh_public_key="ssh-ed25519 AAAAC3Nza lab@example")
    key_pair = rendering.one("aws:ec2/keyPair:KeyPair")
    for instance in rendering.by_type("aws:ec2/instance:Instance"):
        assert instance.dependencies["keyName"] == [key_pair.urn], instance.urn


def test_existing_key_pair_is_attached_by_name():
    rendering = web(key_pair_name="ops-team")
    assert not rendering.by_type("aws:ec2/keyPair:KeyPair")
    assert {i.inputs["keyName"] for i in rendering.by_type("aws:ec2/instance:Instance")} == {"ops-team"}


def test_hosts_start_after_given_resources():
    def build():
        marker = aws.cloudwatch.LogGroup("flow-log-stand-in")
        WebServers("lab-web", WebServersArgs(
            vpc_id="vpc-0123", subnet_ids=["subnet-a"], ssh_allowed_cidrs=[], http_allowed_cidrs=[],
            instance_type="t3.micro", tags=TAGS, start_after=[marker]))
    rendering = render_component(build)
    marker = rendering.one("aws:cloudwatch/logGroup:LogGroup")
    assert marker.urn in rendering.one("aws:ec2/instance:Instance").options["dependsOn"]


# S3 destination

def s3_destination(kms_key_arn=None, **destination) -> Rendering:
    settings = Destination("s3", **{"file_format": "parquet", "retention_days": 30, **destination})
    return render_component(lambda: S3FlowLogDestination("lab-s3", S3FlowLogDestinationArgs(
        targets=[VPC_TARGET], flow_logs=flow_log_options(), log_fields=("version", "srcaddr"), destination=settings,
        region="ap-northeast-1", kms_key_arn=kms_key_arn, protect_logs=False, tags=TAGS)))


def test_bucket_without_a_log_key_uses_sse_s3():
    encryption = s3_destination().one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}, encryption.urn
    assert "bucketKeyEnabled" not in rule, encryption.urn


def test_bucket_with_the_log_key_uses_sse_kms():
    arn = "arn:aws:kms:ap-northeast-1:123456789012:key/abcd"
    encryption = s3_destination(kms_key_arn=arn).one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": arn}
    assert rule["bucketKeyEnabled"] is True, encryption.urn


def test_s3_flow_log_waits_for_the_bucket_policy_and_has_no_role():
    rendering = s3_destination()
    flow_log = rendering.one("aws:ec2/flowLog:FlowLog")
    assert rendering.one("aws:s3/bucketPolicy:BucketPolicy").urn in flow_log.options["dependsOn"], flow_log.urn
    assert flow_log.dependencies["logDestination"] == [rendering.one("aws:s3/bucket:Bucket").urn], flow_log.urn
    assert "iamRoleArn" not in flow_log.inputs, flow_log.urn


def test_bucket_without_object_lock_has_no_lock_configuration():
    rendering = s3_destination()
    assert not rendering.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert "objectLockEnabled" not in rendering.one("aws:s3/bucket:Bucket").inputs


def test_destination_exposes_what_an_athena_table_needs():
    def build():
        s3 = S3FlowLogDestination("lab-s3", S3FlowLogDestinationArgs(
            targets=[VPC_TARGET], flow_logs=flow_log_options(), log_fields=("version", "srcaddr"),
            destination=Destination("s3", file_format="parquet", hive_compatible_partitions=True,
                                    bucket_arn="arn:aws:s3:::central-logs/network"),
            region="ap-northeast-1", kms_key_arn=None, protect_logs=False, tags=TAGS))
        pulumi.export("bucket", s3.bucket_name)
        pulumi.export("prefix", s3.key_prefix)
        pulumi.export("fields", list(s3.log_fields))
        pulumi.export("hive", s3.hive_compatible_partitions)
    outputs = render_component(build).outputs
    assert outputs == {"bucket": "central-logs", "prefix": "network/AWSLogs/", "fields": ["version", "srcaddr"],
                       "hive": True}
