"""Where flow-log records come from: a local file or folder, S3, or a CloudWatch log group.

`local_files` turns any source into files on this machine (S3 objects and log events are
downloaded first); `load` puts them into a DuckDB table named `flow_logs`; `iter_records`
yields the same records one by one through the project's parser, for readers that look for
particular records rather than totals. Plain text may be gzipped and may start with the header
line S3 writes (the field names, which then give the format); Parquet is read as S3 writes it,
with or without Hive partitions.
"""

from __future__ import annotations

import gzip
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Optional, Sequence

import duckdb
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from flowlogs.fields import FIELDS, KNOWN_FIELDS, format_string
from flowlogs.patterns import pattern_name
from flowlogs.queries import TABLE
from flowlogs.records import MISSING, FlowRecord, parse_record

S3_SCHEME = "s3://"
CWL_SCHEME = "cwl://"
PARQUET_SUFFIX = ".parquet"
# DuckDB's type for each Parquet type in AWS's field table; a field without one is read as text.
DUCKDB_TYPES = {"INT_32": "INTEGER", "INT_64": "BIGINT", "STRING": "VARCHAR"}
# A progress bar appears only once work has taken this long.
PROGRESS_DELAY_SECONDS = 2.0
FIELD_BY_COLUMN = {pattern_name(name): name for name in KNOWN_FIELDS}
# DuckDB's own cap; past it, tables and large aggregations spill to the scratch folder. The
# table of 10 million text records takes about 800 MB; at this cap part of it spills and the
# whole process stays under 1 GB.
MEMORY_LIMIT = "750MB"


class SourceError(Exception):
    """A source that is not readable flow-log records: the path and, where known, the first bad line."""


@dataclass(frozen=True)
class LocalFiles:
    """Files of one kind: `text` (plain or gzipped records) or `parquet`."""

    kind: str
    files: tuple[Path, ...]


def progress(**options: Any) -> tqdm:
    """A bar on stderr that shows itself only when the work takes longer than a couple of seconds."""
    return tqdm(file=sys.stderr, delay=PROGRESS_DELAY_SECONDS, dynamic_ncols=True, **options)


def duckdb_type(field: str) -> str:
    return DUCKDB_TYPES.get(FIELDS[field].parquet_type or "", "VARCHAR")


def files_of(path: Path) -> LocalFiles:
    """A file, or every non-hidden file under a folder; Parquet when the folder holds any."""
    if path.is_file():
        return LocalFiles("parquet" if path.name.endswith(PARQUET_SUFFIX) else "text", (path,))
    if not path.is_dir():
        raise SourceError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    parquet = tuple(p for p in files if p.name.endswith(PARQUET_SUFFIX))
    if parquet:
        return LocalFiles("parquet", parquet)
    if not files:
        raise SourceError(f"{path}: the folder holds no files")
    return LocalFiles("text", tuple(files))


def _open_text(path: Path):
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8") if gzipped else path.open("rt", encoding="utf-8")


def header_fields(path: Path) -> Optional[tuple[str, ...]]:
    """The fields named by S3's header line (`version account-id ...`), or None when the file has none."""
    try:
        with _open_text(path) as text:
            first = text.readline().split()
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise SourceError(f"{path}: not readable as text records ({error})") from None
    if first and all(token in FIELDS for token in first):
        return tuple(first)
    return None


def text_format(files: Sequence[Path], configured: Sequence[str]) -> tuple[tuple[str, ...], tuple[Path, ...]]:
    """The format of plain-text files and those that start with a header line.

    A header names the format S3 wrote; files without one are in `configured`. Files of one
    source must agree, since they are read as one table.
    """
    fields: Optional[tuple[str, ...]] = None
    with_header: list[Path] = []
    for path in files:
        own = header_fields(path)
        if own is not None:
            with_header.append(path)
        own_fields = own or tuple(configured)
        if fields is None:
            fields = own_fields
        elif own_fields != fields:
            raise SourceError(f"{path}: records in the format '{format_string(own_fields)}', but other files of "
                              f"this source are in '{format_string(fields)}'; analyse them separately")
    assert fields is not None
    return fields, tuple(with_header)


