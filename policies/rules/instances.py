"""The hosts: IMDSv2 only, encrypted root disks, reachable through SSM, and public only when declared."""

from __future__ import annotations

from pulumi_policy import (ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity,
                           StackValidationArgs, StackValidationPolicy)

from .common import label, of_type, referenced

INSTANCE = "aws:ec2/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ROLE = "aws:iam/role:Role"
POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SSM_CORE_POLICY = ":policy/AmazonSSMManagedInstanceCore"
# The tag by which the stack declares a resource public on purpose (config publicHosts).
EXPOSURE_TAG, PUBLIC = "Exposure", "public"


def ec2_imdsv2_required(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == INSTANCE and (args.props.get("metadataOptions") or {}).get("httpTokens") != "required":
        report_violation(f"{label(INSTANCE, args.name)} still answers IMDSv1 requests, which SSRF can abuse: "
                         "set metadata_options http_tokens='required'.")


def ec2_root_volume_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == INSTANCE and not (args.props.get("rootBlockDevice") or {}).get("encrypted"):
        report_violation(f"{label(INSTANCE, args.name)} has an unencrypted root volume: set root_block_device "
                         "encrypted=True.")


def instance_ssm_managed(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Each host's instance profile carries a role with AmazonSSMManagedInstanceCore attached."""
    attachments = [a for a in of_type(args.resources, POLICY_ATTACHMENT)
                   if str(a.props.get("policyArn") or "").endswith(SSM_CORE_POLICY)]
    for instance in of_type(args.resources, INSTANCE):
        roles = [role for profile in referenced(instance, "iamInstanceProfile", INSTANCE_PROFILE)
                 for role in referenced(profile, "role", ROLE)]
        if not any(role in referenced(attachment, "role", ROLE) for role in roles for attachment in attachments):
            report_violation(f"{label(INSTANCE, instance.name)} cannot be reached through SSM Session Manager: give "
                             "it an instance profile whose role has AmazonSSMManagedInstanceCore, so port 22 can "
                             "stay closed (sshAllowedCidrs: []).", instance.urn)


def public_exposure_declared(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A public IP is a decision of the stack (publicHosts), visible as the Exposure tag."""
    public = {INSTANCE: "associatePublicIpAddress", SUBNET: "mapPublicIpOnLaunch"}.get(args.resource_type)
    if public and args.props.get(public) is True and (args.props.get("tags") or {}).get(EXPOSURE_TAG) != PUBLIC:
        report_violation(f"{label(args.resource_type, args.name)} gives hosts public IPs ({public}) without "
                         f"declaring it: set vpc-flow-logs:publicHosts (which tags it {EXPOSURE_TAG}={PUBLIC}), "
                         "or keep the hosts private.")


POLICIES = [
    ResourceValidationPolicy(
        name="ec2-imdsv2-required",
        description="Instances require IMDSv2 session tokens.",
        validate=ec2_imdsv2_required,
        severity=Severity.HIGH,
        remediation_steps="Set metadata_options=InstanceMetadataOptionsArgs(http_tokens='required').",
    ),
    ResourceValidationPolicy(
        name="ec2-root-volume-encrypted",
        description="Instance root volumes are encrypted.",
        validate=ec2_root_volume_encrypted,
        severity=Severity.MEDIUM,
        remediation_steps="Set root_block_device=InstanceRootBlockDeviceArgs(encrypted=True).",
    ),
    StackValidationPolicy(
        name="instance-ssm-managed",
        description="Instances have an instance profile with AmazonSSMManagedInstanceCore (Session Manager).",
        validate=instance_ssm_managed,
        severity=Severity.MEDIUM,
        remediation_steps="Attach an instance profile whose role has AmazonSSMManagedInstanceCore.",
    ),
    ResourceValidationPolicy(
        name="public-exposure-declared",
        description="Public IPs on instances and subnets are declared by the stack (the Exposure=public tag).",
        validate=public_exposure_declared,
        severity=Severity.MEDIUM,
        remediation_steps="Set vpc-flow-logs:publicHosts, or keep the hosts private.",
    ),
]
