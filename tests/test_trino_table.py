"""The Trino side of the `flow_logs` declaration, without Java: DDL, layouts, the JDK search.

tests/trino (`make trino-test`) runs the DDL on a real node; these check what is decided before one starts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowlogs import trino
from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.table import partition_keys, projection
from flowlogs.trino import (TrinoEngine, TrinoError, create_table_sql, date_view_sql, find_java, installed_server,
                            local_layout, location_of, trino_properties)
from tests.conftest import REPO_ROOT
from tools.synth import object_folder


def test_the_module_imports_without_pulumi_or_the_trino_client():
    code = "import sys, flowlogs.trino; print(sorted(m for m in ('pulumi', 'trino') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out


def test_each_projected_key_gets_the_glue_parameters_as_trino_column_properties():
    keys = partition_keys(True, True)
    table, columns = trino_properties(projection("123456789012", "eu-west-1", "b", "AWSLogs/", True, True), keys)
    assert columns["year"] == {"partition_projection_type": "'integer'", "partition_projection_digits": "4",
                               "partition_projection_range": "ARRAY['2024', '2099']"}
    assert columns["aws_service"] == {"partition_projection_type": "'enum'",
                                      "partition_projection_values": "ARRAY['vpcflowlogs']"}
    assert table["partition_projection_enabled"] == "true" and table["format"] == "'PARQUET'", table
    assert table["partition_projection_location_template"].startswith("'s3://b/AWSLogs/aws-account-id="), table


def test_a_glue_parameter_trino_has_no_property_for_is_refused_by_name():
    with pytest.raises(TrinoError, match="'projection.year.step'"):
        trino_properties({"projection.year.step": "1"}, ["year"])
    with pytest.raises(TrinoError, match="'serialization.format'"):
        trino_properties({"serialization.format": "1"}, ["year"])


def test_the_ddl_names_every_column_and_partition_key_in_order():
    ddl = create_table_sql("flow_logs", DEFAULT_FIELDS, location_of("s3://b/vpc/AWSLogs/"), hive=False,
                           per_hour=False, account_ids=["123456789012"], regions=["us-east-1"])
    lines = [line.strip() for line in ddl.splitlines()]
    assert lines[1:4] == ['"version" integer,', '"account_id" varchar,', '"interface_id" varchar,'], lines
    assert '"end" bigint,' in lines and "external_location = 's3://b/vpc/AWSLogs/'," in lines, lines
    assert "partitioned_by = ARRAY['aws_account_id', 'aws_region', 'year', 'month', 'day']," in lines, lines


def test_a_local_folder_is_read_where_it_lies(tmp_path):
    assert location_of(tmp_path).url == f"local://{tmp_path.resolve()}/"
    with pytest.raises(TrinoError, match="no such folder"):
        location_of(tmp_path / "missing")


def test_the_view_keeps_only_the_days_given():
    from datetime import date

    sql = date_view_sql("flow_logs", "flow_logs_projected", [date(2026, 11, 28), date(2026, 12, 1)])
    assert sql.endswith("WHERE year IN ('2026') AND month IN ('11', '12') AND day IN ('01', '28')"), sql


def _touch(root: Path, hours: tuple[int, ...], hive: bool, per_hour: bool) -> Path:
    for hour in hours:
        folder = root / object_folder(hour, hive, per_hour)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{hour}.log.parquet").write_bytes(b"")
    return root / "AWSLogs"


@pytest.mark.parametrize("hive, per_hour", [(True, True), (False, False), (False, True), (True, False)])
def test_the_layout_is_read_off_the_folders(tmp_path, hive, per_hour):
    layout = local_layout(_touch(tmp_path, (0, 49), hive, per_hour))
    assert (layout.hive, layout.per_hour, layout.account_ids, layout.regions) == (
        hive, per_hour, ("123456789012",), ("us-east-1",)), layout
    assert [day.isoformat() for day in layout.dates or ()] == ["2026-11-28", "2026-11-30"], layout


def test_mixed_layouts_are_refused(tmp_path):
    _touch(tmp_path, (0,), True, True)
    _touch(tmp_path, (1,), True, False)
    with pytest.raises(TrinoError, match="mixes S3 layouts"):
        local_layout(tmp_path / "AWSLogs")


def test_a_file_outside_s3s_layout_is_named(tmp_path):
    (tmp_path / "loose.parquet").write_bytes(b"")
    with pytest.raises(TrinoError, match="loose.parquet: not in a folder S3 delivers"):
        local_layout(tmp_path)


def _jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return home


def test_the_newest_jdk_new_enough_is_chosen(tmp_path, monkeypatch):
    for name, version in (("jdk-17", "17.0.15"), ("jdk-25", "25.0.3"), ("jdk-24.0.0", "24.0.0")):
        _jdk(tmp_path, name, version)
    monkeypatch.setattr(trino, "JDK_FOLDERS", (tmp_path,))
    monkeypatch.delenv("TRINO_JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert find_java() == tmp_path / "jdk-25" / "bin" / "java"


def test_no_jdk_new_enough_is_an_error_listing_those_found(tmp_path, monkeypatch):
    _jdk(tmp_path, "jdk-17", "17.0.15")
    monkeypatch.setattr(trino, "JDK_FOLDERS", (tmp_path,))
    monkeypatch.delenv("TRINO_JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TrinoError, match=r"needs Java 24\.0\.1 or later; JDKs found: .*jdk-17 \(Java 17\.0\.15\)"):
        find_java()


def test_an_explicit_jdk_too_old_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("TRINO_JAVA_HOME", str(_jdk(tmp_path, "old", "22.0.2")))
    with pytest.raises(TrinoError, match=r"TRINO_JAVA_HOME=.*old is Java 22\.0\.2; Trino 476 needs Java 24\.0\.1"):
        find_java()


def test_a_server_not_installed_says_to_run_make_trino(tmp_path):
    with pytest.raises(TrinoError, match="run `make trino` first"):
        installed_server(tmp_path)



def test_a_clusters_password_stays_out_of_its_name_and_errors():
    engine = TrinoEngine("https://analyst:s3cret@trino.example.com:8443")
    assert engine.url == "https://trino.example.com:8443"
    with pytest.raises(TrinoError) as error:
        TrinoEngine("ftp://analyst:s3cret@trino.example.com")
    assert "s3cret" not in str(error.value) and "is not http(s)://host[:port]" in str(error.value)
