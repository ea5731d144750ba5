"""`vpc-flow-logs`: the installed command; each subcommand adds its own parser."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from flowlogs import analyze
from flowlogs.report import ReportError, write_report


def add_report_parser(subcommands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """`vpc-flow-logs report`: every question `analyze` asks, drawn as one self-contained HTML page."""
    parser = subcommands.add_parser("report", help="every question over flow-log records, as one HTML page",
                                    description="Run every named question over SOURCE (as `analyze` does) and "
                                                "write one self-contained HTML report: charts and tables, "
                                                "no network needed to open it.")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="the HTML file to write")
    analyze.add_analysis_options(parser)
    parser.set_defaults(run=run_report)
    return parser


def run_report(args: argparse.Namespace) -> int:
    try:
        written = write_report(analyze.analysis_of(args).document(), args.out)
    except analyze.ANALYSIS_ERRORS + (ReportError,) as error:
        print(f"error: {error}", file=sys.stderr)
        return analyze.EXIT_BAD_INPUT
    except OSError as error:
        print(f"error: {args.out}: {error.strerror}", file=sys.stderr)
        return analyze.EXIT_BAD_INPUT
    print(f"wrote {written} ({written.stat().st_size // 1024:,} KiB)")
    return analyze.EXIT_OK


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="vpc-flow-logs", description="Read AWS VPC Flow Logs records.")
    subcommands = command.add_subparsers(dest="command", required=True, metavar="COMMAND")
    analyze.add_parser(subcommands)
    add_report_parser(subcommands)
    return command


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
