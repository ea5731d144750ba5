"""The whole program under Pulumi's mock runtime: every stack renders, and the engine receives
the flow log's replacement contract and least-privilege IAM documents."""

from __future__ import annotations

import json
import re
import runpy

import jsonschema
import pulumi
import pytest
import yaml

from config.settings import CONFIG_KEYS, settings_from_stack_file
from tests.conftest import REPO_ROOT, STACKS, stack_config, stack_file
from tools.render import PROGRAM, LabMocks, Registration, Rendering, render, render_stack_file

FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_config_dir_has_the_three_environments():
    assert {"lab", "dev", "prod"} <= set(STACKS)


LAB_STACKS = [stack for stack in STACKS if settings_from_stack_file(stack_file(stack)).lab]


def cloud_watch_flow_log(rendering: Rendering) -> Registration:
    (flow_log,) = [r for r in rendering.by_type(FLOW_LOG) if r.inputs["logDestinationType"] == "cloud-watch-logs"]
    return flow_log


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_every_lab_stack_renders_its_whole_lab(rendered, stack):
    rendering = rendered(stack)
    settings = settings_from_stack_file(stack_file(stack))
    types = [r.type for r in rendering.registrations]
    assert types.count("aws:ec2/vpc:Vpc") == 1
    assert types.count("aws:ec2/subnet:Subnet") == len(settings.subnet_cidrs)
    assert types.count("aws:ec2/instance:Instance") == len(settings.subnet_cidrs)
    assert types.count(LOG_GROUP) == 1
    # The flow logs' delivery role and the hosts' SSM role.
    assert types.count(ROLE) == 2
    assert types.count(FLOW_LOG) == len(settings.destinations), stack


@pytest.mark.parametrize("stack", STACKS)
def test_one_flow_log_per_target_and_destination(rendered, stack):
    settings = settings_from_stack_file(stack_file(stack))
    flow_logs = rendered(stack).by_type(FLOW_LOG)
    targets = {r.inputs.get("vpcId") or r.name for r in flow_logs}
    pairs = {(r.inputs["logDestinationType"], r.inputs.get("vpcId") or r.name) for r in flow_logs}
    assert len(flow_logs) == len(pairs) == len(targets) * len(settings.destinations), [r.urn for r in flow_logs]


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_outputs_name_everything_a_person_needs(rendered, stack):
    outputs = rendered(stack).outputs
    hosts = outputs["hosts"]
    assert set(outputs) >= {"vpcId", "subnetIds", "instanceIds", "publicIps", "urls", "logGroupName",
                            "flowLogId", "flowLogRoleArn", "region", "hosts"}
    assert outputs["vpcId"].startswith("vpc-") and outputs["flowLogId"].startswith("fl-")
    assert outputs["logGroupName"] == f"/vpc-flow-logs/{stack}"
    assert outputs["urls"] == [f"http://{ip}/" for ip in outputs["publicIps"]]
    assert [h["instanceId"] for h in hosts] == outputs["instanceIds"]
    assert all(h["networkInterfaceId"].startswith("eni-") and h["url"] == f"http://{h['publicIp']}/"
               for h in hosts)


# Every FlowLog input that configures the flow log, under the names the engine diffs them by.
FLOW_LOG_CONFIGURATION_INPUTS = {
    "deliverCrossAccountRole", "destinationOptions", "eniId", "iamRoleArn", "logDestination",
    "logDestinationType", "logFormat", "maxAggregationInterval", "region", "regionalNatGatewayId", "subnetId",
    "tagFieldSpecifications", "trafficType", "transitGatewayAttachmentId", "transitGatewayId", "vpcId",
}


@pytest.mark.parametrize("stack", STACKS)
def test_engine_receives_delete_before_replace(rendered, stack):
    for flow_log in rendered(stack).by_type(FLOW_LOG):
        assert flow_log.options["deleteBeforeReplace"] is True, flow_log.urn


@pytest.mark.parametrize("stack", STACKS)
def test_engine_replaces_on_every_configuration_input_but_not_on_tags(rendered, stack):
    for flow_log in rendered(stack).by_type(FLOW_LOG):
        replace_on = set(flow_log.options["replaceOnChanges"])
        assert replace_on == FLOW_LOG_CONFIGURATION_INPUTS, (flow_log.urn, replace_on ^ FLOW_LOG_CONFIGURATION_INPUTS)
        assert not {"tags", "tagsAll", "*"} & replace_on, flow_log.urn


