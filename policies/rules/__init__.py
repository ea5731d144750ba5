"""The pack's rules, one module per concern; importing them starts nothing."""

from . import flow_logs, instances, log_groups, metric_filters, network, tags

POLICIES = [
    *flow_logs.POLICIES,
    *log_groups.POLICIES,
    *metric_filters.POLICIES,
    *network.POLICIES,
    *instances.POLICIES,
    *tags.POLICIES,
]
