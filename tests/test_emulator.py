"""The program applied to moto's model of AWS through `MotoMocks`.

AWS's own rules run on what the program registers (IAM parses the documents, the flow log
needs its VPC, a second identical flow log is refused), and every assertion reads the result
back through boto3 describe/get calls, never through the emulator's records. lab and prod are
deployed once, side by side, into one emulated account.
"""

from __future__ import annotations

import base64
import gc
import json
from typing import Any, Callable, Iterator, NamedTuple

import boto3
import pulumi_aws as aws
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from moto import mock_aws
from moto.logs.models import LogsBackend
from pulumi.runtime.mocks import MockCallArgs
from pulumi.runtime.settings import SETTINGS

from components.flow_log import DELIVERY_ACTIONS, FLOW_LOGS_SERVICE, FlowLogDelivery, FlowLogDeliveryArgs
from components.targets import FlowLogOptions, ResolvedTarget
from components.web_servers import AL2023_AMI_PARAMETER, HTTP_PORT, SSH_PORT, ami_architecture
from config.settings import Settings, config_from_stack_file, settings_from_stack_file
from flowlogs.fields import DEFAULT_FIELDS
from tests.conftest import stack_file
from tests.existing_networks import create_existing_networks
from tools.emulator import NOT_IN_MOTO, QUERY_DEFINITION, MotoMocks, create_flow_logs_request
from tools.render import Rendering, render, render_stack_file

STACKS = ("lab", "prod")
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# What AWS records when a flow log names no format: the version 2 fields.
DEFAULT_FORMAT = " ".join(f"${{{field}}}" for field in DEFAULT_FIELDS)


class Deployment(NamedTuple):
    settings: Settings
    rendering: Rendering
    mocks: MotoMocks

    def client(self, service: str) -> Any:
        """A plain boto3 client, independent of the emulator's own."""
        return boto3.client(service, region_name=self.settings.region)

    @property
    def vpc_filter(self) -> list[dict[str, Any]]:
        return [{"Name": "vpc-id", "Values": [self.rendering.outputs["vpcId"]]}]

    def log_group(self) -> dict[str, Any]:
        name = self.rendering.outputs["logGroupName"]
        (group,) = [g for g in self.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
                    if g["logGroupName"] == name]
        return group

    def role_name(self) -> str:
        return self.rendering.outputs["flowLogRoleArn"].rsplit("/", 1)[1]

    def instances(self) -> list[dict[str, Any]]:
        reservations = self.client("ec2").describe_instances(Filters=self.vpc_filter)["Reservations"]
        return [instance for reservation in reservations for instance in reservation["Instances"]]


def _deploy(stack: str) -> Deployment:
    settings = settings_from_stack_file(stack_file(stack))
    mocks = MotoMocks(settings.region)
    return Deployment(settings, render_stack_file(stack_file(stack), mocks), mocks)


def _deploy_audit() -> Deployment:
    path = stack_file("audit")
    settings = settings_from_stack_file(path)
    config = {**config_from_stack_file(path),
              "vpc-flow-logs:flowLogTargets": json.dumps(create_existing_networks(boto3.client("ec2", region_name=settings.region)))}
    mocks = MotoMocks(settings.region)
    return Deployment(settings, render("audit", config, mocks=mocks), mocks)


@pytest.fixture(scope="module")
def account() -> Iterator[dict[str, Deployment]]:
    """One emulated AWS account (moto in-process) holding lab, prod and audit, deployed once."""
    with mock_aws():
        yield {**{stack: _deploy(stack) for stack in STACKS}, "audit": _deploy_audit()}


def _render_program(program: Callable[[], Any], region: str) -> tuple[Rendering, MotoMocks]:
    """A small program rendered into the account; lab's config satisfies the settings check."""
    mocks = MotoMocks(region)
    config = {**config_from_stack_file(stack_file("lab")), "aws:region": region}
    return render("lab", config, mocks=mocks, program=program), mocks


def _assert_render_fails(program: Callable[[], Any], error: type[Exception], message: str) -> None:
    """The render raises; then the failed run's futures are finalized here, not at random.

    Pulumi's run state keeps futures holding the failure until the next render clears it; a
    later garbage collection then has asyncio log "exception was never retrieved" from inside
    whatever runs at that moment. On CPython 3.11 formatting that traceback calls ast.parse, and
    one nested in pytest's own ast.parse (assertion rewriting of a late import) fails the whole
    session with "SystemError: AST constructor recursion depth mismatch" (pytest-dev/pytest#10763).
    """
    with pytest.raises(error, match=message):
        _render_program(program, "ap-northeast-1")
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    gc.collect()


