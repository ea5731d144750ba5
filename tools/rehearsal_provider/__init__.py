"""A rehearsal test double for the `aws` resource provider plugin: NOT pulumi-aws.

The real plugin cannot be built here, so rehearsals of the real Pulumi engine (`pulumi preview`,
`up`, `destroy`) run against this stand-in instead. It speaks Pulumi's ResourceProvider gRPC
protocol and applies every resource and lookup to a moto server on 127.0.0.1, and nowhere else,
through the handlers of tools/emulator.py (the one mapping from pulumi-aws types to AWS calls).
It must never be mistaken for the real provider: what it proves is the engine's behaviour and
moto's, not pulumi-aws's.

`server` holds the gRPC service, `launcher` writes the `pulumi-resource-aws` executable the
engine starts (`make rehearsal-provider`).
"""