def _sql_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def run(con: duckdb.DuckDBPyConnection, sql: str, description: str) -> Any:
    """Execute `sql`, with a progress bar from DuckDB's own estimate when it runs for a while."""
    result: dict[str, Any] = {}

    def execute() -> None:
        try:
            result["relation"] = con.execute(sql)
        except duckdb.Error as error:
            result["error"] = error

    worker = threading.Thread(target=execute, daemon=True)
    worker.start()
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}"
    with progress(total=100, desc=description, unit="%", bar_format=bar_format) as bar:
        while worker.is_alive():
            worker.join(0.1)
            done = con.query_progress()
            if done > bar.n:
                bar.update(done - bar.n)
    if "error" in result:
        raise result["error"]
    return result["relation"]


def connect(scratch: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills into `scratch` rather than grow past MEMORY_LIMIT."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'; SET temp_directory = '{scratch}'; "
                "SET preserve_insertion_order = false")
    # DuckDB's estimate feeds our bar on stderr; its own bar would print into the output.
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    return con


# What DuckDB's CSV reader says about a line it cannot read (with ignore_errors off, as here).
CSV_ERROR = re.compile(r"CSV Error on Line: (?P<line>\d+)\s*\nOriginal Line: (?P<text>.*?)\n(?P<message>.*?)\n.*"
                       r"^\s*file = (?P<path>.*?)$", re.DOTALL | re.MULTILINE)


def _text_reader(files: Sequence[Path], fields: Sequence[str], header: bool) -> str:
    columns = "{" + ", ".join(f"'{pattern_name(f)}': '{duckdb_type(f)}'" for f in fields) + "}"
    # Typed columns and no sniffing: DuckDB converts as it tokenizes, one file per thread.
    return (f"read_csv({_sql_list(files)}, delim = ' ', header = {str(header).lower()}, columns = {columns}, "
            f"nullstr = '{MISSING}', auto_detect = false, quote = '', escape = '', compression = 'auto')")


def _load_text(con: duckdb.DuckDBPyConnection, files: Sequence[Path], configured: Sequence[str],
               keep: Optional[Collection[str]]) -> tuple[str, ...]:
    fields, with_header = text_format(files, configured)
    kept = [f'"{pattern_name(f)}"' for f in fields if keep is None or f in keep]
    unkept = [f'"{pattern_name(f)}"' for f in fields if keep is not None and f not in keep]
    # DuckDB converts only the columns a query names. A filter on a hash of the others makes it
    # check every value of every record (and refuse a bad one) without storing anything of
    # them: a hash is never NULL, so the filter keeps every record.
    checked = f" WHERE hash({', '.join(unkept)}) IS NOT NULL" if unkept else ""
    without_header = [path for path in files if path not in with_header]
    selects = [f"SELECT {', '.join(kept)} FROM {_text_reader(group, fields, header)}{checked}"
               for group, header in ((with_header, True), (without_header, False)) if group]
    try:
        run(con, f"CREATE TABLE {TABLE} AS " + " UNION ALL ".join(selects), "reading records")
    except duckdb.Error as error:
        bad = CSV_ERROR.search(str(error))
        if bad:
            raise SourceError(f"{bad['path']}: line {bad['line']} is not a record in the format "
                              f"'{format_string(fields)}' ({bad['message'].strip()}): {bad['text'][:200]!r}") from None
        raise SourceError(f"{files[0] if len(files) == 1 else files[0].parent}: not readable as records "
                          f"in the format '{format_string(fields)}' ({error})") from None
    return fields


