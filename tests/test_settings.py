"""Stack config -> Settings: every invalid value is refused with the key, the value and what is allowed."""

from __future__ import annotations

import ipaddress
import json

import pulumi
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from config.settings import AGGREGATION_INTERVALS, RETENTION_DAYS, TRAFFIC_TYPES, settings_from_config
from flowlogs.fields import TRANSIT_GATEWAY_FIELDS, VPC_FIELDS, format_string
from tests.conftest import lab_config

KEY = "vpc-flow-logs:"


def with_values(**changes) -> dict[str, str]:
    config = lab_config()
    for key, value in changes.items():
        full = key if ":" in key else KEY + key
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value if isinstance(value, str) else json.dumps(value)
    return config


def refused(**changes) -> str:
    with pytest.raises(pulumi.RunError) as error:
        settings_from_config("lab", with_values(**changes))
    return str(error.value)


def test_lab_config_is_valid():
    settings = settings_from_config("lab", lab_config())
    assert settings.subnet_cidrs == ("10.0.0.0/24", "10.0.1.0/24")
    assert (settings.traffic_type, settings.aggregation_interval) == ("ALL", 60)


def test_settings_are_immutable():
    settings = settings_from_config("lab", lab_config())
    with pytest.raises(AttributeError):
        settings.traffic_type = "ACCEPT"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.tags["Owner"] = "someone"  # type: ignore[index]


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "10.0.0.1/16", "10.0.0/16", "banana", "10.0.0.0"])
def test_malformed_vpc_cidr(cidr):
    message = refused(vpcCidr=cidr)
    assert "vpc-flow-logs:vpcCidr" in message and json.dumps(cidr) in message and "CIDR" in message


def test_malformed_subnet_cidr():
    message = refused(subnetCidrs=["10.0.0.0/24", "10.0.1.300/24"])
    assert "vpc-flow-logs:subnetCidrs" in message and "10.0.1.300/24" in message


def test_malformed_allowed_cidr():
    message = refused(sshAllowedCidrs=["0.0.0.0/0", "1.2.3.4/40"])
    assert "vpc-flow-logs:sshAllowedCidrs" in message and "1.2.3.4/40" in message


def test_subnet_outside_vpc():
    message = refused(subnetCidrs=["10.0.0.0/24", "10.1.0.0/24"])
    assert "vpc-flow-logs:subnetCidrs" in message and "10.1.0.0/24 is outside vpcCidr 10.0.0.0/16" in message


def test_overlapping_subnets():
    message = refused(subnetCidrs=["10.0.0.0/24", "10.0.0.128/25"])
    assert "vpc-flow-logs:subnetCidrs" in message and "overlaps" in message


def test_fewer_than_two_subnets():
    message = refused(subnetCidrs=["10.0.0.0/24"])
    assert "vpc-flow-logs:subnetCidrs" in message and "at least 2" in message


def test_unknown_traffic_type():
    message = refused(trafficType="EVERYTHING")
    assert "vpc-flow-logs:trafficType" in message and "EVERYTHING" in message
    assert all(choice in message for choice in TRAFFIC_TYPES)


@pytest.mark.parametrize("interval", ["30", "300", "sixty"])
def test_interval_other_than_60_or_600(interval):
    message = refused(aggregationInterval=interval)
    assert "vpc-flow-logs:aggregationInterval" in message and "60, 600" in message


@pytest.mark.parametrize("days", ["0", "2", "10", "366", "-1"])
def test_retention_cloudwatch_refuses(days):
    message = refused(logRetentionDays=days)
    assert "vpc-flow-logs:logRetentionDays" in message and days in message and "3653" in message


@pytest.mark.parametrize("log_format, culprit", [
    ("${version} ${srcadr}", "srcadr"),
    ("${version} ${dst-port}", "dst-port"),
    ("${version} $action", "$action"),
    ("${version} ${version}", "appears twice"),
])
def test_log_format_with_unknown_or_misspelled_field(log_format, culprit):
    message = refused(logFormat=log_format)
    assert "vpc-flow-logs:logFormat" in message and culprit in message and "traffic-path" in message


@given(st.lists(st.sampled_from(VPC_FIELDS), min_size=1, unique=True))
def test_every_vpc_field_subset_is_accepted_on_the_labs_vpc(fields):
    settings = settings_from_config("lab", with_values(logFormat=format_string(tuple(fields))))
    assert settings.log_fields == tuple(fields)


