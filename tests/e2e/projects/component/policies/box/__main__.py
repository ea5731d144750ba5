"""A policy pack that proves it ran: it refuses boxes above its configured maximum size."""

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, PolicyPack, ResourceValidationArgs,
                           ResourceValidationPolicy)


def box_size(args: ResourceValidationArgs, report_violation) -> None:
    maximum = args.get_config()["maximum"]
    size = args.props.get("size", 0)
    if args.resource_type == "check:index:Box" and size > maximum:
        # Numbers reach a policy pack as floats.
        report_violation(f"box {args.name} has size {size:g}, above {maximum:g}")


PolicyPack(
    name="box-check",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="box-size-limit",
            description="Boxes are no larger than the configured maximum.",
            validate=box_size,
            config_schema=PolicyConfigSchema(properties={"maximum": {"type": "integer"}}, required=["maximum"]),
        ),
    ],
)
