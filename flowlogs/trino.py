"""Trino, the engine that scales: the queries' Trino texts on a cluster named by URL, or on a node of our own.

`TrinoEngine(url)` runs SQL on any Trino cluster. `local_trino()` starts a single node of the
server `make trino` installed, bound to 127.0.0.1, for the length of one `with` block: it is
stopped by its process id when the block ends, on Ctrl-C, SIGTERM or SIGHUP, or a failed query,
and it dies with this process even when this process is killed outright (the node runs under
tools/die_with_parent.py). `create_flow_logs_table` creates the `flow_logs` table over records
laid out as S3 delivers Parquet flow logs, from the same declaration as the Glue table
(flowlogs/table.py): same columns, same Parquet types, same partition projection.

Athena's `CREATE EXTERNAL TABLE ... TBLPROPERTIES` does not run on Trino, so the Glue table's
parameters are turned into Trino's table and column properties here, and Trino stores them in
its metastore under the very names Glue holds (`projection.year.range`, ...).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import urlsplit

from flowlogs.table import glue_columns, partition_keys, projection

TRINO_VERSION = "476"
# Maven Central's io.trino:trino-server:476:tar.gz (its published SHA-1 is
# c9b38be4017ebd2f7095455aaac772fb40247ebe); `make trino` refuses any other file.
TRINO_SHA256 = "cfd5accde17e8ebd251eeeb78aed1f490e77bb3a164d95a0f454bf8a7c1cbd3f"
TRINO_TARBALL_URL = ("https://repo1.maven.org/maven2/io/trino/trino-server/"
                     f"{TRINO_VERSION}/trino-server-{TRINO_VERSION}.tar.gz")
# Trino 476's own start-up check refuses anything older (TrinoSystemRequirements).
MINIMUM_JAVA = (24, 0, 1)
REPOSITORY = Path(__file__).resolve().parents[1]
INSTALL_DIR = REPOSITORY / ".tools" / "trino"
SERVER_HOME = INSTALL_DIR / f"trino-server-{TRINO_VERSION}"
INSTALLED_STAMP = SERVER_HOME / ".installed-sha256"
# The only connector the local node loads: Parquet on the local file system, partition projection.
PLUGINS = ("hive",)
DIE_WITH_PARENT = REPOSITORY / "tools" / "die_with_parent.py"
# Where to look for a JDK when neither TRINO_JAVA_HOME nor JAVA_HOME names a new enough one.
JDK_FOLDERS = (Path("/usr/lib/jvm"), Path("/opt"), Path("/usr/local"), Path.home() / ".jdks")

LOOPBACK = "127.0.0.1"
CATALOG = "hive"
SCHEMA = "vpc_flow_logs"
USER = "vpc-flow-logs"
TABLE = "flow_logs"
# With a date filter the table is created under this name and `flow_logs` is a view over it.
PROJECTED_TABLE = "flow_logs_projected"
HEAP = "2G"
EXPECTED_START_SECONDS = 30
START_TIMEOUT_SECONDS = 600
STOP_GRACE_SECONDS = 10
LOG_TAIL_LINES = 20
TRINO_TYPES = {"int": "integer", "bigint": "bigint", "string": "varchar"}
# Glue declares every partition key a string.
PARTITION_TYPE = "varchar"
# How each `projection.<column>.<suffix>` table parameter is written as a Trino column property.
COLUMN_PROPERTIES = {"type": ("partition_projection_type", "text"),
                     "values": ("partition_projection_values", "list"),
                     "range": ("partition_projection_range", "list"),
                     "digits": ("partition_projection_digits", "number"),
                     "interval": ("partition_projection_interval", "number"),
                     "interval.unit": ("partition_projection_interval_unit", "text"),
                     "format": ("partition_projection_format", "text")}
JVM_OPTIONS = ("-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", "-XX:+EnableDynamicAgentLoading",
               "-Djdk.attach.allowAttachSelf=true", "-Dfile.encoding=UTF-8", "--enable-native-access=ALL-UNNAMED")


class TrinoError(Exception):
    """A Trino that cannot be started or reached, or a statement it refused; the message says which."""


# ---------------------------------------------------------------------------------------------
# The table


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _property_value(value: str, kind: str) -> str:
    if kind == "list":
        return "ARRAY[" + ", ".join(sql_text(item) for item in value.split(",")) + "]"
    if kind == "number":
        return str(int(value))
    return sql_text(value)


def trino_properties(parameters: dict[str, str],
                     keys: Sequence[str]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Glue table parameters as Trino's (table properties, column properties by partition key), SQL-valued.

    Trino writes them back into its metastore under the Glue names; a parameter it has no
    property for is an error rather than dropped.
    """
    table: dict[str, str] = {}
    columns: dict[str, dict[str, str]] = {key: {} for key in keys}
    extra: dict[str, str] = {}
    for name, value in parameters.items():
        if name == "EXTERNAL":
            continue  # `external_location` makes the table external
        if name == "classification":
            table["format"] = sql_text(value.upper())
            extra[name] = value
        elif name == "projection.enabled":
            table["partition_projection_enabled"] = "true" if value == "true" else "false"
        elif name == "storage.location.template":
            table["partition_projection_location_template"] = sql_text(value)
        elif name.startswith("projection.") and name.count(".") >= 2:
            column, suffix = name[len("projection."):].split(".", 1)
            if column not in columns or suffix not in COLUMN_PROPERTIES:
                raise TrinoError(f"table parameter '{name}' has no Trino partition projection property")
            prop, kind = COLUMN_PROPERTIES[suffix]
            columns[column][prop] = _property_value(value, kind)
        else:
            raise TrinoError(f"table parameter '{name}' has no Trino table property")
    if extra:
        table["extra_properties"] = (f"MAP(ARRAY[{', '.join(sql_text(k) for k in extra)}], "
                                     f"ARRAY[{', '.join(sql_text(v) for v in extra.values())}])")
    return table, columns


