"""Synthetic flow-log records for any format, as S3 delivers them: plain gzipped text and Parquet.

    python -m tools.synth OUT --records N [--seed S] [--stack NAME | --log-format '${...} ...']
                              [--kind text|parquet|both] [--no-hive] [--no-per-hour] [--no-header]

The traffic has a shape worth querying: a few heavy talkers carry most bytes, scanners from a
handful of outside addresses hit closed ports and are rejected, SSH arrives from inside and
outside the VPC (addresses on both sides of the block's edges, and IPv6), and some intervals
are NODATA or SKIPDATA. DuckDB generates the rows from hashes of (row, seed), so one seed
always gives the same records however many threads run. Parquet columns carry AWS's Parquet
types from the field table and are Gzip-compressed, as S3 delivers them.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import sys
from pathlib import Path
from typing import Optional, Sequence

import duckdb

from config.settings import settings_from_stack_file, stack_file_of
from flowlogs.fields import (DEFAULT_FIELDS, FIELDS, FIELDS_BY_VERSION, enumerated_values, parse_log_format,
                             record_version)
from flowlogs.patterns import pattern_name
from flowlogs.records import MISSING
from flowlogs.flow_source import duckdb_type

ACCOUNT = "123456789012"
REGION = "us-east-1"
FLOW_LOG_ID = "fl-0123456789abcdef0"
FIRST_HOUR = int(datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc).timestamp())
AGGREGATION_SECONDS = 60
RECORDS_PER_HOUR = 500_000
# Normal traffic: clients outside the VPC and up to INTERNAL_HOSTS inside it, talking to a few servers.
EXTERNAL_CLIENTS = 20_000
INTERNAL_HOSTS = 1000
SERVERS = 40
# Hosts sit past the block's first addresses, which AWS reserves.
FIRST_HOST = 4
SSH_SERVER = 5
SCANNERS = ("198.51.100.7", "198.51.100.66", "203.0.113.99", "192.0.2.200", "2001:db8:bad::1")


def ssh_sources(vpc_cidr: str) -> tuple[str, ...]:
    """Addresses on both sides of each edge of the block, one inside it, and IPv6 ones."""
    network = ipaddress.ip_network(vpc_cidr)
    first, last = network.network_address, network.broadcast_address
    return tuple(str(a) for a in (first - 1, first, first + 5, last, last + 1)) + (
        "203.0.113.5", "2001:db8::22", "::ffff:" + str(first + 5))


def heavy_talkers(network: ipaddress.IPv4Network) -> tuple[tuple[str, str], ...]:
    """Three pairs that carry most bytes: two hosts to outside services, one between hosts."""
    return ((str(network[10]), "52.94.0.10"), (str(network[11]), "52.94.0.11"), (str(network[12]), str(network[13])))


def _address_in(network: ipaddress.IPv4Network, offset: str) -> str:
    """The dotted quad of the block's address at `offset`, an SQL expression."""
    number = f"({int(network.network_address)} + {offset})"
    return " || '.' || ".join(f"CAST({number} // {256 ** (3 - i)} % 256 AS VARCHAR)" for i in range(4))


def _sql_strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _h(key: str) -> str:
    """A 64-bit hash of the row, the seed and a key: one independent draw per key."""
    return f"CAST(hash(i, $seed, '{key}') >> 1 AS BIGINT)"


def _quoted(field: str) -> str:
    """The field's column as an SQL identifier (`end` is a keyword)."""
    return f'"{pattern_name(field)}"'


def _pick(values: Sequence[str], key: str) -> str:
    return f"{_sql_strings(values)}[1 + {_h(key)} % {len(values)}]"


