"""`vpc-flow-logs analyze`: the named questions, or your own SQL, over flow-log records, on DuckDB.

    vpc-flow-logs analyze SOURCE [--query NAME ... | --sql TEXT|@FILE] [--since T] [--until T]
        [--interface ENI] [--address IP|CIDR] [--action ACCEPT|REJECT] [--limit N] [--interval SECONDS]
        [--vpc-cidr CIDR] [--log-format FORMAT | --stack NAME] [--format text|json|ocsf]
        [--endpoint-url URL] [--region REGION]

SOURCE is a file or folder of plain-text records (gzipped or not, with or without S3's header
line), a folder of Parquet files as S3 delivers them, `s3://bucket/prefix`, or
`cwl://<log group>`. The questions are the Trino texts Athena runs (`flowlogs/queries.py`),
carried to DuckDB by sqlglot; `--sql` is one more Trino text over the table `flow_logs`, and the
filters narrow every one of them (`flowlogs/filters.py`). A source that is not readable
records, a bad `--sql` or a bad filter value exits 2 with the reason. `--format ocsf` prints the
records the filters keep as OCSF events (`flowlogs/ocsf.py`), one JSON line each, instead of answers.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import itertools
import json
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import boto3
import duckdb

from flowlogs.fields import DEFAULT_FIELDS, LogFormatError, format_string, parse_log_format
from flowlogs.filters import FilterError, Filters, missing_fields, narrowed, parse_filters, record_kept
from flowlogs.flow_source import SourceError, connect, files_of, iter_records, load, local_files, run
from flowlogs.ocsf import OcsfError, ocsf_lines
from flowlogs.queries import (DEFAULT_INTERVAL_SECONDS, QUERY_NAMES, TABLE, TOP_N, LeftOut, Query, QueryError,
                              build_queries, needed_fields, to_duckdb, user_query)
from flowlogs.readable import readable
from flowlogs.records import RecordFormatError

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class UsageError(Exception):
    """An option that cannot be used here: what was asked and what to do instead."""


def aligned_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[str]:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[readable(c, row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[c], (int, float, decimal.Decimal)) or row[c] is None for row in rows)
               for c in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    return [line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]


def json_value(value: Any) -> Any:
    """A value DuckDB returned, as JSON can hold it: whole decimals as integers, times as ISO-8601."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def _shown(filter_value: Any) -> str:
    """A filter as the text output's header shows it: a time in ISO-8601, a list comma-separated."""
    if isinstance(filter_value, dict):
        return filter_value["iso"]
    return ", ".join(filter_value) if isinstance(filter_value, list) else str(filter_value)


@dataclass(frozen=True)
class Analysis:
    source: str
    fields: tuple[str, ...]
    records: int
    queries: tuple[Query, ...]
    left_out: tuple[LeftOut, ...]
    results: dict[str, list[dict[str, Any]]]
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    filters: Filters = Filters()
    matching: Optional[int] = None
    limit: int = TOP_N
    interval: int = DEFAULT_INTERVAL_SECONDS

    def document(self) -> dict[str, Any]:
        """`{"source", "format", "records", "filters", "matching", "limit", "interval_seconds", "queries": {name:
        rows}, "left_out": {name: reason}}`."""
        return {"source": self.source, "format": format_string(self.fields), "records": self.records,
                "filters": self.filters.given(), "matching": self.records if self.matching is None else self.matching,
                "limit": self.limit, "interval_seconds": self.interval,
                "queries": {name: [{k: json_value(v) for k, v in row.items()} for row in rows]
                            for name, rows in self.results.items()},
                "left_out": {item.name: item.reason for item in self.left_out}}

    def text(self) -> str:
        lines = [f"Source:  {self.source}", f"Format:  {format_string(self.fields)}", f"Records: {self.records}"]
        given = self.filters.given()
        if given:
            lines += [f"Filters: {'; '.join(f'{name} {_shown(value)}' for name, value in given.items())}",
                      f"Matching: {self.matching}"]
        for query in self.queries:
            rows = self.results[query.name]
            lines += ["", f"{query.name}: {query.title}"]
            lines += aligned_table(self.columns[query.name], rows) if rows else ["(no rows)"]
        lines += [line for item in self.left_out for line in ("", f"{item.name}: left out, {item.reason}")]
        return "\n".join(lines)


