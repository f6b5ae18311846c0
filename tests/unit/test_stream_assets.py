"""A new stream is a declaration: the factory gives it its asset, metadata, figures and checks."""

import dagster as dg

from cicl_assets.landing import LandingZone
from cicl_assets.metadata import counts_by
from cicl_assets.stream_assets import (
    AssetView,
    CheckOutcome,
    DeclaredStream,
    StreamCheck,
    StreamRun,
    build_stream_asset,
)
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.sample_stream import SAMPLE_ROWS, SAMPLE_STREAM


def _a_values(warehouse) -> dict[str, int]:
    return {
        f"rows_with_a/{a}": n for a, n in sorted(counts_by(warehouse, "sample_rows", "a").items())
    }


def _no_negative_a(warehouse, run) -> CheckOutcome:
    n = warehouse.query("SELECT COUNT(*) AS n FROM sample_rows WHERE a < 0").column(0)[0].as_py()
    return CheckOutcome(passed=n == 0, description=f"{n} negative", metadata={"negative": n})


def _files_this_run(warehouse, run: StreamRun) -> dict[str, int]:
    return {"files_in_this_run": run.report.files_ingested + run.report.files_rejected}


SAMPLE = DeclaredStream(
    spec=SAMPLE_STREAM,
    group="sample_group",
    owners=("team:sample",),
    kinds=frozenset({"python", "json"}),
    views=(AssetView(SAMPLE_ROWS, ("a",), (_a_values,)),),
    checks=(StreamCheck("no_negative_a", "sample_rows", "No row has a < 0.", _no_negative_a),),
    after_ingest=_files_this_run,
    reads="sample JSON documents",
)


def _landing(tmp_path, files: dict[str, bytes]) -> LandingZone:
    for name, data in files.items():
        path = tmp_path / "landing" / "sample" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return LandingZone(uri=str(tmp_path / "landing"))


def test_the_declared_asset_is_named_grouped_and_described_by_its_table():
    asset = build_stream_asset(SAMPLE)
    spec = asset.specs_by_key[dg.AssetKey("sample_rows")]
    assert (spec.group_name, spec.owners, set(spec.kinds)) == (
        "sample_group",
        ["team:sample"],
        {"python", "json"},
    )
    assert spec.description.splitlines()[0] == "One row per sample document."
    assert "sample/ folder (sample JSON documents)" in spec.description
    assert asset.op.name == "sample_rows"
    [check] = asset.check_specs
    assert (check.name, check.asset_key, check.blocking) == (
        "no_negative_a",
        dg.AssetKey("sample_rows"),
        False,
    )


def test_materializing_reports_rows_figures_rejects_and_the_check(tmp_path):
    landing = _landing(
        tmp_path, {"one.json": b'{"a": 1}', "minus.json": b'{"a": -4}', "bad.json": b'{"a":'}
    )
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    asset = build_stream_asset(SAMPLE)
    result = dg.materialize([asset], resources={"warehouse": warehouse, "landing": landing})
    [mat] = result.asset_materializations_for_node("sample_rows")
    meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    assert meta["dagster/row_count"] == 2
    assert meta["rows_written_this_run"] == 2
    assert (meta["files_ingested"], meta["files_rejected"]) == (2, 1)
    assert (meta["rows_with_a/-4"], meta["rows_with_a/1"]) == (1, 1)
    assert meta["files_in_this_run"] == 3
    assert "sample/bad.json" in meta["rejects"]
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed, check.metadata["negative"].value) == (
        "no_negative_a",
        False,
        1,
    )

    again = dg.materialize([asset], resources={"warehouse": warehouse, "landing": landing})
    [mat] = again.asset_materializations_for_node("sample_rows")
    assert mat.metadata["dagster/row_count"].value == 2
    assert mat.metadata["rows_written_this_run"].value == 0
    assert mat.metadata["files_skipped_already_ingested"].value == 3
