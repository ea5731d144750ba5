"""The hosts: instance metadata only through IMDSv2 sessions, and encrypted root disks."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import label

INSTANCE = "aws:ec2/instance:Instance"


def ec2_imdsv2_required(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == INSTANCE and (args.props.get("metadataOptions") or {}).get("httpTokens") != "required":
        report_violation(f"{label(INSTANCE, args.name)} still answers IMDSv1 requests, which SSRF can abuse: "
                         "set metadata_options http_tokens='required'.")


def ec2_root_volume_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == INSTANCE and not (args.props.get("rootBlockDevice") or {}).get("encrypted"):
        report_violation(f"{label(INSTANCE, args.name)} has an unencrypted root volume: set root_block_device "
                         "encrypted=True.")


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
]