def analyze(source: str, *, fields: Sequence[str] = DEFAULT_FIELDS, vpc_cidr: Optional[str] = None,
            names: Sequence[str] = QUERY_NAMES, endpoint_url: Optional[str] = None,
            region: Optional[str] = None, filters: Filters = Filters(), sql: Optional[str] = None,
            limit: int = TOP_N, interval: int = DEFAULT_INTERVAL_SECONDS, trino: Any = None) -> Analysis:
    """Every named query `source`'s format can answer (or only `sql`), narrowed by `filters`, run on DuckDB,
    or on `trino` (a flowlogs.trino.TrinoEngine) when given."""
    own = user_query(sql) if sql is not None else None  # a bad text fails before anything is read
    names = () if own else names
    if trino is not None:
        return _on_trino(trino, source, vpc_cidr, names, filters, own, limit, interval)

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint_url, region_name=region)

    keep = None if own else needed_fields(names) | {f for needed in filters.needs().values() for f in needed}
    with tempfile.TemporaryDirectory(prefix="flow-logs-") as workdir:
        con = connect(Path(workdir) / "spill")
        found = load(con, local_files(source, Path(workdir) / "source", client), fields, keep)
        missing_fields(filters, found)
        queries, left_out = build_queries(found, vpc_cidr, names, limit=limit, interval=interval)
        queries += (own,) if own else ()
        records = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        matching = con.execute(to_duckdb(narrowed(f"SELECT count(*) FROM {TABLE}", filters))).fetchone()[0]
        results, columns = {}, {}
        for query in queries:
            try:
                relation = run(con, to_duckdb(narrowed(query.trino, filters)), query.name)
            except duckdb.Error as error:
                if query is own:
                    raise QueryError(f"--sql failed on DuckDB: {error}") from None
                raise SourceError(f"{source}: not readable as records ({error})") from None  # Parquet read only now
            columns[query.name] = tuple(d[0] for d in relation.description)
            results[query.name] = [dict(zip(columns[query.name], row)) for row in relation.fetchall()]
        con.close()
    return Analysis(source, found, records, queries, left_out, results, columns, filters, matching, limit, interval)


def trino_folder(source: str) -> Path:
    """SOURCE as the local folder of Parquet records Trino reads, or a UsageError saying what it reads."""
    folder = Path(source)
    if not folder.is_dir() or files_of(folder).kind != "parquet":
        raise UsageError(f"{source}: --engine trino reads a local folder of Parquet records as S3 delivers them "
                         "(its AWSLogs/ folder); for text records, s3:// or cwl:// sources use --engine duckdb")
    return folder


def _on_trino(trino: Any, source: str, vpc_cidr: Optional[str], names: Sequence[str], filters: Filters,
              own: Optional[Query], limit: int, interval: int) -> Analysis:
    """The queries' Trino texts on a `flow_logs` table over a local folder of Parquet as S3 delivers it,
    narrowed with partition predicates so the time filters prune the hours or days read."""
    from flowlogs.filters import PartitionLayout
    from flowlogs.trino import TrinoError, local_layout

    folder = trino_folder(source)
    with tempfile.TemporaryDirectory(prefix="flow-logs-") as workdir:
        con = connect(Path(workdir) / "spill")
        found = load(con, files_of(folder), DEFAULT_FIELDS)  # the Parquet files' own columns
        con.close()
    missing_fields(filters, found)
    queries, left_out = build_queries(found, vpc_cidr, names, limit=limit, interval=interval)
    queries += (own,) if own else ()
    layout = local_layout(folder.resolve())
    partitions = PartitionLayout(layout.hive, layout.per_hour)
    # A schema of this run's own: a cluster named by URL may hold a flow_logs table already.
    engine = trino.in_schema(f"vpc_flow_logs_{uuid.uuid4().hex[:12]}")
    engine.create_flow_logs_table(folder.resolve(), found, layout)
    try:
        count = f"SELECT count(*) AS records FROM {TABLE}"
        records = engine.rows(count)[0]["records"]
        matching = engine.rows(narrowed(count, filters, partitions))[0]["records"]
        results, columns = {}, {}
        for query in queries:
            try:
                results[query.name] = engine.rows(narrowed(query.trino, filters, partitions))
            except TrinoError as error:
                if query is own:
                    raise QueryError(f"--sql failed on Trino: {error}") from None
                raise
            columns[query.name] = tuple(results[query.name][0]) if results[query.name] else ()
    finally:
        _drop_tables(engine)
    return Analysis(source, found, records, queries, left_out, results, columns, filters, matching, limit, interval)


