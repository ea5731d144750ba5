"""Drive a policy pack through the analyzer gRPC protocol, as `pulumi preview --policy-pack` does.

The pack runs as its own process, started the way the CLI starts a Python policy pack:
`python -u -m pulumi.policy <engine address> .` in the pack's directory, with PULUMI_PROJECT,
PULUMI_STACK and PULUMI_DRY_RUN=true (under `die_with_parent.py`, so that it never outlives this
process). It prints its port and serves `pulumirpc.Analyzer`. The
engine address is a small Engine server in this process, so that what the pack logs is kept.

The calls follow the CLI: Handshake, ConfigureStack, GetAnalyzerInfo, Configure with the
`--policy-pack-config` reconciled against the pack's defaults and schemas, then Analyze for
each resource and AnalyzeStack once. Resources are the registrations `tools.render` records.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

from tools.render import UNKNOWN

# Runs the pack so that it dies with this process, even when this one is killed outright.
DIE_WITH_PARENT = Path(__file__).resolve().with_name("die_with_parent.py")
STARTUP_SECONDS = 30.0
CALL_SECONDS = 60.0
ENFORCEMENT_LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
                      "remediate": analyzer_pb2.REMEDIATE, "disabled": analyzer_pb2.DISABLED}
ENFORCEMENT_NAMES = {level: name for name, level in ENFORCEMENT_LEVELS.items()}
# How the engine marshals an input that is not known until the update runs.
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# The notice the Python policy SDK returns, as an advisory diagnostic, for a rule that read a value
# unknown at preview (pulumi_policy/policy.py, on its UnknownValueError); the engine prints it as is.
UNDECIDED_NOTICE = re.compile(r"^can't run policy '[^']+' .*during preview: (?P<kind>\w+) value at "
                              r"(?P<path>\.\S*) can't be known during preview$")
LOG_SEVERITIES = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info", engine_pb2.WARNING: "warning",
                  engine_pb2.ERROR: "error"}


class PolicyPackError(RuntimeError):
    """The pack could not start, died, rejected a call, or its config is invalid."""


@dataclass(frozen=True)
class Violation:
    """A rule's finding on a resource; with `unknown` set, the rule could not decide at preview.

    An undecided rule carries the enforcement it was configured with: the engine downgrades it to
    advisory, so a mandatory one is not enforced at preview.
    """

    policy: str
    enforcement: str  # "mandatory" | "advisory"
    urn: str
    message: str
    # The property path (".policy", ".rules.0.kmsKeyId") whose unknown value stopped the rule.
    unknown: str = ""

    @property
    def undecided(self) -> bool:
        return bool(self.unknown)


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement: str


# --- --policy-pack-config, reconciled as the CLI does ---------------------------------------

PolicyConfig = dict[str, tuple[Optional[str], Optional[dict[str, Any]]]]  # name -> (level, properties)


def load_policy_config(path: Path) -> dict[str, Any]:
    """A `--policy-pack-config` JSON file, checked as the CLI checks it; empty means no config."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        config = json.loads(text) if text.strip() else {}
    except (OSError, json.JSONDecodeError) as error:
        raise PolicyPackError(f"{path}: not a readable policy pack config: {error}") from None
    if not isinstance(config, dict):
        raise PolicyPackError(f"{path}: a policy pack config is a JSON object of policy names")
    try:
        parse_policy_config(config)
    except PolicyPackError as error:
        raise PolicyPackError(f"{path}: {error}") from None
    return config


def _level(name: str, value: Any) -> str:
    if not (isinstance(value, str) and value in ENFORCEMENT_LEVELS):
        raise PolicyPackError(f"parsing enforcement level for {name!r}: {value!r} is not one of "
                              + ", ".join(ENFORCEMENT_LEVELS))
    return value


def parse_policy_config(config: Mapping[str, Any]) -> PolicyConfig:
    """Entries of the file: `"rule": "advisory"` or `"rule": {"enforcementLevel": ..., "prop": ...}`."""
    entries: PolicyConfig = {}
    for name, value in config.items():
        if isinstance(value, str):
            level, properties = _level(name, value), None
        elif isinstance(value, dict):
            properties = {key: item for key, item in value.items() if key != "enforcementLevel"} or None
            level = _level(name, value["enforcementLevel"]) if "enforcementLevel" in value else None
        else:
            raise PolicyPackError(f"parsing {name!r}: {value!r} is not a valid value; must be a string or object")
        if level or properties:
            entries[name] = (level, properties)
    return entries