@given(st.lists(st.sampled_from(TRANSIT_GATEWAY_FIELDS), min_size=1, unique=True))
def test_every_transit_gateway_field_subset_is_accepted_on_a_transit_gateway(fields):
    config = with_values(**{**AUDIT, "flowLogTargets": [TGW], "aggregationInterval": "60",
                            "logFormat": format_string(tuple(fields))})
    assert settings_from_config("lab", config).log_fields == tuple(fields)


@pytest.mark.parametrize("key", ["vpcCidr", "subnetCidrs", "sshAllowedCidrs", "aws:region"])
def test_missing_required_key(key):
    message = refused(**{key: None})
    assert key in message and ("is missing" in message or "= null is invalid" in message), message


def test_unknown_key_is_named():
    message = refused(trafficTyp="ALL")
    assert "vpc-flow-logs:trafficTyp" in message and "trafficType" in message


def test_kms_key_arn_and_create_key_are_exclusive():
    message = refused(logKmsKeyArn="arn:aws:kms:ap-northeast-1:123456789012:key/abc", createLogKmsKey="true")
    assert "vpc-flow-logs:createLogKmsKey" in message and "logKmsKeyArn" in message


def test_alarm_override_must_be_well_formed():
    message = refused(alarms={"rejectedFlows": {"threshold": -1}})
    assert "vpc-flow-logs:alarms.rejectedFlows" in message and "threshold" in message


@pytest.mark.parametrize("value", list(AGGREGATION_INTERVALS))
def test_both_intervals_are_accepted(value):
    assert settings_from_config("lab", with_values(aggregationInterval=str(value))).aggregation_interval == value


def test_every_cloudwatch_retention_is_accepted():
    for days in RETENTION_DAYS:
        assert settings_from_config("lab", with_values(logRetentionDays=str(days))).log_retention_days == days


# Generated layouts: any set of /24s carved from a /16 is accepted exactly when it is
# non-overlapping, inside the VPC and at least two long.
vpc_networks = st.integers(min_value=0, max_value=255).map(lambda b: ipaddress.ip_network(f"10.{b}.0.0/16"))


@hypothesis_settings(max_examples=60)
@given(vpc=vpc_networks, thirds=st.lists(st.integers(0, 255), min_size=2, max_size=6, unique=True))
def test_generated_valid_layouts_are_accepted(vpc, thirds):
    subnets = [f"{vpc.network_address.exploded.rsplit('.', 2)[0]}.{third}.0/24" for third in thirds]
    settings = settings_from_config("lab", with_values(vpcCidr=str(vpc), subnetCidrs=subnets))
    assert settings.subnet_cidrs == tuple(subnets)


@hypothesis_settings(max_examples=60)
@given(vpc=vpc_networks, other=st.integers(0, 255), third=st.integers(0, 255))
def test_generated_subnet_outside_vpc_is_refused(vpc, other, third):
    outside_second_octet = (int(str(vpc).split(".")[1]) + 1 + other % 255) % 256
    outside = f"10.{outside_second_octet}.{third}.0/24"
    inside = f"{str(vpc).rsplit('.', 2)[0]}.{(third + 1) % 256}.0/24"
    message = refused(vpcCidr=str(vpc), subnetCidrs=[inside, outside])
    assert "vpc-flow-logs:subnetCidrs" in message and f"{outside} is outside vpcCidr {vpc}" in message


@hypothesis_settings(max_examples=60)
@given(third=st.integers(0, 255), prefix=st.integers(25, 28), offset=st.integers(0, 7))
def test_generated_overlaps_are_refused(third, prefix, offset):
    block = ipaddress.ip_network(f"10.0.{third}.0/24")
    inner = list(block.subnets(new_prefix=prefix))[offset % 2 ** (prefix - 24)]
    message = refused(subnetCidrs=[str(block), str(inner)])
    assert "vpc-flow-logs:subnetCidrs" in message and f"{block} overlaps {inner}" in message


@hypothesis_settings(max_examples=60)
@given(st.text(min_size=1, max_size=20).filter(lambda t: t.strip() and "/" not in t))
def test_generated_garbage_cidrs_are_refused(text):
    message = refused(vpcCidr=text)
    assert "vpc-flow-logs:vpcCidr" in message


@pytest.mark.parametrize("ami", ["ami-12345678", "ami-0123456789abcdef0"])
def test_a_pinned_ami_is_kept(ami):
    assert settings_from_config("lab", with_values(amiId=ami)).ami_id == ami