def _drop_tables(engine: Any) -> None:
    """Remove this run's view, table and schema; the records stay where they are (external tables)."""
    from flowlogs.trino import PROJECTED_TABLE, TrinoError, sql_name

    for statement in (f"DROP VIEW IF EXISTS {TABLE}", f"DROP TABLE IF EXISTS {PROJECTED_TABLE}",
                      f"DROP TABLE IF EXISTS {TABLE}",
                      f"DROP SCHEMA IF EXISTS {sql_name(engine.catalog)}.{sql_name(engine.schema)}"):
        try:
            engine.rows(statement)
        except TrinoError:
            pass  # a view where a table was asked for, or the reverse: the other statement drops it


def sql_text(value: str) -> str:
    """`--sql`'s text: the value itself, or the contents of the file after `@`."""
    if not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--sql {value}: cannot read the file ({error})") from None


def stack_settings(name: str) -> Any:
    """The stack file's settings, through the project's own config code, where the checkout and its venv are."""
    try:
        import pulumi
        from config.settings import settings_from_stack_file, stack_file_of
    except ImportError:
        raise UsageError(f"--stack {name} reads config/Pulumi.{name}.yaml through the project's settings, which "
                         "need a checkout of the repository and its venv (run `make analyze STACK=...` there); "
                         "here give --log-format and --vpc-cidr instead") from None
    try:
        return settings_from_stack_file(stack_file_of(name))
    except pulumi.RunError as error:
        raise UsageError(str(error)) from None