# Per kind of traffic: source, destination, source port, destination port, protocol, packets, bytes, action.
def _traffic(vpc_cidr: str) -> dict[str, tuple[str, ...]]:
    network = ipaddress.ip_network(vpc_cidr)
    talkers = heavy_talkers(network)
    talker = f"1 + {_h('talker')} % {len(talkers)}"
    hosts = min(INTERNAL_HOSTS, network.num_addresses - FIRST_HOST - 2)

    def internal(side: str) -> str:
        return _address_in(network, f"{FIRST_HOST} + {_h(side + 'host')} % {hosts}")

    client = f"({_h('client')} % {EXTERNAL_CLIENTS})"
    external = f"'54.' || ({client} // 250 + 100) || '.' || ({client} % 250 + 1) || '.' || ({client} % 7 + 10)"
    server = _address_in(network, f"{FIRST_HOST} + {_h('server')} % {min(SERVERS, hosts)}")
    accept_mostly = f"CASE WHEN {_h('verdict')} % 20 = 0 THEN 'REJECT' ELSE 'ACCEPT' END"
    return {
        "heavy": (f"{_sql_strings([s for s, _ in talkers])}[{talker}]",
                  f"{_sql_strings([d for _, d in talkers])}[{talker}]",
                  f"32768 + {_h('sport')} % 28000", "443", "6",
                  f"1000 + {_h('packets')} % 60000", f"1500000 + {_h('bytes')} % 80000000", "'ACCEPT'"),
        "scan": (_pick(SCANNERS, "scanner"), internal("dst"), f"1024 + {_h('sport')} % 60000",
                 f"1 + {_h('dport')} % 1024", f"CASE WHEN {_h('proto')} % 5 = 0 THEN 17 ELSE 6 END",
                 f"1 + {_h('packets')} % 3", f"40 + {_h('bytes')} % 140", "'REJECT'"),
        "ssh": (_pick(ssh_sources(vpc_cidr), "sshsrc"), f"'{network[SSH_SERVER]}'", f"32768 + {_h('sport')} % 28000", "22", "6",
                f"10 + {_h('packets')} % 400", f"2000 + {_h('bytes')} % 90000", accept_mostly),
        "normal": (f"CASE WHEN {_h('side')} % 3 = 0 THEN {external} ELSE {internal('src')} END", server,
                   f"1024 + {_h('sport')} % 60000", _pick(["443", "80", "53", "5432", "8080"], "dport"),
                   f"CASE WHEN {_h('proto')} % 4 = 0 THEN 17 ELSE 6 END",
                   f"1 + {_h('packets')} % 200", f"60 + {_h('bytes')} % 250000", accept_mostly),
    }


TRAFFIC_FIELDS = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action")
# Per mille of records in each kind, in order; the rest is normal traffic.
KIND_SHARES = (("nodata", 30), ("skipdata", 5), ("heavy", 150), ("scan", 200), ("ssh", 20))


def _kind_case() -> str:
    whens, bound = [], 0
    for kind, share in KIND_SHARES:
        bound += share
        whens.append(f"WHEN {_h('kind')} % 1000 < {bound} THEN '{kind}'")
    return "CASE " + " ".join(whens) + " ELSE 'normal' END"


def _other_field(field: str) -> str:
    """A plausible value for a field outside the traffic columns."""
    codes = enumerated_values(field)
    if codes:
        return _pick(codes, field)
    if FIELDS[field].parquet_type in ("INT_32", "INT_64"):
        return f"{_h(field)} % 64"
    return f"'{field}-' || ({_h(field)} % 8)"


def _column(field: str, version: int, traffic: dict[str, tuple[str, ...]], hour_of_row: str) -> str:
    start = f"{FIRST_HOUR} + ({hour_of_row}) * 3600 + {_h('start')} % {3600 - AGGREGATION_SECONDS}"
    fixed = {"version": str(version), "account-id": f"'{ACCOUNT}'",
             "interface-id": f"'eni-0' || lpad(to_hex({_h('eni')} % 6), 16, '0')",
             "start": start, "end": f"{start} + {AGGREGATION_SECONDS}",
             "log-status": "CASE kind WHEN 'nodata' THEN 'NODATA' WHEN 'skipdata' THEN 'SKIPDATA' ELSE 'OK' END"}
    if field in TRAFFIC_FIELDS:
        position = TRAFFIC_FIELDS.index(field)
        cases = " ".join(f"WHEN '{kind}' THEN CAST({values[position]} AS {duckdb_type(field)})"
                         for kind, values in traffic.items())
        expression = f"CASE kind {cases} END"
    else:
        gap_or_value = f"CASE WHEN kind IN ('nodata', 'skipdata') THEN NULL ELSE {_other_field(field)} END"
        expression = fixed.get(field, gap_or_value)
    return f"CAST({expression} AS {duckdb_type(field)}) AS {_quoted(field)}"


def _object_name(hour: int, suffix: str) -> str:
    moment = datetime.datetime.fromtimestamp(FIRST_HOUR + hour * 3600, datetime.timezone.utc)
    return f"{ACCOUNT}_vpcflowlogs_{REGION}_{FLOW_LOG_ID}_{moment:%Y%m%dT%H%MZ}_{hour:08x}{suffix}"


