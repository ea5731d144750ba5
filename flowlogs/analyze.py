"""`make analyze`: the four flow-log queries, run by DuckDB on this machine.

    python -m tools.analyze SOURCE [--query NAME] [--vpc-cidr CIDR] [--stack NAME] [--format text|json]
                                   [--endpoint-url URL] [--region REGION]

SOURCE is a file or folder of plain-text records (gzipped or not, with or without S3's header
line), a folder of Parquet files as S3 delivers them, `s3://bucket/prefix`, or
`cwl://<log group>`. The queries are the Trino texts Athena runs (`flowlogs/queries.py`),
carried to DuckDB. `--stack` takes the log format and the VPC block from a stack file.
A source that is not readable records exits 2 with the path and the first bad line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import boto3
import duckdb
import pulumi

from config.settings import settings_from_stack_file, stack_file_of
from flowlogs.fields import DEFAULT_FIELDS, format_string
from flowlogs.queries import QUERY_NAMES, TABLE, LeftOut, Query, QueryError, build_queries, needed_fields
from tools.flow_source import SourceError, connect, load, local_files, run

EXIT_OK, EXIT_UNREADABLE = 0, 2


def aligned_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[str]:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[("-" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[c], int) or row[c] is None for row in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    return [line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]


@dataclass(frozen=True)
class Analysis:
    source: str
    fields: tuple[str, ...]
    records: int
    queries: tuple[Query, ...]
    left_out: tuple[LeftOut, ...]
    results: dict[str, list[dict[str, Any]]]

    def document(self) -> dict[str, Any]:
        """`{"source", "format", "records", "queries": {name: rows}}`, and the queries left out with why."""
        return {"source": self.source, "format": format_string(self.fields), "records": self.records,
                "queries": self.results, "left_out": {item.name: item.reason for item in self.left_out}}

    def text(self) -> str:
        lines = [f"Source:  {self.source}", f"Format:  {format_string(self.fields)}", f"Records: {self.records}"]
        for query in self.queries:
            rows = self.results[query.name]
            lines += ["", f"{query.name}: {query.title}"]
            lines += aligned_table(query.columns, rows) if rows else ["(no rows)"]
        lines += [line for item in self.left_out for line in ("", f"{item.name}: left out, {item.reason}")]
        return "\n".join(lines)


def analyze(source: str, *, fields: Sequence[str] = DEFAULT_FIELDS, vpc_cidr: Optional[str] = None,
            names: Sequence[str] = QUERY_NAMES, endpoint_url: Optional[str] = None,
            region: Optional[str] = None) -> Analysis:
    """Every query `source`'s format can answer, run on DuckDB."""
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint_url, region_name=region)

    with tempfile.TemporaryDirectory(prefix="flow-logs-") as workdir:
        con = connect(Path(workdir) / "spill")
        found = load(con, local_files(source, Path(workdir) / "source", client), fields, needed_fields(names))
        queries, left_out = build_queries(found, vpc_cidr, names)
        records = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        results = {}
        for query in queries:
            try:
                relation = run(con, query.duckdb, query.name)
            except duckdb.Error as error:  # a Parquet file that is read only now
                raise SourceError(f"{source}: not readable as records ({error})") from None
            columns = [d[0] for d in relation.description]
            results[query.name] = [dict(zip(columns, row)) for row in relation.fetchall()]
        con.close()
    return Analysis(source, found, records, queries, left_out, results)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.analyze", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="file, folder, s3://bucket/prefix or cwl://log-group")
    parser.add_argument("--query", choices=QUERY_NAMES, help="run only this query")
    parser.add_argument("--vpc-cidr", help="the VPC's IPv4 block, for ssh-from-outside")
    parser.add_argument("--stack", help="take the log format and vpcCidr from config/Pulumi.<stack>.yaml")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--endpoint-url", help="S3 / CloudWatch Logs endpoint (a local emulator, for example)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    args = parser.parse_args(argv)

    fields, vpc_cidr = DEFAULT_FIELDS, args.vpc_cidr
    try:
        if args.stack:
            settings = settings_from_stack_file(stack_file_of(args.stack))
            fields, vpc_cidr = settings.log_fields, vpc_cidr or settings.vpc_cidr
        analysis = analyze(args.source, fields=fields, vpc_cidr=vpc_cidr,
                           names=(args.query,) if args.query else QUERY_NAMES,
                           endpoint_url=args.endpoint_url, region=args.region)
    except (SourceError, QueryError, pulumi.RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(json.dumps(analysis.document(), indent=2) if args.format == "json" else analysis.text())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