def _apply(config: PolicyConfig, layer: PolicyConfig) -> PolicyConfig:
    """One layer on top of another: `all` sets every level first, then each entry wins."""
    all_level = layer.get("all", (None, None))[0]
    result = {name: (all_level or level, properties) for name, (level, properties) in config.items()}
    for name, (level, properties) in layer.items():
        old_level, old_properties = result.get(name, (None, None))
        merged = {**(old_properties or {}), **properties} if properties else old_properties
        result[name] = (level or old_level, merged)
    return result


def _schema(policy: analyzer_pb2.PolicyInfo) -> dict[str, Any]:
    """The JSON schema the CLI validates a policy's properties with (enforcementLevel injected)."""
    properties = json_format.MessageToDict(policy.configSchema.properties)
    properties["enforcementLevel"] = {"type": "string", "enum": list(ENFORCEMENT_LEVELS)}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if policy.configSchema.required:
        schema["required"] = list(policy.configSchema.required)
    return schema


def _defaults(schema: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    return {key: spec["default"] for key, spec in schema.get("properties", {}).items() if "default" in spec} or None


def reconcile_policy_config(info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, Any]) -> PolicyConfig:
    """What the CLI hands to Configure: pack defaults and schema defaults, then the pack's
    initial config, then the file; every policy's properties validated against its schema."""
    schemas = {policy.name: _schema(policy) for policy in info.policies} if info.supportsConfig else {}
    result: PolicyConfig = {policy.name: (ENFORCEMENT_NAMES[policy.enforcementLevel],
                                          _defaults(schemas.get(policy.name, {})))
                            for policy in info.policies}
    initial: PolicyConfig = {name: (ENFORCEMENT_NAMES[value.enforcementLevel],
                                    json_format.MessageToDict(value.properties) or None)
                             for name, value in info.initialConfig.items()}
    result = _apply(_apply(result, initial), parse_policy_config(config))
    errors = [f"{name}: {error.message}" for name, schema in schemas.items()
              for error in jsonschema.Draft7Validator(schema).iter_errors(result[name][1] or {})]
    if errors:
        raise PolicyPackError("validating policy config: " + "; ".join(errors))
    unleveled = [name for name, (level, _) in result.items() if level is None]
    if unleveled:
        raise PolicyPackError(f"invalid enforcement level \"\" for {', '.join(unleveled)}: "
                              "this pack has no such policy, so its entry needs an enforcementLevel")
    return result


def configure_request(config: PolicyConfig) -> analyzer_pb2.ConfigureAnalyzerRequest:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, (level, properties) in config.items():
        request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
            enforcementLevel=ENFORCEMENT_LEVELS[str(level)], properties=_struct(properties or {})))
    return request


# --- resources, as the engine marshals them -------------------------------------------------

def _engine_value(value: Any) -> Any:
    """A rendered input as the engine sends it: unknowns become the engine's sentinel."""
    if isinstance(value, dict):
        return {key: _engine_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_engine_value(item) for item in value]
    return UNKNOWN_SENTINEL if value == UNKNOWN else value


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _options(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    options = resource["options"]
    delete_before_replace = options.get("deleteBeforeReplace")
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(options.get("protect")),
        deleteBeforeReplace=bool(delete_before_replace),
        deleteBeforeReplaceDefined=delete_before_replace is not None,
        parent=resource.get("parent", ""),
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
    )


def analyze_request(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type=resource["type"], properties=_struct(_engine_value(resource["inputs"])), urn=resource["urn"],
        name=resource["name"], options=_options(resource))