@pytest.mark.parametrize("stack", STACKS)
def test_flow_log_targets_the_vpc_and_delivers_to_the_group_through_the_role(account, stack):
    deployment = account[stack]
    settings = deployment.settings
    (flow_log,) = deployment.client("ec2").describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [deployment.rendering.outputs["vpcId"]]},
                 {"Name": "log-destination-type", "Values": ["cloud-watch-logs"]}])["FlowLogs"]
    role = deployment.client("iam").get_role(RoleName=deployment.role_name())["Role"]
    assert flow_log["FlowLogId"] == deployment.rendering.outputs["flowLogId"]
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["LogDestination"] == deployment.log_group()["logGroupArn"]
    assert flow_log["DeliverLogsPermissionArn"] == role["Arn"] == deployment.rendering.outputs["flowLogRoleArn"]
    assert flow_log["TrafficType"] == settings.traffic_type
    assert flow_log["MaxAggregationInterval"] == settings.aggregation_interval
    assert flow_log["LogFormat"] == (settings.log_format or DEFAULT_FORMAT)
    # moto marks delivery FAILED when the destination group does not exist.
    assert flow_log["DeliverLogsStatus"] == "SUCCESS", flow_log
    assert {"Key": "Environment", "Value": stack} in flow_log["Tags"]


@pytest.mark.parametrize("stack", STACKS)
def test_security_group_admits_only_ssh_and_http_from_the_configured_cidrs(account, stack):
    deployment = account[stack]
    settings = deployment.settings
    ec2 = deployment.client("ec2")
    (group_id,) = {group["GroupId"] for instance in deployment.instances()
                   for group in instance["NetworkInterfaces"][0]["Groups"]}
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    ingress = {(permission["IpProtocol"], permission["FromPort"], permission["ToPort"], block["CidrIp"],
                block.get("Description")) for permission in group["IpPermissions"] for block in permission["IpRanges"]}
    assert ingress == {("tcp", port, port, cidr, f"{service} ({port}) from {cidr}")
                       for service, port, cidrs in (("SSH", SSH_PORT, settings.ssh_allowed_cidrs),
                                                    ("HTTP", HTTP_PORT, settings.http_allowed_cidrs))
                       for cidr in cidrs}
    assert not any(p["Ipv6Ranges"] or p["UserIdGroupPairs"] or p["PrefixListIds"] for p in group["IpPermissions"])
    (egress,) = group["IpPermissionsEgress"]
    assert egress["IpProtocol"] == "-1" and [r["CidrIp"] for r in egress["IpRanges"]] == ["0.0.0.0/0"]


@pytest.mark.parametrize("stack", STACKS)
def test_default_security_group_has_no_rules(account, stack):
    deployment = account[stack]
    (group,) = deployment.client("ec2").describe_security_groups(
        Filters=deployment.vpc_filter + [{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == [], group


@pytest.mark.parametrize("stack", STACKS)
def test_subnets_route_to_the_internet_through_the_vpcs_gateway(account, stack):
    deployment = account[stack]
    ec2 = deployment.client("ec2")
    (gateway,) = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [deployment.rendering.outputs["vpcId"]]}])["InternetGateways"]
    for subnet_id in deployment.rendering.outputs["subnetIds"]:
        (table,) = ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["RouteTables"]
        default_routes = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert [r.get("GatewayId") for r in default_routes] == [gateway["InternetGatewayId"]], table