@dataclass(frozen=True)
class Location:
    """Where the records start (`AWSLogs/` included), split as flowlogs.table takes it."""

    scheme: str
    bucket: str
    key_prefix: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key_prefix}"


def location_of(location: str | Path) -> Location:
    """`s3://bucket/prefix/AWSLogs/` as it is; a local folder as Trino's `local:///...` (the node's root is /)."""
    text = str(location)
    parts = urlsplit(text)
    if parts.scheme and parts.scheme != "file" and "://" in text:
        return Location(parts.scheme, parts.netloc, parts.path.lstrip("/").rstrip("/") + "/")
    folder = Path(parts.path if parts.scheme == "file" else text).resolve()
    if not folder.is_dir():
        raise TrinoError(f"{folder}: no such folder")
    return Location("local", "", str(folder).lstrip("/") + "/")


def create_table_sql(name: str, fields: Sequence[str], location: Location, *, hive: bool, per_hour: bool,
                     account_ids: Sequence[str], regions: Sequence[str]) -> str:
    """Trino's CREATE TABLE for the table components/athena.py declares in Glue."""
    keys = partition_keys(hive, per_hour)
    parameters = projection(",".join(account_ids), ",".join(regions), location.bucket, location.key_prefix,
                            hive, per_hour, scheme=location.scheme)
    table, column_properties = trino_properties(parameters, keys)
    columns = [f"{sql_name(column)} {TRINO_TYPES[glue_type]}" for column, glue_type in glue_columns(tuple(fields))]
    for key in keys:
        props = ", ".join(f"{prop} = {value}" for prop, value in column_properties[key].items())
        columns.append(f"{sql_name(key)} {PARTITION_TYPE}" + (f" WITH ({props})" if props else ""))
    properties = {"external_location": sql_text(location.url),
                  "partitioned_by": "ARRAY[" + ", ".join(sql_text(key) for key in keys) + "]", **table}
    return (f"CREATE TABLE {sql_name(name)} (\n  " + ",\n  ".join(columns) + "\n) WITH (\n  "
            + ",\n  ".join(f"{prop} = {value}" for prop, value in properties.items()) + "\n)")


def date_view_sql(view: str, table: str, dates: Sequence[date]) -> str:
    """A view of `table` limited to the days given: Trino then projects only their partitions.

    Without a filter on the partitions Trino projects every hour from the first year to 2099 and
    looks for each one's folder before it reads a record.
    """
    def values(pattern: str) -> str:
        return ", ".join(sql_text(v) for v in sorted({day.strftime(pattern) for day in dates}))

    return (f"CREATE VIEW {sql_name(view)} AS SELECT * FROM {sql_name(table)} WHERE year IN ({values('%Y')}) "
            f"AND month IN ({values('%m')}) AND day IN ({values('%d')})")