def object_folder(hour: int, hive: bool, per_hour: bool) -> Path:
    """S3's delivery prefix for an hour's objects, Hive-style (`year=2026/...`) or plain (`2026/...`)."""
    moment = datetime.datetime.fromtimestamp(FIRST_HOUR + hour * 3600, datetime.timezone.utc)
    if hive:
        parts = [f"aws-account-id={ACCOUNT}", "aws-service=vpcflowlogs", f"aws-region={REGION}",
                 f"year={moment:%Y}", f"month={moment:%m}", f"day={moment:%d}"] + (
                     [f"hour={moment:%H}"] if per_hour else [])
    else:
        parts = [ACCOUNT, "vpcflowlogs", REGION, f"{moment:%Y}", f"{moment:%m}", f"{moment:%d}"] + (
            [f"{moment:%H}"] if per_hour else [])
    return Path("AWSLogs", *parts)


def write_synthetic(out: Path, records: int, seed: int, fields: Sequence[str] = DEFAULT_FIELDS, *,
                    kinds: Sequence[str] = ("text", "parquet"), hive: bool = True, per_hour: bool = True,
                    header: bool = True, vpc_cidr: str = "10.0.0.0/16") -> dict[str, list[Path]]:
    """Write `records` records under out/text and out/parquet; the files written, by kind."""
    hours = max(1, -(-records // RECORDS_PER_HOUR))
    hour_of_row = f"i * {hours} // {records}"
    con = duckdb.connect()
    # A format with unconfirmed fields has no known version; such records say the highest confirmed one.
    version = record_version(tuple(fields)) or max(FIELDS_BY_VERSION)
    columns = ", ".join(_column(f, version, _traffic(vpc_cidr), hour_of_row) for f in fields)
    con.execute(f"CREATE TABLE synth AS SELECT {hour_of_row} AS hour, * FROM ("
                f"SELECT i, {_kind_case()} AS kind FROM range({records}) AS r(i)), "
                f"LATERAL (SELECT {columns})", {"seed": seed})
    written: dict[str, list[Path]] = {kind: [] for kind in kinds}
    names = ", ".join(_quoted(f) for f in fields)
    line = " || ' ' || ".join(f"coalesce(CAST({_quoted(f)} AS VARCHAR), '{MISSING}')" for f in fields)
    for hour in range(hours):
        folder = object_folder(hour, hive, per_hour)
        if "text" in kinds:
            target = out / "text" / folder / _object_name(hour, ".log.gz")
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT {line} AS \"{' '.join(fields)}\" FROM synth WHERE hour = {hour} ORDER BY i) "
                        f"TO '{target}' (FORMAT csv, HEADER {str(header).lower()}, QUOTE '', ESCAPE '', "
                        "DELIMITER '\t', COMPRESSION gzip)")
            written["text"].append(target)
        if "parquet" in kinds:
            target = out / "parquet" / folder / _object_name(hour, ".log.parquet")
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT {names} FROM synth WHERE hour = {hour} ORDER BY i) TO '{target}' "
                        "(FORMAT parquet, COMPRESSION gzip)")  # as S3 delivers Parquet
            written["parquet"].append(target)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-format", help="a logFormat string; AWS's default format when omitted")
    parser.add_argument("--stack", help="take logFormat and vpcCidr from config/Pulumi.<stack>.yaml")
    parser.add_argument("--kind", choices=("text", "parquet", "both"), default="both")
    parser.add_argument("--vpc-cidr", default="10.0.0.0/16")
    parser.add_argument("--no-hive", dest="hive", action="store_false")
    parser.add_argument("--no-per-hour", dest="per_hour", action="store_false")
    parser.add_argument("--no-header", dest="header", action="store_false")
    args = parser.parse_args(argv)
    fields, vpc_cidr = parse_log_format(args.log_format), args.vpc_cidr
    if args.stack:
        settings = settings_from_stack_file(stack_file_of(args.stack))
        fields, vpc_cidr = settings.log_fields, settings.vpc_cidr
    written = write_synthetic(args.out, args.records, args.seed, fields,
                              kinds=("text", "parquet") if args.kind == "both" else (args.kind,),
                              hive=args.hive, per_hour=args.per_hour, header=args.header, vpc_cidr=vpc_cidr)
    for kind, paths in written.items():
        print(f"{kind}: {len(paths)} files under {args.out / kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
