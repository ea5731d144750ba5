"""One component, its outputs, and a way to fail on purpose: what the language host must carry."""

import sys

import pulumi

config = pulumi.Config()
failure = config.get("fail")
if failure == "run-error":
    raise pulumi.RunError("component-check:fail = run-error, so the program stops here")
if failure == "exception":
    raise ValueError("component-check:fail = exception, so the program crashes here")


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, size: int, opts: pulumi.ResourceOptions | None = None) -> None:
        # Inputs, unlike the program's components, so that a policy pack sees the size.
        super().__init__("check:index:Box", name, {"size": size}, opts)
        self.size = size
        self.register_outputs({"size": size})


box = Box("box", config.require_int("size"))
pulumi.export("size", box.size)
pulumi.export("tokenLength", config.require_secret("token").apply(len))
pulumi.export("python", sys.executable)