def _load_parquet(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> tuple[str, ...]:
    try:
        con.execute(f"CREATE VIEW {TABLE} AS SELECT * FROM read_parquet({_sql_list(files)}, "
                    "union_by_name = true, hive_partitioning = false)")
        names = [row[0] for row in con.execute(f"DESCRIBE {TABLE}").fetchall()]
    except duckdb.Error as error:
        raise SourceError(f"{files[0]}: not readable as Parquet records ({error})") from None
    unknown = [name for name in names if name not in FIELD_BY_COLUMN]
    if unknown:
        raise SourceError(f"{files[0]}: column '{unknown[0]}' is not a flow-log field")
    return tuple(FIELD_BY_COLUMN[name] for name in names)


def load(con: duckdb.DuckDBPyConnection, local: LocalFiles, configured: Sequence[str],
         keep: Optional[Collection[str]] = None) -> tuple[str, ...]:
    """Make `local` the table `flow_logs`; the fields its records have, in order.

    Text is read once into a table holding only the fields in `keep` (all when None), the
    queries then run on that table; Parquet is queried where it lies.
    """
    if local.kind == "parquet":
        return _load_parquet(con, local.files)
    return _load_text(con, local.files, configured, keep)


def list_objects(client: Any, bucket: str, prefix: str = "") -> list[dict[str, Any]]:
    """Every object of `bucket` under `prefix`, as ListObjectsV2 describes it."""
    return [item for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])]


def download_objects(client: Any, bucket: str, objects: Sequence[dict[str, Any]], into: Path,
                     callback: Optional[Callable[[int], Any]] = None) -> None:
    """The listed objects of `bucket`, each written under `into` at its key; `callback` gets the bytes."""
    for item in objects:
        target = into / item["Key"]
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, item["Key"], str(target), Callback=callback)


def _download_s3(source: str, client: Any, into: Path) -> Path:
    bucket, _, prefix = source[len(S3_SCHEME):].partition("/")
    objects = list_objects(client, bucket, prefix)
    if not objects:
        raise SourceError(f"{source}: no objects under this prefix")
    with progress(total=sum(item["Size"] for item in objects), desc="downloading", unit="B", unit_scale=True) as bar:
        download_objects(client, bucket, objects, into, callback=bar.update)
    return into


def _export_log_group(source: str, client: Any, into: Path) -> Path:
    group = source[len(CWL_SCHEME):]
    target = into / "events.log"
    count = 0
    with target.open("w", encoding="utf-8") as out, progress(desc=f"exporting {group}", unit=" events") as bar:
        for page in client.get_paginator("filter_log_events").paginate(logGroupName=group):
            events = page.get("events", [])
            out.writelines(event["message"].rstrip("\n") + "\n" for event in events)
            count += len(events)
            bar.update(len(events))
    if not count:
        raise SourceError(f"{source}: the log group holds no events")
    return target


def local_files(source: str, workdir: Path, client_factory: Any = None) -> LocalFiles:
    """The files of `source` on this machine; `client_factory(service)` makes boto3 clients for s3/cwl."""
    try:
        if source.startswith((S3_SCHEME, CWL_SCHEME)):
            workdir.mkdir(parents=True, exist_ok=True)
        if source.startswith(S3_SCHEME):
            return files_of(_download_s3(source, client_factory("s3"), workdir))
        if source.startswith(CWL_SCHEME):
            return files_of(_export_log_group(source, client_factory("logs"), workdir))
    except (BotoCoreError, ClientError) as error:  # no such bucket or group, no endpoint, no credentials
        raise SourceError(f"{source}: {error}") from None
    return files_of(Path(source))


def iter_records(local: LocalFiles, configured: Sequence[str]) -> Iterator[FlowRecord]:
    """Each record of `local` through `parse_record`, in file order."""
    if local.kind == "parquet":
        for path in local.files:
            table = pq.ParquetFile(path)
            fields = tuple(FIELD_BY_COLUMN[name] for name in table.schema_arrow.names)
            for batch in table.iter_batches():
                for row in batch.to_pylist():
                    line = " ".join(MISSING if value is None else str(value) for value in row.values())
                    yield parse_record(line, fields)
        return
    fields, with_header = text_format(local.files, configured)
    for path in local.files:
        with _open_text(path) as text:
            if path in with_header:
                next(text)
            for line in text:
                if line.strip():
                    yield parse_record(line, fields)