def stack_resource(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResource:
    """A resource for AnalyzeStack: dependencies are its property dependencies plus dependsOn."""
    property_dependencies = {key: urns for key, urns in resource.get("dependencies", {}).items() if urns}
    dependencies = {urn for urns in property_dependencies.values() for urn in urns}
    dependencies |= set(resource["options"].get("dependsOn", []))
    return analyzer_pb2.AnalyzerResource(
        type=resource["type"], properties=_struct(_engine_value(resource["inputs"])), urn=resource["urn"],
        name=resource["name"], options=_options(resource), parent=resource.get("parent", ""),
        dependencies=sorted(dependencies),
        propertyDependencies={key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                              for key, urns in property_dependencies.items()})


def _violation(diagnostic: analyzer_pb2.AnalyzeDiagnostic, resource_urn: str) -> Violation:
    """A diagnostic as a Violation: the rule's own message, without the description the SDK
    puts in front; resource policies report no URN, so the analyzed resource's is used."""
    prefix = diagnostic.description + "\n"
    message = diagnostic.message.removeprefix(prefix)
    return Violation(diagnostic.policyName, ENFORCEMENT_NAMES[diagnostic.enforcementLevel],
                     diagnostic.urn or resource_urn, message)


def unknown_at(inputs: Mapping[str, Any], path: str) -> bool:
    """Whether rendered inputs hold an unknown at a property path such as `.rules.0.kmsKeyId`, or above it."""
    value: Any = inputs
    for key in path.strip(".").split(".") if path.strip(".") else []:
        if value == UNKNOWN:
            return True
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return False
    return value == UNKNOWN


def as_undecided(violation: Violation, levels: Mapping[str, str], resources: list[dict]) -> list[Violation]:
    """The SDK's "can't run policy" notice as undecided findings with the rule's configured enforcement.

    A resource rule's notice is about the analyzed resource. A stack rule's names no resource, so it
    stands for each resource whose inputs are unknown at the path it read (the stack, if none is).
    """
    notice = UNDECIDED_NOTICE.match(violation.message)
    if notice is None:
        return [violation]
    path, enforcement = notice["path"], levels.get(violation.policy, violation.enforcement)
    urns = ([violation.urn] if violation.urn else
            [r["urn"] for r in resources if unknown_at(r["inputs"], path)] or [""])
    message = (f"cannot be decided at preview: its {notice['kind']} value at {path} is unknown until the update "
               f"runs, so the engine reports this {enforcement} rule as advisory instead of enforcing it")
    return [Violation(violation.policy, enforcement, urn, message, unknown=path) for urn in urns]


# --- the engine side and the session --------------------------------------------------------

class _Engine(engine_pb2_grpc.EngineServicer):
    """The engine a plugin may log to: keeps every message, and holds the root resource."""

    def __init__(self, output: list[str], lock: threading.Lock):
        self.output, self.lock = output, lock
        self.errors: list[str] = []
        self.root_urn = ""

    def Log(self, request, context):
        line = f"{LOG_SEVERITIES.get(request.severity, 'info')}: {request.message}"
        with self.lock:
            self.output.append(line)
            if request.severity == engine_pb2.ERROR:
                self.errors.append(line)
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):
        return engine_pb2.GetRootResourceResponse(urn=self.root_urn)

    def SetRootResource(self, request, context):
        self.root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()