@pytest.mark.parametrize("stack", STACKS)
def test_one_hardened_apache_host_per_subnet_each_in_its_own_zone(account, stack):
    deployment = account[stack]
    settings = deployment.settings
    ec2 = deployment.client("ec2")
    subnets = ec2.describe_subnets(Filters=deployment.vpc_filter)["Subnets"]
    instances = deployment.instances()
    assert sorted(s["SubnetId"] for s in subnets) == sorted(deployment.rendering.outputs["subnetIds"])
    assert sorted(i["SubnetId"] for i in instances) == sorted(s["SubnetId"] for s in subnets)
    zones = [i["Placement"]["AvailabilityZone"] for i in instances]
    assert len(set(zones)) == len(zones) == len(settings.subnet_cidrs), zones
    assert all(s["MapPublicIpOnLaunch"] for s in subnets)
    ami = deployment.client("ssm").get_parameter(
        Name=AL2023_AMI_PARAMETER.format(arch=ami_architecture(settings.instance_type)))["Parameter"]["Value"]
    assert sorted(i["InstanceId"] for i in instances) == sorted(deployment.rendering.outputs["instanceIds"])
    assert sorted(i["PublicIpAddress"] for i in instances) == sorted(deployment.rendering.outputs["publicIps"])
    for instance in instances:
        assert instance["ImageId"] == ami and instance["InstanceType"] == settings.instance_type
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        assert instance["MetadataOptions"]["HttpEndpoint"] == "enabled"
        (root,) = [m for m in instance["BlockDeviceMappings"] if m["DeviceName"] == instance["RootDeviceName"]]
        (volume,) = ec2.describe_volumes(VolumeIds=[root["Ebs"]["VolumeId"]])["Volumes"]
        assert volume["Encrypted"] is True and volume["VolumeType"] == "gp3", volume
        user_data = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
        assert "systemctl enable --now httpd" in base64.b64decode(user_data["UserData"]["Value"]).decode()


@pytest.mark.parametrize("stack", STACKS)
def test_iam_accepted_the_trust_policy_and_the_least_privilege_delivery_policy(account, stack):
    deployment = account[stack]
    iam = deployment.client("iam")
    role_name = deployment.role_name()
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    (flow_log_role,) = [r for r in deployment.rendering.by_type(ROLE) if r.name.endswith("-flow-logs-role")]
    assert trust == json.loads(flow_log_role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    account_id = deployment.client("sts").get_caller_identity()["Account"]
    assert statement["Principal"] == {"Service": FLOW_LOGS_SERVICE} and statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": account_id}

    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    assert document == json.loads(deployment.rendering.one(ROLE_POLICY).inputs["policy"])
    group_arn = deployment.log_group()["logGroupArn"]
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert statement["Effect"] == "Allow" and sorted(actions) == sorted(DELIVERY_ACTIONS)
        assert resources == [f"{group_arn}:*"], resources


def test_a_secret_ssh_public_key_becomes_the_hosts_key_pair(account):
    """sshPublicKey as a `secure:` value reaches EC2 as plain key material, and the hosts use it."""
    region = "us-west-2"  # its own region: a third lab in the account
    public_key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    config = {**config_from_stack_file(stack_file("lab")), "aws:region": region,
              "vpc-flow-logs:sshPublicKey": public_key.decode()}
    rendering = render("lab", config, secret_keys=["vpc-flow-logs:sshPublicKey"], mocks=MotoMocks(region))
    ec2 = boto3.client("ec2", region_name=region)
    (key_pair,) = ec2.describe_key_pairs()["KeyPairs"]
    reservations = ec2.describe_instances(
        Filters=[{"Name": "vpc-id", "Values": [rendering.outputs["vpcId"]]}])["Reservations"]
    assert [i["KeyName"] for r in reservations for i in r["Instances"]] == [key_pair["KeyName"]] * 2


def test_iam_refuses_a_trust_policy_aws_would_refuse(account):
    """The acceptance above means something: the same path rejects a malformed document."""
    def program() -> None:
        aws.iam.Role("not-a-trust-policy", assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": FLOW_LOGS_SERVICE}, "Action": "logs:*"}],
        }))

    _assert_render_fails(program, RuntimeError, "MalformedPolicyDocument")


