"""The rehearsal stand-in's gRPC service: Pulumi's ResourceProvider protocol over tools/emulator.py.

REHEARSAL TEST DOUBLE, not pulumi-aws. Each request is handed to `MotoMocks`, whose handlers
create, update, read back and delete resources in a moto server on 127.0.0.1; this module only
translates the protocol: properties in and out (secrets kept, unknowns during preview), which
inputs changed, and which of those AWS cannot change in place.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent import futures
from importlib.metadata import version
from typing import Any, Callable, Optional, Sequence

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from tools.emulator import LOOKUPS, RESOURCES, LOOPBACK, MotoMocks, autonamed_at_check, single_endpoint

PACKAGE = "aws"
# The version the program's SDK asks the engine for: pulumi-aws's, as requirements.txt pins it.
VERSION = version("pulumi-aws")
# How often the stand-in checks that the engine that started it is still there.
PARENT_POLL_SECONDS = 1.0

Properties = dict[str, Any]
PropertyDiff = provider_pb2.PropertyDiff


def properties(struct: struct_pb2.Struct) -> Properties:
    """A request's properties: secrets stay wrapped, unknowns are `Unknown`, engine-internal keys go."""
    return {key: value for key, value in rpc.deserialize_properties(struct, keep_unknowns=True).items()
            if not key.startswith("__")}


def to_struct(values: Properties) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(values))
    return struct


def _wire(value: Any) -> Any:
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(item) for item in value]
    return value


class _Changed:
    """Stands for an unknown value: unequal to everything, so an unknown input counts as changed."""

    def __eq__(self, other: object) -> bool:
        return False


def _revealed(value: Any) -> Any:
    """A value as compared: a secret equals its plain value (the engine tracks secretness)."""
    if isinstance(value, Unknown):
        return _Changed()
    if rpc.is_rpc_secret(value):
        return _revealed(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_revealed(item) for item in value]
    return value


def changed_keys(olds: Properties, news: Properties, ignored: Sequence[str] = ()) -> list[str]:
    """The top-level inputs that differ between the old inputs and the new."""
    return sorted(key for key in set(olds) | set(news)
                  if key not in ignored and _revealed(olds.get(key)) != _revealed(news.get(key)))


def _type_and_name(request: Any) -> tuple[str, str]:
    """The resource type and logical name, from the request or else its URN."""
    parts = request.urn.split("::")
    return request.type or parts[2].split("$")[-1], request.name or parts[3]


def provider_endpoint(config: Properties) -> tuple[str, str]:
    """The region and the one loopback moto URL named by the provider config; anything else fails."""
    region = config.get("region")
    if not region:
        raise ValueError("aws:region is not set: the stand-in needs the region the stack deploys to")
    endpoints = config.get("endpoints", [])
    if isinstance(endpoints, str):
        endpoints = json.loads(endpoints)
    return region, single_endpoint(endpoints, "the stand-in aws provider")


def _config_of(request: provider_pb2.ConfigureRequest) -> Properties:
    """The provider config: the `args` struct, or else the older `aws:config:<key>` variables."""
    config = {key: rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value
              for key, value in properties(request.args).items()}
    for key, value in request.variables.items():
        name = key.removeprefix(f"{PACKAGE}:config:")
        if name not in config:
            config[name] = value
    return config