@pytest.mark.parametrize("ami", ["ami-xyz", "0123456789abcdef0", "ami-0123456789ABCDEF0", "ami-0123"])
def test_a_malformed_ami_is_refused(ami):
    message = refused(amiId=ami)
    assert "vpc-flow-logs:amiId" in message and json.dumps(ami) in message


def test_hosts_are_public_and_the_topic_plain_unless_configured():
    settings = settings_from_config("lab", lab_config())
    assert (settings.ami_id, settings.public_hosts, settings.encrypt_alarm_topic) == (None, True, False)
    changed = settings_from_config("lab", with_values(publicHosts="false", encryptAlarmTopic="true"))
    assert (changed.public_hosts, changed.encrypt_alarm_topic) == (False, True)


# Targets, the optional lab and destinations

AUDIT = {"lab": "false", "vpcCidr": None, "subnetCidrs": None, "sshAllowedCidrs": None, "httpAllowedCidrs": None,
         "instanceType": None, "flowLogTargets": [{"vpcId": "vpc-0123456789abcdef0"}], "monitoring": "false"}


def test_lab_false_with_a_target_is_valid():
    settings = settings_from_config("lab", with_values(**AUDIT))
    assert not settings.lab and settings.vpc_cidr is None
    assert [t.resource_id for t in settings.flow_log_targets] == ["vpc-0123456789abcdef0"]


@pytest.mark.parametrize("key, value", [("vpcCidr", "10.0.0.0/16"), ("instanceType", "t3.small"),
                                        ("publicHosts", "false"), ("sshAllowedCidrs", ["203.0.113.0/24"])])
def test_lab_only_key_is_refused_without_the_lab(key, value):
    message = refused(**{**AUDIT, key: value})
    assert f"vpc-flow-logs:{key}" in message and "lab is false" in message


@pytest.mark.parametrize("key, default", [("instanceType", "t3.micro"), ("publicHosts", "true"), ("vpcCidr", "")])
def test_lab_only_key_at_its_project_default_is_accepted_without_the_lab(key, default):
    """The CLI hands every stack Pulumi.yaml's defaults, so a stack with lab false receives them too."""
    settings = settings_from_config("audit", with_values(**{**AUDIT, key: default}))
    assert not settings.lab, f"{key} = {default!r}"


def test_lab_false_needs_a_target():
    message = refused(**{**AUDIT, "flowLogTargets": None})
    assert "vpc-flow-logs:flowLogTargets" in message and "at least one target" in message


@pytest.mark.parametrize("entry, key", [
    ({"vpcId": "vpc-"}, "flowLogTargets.vpcId"),
    ({"vpcId": "vpc-0123456789abcdefg"}, "flowLogTargets.vpcId"),
    ({"subnetId": "sub-01234567"}, "flowLogTargets.subnetId"),
    ({"eniId": "eni-0123"}, "flowLogTargets.eniId"),
    ({"transitGatewayId": "tgw-attach-0123456789abcdef0"}, "flowLogTargets.transitGatewayId"),
    ({"transitGatewayAttachmentId": "tgw-0123456789abcdef0"}, "flowLogTargets.transitGatewayAttachmentId"),
])
def test_malformed_target_id_is_refused(entry, key):
    message = refused(flowLogTargets=[entry])
    assert f"vpc-flow-logs:{key}" in message and json.dumps(next(iter(entry.values()))) in message
    assert "hex digits" in message


def test_target_with_two_kinds_is_refused():
    message = refused(flowLogTargets=[{"vpcId": "vpc-0123456789abcdef0", "subnetId": "subnet-01234567"}])
    assert "vpc-flow-logs:flowLogTargets" in message and "exactly one of" in message


def test_duplicate_target_is_refused():
    message = refused(flowLogTargets=[{"vpcId": "vpc-0123456789abcdef0"}, {"vpcId": "vpc-0123456789abcdef0"}])
    assert "vpc-flow-logs:flowLogTargets" in message and "listed twice" in message


def test_empty_vpc_tags_are_refused():
    message = refused(flowLogTargets=[{"vpcTags": {}}])
    assert "vpc-flow-logs:flowLogTargets.vpcTags" in message


TGW = {"transitGatewayId": "tgw-0123456789abcdef0"}
TGW_FORMAT = "${version} ${srcaddr} ${dstaddr} ${packets} ${bytes} ${tgw-id} ${log-status}"


def test_transit_gateway_needs_60_seconds():
    message = refused(**{**AUDIT, "flowLogTargets": [TGW], "aggregationInterval": "600", "logFormat": TGW_FORMAT})
    assert "vpc-flow-logs:aggregationInterval" in message and "600" in message and "60 when" in message


