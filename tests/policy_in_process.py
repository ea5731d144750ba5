"""The pack's rules called in this process, on the same hand-built registrations as the analyzer.

The analyzer protocol (tools/analyzer.py) is what the CLI does and what the rule tests rely on;
this runs the very same rule functions without the pack's process, so that tools which follow
calls inside the test process (the mutation run) see which test reaches which rule. It builds
the SDK's own argument objects (`PolicyResource`, `ResourceValidationArgs`,
`StackValidationArgs`) from the registrations, every rule mandatory, and returns the same
`Violation`s as `PolicyPackSession.analyze`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Mapping, Optional

from pulumi_policy import (PolicyResource, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy,
                           StackValidationArgs)
from pulumi_policy.policy import PolicyCustomTimeouts

from tools.analyzer import Violation


def rule_policies() -> list:
    """Every policy of every rule module, imported as `policies.rules.<module>`."""
    rules = importlib.import_module("policies.rules")
    return [policy for module in pkgutil.iter_modules(rules.__path__)
            for policy in getattr(importlib.import_module(f"policies.rules.{module.name}"), "POLICIES", [])]


def _options(registration: Mapping[str, Any]) -> PolicyResourceOptions:
    options = registration["options"]
    return PolicyResourceOptions(protect=options["protect"], ignore_changes=[],
                                 delete_before_replace=options["deleteBeforeReplace"], aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[],
                                 parent=registration["parent"] or None)


def policy_resources(resources: list[dict]) -> list[PolicyResource]:
    """The registrations as a stack rule receives them, each property dependency a `PolicyResource`."""
    by_urn = {r["urn"]: PolicyResource(r["type"], r["inputs"], r["urn"], r["name"], _options(r), None, None, [], {})
              for r in resources}
    for registration in resources:
        by_urn[registration["urn"]].property_dependencies.update(
            {prop: [by_urn[urn] for urn in urns if urn in by_urn] for prop, urns in registration["dependencies"].items()})
    return list(by_urn.values())


class InProcessPack:
    """`analyze(resources)` as `PolicyPackSession.analyze`, each policy given its `config` (name -> properties)."""

    def __init__(self, config: Optional[Mapping[str, Mapping[str, Any]]] = None):
        self.config = config or {}

    def _config_of(self, policy) -> dict[str, Any]:
        defaults = {name: schema["default"] for name, schema in
                    (policy.config_schema.properties if policy.config_schema else {}).items() if "default" in schema}
        return {**defaults, **self.config.get(policy.name, {})}

    def analyze(self, resources: list[dict]) -> list[Violation]:
        violations: list[Violation] = []
        stack_resources = policy_resources(resources)
        for policy in rule_policies():
            config = self._config_of(policy)
            if isinstance(policy, ResourceValidationPolicy):
                for registration in resources:
                    args = ResourceValidationArgs(registration["type"], registration["inputs"], registration["urn"],
                                                  registration["name"], _options(registration), None, config)

                    def report(message: str, urn: Optional[str] = None, name=policy.name,
                               resource_urn=registration["urn"]) -> None:
                        violations.append(Violation(name, "mandatory", urn or resource_urn, message))
                    policy.validate(args, report)
            else:
                def report_stack(message: str, urn: Optional[str] = None, name=policy.name) -> None:
                    violations.append(Violation(name, "mandatory", urn or "", message))
                policy.validate(StackValidationArgs(stack_resources, config), report_stack)
        return violations