@dataclass(frozen=True)
class DeliveryLayout:
    """How S3 laid out a destination's objects, and which accounts, regions and days it holds."""

    hive: bool
    per_hour: bool
    account_ids: tuple[str, ...]
    regions: tuple[str, ...]
    # None: unknown (a bucket not listed), so every projected day is read.
    dates: Optional[tuple[date, ...]] = None


_HIVE_PREFIX = re.compile(r"aws-account-id=(\d{12})/aws-service=vpcflowlogs/aws-region=([a-z0-9-]+)/"
                          r"year=(\d{4})/month=(\d{2})/day=(\d{2})(/hour=\d{2})?")
_PLAIN_PREFIX = re.compile(r"(\d{12})/vpcflowlogs/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})(/\d{2})?")


def local_layout(folder: Path) -> DeliveryLayout:
    """The layout of a local copy of a destination, read off its folders (`folder` is the `AWSLogs/` one)."""
    found: dict[tuple[bool, bool], tuple[set[str], set[str], set[date]]] = {}
    for path in sorted(folder.rglob("*.parquet")):
        relative = path.parent.relative_to(folder).as_posix()
        for hive, pattern in ((True, _HIVE_PREFIX), (False, _PLAIN_PREFIX)):
            match = pattern.fullmatch(relative)
            if match:
                accounts, regions, days = found.setdefault((hive, match.group(6) is not None), (set(), set(), set()))
                accounts.add(match.group(1))
                regions.add(match.group(2))
                days.add(date(int(match.group(3)), int(match.group(4)), int(match.group(5))))
                break
        else:
            raise TrinoError(f"{path}: not in a folder S3 delivers flow logs to "
                             "(<account>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>[/<hh>], or the Hive-compatible form)")
    if not found:
        raise TrinoError(f"{folder}: holds no Parquet files")
    if len(found) > 1:
        raise TrinoError(f"{folder}: mixes S3 layouts (Hive-compatible or not, per hour or per day); "
                         "give each its own table")
    ((hive, per_hour), (accounts, regions, days)), = found.items()
    return DeliveryLayout(hive, per_hour, tuple(sorted(accounts)), tuple(sorted(regions)), tuple(sorted(days)))


# ---------------------------------------------------------------------------------------------
# A cluster named by URL


