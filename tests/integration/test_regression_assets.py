"""cl_regressions and cl_findings materialized per day partition on DuckDB over a seeded
scenario: the planted regression becomes findings with pictures, re-running changes nothing."""

from pathlib import Path

import dagster as dg

from cicl_assets.learning.regressions.assets import cl_findings, cl_regressions
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.learning.regressions.scenario import plan, write

CONFIG = str(Path(__file__).parents[2] / "config")


def _materialize(warehouse, day: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [cl_regressions, cl_findings],
        partition_key=day,
        resources={"warehouse": warehouse, "cicl_config": CiclConfig(config_dir=CONFIG)},
    )


def test_findings_with_pictures_per_partition(tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    write(plan(1, 30, regression=True), warehouse)
    for day in ("2026-03-02", "2026-03-03"):
        assert _materialize(warehouse, day).success
    sql = (
        "SELECT finding_id, metric, status, deployment_id, service_version, title FROM cl_findings"
    )
    first = sorted(warehouse.query(sql).to_pylist(), key=lambda r: r["metric"])
    assert [(r["metric"], r["status"], r["service_version"]) for r in first] == [
        ("latency_ms", "open", "3.2.0"),
        ("latency_per_output_token_ms", "open", "3.2.0"),
    ]
    assert first[0]["title"].startswith("gcp.gemini gemini-2.5-pro chat: p50 latency 1.5 s → ")
    result = _materialize(warehouse, "2026-03-03")
    assert sorted(warehouse.query(sql).to_pylist(), key=lambda r: r["metric"]) == first
    meta = result.asset_materializations_for_node("cl_findings")[0].metadata
    assert next(iter(meta)) == "open_findings"
    assert meta["open_findings"].value.startswith("- **")
    assert meta["pictures"].value.count("data:image/png;base64,") == 2
    assert warehouse.row_count("cl_finding_pictures") == 2
