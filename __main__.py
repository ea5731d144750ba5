"""vpc-flow-logs: VPC Flow Logs on the article's lab and on networks that already exist.

Composition only: validated settings in, components wired together, readable outputs out.
"""

import pulumi

from components.athena import FlowLogAthena, FlowLogAthenaArgs
from components.flow_log import LAB_TARGET, FlowLogDelivery, FlowLogDeliveryArgs
from components.monitoring import Monitoring, MonitoringArgs, monitoring_plan
from components.network import Network, NetworkArgs
from components.s3_destination import S3FlowLogDestination, S3FlowLogDestinationArgs
from components.targets import FlowLogOptions, ResolvedTarget, resolve_targets
from components.web_servers import WebServers, WebServersArgs
from config.settings import S3, load_settings

# Athena query results are disposable copies, kept a week; one query may scan at most 100 GB.
ATHENA_RESULTS_RETENTION_DAYS = 7
ATHENA_BYTES_SCANNED_CUTOFF = 100 * 1024**3

settings = load_settings()
stack = settings.stack
tags = settings.base_tags
if settings.monitoring.enabled:
    # A log format the filters cannot use is a config error: refuse it before registering anything.
    monitoring_plan(settings.log_fields, settings.monitored_cidr)
# Looked up now, so that tags matching no VPC stop the program before anything registers.
targets = resolve_targets(settings.flow_log_targets)
flow_log_options = FlowLogOptions(
    traffic_type=settings.traffic_type,
    aggregation_interval=settings.aggregation_interval,
    log_format=settings.log_format,
    tags=tags,
)

network = None
if settings.lab:
    network = Network(stack, NetworkArgs(
        vpc_cidr=settings.vpc_cidr,
        subnet_cidrs=settings.subnet_cidrs,
        tags=tags,
        public=settings.public_hosts,
    ))
    targets.insert(0, ResolvedTarget(LAB_TARGET, "vpc_id", network.vpc.id))

s3_destinations = [destination for destination in settings.destinations if destination.type == S3]
# Destination key -> target key -> flow log.
flow_logs: dict[str, dict] = {}
delivery = None
if settings.cloud_watch_logs:
    delivery = FlowLogDelivery(f"{stack}-flow-logs", FlowLogDeliveryArgs(
        targets=targets,
        flow_logs=flow_log_options,
        region=settings.region,
        log_group_name=f"/vpc-flow-logs/{stack}",
        retention_days=settings.log_retention_days,
        kms_key_arn=settings.log_kms_key_arn,
        create_kms_key=settings.create_log_kms_key,
        protect_logs=settings.protect_logs,
        tags=tags,
        key_encrypts_s3_records=any(not destination.bucket_arn for destination in s3_destinations),
    ))
    flow_logs["cloudwatch"] = delivery.flow_logs

# The stack's key, where it has one: it encrypts every bucket the stack creates.
stack_key_arn = delivery.kms_key_arn if delivery else settings.log_kms_key_arn
buckets = {}
athena_workgroups = {}
for destination in s3_destinations:
    s3 = S3FlowLogDestination(f"{stack}-{destination.key}", S3FlowLogDestinationArgs(
        targets=targets,
        flow_logs=flow_log_options,
        log_fields=settings.log_fields,
        destination=destination,
        region=settings.region,
        kms_key_arn=stack_key_arn,
        protect_logs=settings.protect_logs,
        tags=tags,
    ))
    buckets[destination.key] = s3.bucket_name
    if s3.file_format == "parquet":
        athena = FlowLogAthena(f"{stack}-{destination.key}-athena", FlowLogAthenaArgs(
            bucket_name=s3.bucket_name,
            key_prefix=s3.key_prefix,
            log_fields=s3.log_fields,
            hive_compatible_partitions=s3.hive_compatible_partitions,
            per_hour_partition=s3.per_hour_partition,
            region=settings.region,
            account_id=s3.account_id,
            vpc_cidr=settings.monitored_cidr,
            results_retention_days=ATHENA_RESULTS_RETENTION_DAYS,
            bytes_scanned_cutoff=ATHENA_BYTES_SCANNED_CUTOFF,
            tags=tags,
            kms_key_arn=stack_key_arn,
        ))
        athena_workgroups[destination.key] = athena.workgroup_name
    flow_logs[destination.key] = s3.flow_logs

every_flow_log = [flow_log for by_target in flow_logs.values() for flow_log in by_target.values()]

if settings.monitoring.enabled and delivery:
    monitoring = Monitoring(f"{stack}-monitoring", MonitoringArgs(
        # The reference (not the literal name) lets policies tie each filter to its flow log.
        log_group_name=delivery.log_group.name,
        log_fields=settings.log_fields,
        vpc_cidr=settings.monitored_cidr,
        region=settings.region,
        settings=settings.monitoring,
        tags=tags,
        encrypt_topic=settings.encrypt_alarm_topic,
    ), opts=pulumi.ResourceOptions(depends_on=list(delivery.flow_logs.values())))
    pulumi.export("dashboardName", monitoring.dashboard_name)
    pulumi.export("alarmTopicArn", monitoring.topic_arn)

if network:
    web = WebServers(f"{stack}-web", WebServersArgs(
        vpc_id=network.vpc.id,
        subnet_ids=[subnet.id for subnet in network.subnets],
        ssh_allowed_cidrs=settings.ssh_allowed_cidrs,
        http_allowed_cidrs=settings.http_allowed_cidrs,
        instance_type=settings.instance_type,
        ssh_public_key=settings.ssh_public_key,
        key_pair_name=settings.key_pair_name,
        tags=tags,
        # Hosts start once traffic is recorded, so their first flows are in the logs.
        start_after=every_flow_log,
        ami_id=settings.ami_id,
        public_hosts=settings.public_hosts,
    ))
    hosts = [
        pulumi.Output.all(
            name=host_name,
            instanceId=instance.id,
            subnetId=instance.subnet_id,
            availabilityZone=instance.availability_zone,
            publicIp=instance.public_ip,
            privateIp=instance.private_ip,
            networkInterfaceId=instance.primary_network_interface_id,
        ).apply(lambda host: {**host, "url": f"http://{host['publicIp']}/"})
        for host_name, instance in web.instances.items()
    ]
    pulumi.export("vpcId", network.vpc.id)
    pulumi.export("subnetIds", [subnet.id for subnet in network.subnets])
    pulumi.export("instanceIds", [instance.id for instance in web.instances.values()])
    pulumi.export("publicIps", [instance.public_ip for instance in web.instances.values()])
    pulumi.export("urls", [host.apply(lambda entry: entry["url"]) for host in hosts])
    pulumi.export("hosts", hosts)

pulumi.export("region", settings.region)
pulumi.export("flowLogIds", {destination: {target: flow_log.id for target, flow_log in by_target.items()}
                             for destination, by_target in flow_logs.items()})
if delivery:
    pulumi.export("logGroupName", delivery.log_group.name)
    pulumi.export("flowLogRoleArn", delivery.role.arn)
    if LAB_TARGET in delivery.flow_logs:
        pulumi.export("flowLogId", delivery.flow_logs[LAB_TARGET].id)
if buckets:
    pulumi.export("flowLogBuckets", buckets)
if athena_workgroups:
    pulumi.export("athenaWorkgroups", athena_workgroups)