class TrinoEngine:
    """SQL on a Trino cluster: `rows(sql)` returns each row as {column: value}."""

    def __init__(self, url: str, *, catalog: str = CATALOG, schema: str = SCHEMA, user: Optional[str] = None):
        import trino  # imported here: `make test` and the Pulumi program never need the client

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TrinoError(f"Trino URL '{parts.scheme}://{parts.hostname or ''}...' is not http(s)://host[:port]")
        self.url = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self.catalog, self.schema = catalog, schema
        auth = trino.auth.BasicAuthentication(parts.username, parts.password) if parts.password else None
        self._options = {"host": parts.hostname, "port": parts.port or (443 if parts.scheme == "https" else 80),
                         "http_scheme": parts.scheme, "user": user or parts.username or USER, "auth": auth,
                         "catalog": catalog}
        self._connection = trino.dbapi.connect(**self._options, schema=schema)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Run one statement; its rows (a statement without a result gives Trino's one-row answer)."""
        import trino

        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            values = cursor.fetchall()
        except trino.exceptions.TrinoUserError as error:
            raise TrinoError(f"Trino at {self.url} refused the statement: {error.message}") from None
        except (trino.exceptions.TrinoQueryError, trino.exceptions.TrinoConnectionError, trino.exceptions.HttpError,
                OSError) as error:
            raise TrinoError(f"Trino at {self.url}: {error}") from None
        except (KeyboardInterrupt, SystemExit):
            with suppress(Exception):
                cursor.cancel()  # a cluster named by URL would otherwise run the query on
            raise
        finally:
            cursor.close()
        columns = [column[0] for column in cursor.description or ()]
        return [dict(zip(columns, row)) for row in values]

    def in_schema(self, schema: str) -> "TrinoEngine":
        """The same cluster, with unqualified names (`flow_logs`) resolved in another schema."""
        import trino

        clone = copy.copy(self)
        clone.schema = schema
        clone._connection = trino.dbapi.connect(**self._options, schema=schema)
        return clone

    def create_flow_logs_table(self, location: str | Path, fields: Sequence[str], layout: DeliveryLayout) -> str:
        """Create `flow_logs` over `location` (`AWSLogs/` included) in this engine's schema; the DDL run.

        With `layout.dates`, the projected table is `flow_logs_projected` and `flow_logs` is a view of
        those days, so a query without a partition filter does not look for 76 years of folders.
        """
        place = location_of(location)
        name = PROJECTED_TABLE if layout.dates else TABLE
        ddl = create_table_sql(name, fields, place, hive=layout.hive, per_hour=layout.per_hour,
                               account_ids=layout.account_ids, regions=layout.regions)
        self.rows(f"CREATE SCHEMA IF NOT EXISTS {sql_name(self.catalog)}.{sql_name(self.schema)}")
        self.rows(ddl)
        if layout.dates:
            self.rows(date_view_sql(TABLE, PROJECTED_TABLE, layout.dates))
        return ddl


# ---------------------------------------------------------------------------------------------
# A node of our own


def java_version(home: Path) -> Optional[tuple[int, ...]]:
    """The version of the JDK or JRE at `home`, from its `release` file or `java -version`; None if none."""
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    release = home / "release"
    text = release.read_text(errors="replace") if release.is_file() else ""
    match = re.search(r'^JAVA_VERSION="([0-9.]+)', text, re.MULTILINE)
    if not match:
        try:
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
        except (OSError, subprocess.SubprocessError):
            return None
        match = re.search(r'version "([0-9.]+)', out)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _dotted(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


def find_java() -> Path:
    """A `java` of MINIMUM_JAVA or later: TRINO_JAVA_HOME, else JAVA_HOME, else the newest JDK installed."""
    wanted = _dotted(MINIMUM_JAVA)
    explicit = os.environ.get("TRINO_JAVA_HOME")
    if explicit:
        version = java_version(Path(explicit))
        if version is None or version < MINIMUM_JAVA:
            what = "no JDK" if version is None else f"Java {_dotted(version)}"
            raise TrinoError(f"TRINO_JAVA_HOME={explicit} is {what}; "
                             f"Trino {TRINO_VERSION} needs Java {wanted} or later")
        return Path(explicit) / "bin" / "java"
    homes = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(on_path).resolve().parents[1])
    homes += sorted(child for folder in JDK_FOLDERS if folder.is_dir() for child in folder.iterdir() if child.is_dir())
    seen = {home: java_version(home) for home in dict.fromkeys(homes)}
    usable = [(version, home) for home, version in seen.items() if version and version >= MINIMUM_JAVA]
    if not usable:
        found = ", ".join(f"{home} (Java {_dotted(version)})" for home, version in seen.items() if version) or "none"
        raise TrinoError(f"Trino {TRINO_VERSION} needs Java {wanted} or later; JDKs found: {found}. "
                         "Install one (Temurin 25, say) or point TRINO_JAVA_HOME at it")
    return max(usable)[1] / "bin" / "java"


def installed_server(home: Path = SERVER_HOME) -> Path:
    """The server `make trino` installed, or an error saying to run it."""
    stamp = home / INSTALLED_STAMP.name
    if not stamp.is_file() or stamp.read_text().strip() != TRINO_SHA256:
        raise TrinoError(f"Trino {TRINO_VERSION} is not installed in {home}; run `make trino` first")
    return home


def free_port() -> int:
    """A loopback port nothing listens on (the OS picked it, and it is closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _node_files(workdir: Path, home: Path, port: int) -> None:
    catalogs = workdir / "etc" / "catalog"
    catalogs.mkdir(parents=True)
    plugins = workdir / "plugin"
    plugins.mkdir()
    for plugin in PLUGINS:
        (plugins / plugin).symlink_to(home / "plugin" / plugin)
    (workdir / "etc" / "config.properties").write_text("\n".join([
        "coordinator=true", "node-scheduler.include-coordinator=true",
        f"http-server.http.port={port}", f"discovery.uri=http://{LOOPBACK}:{port}",
        f"catalog.config-dir={catalogs}", f"plugin.dir={plugins}",
        "http-server.log.enabled=false", "query.max-memory=1GB", "query.max-memory-per-node=1GB", ""]))
    (catalogs / f"{CATALOG}.properties").write_text("\n".join([
        "connector.name=hive",
        "hive.metastore=file", f"hive.metastore.catalog.dir=local://{workdir / 'metastore'}",
        # Paths are read where they lie: `local:///tmp/x` is /tmp/x.
        "fs.native-local.enabled=true", "local.location=/",
        "hive.partition-projection-enabled=true",
        # Athena reads a projected hour without a folder as empty; Trino fails on it without this.
        "hive.ignore-absent-partitions=true", ""]))


def _phase(log: Path) -> str:
    """What the starting node is doing, from its log."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    for marker, phase in (("-- Added catalog", "opening the hive catalog"), ("Loading plugin", "loading plugins"),
                          ("Bootstrap", "configuring"), ("Java version", "starting the JVM")):
        if marker in text:
            return phase
    return "starting the JVM"