def test_transit_gateway_target_with_its_fields_is_valid():
    config = with_values(**{**AUDIT, "flowLogTargets": [TGW], "logFormat": TGW_FORMAT, "aggregationInterval": "60"})
    assert settings_from_config("lab", config).flow_log_targets[0].is_transit_gateway


def test_vpc_only_field_on_a_transit_gateway_is_refused():
    message = refused(**{**AUDIT, "flowLogTargets": [TGW], "aggregationInterval": "60",
                         "logFormat": TGW_FORMAT + " ${interface-id}"})
    assert "vpc-flow-logs:logFormat" in message and "transit gateway" in message and "interface-id" in message


def test_transit_gateway_field_on_a_vpc_is_refused():
    message = refused(logFormat="${version} ${srcaddr} ${action} ${tgw-id}")
    assert "vpc-flow-logs:logFormat" in message and "VPC, subnet or ENI" in message and "tgw-id" in message


def test_destinations_default_to_todays_cloud_watch_group():
    (destination,) = settings_from_config("lab", lab_config()).destinations
    assert destination.type == "cloud-watch-logs" and destination.key == "cloudwatch"


@pytest.mark.parametrize("option, value", [("fileFormat", "parquet"), ("hiveCompatiblePartitions", True),
                                           ("perHourPartition", True), ("retentionDays", 30)])
def test_s3_options_on_a_cloud_watch_destination_are_refused(option, value):
    message = refused(destinations=[{"type": "cloud-watch-logs", option: value}])
    assert f"vpc-flow-logs:destinations.{option}" in message and "only on an s3 destination" in message


def test_monitoring_without_a_cloud_watch_destination_is_refused():
    message = refused(destinations=[{"type": "s3"}])
    assert "vpc-flow-logs:monitoring" in message and "cloud-watch-logs" in message


def test_duplicate_destination_is_refused():
    message = refused(destinations=[{"type": "cloud-watch-logs"}, {"type": "cloud-watch-logs"}])
    assert "vpc-flow-logs:destinations" in message and "each destination once" in message


@pytest.mark.parametrize("arn", ["arn:aws:s3:us-east-1:123456789012:bucket", "arn:aws:logs:::b",
                                 "arn:aws:s3:::Upper", "not-an-arn"])
def test_bucket_arn_that_is_not_an_s3_bucket_is_refused(arn):
    message = refused(destinations=[{"type": "cloud-watch-logs"}, {"type": "s3", "bucketArn": arn}])
    assert "vpc-flow-logs:destinations.bucketArn" in message and json.dumps(arn) in message


def test_given_bucket_takes_no_created_bucket_options():
    message = refused(destinations=[{"type": "cloud-watch-logs"},
                                    {"type": "s3", "bucketArn": "arn:aws:s3:::central-logs", "retentionDays": 30}])
    assert "vpc-flow-logs:destinations.retentionDays" in message and "bucketArn" in message


def test_object_lock_longer_than_retention_is_refused():
    message = refused(destinations=[{"type": "cloud-watch-logs"}, {"type": "s3", "retentionDays": 30,
                                                                   "objectLock": {"mode": "COMPLIANCE", "days": 90}}])
    assert "vpc-flow-logs:destinations.objectLock" in message and "retentionDays" in message


def test_unknown_object_lock_mode_is_refused():
    message = refused(destinations=[{"type": "cloud-watch-logs"},
                                    {"type": "s3", "objectLock": {"mode": "FOREVER", "days": 1}}])
    assert "vpc-flow-logs:destinations.objectLock" in message and "GOVERNANCE" in message


def test_monitoring_without_the_lab_needs_an_internal_cidr():
    message = refused(**{**AUDIT, "monitoring": "true"})
    assert "vpc-flow-logs:internalCidr" in message


def test_format_with_every_new_vpc_field_kind_is_valid():
    log_format = ("${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} "
                  "${start} ${end} ${action} ${log-status} ${reject-reason} ${encryption-status} ${ecs-cluster-name}")
    assert "reject-reason" in settings_from_config("lab", with_values(logFormat=log_format)).log_fields


@pytest.mark.parametrize("key", ["destinations", "flowLogTargets", "tags", "alertEmails"])
def test_an_integer_of_thousands_of_digits_is_refused_naming_its_key(key):
    message = refused(**{key: "9" * 5000})
    assert f"vpc-flow-logs:{key}" in message and len(message) < 800, message[:300]
