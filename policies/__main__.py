"""The vpc-flow-logs policy pack. Building the PolicyPack serves gRPC until the CLI stops it."""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this file from the pack's directory; make `rules` importable from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rules import POLICIES  # noqa: E402

PolicyPack(
    name="vpc-flow-logs",
    description="VPC Flow Logs, their delivery role and log group, and the lab hosts they watch.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