class LocalTrino:
    """One Trino node on 127.0.0.1 in a scratch folder; `start()` waits until it answers, `stop()` ends it."""

    def __init__(self, *, home: Optional[Path] = None, heap: str = HEAP, start_timeout: float = START_TIMEOUT_SECONDS,
                 show_progress: bool = True):
        self.home = home or SERVER_HOME
        self.heap, self.start_timeout, self.show_progress = heap, start_timeout, show_progress
        self.process: Optional[subprocess.Popen] = None
        self.workdir: Optional[Path] = None
        self.port = 0

    @property
    def log(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "server.log"

    def command(self, java: Path) -> list[str]:
        assert self.workdir is not None
        properties = {"node.environment": "local", "node.id": str(uuid.uuid4()),
                      "node.data-dir": str(self.workdir / "data"), "node.bind-ip": LOOPBACK,
                      "node.internal-address": LOOPBACK, "config": str(self.workdir / "etc" / "config.properties")}
        return [sys.executable, str(DIE_WITH_PARENT), str(java), f"-Xmx{self.heap}", *JVM_OPTIONS,
                *(f"-D{key}={value}" for key, value in properties.items()),
                "-cp", str(self.home / "lib" / "*"), "io.trino.server.TrinoServer"]

    def start(self) -> TrinoEngine:
        home = installed_server(self.home)
        java = find_java()
        self.workdir = Path(tempfile.mkdtemp(prefix="vpc-flow-logs-trino-"))
        self.port = free_port()
        _node_files(self.workdir, home, self.port)
        with self.log.open("wb") as log:
            # Its own session: a Ctrl-C in the terminal reaches this process, which stops the node in order.
            self.process = subprocess.Popen(self.command(java), stdin=subprocess.PIPE, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        self._wait_until_ready()
        return TrinoEngine(f"http://{LOOPBACK}:{self.port}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{self.port}/v1/info", timeout=2) as response:
                return json.load(response).get("starting") is False
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def _wait_until_ready(self) -> None:
        from tqdm import tqdm

        assert self.process is not None
        began = time.monotonic()
        bar_format = "{desc}: {bar} {elapsed} (about %ds){postfix}" % EXPECTED_START_SECONDS
        with tqdm(total=EXPECTED_START_SECONDS, desc=f"starting Trino {TRINO_VERSION} on {LOOPBACK}:{self.port}",
                  bar_format=bar_format, file=sys.stderr, disable=not self.show_progress, leave=False) as bar:
            while not self._answers():
                if self.process.poll() is not None:
                    raise TrinoError(f"Trino exited with code {self.process.returncode} while starting; "
                                     f"the end of its log:\n{self._log_tail()}")
                elapsed = time.monotonic() - began
                if elapsed > self.start_timeout:
                    raise TrinoError(f"Trino did not answer within {self.start_timeout:.0f} s; "
                                     f"the end of its log:\n{self._log_tail()}")
                bar.set_postfix_str(_phase(self.log), refresh=False)
                bar.update(min(int(elapsed), EXPECTED_START_SECONDS - 1) - bar.n)
                time.sleep(0.5)
            bar.update(EXPECTED_START_SECONDS - bar.n)

    def stop(self) -> None:
        """SIGTERM to the node, SIGKILL to its process group after a grace period; then its folder goes."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # the wrapper passes it on to the JVM
                try:
                    process.wait(STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the wrapper and the JVM: the group is the wrapper's pid
            except ProcessLookupError:
                pass
            process.wait()
            if process.stdin:
                process.stdin.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


@contextmanager
def _signals_end_the_block() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit inside the block (SIGINT already raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, leave) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def local_trino(**options: Any) -> Iterator[TrinoEngine]:
    """`with local_trino() as engine:` a node of our own for the block; options go to LocalTrino."""
    node = LocalTrino(**options)
    with _signals_end_the_block():
        try:
            yield node.start()
        finally:
            node.stop()