class PolicyPackSession:
    """A running policy pack, configured for one stack: start it, analyze, stop it."""

    def __init__(self, pack_dir: Path, stack: str, project: str = "vpc-flow-logs",
                 policy_config: Optional[dict] = None, startup_timeout: float = STARTUP_SECONDS):
        self.pack_dir = Path(pack_dir)
        self.stack = stack
        self.project = project
        self.policy_config = dict(policy_config or {})
        self.startup_timeout = startup_timeout
        self._lock = threading.Lock()
        self._output: list[str] = []
        self._engine = _Engine(self._output, self._lock)
        self._engine_server: Optional[grpc.Server] = None
        self.engine_address = ""
        self._process: Optional[subprocess.Popen] = None
        self._readers: list[threading.Thread] = []
        self._channel: Optional[grpc.Channel] = None
        self._port = 0
        self._stub: Optional[analyzer_pb2_grpc.AnalyzerStub] = None
        self._policies: list[PolicyInfo] = []

    @property
    def logs(self) -> list[str]:
        """Everything the pack said: its engine log messages, stderr and stray stdout lines."""
        with self._lock:
            return list(self._output)

    def __enter__(self) -> "PolicyPackSession":
        parse_policy_config(self.policy_config)  # a malformed file fails before anything starts
        try:
            self._start_engine()
            self._connect(self._start_pack())
            self._configure()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
        for reader in self._readers:
            reader.join(timeout=1)
        if self._engine_server is not None:
            self._engine_server.stop(grace=None)

    def _start_engine(self) -> None:
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._engine_server)
        self.engine_address = f"127.0.0.1:{self._engine_server.add_insecure_port('127.0.0.1:0')}"
        self._engine_server.start()

    def _start_pack(self) -> int:
        """Start the pack as the CLI does and return the port it prints first."""
        env = {**os.environ, "PULUMI_PROJECT": self.project, "PULUMI_STACK": self.stack, "PULUMI_DRY_RUN": "true"}
        self._process = subprocess.Popen(
            [sys.executable, str(DIE_WITH_PARENT), sys.executable, "-u", "-m", "pulumi.policy",
             self.engine_address, "."],
            # The pipe on stdin is how the pack notices that this process has gone (die_with_parent.py).
            cwd=self.pack_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        first_line: futures.Future[str] = futures.Future()
        self._readers = [threading.Thread(target=self._read, args=(self._process.stdout, first_line), daemon=True),
                         threading.Thread(target=self._read, args=(self._process.stderr, None), daemon=True)]
        for reader in self._readers:
            reader.start()
        try:
            line = first_line.result(timeout=self.startup_timeout).strip()
        except futures.TimeoutError:
            raise self._failure(f"printed no port within {self.startup_timeout:g} s", grace=0) from None
        if not line.isdigit():
            if line:
                with self._lock:
                    self._output.insert(0, line)
            raise self._failure("did not start")
        return int(line)

    def _kill(self) -> None:
        """Kill the pack: closing its stdin makes die_with_parent.py kill the command it runs."""
        assert self._process is not None
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.kill()
        self._process.wait()

    def _read(self, stream, first_line: Optional[futures.Future]) -> None:
        """Drain one of the pack's pipes, so it never blocks on a full one; the first stdout line is the port."""
        for line in stream:
            if first_line is not None and not first_line.done():
                first_line.set_result(line)
                continue
            with self._lock:
                self._output.append(line.rstrip("\n"))
        if first_line is not None and not first_line.done():
            first_line.set_result("")

    def _failure(self, what: str, grace: float = 1.0) -> PolicyPackError:
        """An error naming what went wrong, the pack's exit status, and everything it said.

        A pack that is still running after `grace` seconds is stopped.
        """
        assert self._process is not None
        try:
            self._process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._kill()
            status = "was stopped"
        else:
            status = f"exited with code {self._process.returncode}"
        for reader in self._readers:
            reader.join(timeout=1)
        said = "\n".join(self.logs) or "(no output)"
        return PolicyPackError(f"policy pack {self.pack_dir} {what}; it {status}. Its output:\n{said}")

    def _connect(self, port: int) -> None:
        # No channel_ready_future: its polling thread fails noisily if Ctrl-C closes the channel
        # under it. The first call waits for the connection instead (see _call's `first`).
        self._port = port
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)

    def _call(self, method: str, request, optional: bool = False, first: bool = False):
        """One RPC; a failure carries the pack's output, and an optional method may be unimplemented.

        The `first` call waits up to the startup timeout for the pack to accept the connection.
        """
        assert self._stub is not None and self._process is not None
        try:
            if first:
                return getattr(self._stub, method)(request, timeout=self.startup_timeout, wait_for_ready=True)
            return getattr(self._stub, method)(request, timeout=CALL_SECONDS)
        except grpc.RpcError as error:
            if optional and error.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            if first and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise self._failure(f"did not answer on port {self._port}") from None
            if error.code() == grpc.StatusCode.UNAVAILABLE or self._process.poll() is not None:
                raise self._failure(f"stopped answering during {method} ({error.details()})") from None
            said = "\n".join(self.logs)
            raise PolicyPackError(f"{method} failed: {error.details()}\n{said}".rstrip()) from None

    def _configure(self) -> None:
        self._call("Handshake", analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=self.engine_address, root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir)), optional=True, first=True)
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack, project=self.project, organization="organization", dry_run=True), optional=True)
        info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        config = reconcile_policy_config(info, self.policy_config)
        self._call("Configure", configure_request(config))
        self._policies = [PolicyInfo(policy.name, policy.description, str(config[policy.name][0]))
                          for policy in info.policies]

    def info(self) -> list[PolicyInfo]:
        """The pack's policies (GetAnalyzerInfo) with the enforcement Configure gave them, as the CLI reports them."""
        return list(self._policies)

    def analyze(self, resources: list[dict]) -> list[Violation]:
        """Analyze each resource, then the whole stack; every violation, in the order reported.

        A rule that could not run on a value unknown at preview comes back undecided (`unknown` set).
        An error the pack logged to the engine since the last analysis fails it, as it fails a preview.
        """
        violations = [_violation(diagnostic, resource["urn"])
                      for resource in resources
                      for diagnostic in self._call("Analyze", analyze_request(resource)).diagnostics]
        stack = self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(
            resources=[stack_resource(resource) for resource in resources]))
        violations += [_violation(diagnostic, "") for diagnostic in stack.diagnostics]
        with self._lock:
            logged, self._engine.errors[:] = list(self._engine.errors), []
        if logged:
            raise PolicyPackError(f"policy pack {self.pack_dir} logged errors:\n" + "\n".join(logged))
        levels = {policy.name: policy.enforcement for policy in self._policies}
        return [found for violation in violations for found in as_undecided(violation, levels, resources)]
