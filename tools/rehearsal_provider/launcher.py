"""Write the `pulumi-resource-aws` executable that starts the rehearsal stand-in (`make rehearsal-provider`).

The engine runs a plugin by its file name (`pulumi-resource-<package>`) from $PATH or its plugin
cache, with the engine's address as the last argument, in the program's directory. The launcher
pins the venv's python and the project root, so it works from any directory and any $PATH.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Optional, Sequence

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_NAME = "pulumi-resource-aws"
LAUNCHER = """#!/bin/sh
# REHEARSAL TEST DOUBLE for the `aws` resource provider plugin; this is NOT pulumi-aws.
# It applies resources to a moto server on 127.0.0.1 only (tools/rehearsal_provider/).
# Written by `make rehearsal-provider`; delete it to stop the engine from finding it.
PYTHONPATH={root}${{PYTHONPATH:+:$PYTHONPATH}} exec {python} -m tools.rehearsal_provider "$@"
"""


def write_launcher(path: Path, python: str = sys.executable) -> Path:
    """An executable at `path` that runs the stand-in with `python` (a venv's, unresolved)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LAUNCHER.format(root=shlex.quote(str(PROJECT_ROOT)), python=shlex.quote(python)))
    path.chmod(0o755)
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help=f"where to write {PLUGIN_NAME}")
    args = parser.parse_args(argv)
    path = write_launcher(args.directory / PLUGIN_NAME)
    print(f"wrote {path}: the rehearsal stand-in for the aws provider plugin (not pulumi-aws)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
