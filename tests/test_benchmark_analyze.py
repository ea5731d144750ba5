"""`make benchmark-analyze` compares like with like: bare DuckDB's texts return the project's rows."""

from __future__ import annotations

import json

import pytest

from flowlogs.fields import DEFAULT_FIELDS
from flowlogs.queries import QUERY_SPECS, TABLE
from tools import benchmark_analyze
from flowlogs.flow_source import files_of
from tools.synth import write_synthetic

RECORDS = 20_000


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark")
    write_synthetic(out, RECORDS, seed=benchmark_analyze.SEED, fields=DEFAULT_FIELDS,
                    vpc_cidr=benchmark_analyze.VPC_CIDR)
    return out


@pytest.mark.parametrize("kind", benchmark_analyze.KINDS)
def test_bare_duckdb_returns_the_projects_rows_for_every_query(synthetic, kind):
    project = benchmark_analyze.measure_project(synthetic / kind)
    bare = benchmark_analyze.measure_bare(synthetic / kind)
    assert project["records"] == RECORDS, project["records"]
    # Every named query AWS's default format answers: the benchmark's records have no other field.
    asked = [query.name for query in benchmark_analyze.queries()]
    assert asked == [spec.name for spec in QUERY_SPECS if set(spec.needs) <= set(DEFAULT_FIELDS)], asked
    assert sorted(bare["rows"]) == sorted(asked), bare["rows"].keys()
    for name in asked:
        assert project["rows"][name], f"{name} on {kind}: no rows, nothing compared"
        assert bare["rows"][name] == json.loads(json.dumps(project["rows"][name])), f"{name} on {kind}"


@pytest.mark.parametrize("kind", benchmark_analyze.KINDS)
def test_bare_duckdb_reads_the_files_not_the_projects_table(synthetic, kind):
    texts = benchmark_analyze.bare_sql(files_of(synthetic / kind))
    reader = "read_parquet(" if kind == "parquet" else "read_csv("
    for name, text in texts.items():
        assert reader in text and f"FROM {TABLE}" not in text, f"{name}: {text}"


def test_different_rows_stop_the_comparison():
    run = {"records": 1, "seconds": {"summary": 1.0, "total": 1.0}, "rows": {"summary": [[1]]}, "peak_bytes": 1}
    other = {**run, "rows": {"summary": [[2]]}}
    with pytest.raises(SystemExit, match="different rows"):
        benchmark_analyze.compare([run], [other])


def test_json_report_gives_ratios_rates_and_peak_memory(tmp_path, capsys):
    code = benchmark_analyze.main(["--records", "2000", "--runs", "1", "--data", str(tmp_path), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["records"] == 2000, document
    for kind in benchmark_analyze.KINDS:
        result = document["results"][kind]
        assert result["seconds_ratio"] == pytest.approx(
            result["project"]["seconds"]["total"] / result["bare"]["seconds"]["total"]), kind
        assert result["project"]["peak_bytes"] > 0 and result["bare"]["peak_bytes"] > 0, kind