@pytest.mark.parametrize("stack", STACKS)
def test_log_group_keeps_records_as_configured(account, stack):
    deployment = account[stack]
    settings = deployment.settings
    group = deployment.log_group()
    assert group["retentionInDays"] == settings.log_retention_days
    if not settings.create_log_kms_key:
        assert "kmsKeyId" not in group
        return
    kms = deployment.client("kms")
    key = kms.describe_key(KeyId=group["kmsKeyId"])["KeyMetadata"]
    assert key["Arn"] == group["kmsKeyId"] and key["Enabled"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    services = [s["Principal"].get("Service") for s in policy["Statement"]]
    assert f"logs.{settings.region}.amazonaws.com" in services


def test_aws_refuses_a_second_identical_flow_log_so_replacement_deletes_first(account):
    """A replacement created before the old flow log is gone is a second identical flow log.

    The flow-log delivery is rendered into its own region, because this test deletes and
    re-creates its flow log with the very request the emulator sent for it.
    """
    region = "eu-west-1"

    def program() -> None:
        vpc = aws.ec2.Vpc("replace-vpc", cidr_block="10.99.0.0/16")
        FlowLogDelivery("replace", FlowLogDeliveryArgs(
            targets=[ResolvedTarget("replace-vpc", "vpc_id", vpc.id)],
            flow_logs=FlowLogOptions(traffic_type="ALL", aggregation_interval=60, log_format=None, tags={}),
            region=region, log_group_name="/vpc-flow-logs/replace", retention_days=1, kms_key_arn=None,
            create_kms_key=False, protect_logs=False, tags={}))

    rendering, _ = _render_program(program, region)
    registration = rendering.one(FLOW_LOG)
    request = create_flow_logs_request(registration.inputs)
    ec2 = boto3.client("ec2", region_name=region)
    (existing,) = ec2.describe_flow_logs()["FlowLogs"]

    with pytest.raises(ClientError) as refused:
        ec2.create_flow_logs(**request)
    assert refused.value.response["Error"]["Code"] == "FlowLogAlreadyExists"

    ec2.delete_flow_logs(FlowLogIds=[existing["FlowLogId"]])
    created = ec2.create_flow_logs(**request)
    assert created["Unsuccessful"] == [] and len(created["FlowLogIds"]) == 1
    assert registration.options["deleteBeforeReplace"] is True


@pytest.mark.parametrize("program, message", [
    (lambda: aws.sqs.Queue("events"), "no handler for the resource type aws:sqs/queue:Queue"),
    (lambda: aws.get_region(), "no handler for the lookup aws:index/getRegion:getRegion"),
    (lambda: aws.ec2.Vpc("ipv6", cidr_block="10.0.0.0/16", assign_generated_ipv6_cidr_block=True),
     "does not send the input\\(s\\) assignGeneratedIpv6CidrBlock"),
], ids=["resource type", "lookup", "input"])
def test_what_the_emulator_does_not_handle_fails_the_render(account, program, message):
    _assert_render_fails(program, NotImplementedError, message)


@pytest.mark.parametrize("stack", STACKS)
def test_monitoring_alarms_on_what_the_groups_filters_count_and_mails_the_topic(account, stack):
    deployment = account[stack]
    settings, outputs = deployment.settings, deployment.rendering.outputs
    filters = deployment.client("logs").describe_metric_filters(logGroupName=outputs["logGroupName"])["metricFilters"]
    if not settings.monitoring.enabled:
        assert filters == []
        return
    cloudwatch, sns = deployment.client("cloudwatch"), deployment.client("sns")
    assert len(filters) == len(deployment.rendering.by_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")) > 0
    counted = {(t["metricNamespace"], t["metricName"]) for f in filters for t in f["metricTransformations"]}
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{stack}-monitoring-")["MetricAlarms"]
    assert len(alarms) == len(deployment.rendering.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")) > 0
    for alarm in alarms:
        assert (alarm["Namespace"], alarm["MetricName"]) in counted, alarm["AlarmName"]
        assert alarm["AlarmActions"] == alarm["OKActions"] == [outputs["alarmTopicArn"]], alarm["AlarmName"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=outputs["alarmTopicArn"])["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == \
        sorted(("email", email) for email in settings.monitoring.alert_emails)
    assert json.loads(cloudwatch.get_dashboard(DashboardName=outputs["dashboardName"])["DashboardBody"])["widgets"]


@pytest.mark.parametrize("region, partition, suffix", [
    ("ap-northeast-1", "aws", "amazonaws.com"), ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com")])
def test_the_partition_lookup_answers_for_the_region(region, partition, suffix):
    answer = MotoMocks(region).call(MockCallArgs("aws:index/getPartition:getPartition", {}, ""))
    assert (answer["partition"], answer["dnsSuffix"]) == (partition, suffix), region


def test_not_in_moto_names_exactly_what_moto_lacks():
    """The one list of moto's gaps: when moto learns PutQueryDefinition, this says to use it."""
    assert set(NOT_IN_MOTO) == {QUERY_DEFINITION}
    assert not hasattr(LogsBackend, "put_query_definition")


@pytest.mark.parametrize("stack", STACKS)
def test_only_what_moto_lacks_was_left_out(account, stack):
    deployment = account[stack]
    assert sorted(deployment.mocks.not_in_moto) == sorted(
        f"{r.type} {r.name}" for r in deployment.rendering.registrations if r.type in NOT_IN_MOTO)


# S3 destinations and existing networks

def _bucket_of(deployment: Deployment) -> str:
    return deployment.rendering.outputs["flowLogBuckets"]["s3"]


@pytest.mark.parametrize("stack", ["prod", "audit"])
def test_flow_log_bucket_is_held_hardened(account, stack):
    deployment = account[stack]
    s3, bucket = deployment.client("s3"), _bucket_of(deployment)
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block[key] for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                      "RestrictPublicBuckets")), block
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = rule["ApplyServerSideEncryptionByDefault"]
    key_arn = deployment.client("kms").describe_key(KeyId=default["KMSMasterKeyID"])["KeyMetadata"]["Arn"]
    assert default["SSEAlgorithm"] == "aws:kms" and key_arn == default["KMSMasterKeyID"], rule
    (expiry,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert expiry["Status"] == "Enabled"
    assert expiry["Expiration"]["Days"] == deployment.settings.destinations[1].retention_days
    assert expiry["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    statements = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert [statement["Sid"] for statement in statements] == [
        "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck", "DenyInsecureTransport"]
    assert statements[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == deployment.mocks.account_id


def test_audit_bucket_locks_records(account):
    deployment = account["audit"]
    lock = deployment.client("s3").get_object_lock_configuration(Bucket=_bucket_of(deployment))
    assert lock["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    retention = lock["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 90), retention


@pytest.mark.parametrize("stack", ["prod", "audit"])
def test_every_target_delivers_to_cloud_watch_and_to_the_bucket_as_parquet(account, stack):
    deployment = account[stack]
    flow_logs = deployment.client("ec2").describe_flow_logs()["FlowLogs"]
    ids = {flow_log_id for by_target in deployment.rendering.outputs["flowLogIds"].values()
           for flow_log_id in by_target.values()}
    mine = [flow_log for flow_log in flow_logs if flow_log["FlowLogId"] in ids]
    assert len(mine) == len(ids), sorted(ids - {f["FlowLogId"] for f in mine})
    bucket_arn = f"arn:aws:s3:::{_bucket_of(deployment)}"
    for target in {flow_log["ResourceId"] for flow_log in mine}:
        kinds = sorted(f["LogDestinationType"] for f in mine if f["ResourceId"] == target)
        assert kinds == ["cloud-watch-logs", "s3"], (target, kinds)
    for flow_log in mine:
        if flow_log["LogDestinationType"] == "s3":
            assert flow_log["LogDestination"] == bucket_arn and "DeliverLogsPermissionArn" not in flow_log, flow_log


@pytest.mark.parametrize("stack", ["prod", "audit"])
def test_s3_flow_logs_ask_for_hourly_hive_parquet(account, stack):
    """moto 5.2.5 drops DestinationOptions (DescribeFlowLogs never returns them), so what is
    checked is the CreateFlowLogs request the emulator sent."""
    for registration in account[stack].rendering.by_type(FLOW_LOG):
        if registration.inputs["logDestinationType"] == "s3":
            assert create_flow_logs_request(registration.inputs)["DestinationOptions"] == {
                "FileFormat": "parquet", "HiveCompatiblePartitions": True, "PerHourPartition": True}, registration.urn


def test_audit_logs_every_existing_network_it_names(account):
    deployment = account["audit"]
    ec2 = deployment.client("ec2")
    (tagged,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Team", "Values": ["payments"]}])["Vpcs"]
    named = {target.resource_id for target in deployment.settings.flow_log_targets}
    logged = set(deployment.rendering.outputs["flowLogIds"]["cloudwatch"])
    # The stack file's documentation ids stood in for the networks created here; the tag found its VPC.
    assert tagged["VpcId"] in logged and len(logged) == 5, logged
    assert not named & logged


def test_aws_refuses_a_second_identical_s3_flow_log(account):
    deployment = account["audit"]
    registration = next(r for r in deployment.rendering.by_type(FLOW_LOG) if r.inputs["logDestinationType"] == "s3")
    with pytest.raises(ClientError) as refused:
        deployment.client("ec2").create_flow_logs(**create_flow_logs_request(registration.inputs))
    assert refused.value.response["Error"]["Code"] == "FlowLogAlreadyExists", registration.urn