def _fails_loudly(method: Callable) -> Callable:
    """Any refusal reaches the engine as the RPC's error, naming what was refused; no traceback."""
    def serve(self: "RehearsalProvider", request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except (NotImplementedError, RuntimeError, ValueError, KeyError) as error:
            context.abort(grpc.StatusCode.UNKNOWN, f"{PACKAGE} (rehearsal stand-in, not pulumi-aws): {error}")
    serve.__name__ = method.__name__
    return serve


class RehearsalProvider(provider_pb2_grpc.ResourceProviderServicer):
    """The `aws` provider, as far as the program needs it, backed by moto on 127.0.0.1."""

    def __init__(self) -> None:
        self._mocks: Optional[MotoMocks] = None

    @property
    def mocks(self) -> MotoMocks:
        if self._mocks is None:
            raise RuntimeError("the provider is not configured: Configure must name aws:region and aws:endpoints")
        return self._mocks

    # --- plugin -----------------------------------------------------------------------------

    # The engine's address (in Handshake, Attach and the command line) goes unused: the stand-in
    # sends the engine no logs and starts no resource monitor of its own.

    def Handshake(self, request: provider_pb2.ProviderHandshakeRequest, context: grpc.ServicerContext):
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=True, accept_resources=True)

    def Attach(self, request: plugin_pb2.PluginAttach, context: grpc.ServicerContext):
        return empty_pb2.Empty()

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext):
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetSchema(self, request: provider_pb2.GetSchemaRequest, context: grpc.ServicerContext):
        return provider_pb2.GetSchemaResponse(schema=json.dumps({
            "name": PACKAGE, "version": VERSION,
            "description": "Rehearsal test double for the aws provider (not pulumi-aws): moto on 127.0.0.1 only",
        }))

    def GetMapping(self, request: provider_pb2.GetMappingRequest, context: grpc.ServicerContext):
        return provider_pb2.GetMappingResponse(provider="", data=b"")  # no conversion mappings

    def GetMappings(self, request: provider_pb2.GetMappingsRequest, context: grpc.ServicerContext):
        return provider_pb2.GetMappingsResponse(providers=[])

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext):
        return empty_pb2.Empty()  # every call is short and synchronous: nothing to interrupt

    # --- provider config ----------------------------------------------------------------------

    def CheckConfig(self, request: provider_pb2.CheckRequest, context: grpc.ServicerContext):
        news = properties(request.news)
        try:
            provider_endpoint(news)
            failures = []
        except ValueError as error:
            failures = [provider_pb2.CheckFailure(property="endpoints", reason=str(error))]
        return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

    def DiffConfig(self, request: provider_pb2.DiffRequest, context: grpc.ServicerContext):
        olds = properties(request.old_inputs) or properties(request.olds)
        return _diff_response(changed_keys(olds, properties(request.news)), [], olds)

    @_fails_loudly
    def Configure(self, request: provider_pb2.ConfigureRequest, context: grpc.ServicerContext):
        region, endpoint = provider_endpoint(_config_of(request))
        self._mocks = MotoMocks(region, endpoint)
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=True)

    # --- resources ----------------------------------------------------------------------------

    def Check(self, request: provider_pb2.CheckRequest, context: grpc.ServicerContext):
        typ, _ = _type_and_name(request)
        handler = RESOURCES.get(typ)
        if handler is None:
            failures = [provider_pb2.CheckFailure(
                reason=f"{typ}: the rehearsal stand-in has no handler for this resource type")]
        else:
            failures = [provider_pb2.CheckFailure(
                property=key, reason=f"{typ}: the rehearsal stand-in does not send the input {key} to moto")
                for key in sorted(set(properties(request.news)) - handler.inputs)]
        # Nothing is defaulted here but the name pulumi-aws gives in Check, which previews then show.
        news = properties(request.news)
        checked = autonamed_at_check(typ, _type_and_name(request)[1], news, properties(request.olds))
        return provider_pb2.CheckResponse(inputs=request.news if checked is news else to_struct(checked),
                                          failures=failures)

    @_fails_loudly
    def Diff(self, request: provider_pb2.DiffRequest, context: grpc.ServicerContext):
        typ, _ = _type_and_name(request)
        handler = RESOURCES.get(typ)
        if handler is None:
            raise NotImplementedError(f"the moto emulator has no handler for the resource type {typ}")
        olds = properties(request.old_inputs) or properties(request.olds)
        news = properties(request.news)
        keys = changed_keys(olds, news, request.ignoreChanges)
        return _diff_response(keys, handler.replacing(keys, olds, news), olds)

    @_fails_loudly
    def Create(self, request: provider_pb2.CreateRequest, context: grpc.ServicerContext):
        typ, name = _type_and_name(request)
        inputs = properties(request.properties)
        if request.preview:
            # What AWS will compute is unknown until it runs: the SDK sees absent outputs as unknown.
            return provider_pb2.CreateResponse(id="", properties=to_struct(inputs))
        resource_id, outputs = self.mocks.new_resource(MockResourceArgs(typ, name, inputs, custom=True))
        return provider_pb2.CreateResponse(id=resource_id, properties=to_struct(outputs))

    @_fails_loudly
    def Read(self, request: provider_pb2.ReadRequest, context: grpc.ServicerContext):
        typ, name = _type_and_name(request)
        state, inputs = properties(request.properties), properties(request.inputs)
        found = self.mocks.read(typ, name, request.id, state)
        if found is None:
            return provider_pb2.ReadResponse(id="")  # gone from moto: the engine drops it from the state
        # The inputs take what was read back, so that a refresh shows what changed outside Pulumi.
        refreshed_inputs = {key: found.get(key, value) for key, value in inputs.items()}
        return provider_pb2.ReadResponse(id=request.id, properties=to_struct(found), inputs=to_struct(refreshed_inputs))

    @_fails_loudly
    def Update(self, request: provider_pb2.UpdateRequest, context: grpc.ServicerContext):
        typ, name = _type_and_name(request)
        olds, news = properties(request.olds), properties(request.news)
        old_inputs = properties(request.old_inputs) or olds
        if not request.preview:
            self.mocks.update(typ, name, request.id, olds, news,
                              changed_keys(old_inputs, news, request.ignoreChanges))
        # The outputs AWS computed stay; the inputs are the new ones.
        outputs = {**{key: value for key, value in olds.items() if key not in old_inputs}, **news}
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    @_fails_loudly
    def Delete(self, request: provider_pb2.DeleteRequest, context: grpc.ServicerContext):
        typ, name = _type_and_name(request)
        self.mocks.delete(typ, name, request.id, properties(request.properties))
        return empty_pb2.Empty()

    @_fails_loudly
    def Invoke(self, request: provider_pb2.InvokeRequest, context: grpc.ServicerContext):
        if request.tok not in LOOKUPS:
            raise NotImplementedError(f"the moto emulator has no handler for the lookup {request.tok}")
        result = self.mocks.call(MockCallArgs(request.tok, properties(request.args), ""))
        return provider_pb2.InvokeResponse(**{"return": to_struct(result)})