def non_negative(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 0 or more")
    return int(text)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of seconds above 0")
    return int(text)


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """The source and the options that shape every question: shared by `analyze` and `report`."""
    parser.add_argument("source", help="file, folder, s3://bucket/prefix or cwl://log-group")
    narrow = parser.add_argument_group("filters (narrow every question, --sql included)")
    narrow.add_argument("--since", metavar="TIME", help="records whose window ends at or after TIME: ISO-8601 "
                        "(UTC unless an offset is given), epoch seconds, or a time ago such as 30m, 2h, 7d")
    narrow.add_argument("--until", metavar="TIME", help="records whose window starts before TIME (same forms)")
    narrow.add_argument("--interface", action="append", default=[], metavar="ENI",
                        help="records of this network interface (repeatable: any of them)")
    narrow.add_argument("--address", action="append", default=[], metavar="IP|CIDR",
                        help="records whose source or destination is this address or inside this IPv4 block "
                             "(repeatable: any of them)")
    narrow.add_argument("--action", type=str.upper, metavar="ACCEPT|REJECT", help="records with this action")
    parser.add_argument("--limit", type=non_negative, default=TOP_N, metavar="N",
                        help=f"rows of each top-N question (default {TOP_N}; 0 for all)")
    parser.add_argument("--interval", type=positive, default=DEFAULT_INTERVAL_SECONDS, metavar="SECONDS",
                        help=f"traffic-over-time's interval (default {DEFAULT_INTERVAL_SECONDS} s)")
    parser.add_argument("--vpc-cidr", metavar="CIDR", help="the VPC's IPv4 block, for ssh-from-outside and egress-to-internet")
    format_from = parser.add_mutually_exclusive_group()
    format_from.add_argument("--log-format", help="the records' logFormat ('${version} ${account-id} ...') when "
                             "the files have no header line (default: AWS's default format)")
    format_from.add_argument("--stack", help="take the log format and vpcCidr from config/Pulumi.<stack>.yaml "
                             "(only in a checkout of the repository, with its venv)")
    parser.add_argument("--endpoint-url", help="S3 / CloudWatch Logs endpoint (a local emulator, for example)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
                        help="AWS region of s3:// and cwl:// sources (default: AWS_REGION or AWS_DEFAULT_REGION)")
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument("--engine", choices=("duckdb", "trino"), default="duckdb",
                        help="duckdb (default), or trino: a local Trino node (`make trino` installs it) started "
                             "for this run on 127.0.0.1 and stopped after it, over a local folder of Parquet "
                             "records as S3 delivers them")
    engine.add_argument("--trino-url", metavar="URL", help="run on this Trino cluster (http(s)://[user@]host:port) "
                        "instead; its hive catalog must reach SOURCE's folder under the same path")


def add_parser(subcommands: Any) -> argparse.ArgumentParser:
    """The `analyze` subcommand of `vpc-flow-logs`."""
    parser = subcommands.add_parser("analyze", help="ask flow-log records the named questions, or your own SQL",
                                    description=__doc__.split("\n\n")[0],
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    asked = parser.add_mutually_exclusive_group()
    asked.add_argument("--query", action="append", choices=QUERY_NAMES, metavar="NAME",
                       help=f"run only this question (repeatable); the questions: {', '.join(QUERY_NAMES)}")
    asked.add_argument("--sql", metavar="TEXT|@FILE",
                       help="one query in Trino's dialect over the table flow_logs (columns: the fields, - as _), "
                            "instead of the named questions; @FILE reads it from a file")
    add_analysis_options(parser)
    parser.add_argument("--format", choices=("text", "json", "ocsf"), default="text",
                        help="aligned tables with readable times, protocols and sizes, one JSON document with "
                             "the raw numbers, or each record (after the filters) as an OCSF Network Activity "
                             "event, one JSON line each; ocsf asks no question, so it takes no --query or --sql "
                             "(default text)")
    parser.set_defaults(run=run_analyze)
    return parser


def settings_of(args: argparse.Namespace) -> tuple[tuple[str, ...], Optional[str]]:
    """The records' fields and the VPC's block: from --log-format and --vpc-cidr, or the stack file."""
    fields, vpc_cidr = parse_log_format(args.log_format), args.vpc_cidr
    if args.stack:
        settings = stack_settings(args.stack)
        fields, vpc_cidr = settings.log_fields, vpc_cidr or settings.vpc_cidr
    return tuple(fields), vpc_cidr


def filters_of(args: argparse.Namespace) -> Filters:
    return parse_filters(since=args.since, until=args.until, interfaces=args.interface,
                         addresses=args.address, action=args.action)


def analysis_of(args: argparse.Namespace, names: Sequence[str] = QUERY_NAMES, sql: Optional[str] = None) -> Analysis:
    """The analysis `add_analysis_options`' arguments ask for; the errors of `ANALYSIS_ERRORS`."""
    fields, vpc_cidr = settings_of(args)
    filters = filters_of(args)

    def on(trino: Any) -> Analysis:
        return analyze(args.source, fields=fields, vpc_cidr=vpc_cidr, names=names, endpoint_url=args.endpoint_url,
                       region=args.region, filters=filters, sql=sql, limit=args.limit, interval=args.interval,
                       trino=trino)

    if args.engine == "duckdb" and not args.trino_url:
        return on(None)
    from flowlogs.trino import TrinoEngine, TrinoError, local_trino

    trino_folder(args.source)  # before a node starts
    try:
        if args.trino_url:
            return on(TrinoEngine(args.trino_url))
        with local_trino() as engine:
            return on(engine)
    except TrinoError as error:
        raise UsageError(str(error)) from None


# What a bad source, option or query raises: each exits 2 with its message.
ANALYSIS_ERRORS = (SourceError, QueryError, FilterError, LogFormatError, UsageError)


def ocsf_records(args: argparse.Namespace) -> None:
    """Print each record the filters keep as one OCSF JSON line (`--format ocsf`)."""
    if args.query or args.sql is not None:
        raise UsageError(f"--format ocsf writes the records themselves, one event each, and asks no question: "
                         f"drop {'--query' if args.query else '--sql'}, or choose --format text or json")
    if args.engine != "duckdb" or args.trino_url:
        raise UsageError("--format ocsf reads the records themselves, on no engine: drop --engine and --trino-url")
    fields = settings_of(args)[0]
    filters = filters_of(args)

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=args.endpoint_url, region_name=args.region)

    with tempfile.TemporaryDirectory(prefix="flow-logs-ocsf-") as workdir:
        records = iter_records(local_files(args.source, Path(workdir), client), fields)
        first = next(records, None)
        if first is None:
            return
        missing_fields(filters, tuple(first.values))
        for line in ocsf_lines(record for record in itertools.chain((first,), records)
                               if record_kept(filters, record)):
            print(line)


def run_analyze(args: argparse.Namespace) -> int:
    if args.format == "ocsf":
        try:
            ocsf_records(args)
        except ANALYSIS_ERRORS + (RecordFormatError, OcsfError) as error:
            print(f"error: {args.source}: {error}" if isinstance(error, (RecordFormatError, OcsfError))
                  else f"error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except BrokenPipeError:  # `| head`: the reader has all it wants
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    try:
        analysis = analysis_of(args, args.query or QUERY_NAMES, sql_text(args.sql) if args.sql is not None else None)
    except ANALYSIS_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(analysis.document(), indent=2) if args.format == "json" else analysis.text())
    return EXIT_OK
