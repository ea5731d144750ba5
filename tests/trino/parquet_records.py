"""Synthetic flow-log records written with pyarrow as S3 delivers Parquet: AWS's column types, Gzip, S3's prefixes.

The traffic has what the queries look for: accepted and rejected flows, SSH from inside and outside
the VPC (both sides of its edges, and IPv6), NODATA and SKIPDATA intervals whose traffic fields
are NULL, and a few heavy talkers.
"""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from flowlogs.fields import FIELDS, enumerated_values
from flowlogs.patterns import pattern_name
from flowlogs.table import glue_columns
from tools.synth import ACCOUNT, FIRST_HOUR, REGION, object_folder

VPC_CIDR = "10.0.0.0/16"
ARROW_TYPES = {"int": pa.int32(), "bigint": pa.int64(), "string": pa.string()}
GAPS = ("NODATA", "SKIPDATA")
ALWAYS_PRESENT = ("version", "account-id", "interface-id", "start", "end", "log-status")


def arrow_schema(fields: Sequence[str]) -> pa.Schema:
    """The Parquet schema S3 writes for a format: the field table's types, as the Glue table declares them."""
    return pa.schema([(column, ARROW_TYPES[glue_type]) for column, glue_type in glue_columns(tuple(fields))])


def _sources(rng: random.Random) -> str:
    network = ipaddress.ip_network(VPC_CIDR)
    edges = [network.network_address - 1, network.network_address, network.broadcast_address,
             network.broadcast_address + 1, network[5]]
    return rng.choice([str(address) for address in edges] + ["203.0.113.5", "198.51.100.7", "2001:db8::22",
                                                            "::ffff:10.0.0.5", "10.0.3.4", "52.94.0.10"])


def _record(rng: random.Random, hour: int) -> dict[str, Any]:
    start = FIRST_HOUR + hour * 3600 + rng.randrange(3540)
    record = {"version": 5, "account-id": ACCOUNT, "interface-id": f"eni-{rng.randrange(4):017x}",
              "start": start, "end": start + 60, "log-status": rng.choices(["OK", *GAPS], [90, 7, 3])[0]}
    if record["log-status"] in GAPS:
        return record
    packets = rng.randrange(1, 400)
    record.update({"srcaddr": _sources(rng), "dstaddr": rng.choice(["10.0.0.5", "10.0.1.9", "52.94.0.11"]),
                   "srcport": rng.randrange(1024, 65536), "dstport": rng.choice([22, 22, 443, 80, 53, 3389]),
                   "protocol": rng.choice([6, 6, 6, 17, 1]), "packets": packets,
                   "bytes": packets * rng.randrange(40, 1500), "action": rng.choice(["ACCEPT", "ACCEPT", "REJECT"])})
    return record


def _value(field: str, record: dict[str, Any], rng: random.Random) -> Any:
    if field in record or field in ALWAYS_PRESENT or record["log-status"] in GAPS:
        return record.get(field)
    codes = enumerated_values(field)
    if codes:
        return rng.choice(codes)
    if FIELDS[field].parquet_type in ("INT_32", "INT_64"):
        return rng.randrange(64)
    return f"{field}-{rng.randrange(8)}"


def write_records(out: Path, fields: Sequence[str], hours: Sequence[int], *, hive: bool, per_hour: bool,
                  per_file: int = 400, seed: int = 7) -> Path:
    """One Parquet object per hour in `hours` under out/AWSLogs/...; the `AWSLogs` folder."""
    rng = random.Random(seed)
    schema = arrow_schema(fields)
    for hour in hours:
        records = [_record(rng, hour) for _ in range(per_file)]
        columns = {pattern_name(field): [_value(field, record, rng) for record in records] for field in fields}
        folder = out / object_folder(hour, hive, per_hour)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{ACCOUNT}_vpcflowlogs_{REGION}_{hour:04d}.log.parquet"
        pq.write_table(pa.table(columns, schema=schema), target, compression="gzip")
    return out / "AWSLogs"
