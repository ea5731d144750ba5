"""Drive a policy pack through the analyzer gRPC protocol, as the Pulumi CLI does.

The pack runs as its own process, started the way the CLI starts a Python policy pack
(`python -m pulumi.policy <engine> .` in the pack's directory); it prints its port and
serves `pulumirpc.Analyzer`. This client then calls GetAnalyzerInfo, Configure,
ConfigureStack, Analyze for each resource and AnalyzeStack once, with the registrations
recorded by `tools.render`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

STARTUP_SECONDS = 30
ENFORCEMENT_NAMES = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
                     analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}
ENFORCEMENT_LEVELS = {name: level for level, name in ENFORCEMENT_NAMES.items()}


class PolicyPackError(RuntimeError):
    """The pack could not be started or answered with an error."""


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    urn: str
    message: str


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement: str


def load_policy_config(path: Path) -> dict[str, Any]:
    """A `--policy-pack-config` JSON file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise PolicyPackError(f"{path}: not a readable policy config: {error}") from None


def configure_request(policy_config: Mapping[str, Any],
                      policies: Iterable[PolicyInfo]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """The Configure call the CLI makes for a `--policy-pack-config` file.

    Entries are `"rule": "advisory"` or `"rule": {"enforcementLevel": ..., "prop": ...}`;
    `all` sets every policy's level and a rule's own entry overrides it; a rule without a
    level keeps the pack's default.
    """
    defaults = {policy.name: policy.enforcement for policy in policies}
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, value in _expand_all(policy_config, defaults).items():
        entry = value if isinstance(value, dict) else {"enforcementLevel": value}
        level = entry.get("enforcementLevel", defaults.get(name))
        if level is not None and level not in ENFORCEMENT_LEVELS:
            raise PolicyPackError(f"policy config for {name}: enforcementLevel {level!r} is not one of "
                                  + ", ".join(ENFORCEMENT_LEVELS))
        properties = struct_pb2.Struct()
        properties.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
        request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
            enforcementLevel=ENFORCEMENT_LEVELS[level or "advisory"],
            properties=properties))
    return request


def _expand_all(policy_config: Mapping[str, Any], policy_names: Iterable[str]) -> dict[str, Any]:
    if "all" not in policy_config:
        return dict(policy_config)
    expanded: dict[str, Any] = {name: policy_config["all"] for name in policy_names}
    for name, value in policy_config.items():
        if name == "all":
            continue
        if isinstance(value, dict) and "enforcementLevel" not in value:
            value = {"enforcementLevel": policy_config["all"], **value}
        expanded[name] = value
    return expanded


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _options(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    options = resource["options"]
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(options.get("protect")),
        deleteBeforeReplace=bool(options.get("deleteBeforeReplace")),
        deleteBeforeReplaceDefined="deleteBeforeReplace" in options,
        parent=resource.get("parent", ""),
    )


def _property_dependencies(resource: Mapping[str, Any]) -> dict[str, analyzer_pb2.AnalyzerPropertyDependencies]:
    return {key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
            for key, urns in resource.get("dependencies", {}).items()}


def _all_dependencies(resource: Mapping[str, Any]) -> list[str]:
    urns = {urn for urns in resource.get("dependencies", {}).values() for urn in urns}
    return sorted(urns | set(resource["options"].get("dependsOn", [])))


class PolicyPackSession:
    """A running policy pack: start it, talk to it, stop it."""

    def __init__(self, pack_dir: Path, stack: str, project: str = "vpc-flow-logs",
                 policy_config: Mapping[str, Any] | None = None):
        self.pack_dir = Path(pack_dir)
        self.stack = stack
        self.project = project
        self.policy_config = dict(policy_config or {})
        self._process: subprocess.Popen | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._stderr: list[str] = []

    def __enter__(self) -> "PolicyPackSession":
        self._start()
        self._call("Configure", configure_request(self.policy_config, self.info()))
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack, project=self.project, organization="organization", dry_run=True))
        return self

    def __exit__(self, *exc_info) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _start(self) -> None:
        env = {**os.environ, "PULUMI_PROJECT": self.project, "PULUMI_STACK": self.stack,
               "PULUMI_DRY_RUN": "true", "PYTHONUNBUFFERED": "1"}
        # No engine runs here; the pack only dials it to log, and then falls back to stderr.
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=self.pack_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        port = self._read_port()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        try:
            grpc.channel_ready_future(self._channel).result(timeout=STARTUP_SECONDS)
        except grpc.FutureTimeoutError:
            raise PolicyPackError(f"policy pack at {self.pack_dir} did not answer on port {port}") from None
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)

    def _drain_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line)

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(STARTUP_SECONDS)
        line = result[0].strip() if result else ""
        if not line.isdigit():
            self._process.kill()
            self._process.wait()
            raise PolicyPackError(f"policy pack at {self.pack_dir} did not start:\n{''.join(self._stderr)}".rstrip())
        return int(line)

    def _call(self, method: str, request):
        assert self._stub is not None
        try:
            return getattr(self._stub, method)(request, timeout=60)
        except grpc.RpcError as error:
            raise PolicyPackError(f"{method} failed: {error.details()}\n{''.join(self._stderr)}".rstrip()) from None

    def info(self) -> list[PolicyInfo]:
        """GetAnalyzerInfo: the pack's policies and their default enforcement."""
        response = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        return [PolicyInfo(p.name, p.description, ENFORCEMENT_NAMES[p.enforcementLevel]) for p in response.policies]

    def analyze(self, resources: list[Mapping[str, Any]]) -> list[Violation]:
        """Analyze each resource, then the whole stack; every violation reported."""
        diagnostics = []
        for resource in resources:
            response = self._call("Analyze", analyzer_pb2.AnalyzeRequest(
                type=resource["type"], properties=_struct(resource["inputs"]), urn=resource["urn"],
                name=resource["name"], options=_options(resource)))
            diagnostics += [(d, resource["urn"]) for d in response.diagnostics]
        stack = self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=[
            analyzer_pb2.AnalyzerResource(
                type=resource["type"], properties=_struct(resource["inputs"]), urn=resource["urn"],
                name=resource["name"], options=_options(resource), parent=resource.get("parent", ""),
                dependencies=_all_dependencies(resource),
                propertyDependencies=_property_dependencies(resource))
            for resource in resources]))
        diagnostics += [(d, d.urn) for d in stack.diagnostics]
        return [Violation(d.policyName, ENFORCEMENT_NAMES[d.enforcementLevel], d.urn or urn, _own_message(d))
                for d, urn in diagnostics]


def _own_message(diagnostic: analyzer_pb2.AnalyzeDiagnostic) -> str:
    """The rule's message, without the policy description the SDK puts in front of it."""
    prefix = diagnostic.description + "\n"
    return diagnostic.message[len(prefix):] if diagnostic.message.startswith(prefix) else diagnostic.message
