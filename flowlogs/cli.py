"""`vpc-flow-logs`: the installed command; each subcommand adds its own parser."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from flowlogs import analyze


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="vpc-flow-logs", description="Read AWS VPC Flow Logs records.")
    subcommands = command.add_subparsers(dest="command", required=True, metavar="COMMAND")
    analyze.add_parser(subcommands)
    return command


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
