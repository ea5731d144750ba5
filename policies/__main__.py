"""The vpc-flow-logs policy pack. Building the PolicyPack serves gRPC until the CLI stops it.

Adding a rule module is one import and one entry in the `policies` list below.
"""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this file through runpy; make the pack's own `rules` package importable.
PACK_DIR = str(Path(__file__).resolve().parent)
if PACK_DIR not in sys.path:
    sys.path.insert(0, PACK_DIR)

from rules import alerts, athena, buckets, flow_logs, instances, log_groups, metric_filters, network, tags  # noqa: E402

PolicyPack(
    name="vpc-flow-logs",
    # Mandatory unless a --policy-pack-config says otherwise: an unconfigured run is the strict one.
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        *flow_logs.POLICIES,
        *buckets.POLICIES,
        *log_groups.POLICIES,
        *metric_filters.POLICIES,
        *network.POLICIES,
        *instances.POLICIES,
        *tags.POLICIES,
        *alerts.POLICIES,
        *athena.POLICIES,
    ],
)
