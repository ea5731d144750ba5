"""vpc-flow-logs: the article's VPC Flow Logs lab as a Pulumi program.

Composition only: validated settings in, components wired together, readable outputs out.
"""

import pulumi

from components.flow_log import FlowLogDelivery, FlowLogDeliveryArgs
from components.monitoring import Monitoring, MonitoringArgs, monitoring_plan
from components.network import Network, NetworkArgs
from components.web_servers import WebServers, WebServersArgs
from config.settings import load_settings

settings = load_settings()
stack = settings.stack
tags = settings.base_tags
if settings.monitoring.enabled:
    # A log format the filters cannot use is a config error: refuse it before registering anything.
    monitoring_plan(settings.log_fields, settings.vpc_cidr)

network = Network(stack, NetworkArgs(
    vpc_cidr=settings.vpc_cidr,
    subnet_cidrs=settings.subnet_cidrs,
    tags=tags,
    public=settings.public_hosts,
))

delivery = FlowLogDelivery(f"{stack}-flow-logs", FlowLogDeliveryArgs(
    vpc_id=network.vpc.id,
    region=settings.region,
    log_group_name=f"/vpc-flow-logs/{stack}",
    retention_days=settings.log_retention_days,
    traffic_type=settings.traffic_type,
    aggregation_interval=settings.aggregation_interval,
    log_format=settings.log_format,
    kms_key_arn=settings.log_kms_key_arn,
    create_kms_key=settings.create_log_kms_key,
    protect_logs=settings.protect_logs,
    tags=tags,
))

web = WebServers(f"{stack}-web", WebServersArgs(
    vpc_id=network.vpc.id,
    subnet_ids=[subnet.id for subnet in network.subnets],
    ssh_allowed_cidrs=settings.ssh_allowed_cidrs,
    http_allowed_cidrs=settings.http_allowed_cidrs,
    instance_type=settings.instance_type,
    ssh_public_key=settings.ssh_public_key,
    key_pair_name=settings.key_pair_name,
    tags=tags,
    start_after=[delivery.flow_log],
    ami_id=settings.ami_id,
    public_hosts=settings.public_hosts,
))

if settings.monitoring.enabled:
    monitoring = Monitoring(f"{stack}-monitoring", MonitoringArgs(
        # The reference (not the literal name) lets policies tie each filter to its flow log.
        log_group_name=delivery.log_group.name,
        log_fields=settings.log_fields,
        vpc_cidr=settings.vpc_cidr,
        region=settings.region,
        settings=settings.monitoring,
        tags=tags,
        encrypt_topic=settings.encrypt_alarm_topic,
    ), opts=pulumi.ResourceOptions(depends_on=[delivery.flow_log]))
    pulumi.export("dashboardName", monitoring.dashboard_name)
    pulumi.export("alarmTopicArn", monitoring.topic_arn)

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

pulumi.export("region", settings.region)
pulumi.export("vpcId", network.vpc.id)
pulumi.export("subnetIds", [subnet.id for subnet in network.subnets])
pulumi.export("instanceIds", [instance.id for instance in web.instances.values()])
pulumi.export("publicIps", [instance.public_ip for instance in web.instances.values()])
pulumi.export("urls", [host.apply(lambda entry: entry["url"]) for host in hosts])
pulumi.export("logGroupName", delivery.log_group.name)
pulumi.export("flowLogId", delivery.flow_log.id)
pulumi.export("flowLogRoleArn", delivery.role.arn)
pulumi.export("hosts", hosts)