def _diff_response(keys: list[str], replaces: list[str], olds: Properties) -> provider_pb2.DiffResponse:
    def kind(key: str) -> int:
        if key in replaces:
            return PropertyDiff.UPDATE_REPLACE
        return PropertyDiff.ADD if key not in olds else PropertyDiff.UPDATE
    return provider_pb2.DiffResponse(
        changes=provider_pb2.DiffResponse.DIFF_SOME if keys else provider_pb2.DiffResponse.DIFF_NONE,
        diffs=keys, replaces=replaces, hasDetailedDiff=True,
        detailedDiff={key: PropertyDiff(kind=kind(key), inputDiff=True) for key in keys})


def serve() -> grpc.Server:
    """Start the service on a free loopback port and tell the engine which (stdout's first line)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(RehearsalProvider(), server)
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    server.start()
    print(port, flush=True)
    return server


def _stop_when_orphaned(server: grpc.Server, parent: int) -> None:
    """Stop once the process that started the stand-in is gone, so no stand-in outlives its engine."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        server.stop(grace=0)
    threading.Thread(target=watch, daemon=True).start()


def main() -> int:
    engine = os.getppid()
    server = serve()
    # The engine interrupts its plugins when it is done (and kills them 5 s later).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop(grace=1))
    _stop_when_orphaned(server, engine)
    server.wait_for_termination()
    return 0