def test_tags_only_change_registers_no_replacement():
    """The engine replaces a resource when a changed input is in its replaceOnChanges; a tag edit
    changes only `tags`, which is not."""
    before = render("lab", stack_config("lab")).one(FLOW_LOG)
    config = stack_config("lab")
    config["vpc-flow-logs:tags"] = json.dumps({"Purpose": "vpc-flow-logs-lab", "Owner": "network-team"})
    after = render("lab", config).one(FLOW_LOG)
    changed = {key for key in set(before.inputs) | set(after.inputs) if before.inputs.get(key) != after.inputs.get(key)}
    assert changed == {"tags"}, (after.urn, changed)
    assert after.urn == before.urn
    replace_on = set(after.options["replaceOnChanges"])
    assert "*" not in replace_on and not changed & replace_on, after.urn


def test_stack_transformation_sees_the_replacement_contract():
    """A stack transformation observes the same options the monitor records."""
    seen: dict[str, pulumi.ResourceOptions] = {}

    def remember(args: pulumi.ResourceTransformationArgs):
        seen[args.type_] = args.opts
        return None

    def program():
        pulumi.runtime.register_stack_transformation(remember)
        runpy.run_path(str(PROGRAM), run_name="__main__")

    render("lab", stack_config("lab"), program=program)
    options = seen[FLOW_LOG]
    assert options.delete_before_replace is True, options
    assert "tags" not in options.replace_on_changes and "log_format" in options.replace_on_changes, options


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_role_trusts_only_the_flow_logs_service_for_this_account(rendered, stack):
    rendering = rendered(stack)
    settings = settings_from_stack_file(stack_file(stack))
    (statement,) = json.loads(flow_log_role(rendering).inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    account = statement["Condition"]["StringEquals"]["aws:SourceAccount"]
    assert account.isdigit() and len(account) == 12
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == \
        f"arn:aws:ec2:{settings.region}:{account}:vpc-flow-log/*"


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_role_policy_grants_exactly_delivery_on_the_group(rendered, stack):
    rendering = rendered(stack)
    group = rendering.one(LOG_GROUP)
    group_arn = cloud_watch_flow_log(rendering).inputs["logDestination"]
    assert group_arn.endswith(f":log-group:{group.inputs['name']}"), group.urn
    (statement,) = json.loads(rendering.one(ROLE_POLICY).inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == sorted([
        "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"])
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    assert resources == [f"{group_arn}:*"]


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_flow_log_is_wired_by_reference_not_by_name(rendered, stack):
    rendering = rendered(stack)
    flow_log = cloud_watch_flow_log(rendering)
    assert flow_log.dependencies["vpcId"] == [rendering.one("aws:ec2/vpc:Vpc").urn], flow_log.urn
    assert flow_log.dependencies["logDestination"] == [rendering.one(LOG_GROUP).urn], flow_log.urn
    assert flow_log.dependencies["iamRoleArn"] == [flow_log_role(rendering).urn], flow_log.urn


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_hosts_start_after_every_flow_log(rendered, stack):
    rendering = rendered(stack)
    for instance in rendering.by_type("aws:ec2/instance:Instance"):
        for flow_log in rendering.by_type(FLOW_LOG):
            assert flow_log.urn in instance.options["dependsOn"], (instance.urn, flow_log.urn)


def test_protected_logs_are_protected_and_retained(rendered):
    rendering = rendered("prod")
    (logs_key,) = [r for r in rendering.by_type("aws:kms/key:Key") if r.name.endswith("-logs-key")]
    for kept in (rendering.one(LOG_GROUP), logs_key):
        assert kept.options["protect"] is True and kept.options["retainOnDelete"] is True, kept.urn


def test_lab_logs_are_not_protected(rendered):
    group = rendered("lab").one(LOG_GROUP)
    assert group.options["protect"] is False and group.options["retainOnDelete"] is False, group.urn


def test_program_runs_afresh_for_each_stack():
    lab = render_stack_file(stack_file("lab"))
    prod = render_stack_file(stack_file("prod"))
    assert cloud_watch_flow_log(lab).inputs["maxAggregationInterval"] == 60
    assert cloud_watch_flow_log(prod).inputs["maxAggregationInterval"] == 600
    assert all(r.urn.startswith("urn:pulumi:prod::") for r in prod.registrations)


def test_invalid_config_registers_nothing():
    config = stack_config("lab")
    config["vpc-flow-logs:trafficType"] = "SOME"
    with pytest.raises(pulumi.RunError, match="vpc-flow-logs:trafficType"):
        render("lab", config)


def log_key(rendering: Rendering) -> Registration:
    """The flow-log group's key (prod and audit also encrypt their alarm topic with a key of its own)."""
    (key,) = [r for r in rendering.by_type("aws:kms/key:Key") if r.name.endswith("-logs-key")]
    return key


def flow_log_role(rendering):
    """The flow log's delivery role (the hosts have a role of their own, for SSM)."""
    (role,) = [r for r in rendering.by_type(ROLE) if r.name.endswith("-flow-logs-role")]
    return role


def project_file() -> dict:
    return yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())


def test_project_file_validates_against_pulumis_schema(shared_reference):
    schema = json.loads((shared_reference / "pulumi-project.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(project_file())


def test_project_file_shares_the_makefiles_venv():
    project = project_file()
    assert project["name"] == "vpc-flow-logs" and project["stackConfigDir"] == "config"
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "VENV := venv" in makefile


def test_project_declares_every_scalar_key_as_settings_reads_it():
    declared = project_file()["config"]
    scalar = {key: spec for key, spec in CONFIG_KEYS.items() if spec[0] in ("string", "integer", "boolean")}
    assert set(declared) == set(scalar)
    for key, (type_, description, default) in scalar.items():
        assert declared[key]["type"] == type_, key
        assert declared[key]["description"] == description, key
        assert declared[key].get("default") == ("" if default is None and "default" in declared[key] else default), key


@pytest.mark.parametrize("stack", ["lab", "prod"])
def test_monitoring_watches_the_flow_log_group_by_reference(rendered, stack):
    rendering = rendered(stack)
    group = rendering.one(LOG_GROUP)
    filters = rendering.by_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    assert len(filters) == 4
    for metric_filter in filters:
        assert metric_filter.dependencies["logGroupName"] == [group.urn], metric_filter.urn
    assert rendering.outputs["dashboardName"] == f"{stack}-monitoring"


def test_alert_emails_become_subscriptions(rendered):
    subscriptions = rendered("prod").by_type("aws:sns/topicSubscription:TopicSubscription")
    assert [s.inputs["endpoint"] for s in subscriptions] == ["network-security@example.com"]
    assert all(s.inputs["protocol"] == "email" for s in subscriptions)


def test_monitoring_can_be_switched_off():
    config = stack_config("lab")
    config["vpc-flow-logs:monitoring"] = "false"
    rendering = render("lab", config)
    assert not [r.urn for r in rendering.registrations if r.type.startswith("aws:cloudwatch/") and r.type != LOG_GROUP]
    assert "dashboardName" not in rendering.outputs


def test_log_format_monitoring_cannot_use_registers_nothing():
    config = stack_config("lab")
    config["vpc-flow-logs:logFormat"] = "${version} ${srcaddr} ${dstaddr} ${action}"
    monitor_types = []
    with pytest.raises(pulumi.RunError, match="vpc-flow-logs:logFormat cannot be monitored"):
        try:
            render("lab", config)
        finally:
            monitor_types = [r.type for r in pulumi.runtime.settings.SETTINGS.monitor.registrations]
    assert not [t for t in monitor_types if t.startswith("aws:")], monitor_types


# Hosts and alerting hardening

def test_hosts_reach_ssm_through_their_instance_profile(rendered):
    rendering = rendered("prod")
    profile = rendering.one("aws:iam/instanceProfile:InstanceProfile")
    attachment = rendering.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", attachment.urn
    (ssm_role,) = [r for r in rendering.by_type(ROLE) if r.name.endswith("-ssm-role")]
    assert attachment.dependencies["role"] == [ssm_role.urn] == profile.dependencies["role"], profile.urn
    assert json.loads(ssm_role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == \
        {"Service": "ec2.amazonaws.com"}
    for instance in rendering.by_type("aws:ec2/instance:Instance"):
        assert instance.dependencies["iamInstanceProfile"] == [profile.urn], instance.urn


def test_ssh_can_be_closed_altogether():
    config = stack_config("prod")
    config["vpc-flow-logs:sshAllowedCidrs"] = "[]"
    rendering = render("prod", config)
    rules = rendering.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [r.inputs["fromPort"] for r in rules] == [80], [r.urn for r in rules]


@pytest.mark.parametrize("public", ["true", "false"])
def test_public_hosts_are_a_declared_decision(public):
    config = stack_config("lab")
    config["vpc-flow-logs:publicHosts"] = public
    rendering = render("lab", config)
    for subnet in rendering.by_type("aws:ec2/subnet:Subnet"):
        assert subnet.inputs["mapPublicIpOnLaunch"] is (public == "true"), subnet.urn
        assert ("Exposure" in subnet.inputs["tags"]) is (public == "true"), subnet.urn
    for instance in rendering.by_type("aws:ec2/instance:Instance"):
        assert instance.inputs["associatePublicIpAddress"] is (public == "true"), instance.urn
        assert instance.inputs["tags"].get("Exposure") == ("public" if public == "true" else None), instance.urn


def test_prod_alarm_topic_is_encrypted_with_a_key_alarms_may_use(rendered):
    rendering = rendered("prod")
    topic = rendering.one("aws:sns/topic:Topic")
    (key,) = [r for r in rendering.by_type("aws:kms/key:Key") if r.name.endswith("-alerts-key")]
    assert topic.dependencies["kmsMasterKeyId"] == [key.urn], topic.urn
    statements = json.loads(key.inputs["policy"])["Statement"]
    alarms = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert alarms and set(alarms[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}, key.urn


def test_lab_alarm_topic_is_not_encrypted_by_default(rendered):
    topic = rendered("lab").one("aws:sns/topic:Topic")
    assert "kmsMasterKeyId" not in topic.inputs, topic.urn


# Targets on existing networks

def audit_with_targets(targets: list) -> dict[str, str]:
    config = stack_config("audit")
    config["vpc-flow-logs:flowLogTargets"] = json.dumps(targets)
    return config


def flow_log_urns(rendering: Rendering) -> set[str]:
    return {r.urn for r in rendering.by_type(FLOW_LOG)}


AUDIT_TARGETS = [{"vpcId": "vpc-0a1b2c3d4e5f60718"}, {"subnetId": "subnet-0123456789abcdef0"},
                 {"vpcTags": {"Team": "payments"}}]


def test_adding_a_target_leaves_every_other_flow_log_unchanged():
    before = flow_log_urns(render("audit", audit_with_targets(AUDIT_TARGETS)))
    after = flow_log_urns(render("audit", audit_with_targets([{"eniId": "eni-0123456789abcdef0"}, *AUDIT_TARGETS])))
    assert before < after and len(after - before) == 2, sorted(after ^ before)


def test_removing_a_target_leaves_every_other_flow_log_unchanged():
    before = flow_log_urns(render("audit", audit_with_targets(AUDIT_TARGETS)))
    after = flow_log_urns(render("audit", audit_with_targets(AUDIT_TARGETS[1:])))
    assert after < before and all("vpc-0a1b2c3d4e5f60718" in urn for urn in before - after), sorted(before ^ after)


def test_vpc_tags_matching_nothing_is_a_config_error_naming_the_tags():
    class NoVpcs(LabMocks):
        def call(self, args):
            if args.token == "aws:ec2/getVpcs:getVpcs":
                return {"ids": [], "id": self.region}
            return super().call(args)

    message = ('config vpc-flow-logs:flowLogTargets.vpcTags = {"Team": "payments"} is invalid: it matches no VPC '
               "in this account and region; correct the tags or name the VPC by vpcId")
    with pytest.raises(pulumi.RunError, match=f"^{re.escape(message)}$"):
        try:
            render("audit", stack_config("audit"), mocks=NoVpcs("ap-northeast-1"))
        finally:
            registered = [r.type for r in pulumi.runtime.settings.SETTINGS.monitor.registrations]
    assert not [t for t in registered if t.startswith("aws:")], registered


def test_s3_flow_logs_deliver_without_a_role(rendered):
    for flow_log in rendered("audit").by_type(FLOW_LOG):
        if flow_log.inputs["logDestinationType"] == "s3":
            assert "iamRoleArn" not in flow_log.inputs, flow_log.urn
            assert flow_log.inputs["destinationOptions"] == {
                "fileFormat": "parquet", "hiveCompatiblePartitions": True, "perHourPartition": True}, flow_log.urn


def without_athena(rendering: Rendering) -> Rendering:
    """The records' bucket and its parts, not Athena's results bucket beside them."""
    return Rendering(rendering.stack, [r for r in rendering.registrations
                                       if "vpcflowlogs:index:FlowLogAthena$" not in r.urn], rendering.outputs)


def athena_only(rendering: Rendering) -> Rendering:
    return Rendering(rendering.stack, [r for r in rendering.registrations
                                       if "vpcflowlogs:index:FlowLogAthena$" in r.urn], rendering.outputs)


def test_created_bucket_is_hardened(rendered):
    rendering = without_athena(rendered("audit"))
    bucket = rendering.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["objectLockEnabled"] is True, bucket.urn
    block = rendering.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                  "restrictPublicBuckets")), block.urn
    ownership = rendering.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced", ownership.urn
    versioning = rendering.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled", versioning.urn
    encryption = rendering.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    sse = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse["sseAlgorithm"] == "aws:kms" and encryption.dependencies["rules"] == [
        log_key(rendering).urn], encryption.urn
    (rule,) = rendering.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert rule["expiration"]["days"] == 400 and rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1
    lock = rendering.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 90}, lock.urn


def test_bucket_policy_admits_only_this_accounts_delivery_over_tls(rendered):
    rendering = without_athena(rendered("audit"))
    policy = json.loads(rendering.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    write, acl_check, tls = policy["Statement"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Resource"].endswith("/AWSLogs/123456789012/*")
    for statement in (write, acl_check):
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012", statement["Sid"]
        assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == \
            "arn:aws:logs:ap-northeast-1:123456789012:*", statement["Sid"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_query_results_are_encrypted_with_the_stacks_log_key(rendered):
    audit = rendered("audit")
    rendering = athena_only(audit)
    encryption = rendering.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms" and \
        encryption.dependencies["rules"] == [log_key(audit).urn], encryption.urn
    workgroup = rendering.one("aws:athena/workgroup:Workgroup")
    assert workgroup.inputs["configuration"]["resultConfiguration"]["encryptionConfiguration"][
        "encryptionOption"] == "SSE_KMS" and set(workgroup.dependencies["configuration"]) == {
        log_key(audit).urn, rendering.one("aws:s3/bucket:Bucket").urn}, workgroup.urn


def test_reject_reason_encryption_status_and_ecs_fields_render_and_monitoring_follows():
    config = stack_config("lab")
    config["vpc-flow-logs:logFormat"] = (
        "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
        "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${reject-reason} ${encryption-status} "
        "${ecs-cluster-name}")
    rendering = render("lab", config)
    assert "${reject-reason}" in cloud_watch_flow_log(rendering).inputs["logFormat"]
    for metric_filter in rendering.by_type("aws:cloudwatch/logMetricFilter:LogMetricFilter"):
        assert "reject_reason" in metric_filter.inputs["pattern"] or "ecs_cluster_name" in \
            metric_filter.inputs["pattern"], metric_filter.urn


def test_a_given_bucket_is_delivered_into_and_nothing_is_created_in_s3():
    config = stack_config("audit")
    config["vpc-flow-logs:destinations"] = json.dumps([
        {"type": "cloud-watch-logs"},
        {"type": "s3", "fileFormat": "parquet", "bucketArn": "arn:aws:s3:::central-flow-logs/network"}])
    rendering = render("audit", config)
    # Athena's query results go to a bucket of its own; no bucket is created for the records.
    assert not [r.urn for r in rendering.registrations
                if r.type.startswith("aws:s3/") and "vpcflowlogs:index:FlowLogAthena$" not in r.urn]
    s3_flow_logs = [r for r in rendering.by_type(FLOW_LOG) if r.inputs["logDestinationType"] == "s3"]
    assert len(s3_flow_logs) == 3
    for flow_log in s3_flow_logs:
        assert flow_log.inputs["logDestination"] == "arn:aws:s3:::central-flow-logs/network", flow_log.urn
        assert "-s3-central-flow-logs-" in flow_log.name, flow_log.urn
    assert rendering.outputs["flowLogBuckets"] == {"s3-central-flow-logs": "central-flow-logs"}


def test_created_key_lets_log_delivery_encrypt_the_bucket(rendered):
    key = log_key(rendered("prod"))
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    delivery = statements["LogDeliveryEncryptsThisAccountsFlowLogRecords"]
    assert delivery["Principal"] == {"Service": "delivery.logs.amazonaws.com"}, key.urn
    assert set(delivery["Condition"]) == {"StringEquals", "ArnLike"}, key.urn


def test_a_vpc_named_by_id_and_found_by_tags_is_a_config_error():
    class TaggedVpcIsNamed(LabMocks):
        def call(self, args):
            if args.token == "aws:ec2/getVpcs:getVpcs":
                return {"ids": ["vpc-0a1b2c3d4e5f60718"], "id": self.region}
            return super().call(args)

    message = ("config vpc-flow-logs:flowLogTargets names vpc-0a1b2c3d4e5f60718 twice (vpcId vpc-0a1b2c3d4e5f60718 "
               'and vpcTags {"Team": "payments"}): list each target once')
    with pytest.raises(pulumi.RunError, match=f"^{re.escape(message)}$"):
        render("audit", stack_config("audit"), mocks=TaggedVpcIsNamed("ap-northeast-1"))


def test_athena_follows_each_parquet_destination_and_is_named_from_it():
    config = stack_config("audit")
    config["vpc-flow-logs:destinations"] = json.dumps([
        {"type": "cloud-watch-logs"},
        {"type": "s3", "fileFormat": "parquet", "bucketArn": "arn:aws:s3:::central-flow-logs/network"},
        {"type": "s3", "fileFormat": "plain-text", "retentionDays": 30}])
    rendering = render("audit", config)
    athena = [r.name for r in rendering.by_type("vpcflowlogs:index:FlowLogAthena")]
    assert athena == ["audit-s3-central-flow-logs-athena"], athena
    table = rendering.one("aws:glue/catalogTable:CatalogTable")
    assert table.inputs["storageDescriptor"]["location"] == "s3://central-flow-logs/network/AWSLogs/", table.urn


def test_every_arn_the_program_builds_is_in_the_stacks_partition():
    config = stack_config("prod")
    config["aws:region"] = "us-gov-west-1"
    rendering = render("prod", config)
    attachment = rendering.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws-us-gov:iam::aws:policy/AmazonSSMManagedInstanceCore"
    (topic_key,) = [r for r in rendering.by_type("aws:kms/key:Key") if r.name.endswith("-alerts-key")]
    (admin,) = [s for s in json.loads(topic_key.inputs["policy"])["Statement"] if s["Sid"] == "AccountAdministersKey"]
    assert admin["Principal"] == {"AWS": "arn:aws-us-gov:iam::123456789012:root"}, topic_key.urn
    commercial = [r.urn for r in rendering.registrations if "arn:aws:" in json.dumps(r.inputs)]
    assert commercial == [], f"ARNs of the commercial partition in a GovCloud stack: {commercial}"


# Values of secret keys

SECRET_KEYS = ("vpc-flow-logs:alertEmails", "vpc-flow-logs:tags", "vpc-flow-logs:keyPairName")


@pytest.fixture(scope="module")
def secret_rendering() -> Rendering:
    config = stack_config("lab")
    config.update({"vpc-flow-logs:alertEmails": json.dumps(["oncall@example.com", "net@example.com"]),
                   "vpc-flow-logs:tags": json.dumps({"Purpose": "vpc-flow-logs-lab", "Owner": "owner-7f3"}),
                   "vpc-flow-logs:keyPairName": "ops-key-9c1"})
    return render("lab", config, secret_keys=SECRET_KEYS)


def test_secret_alert_addresses_reach_the_engine_as_secrets_and_stay_out_of_urns(secret_rendering):
    subscriptions = secret_rendering.by_type("aws:sns/topicSubscription:TopicSubscription")
    assert len(subscriptions) == 2
    for subscription in subscriptions:
        assert subscription.inputs["endpoint"] == "[secret]", subscription.urn
        assert "example.com" not in subscription.urn, subscription.urn


def test_secret_tag_values_reach_the_engine_as_secrets(secret_rendering):
    for registration in secret_rendering.registrations:
        tags = registration.inputs.get("tags") or {}
        if "Owner" in tags:
            assert tags["Owner"] == tags["Purpose"] == "[secret]", registration.urn
            assert tags["Project"] == "vpc-flow-logs", registration.urn
    assert "owner-7f3" not in json.dumps([r.as_dict() for r in secret_rendering.registrations])


def test_a_secret_key_pair_name_reaches_the_engine_as_a_secret(secret_rendering):
    for instance in secret_rendering.by_type("aws:ec2/instance:Instance"):
        assert instance.inputs["keyName"] == "[secret]", instance.urn


def test_plain_alert_addresses_stay_plain_and_out_of_urns(rendered):
    (subscription,) = rendered("prod").by_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["endpoint"] == "network-security@example.com", subscription.urn
    assert "network-security@example.com" not in subscription.urn
