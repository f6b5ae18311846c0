"""The otel_spans asset on a real landing folder and a real warehouse."""

import json
import shutil
from pathlib import Path

import dagster as dg
import orjson
import pytest

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.telemetry.assets import otel_spans, run_figures
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.telemetry.otlp_requests import every_kind_request, to_otlp_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "otlp-traces"


def _landing(root: Path) -> LandingZone:
    otel = root / "otel" / "2026-11-05"
    otel.mkdir(parents=True)
    shutil.copy(FIXTURES / "otel-proto__trace.json", otel / "trace.json")
    shutil.copy(FIXTURES / "otel-proto__metrics.json", otel / "metrics.json")
    (otel / "batch.pb").write_bytes(every_kind_request().SerializeToString())
    return LandingZone(uri=str(root))


def _spans_materialization(result: dg.ExecuteInProcessResult) -> dg.AssetMaterialization:
    """The otel_spans materialization of the op that also materializes otel_logs, eval_scores."""
    [mat] = [
        m
        for m in result.asset_materializations_for_node("otel_spans")
        if m.asset_key == dg.AssetKey("otel_spans")
    ]
    return mat


def test_materialize_otel_spans_reports_figures_and_reruns_add_nothing(tmp_path):
    landing = _landing(tmp_path / "landing")
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    resources = {"warehouse": warehouse, "landing": landing}
    config = dg.RunConfig({"otel_spans": {"config": {"workers": 1}}})

    result = dg.materialize([otel_spans], resources=resources, run_config=config)
    assert result.success
    mat = _spans_materialization(result)
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["dagster/row_count"] == 5
    assert meta["spans_ingested"] == 5
    assert meta["distinct_traces"] == 3
    assert meta["error_spans"] == 1
    assert meta["error_span_share"] == pytest.approx(0.2)
    # durations: 0.0005, 3, 1000, 1800.999, 2500 ms
    assert meta["duration_ms_p50"] == pytest.approx(1000.0)
    # quantile_cont: 1800.999 + 0.8 * (2500 - 1800.999)
    assert meta["duration_ms_p95"] == pytest.approx(2360.1998)
    assert meta["spans_by_service/workflow-runtime"] == 3
    assert meta["spans_by_service/tool-worker"] == 1
    assert meta["spans_by_service/my.service"] == 1
    assert meta["files_rejected"] == 1
    assert meta["rejects"] == (
        "- `otel/2026-11-05/metrics.json` (not-otlp-traces): otel/2026-11-05/metrics.json: "
        "not-otlp-traces: OTLP metrics, not traces or logs: the file holds 'resourceMetrics'; "
        "this stream reads ExportTraceServiceRequest (resourceSpans) and "
        "ExportLogsServiceRequest (resourceLogs)"
    )
    assert meta["rows_from/otlp-protobuf"] == 4
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("spans_end_after_they_start", True)

    again = dg.materialize([otel_spans], resources=resources, run_config=config)
    mat2 = _spans_materialization(again)
    meta2 = {k: v.value for k, v in mat2.metadata.items()}
    assert (meta2["dagster/row_count"], meta2["spans_ingested"]) == (5, 0)
    assert meta2["files_skipped_already_ingested"] == 3


def test_a_span_ending_before_it_starts_fails_the_check(tmp_path):
    root = tmp_path / "landing"
    (root / "otel").mkdir(parents=True)
    request = every_kind_request()
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.end_time_unix_nano = span.start_time_unix_nano - 1_000_000
    (root / "otel" / "skewed.pb").write_bytes(request.SerializeToString())
    result = dg.materialize(
        [otel_spans],
        resources={
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
            "landing": LandingZone(uri=str(root)),
        },
        run_config=dg.RunConfig({"otel_spans": {"config": {"workers": 1}}}),
    )
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert check.metadata["spans_ending_before_start"].value == 1


def test_materialization_describes_the_table_the_warehouse_holds(tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    result = dg.materialize(
        [otel_spans],
        resources={"warehouse": warehouse, "landing": _landing(tmp_path / "landing")},
        run_config=dg.RunConfig({"otel_spans": {"config": {"workers": 1}}}),
    )
    mat = _spans_materialization(result)
    columns = mat.metadata["dagster/column_schema"].value.columns
    assert [c.name for c in columns] == warehouse.table_schema("otel_spans").names
    assert [c.name for c in columns if c.type == "json"] == [
        "resource_attributes",
        "span_attributes",
        "events",
        "links",
    ]
    assert {c.name: c.description for c in columns}["trace_id"] == "32 lowercase hex digits"
    # The preview reads one day, the newest the run wrote (spans require a partition filter).
    title, blank, header, rule, *rows = mat.metadata["preview"].value.splitlines()
    assert (title, blank) == ("Rows of 2025-11-05, the newest day this run wrote:", "")
    assert header == (
        "| service_name | span_name | span_kind | start_time | duration_ms | status_code "
        "| gen_ai_provider | trace_id |"
    )
    assert rule == "|---|---|---|---|---|---|---|---|"
    assert sorted(rows) == [
        "| tool-worker | execute_tool search | PRODUCER | 2025-11-05 00:00:00.123456+00:00 | 3.0 "
        "| UNSET | openai | ffffffffffffffffffffffffffffff01 |",
        "| workflow-runtime | GET /health | INTERNAL | 2025-11-05 00:00:00.123456+00:00 | 0.0005 "
        "| UNSET |  | 0af7651916cd43dd8448eb211c80319c |",
        "| workflow-runtime | chat claude-sonnet-4 | CLIENT | 2025-11-05 00:00:00.123457+00:00 "
        "| 1800.999 | ERROR | anthropic | 0af7651916cd43dd8448eb211c80319c |",
        "| workflow-runtime | workflow invoice-triage | SERVER | 2025-11-05 00:00:00.123456+00:00 "
        "| 2500.0 | OK |  | 0af7651916cd43dd8448eb211c80319c |",
    ]
    assert mat.metadata["workers"].value == 1


def test_spans_land_the_same_on_every_warehouse(any_warehouse, tmp_path):
    root = tmp_path / "landing"
    otel = root / "otel"
    otel.mkdir(parents=True)
    request = every_kind_request()
    (otel / "a.pb").write_bytes(request.SerializeToString())
    (otel / "b.jsonl").write_bytes(orjson.dumps(to_otlp_json(request)) + b"\n")
    report = ingest_stream(OTEL_STREAM, LandingZone(uri=str(root)), any_warehouse, run_id="r1")
    assert (report.files_ingested, report.rows_written) == (2, 8)
    rows = any_warehouse.query(
        "SELECT source_file, span_id, span_kind, status_code, duration_ms, input_tokens, "
        "gen_ai_provider, span_attributes, start_time FROM otel_spans "
        "WHERE span_id = @span ORDER BY source_file",
        {"span": "00f067aa0ba902b7"},
    ).to_pylist()
    # Both files carry the same span identities: one row each, from the later file read.
    assert [r["source_file"] for r in rows] == ["otel/b.jsonl"]
    [a] = rows
    assert (a["span_kind"], a["status_code"], a["input_tokens"]) == ("CLIENT", "ERROR", 1200)
    assert a["duration_ms"] == pytest.approx(1800.999)
    assert json.loads(a["span_attributes"])["gen_ai.system"] == "anthropic"
    figures = run_figures(any_warehouse, "r1")
    assert figures["spans_ingested"] == 4  # the two files hold the same four spans
    assert figures["error_spans"] == 1
    assert figures["spans_by_service/workflow-runtime"] == 3


RECORDED: list[str] = []


class RecordingDuckDB(DuckDBWarehouse):
    def query(self, sql, params=None):
        RECORDED.append(" ".join(sql.split()))
        return super().query(sql, params)


def test_span_figures_read_only_the_days_the_run_ingested(tmp_path):
    """The figures of a run read otel_spans only within the days its files' rows fell in, and a
    run that ingested nothing reads no span for them."""
    warehouse = RecordingDuckDB(path=str(tmp_path / "w.duckdb"))
    resources = {"warehouse": warehouse, "landing": _landing(tmp_path / "landing")}
    config = dg.RunConfig({"otel_spans": {"config": {"workers": 1}}})
    figures = []
    for _ in range(2):
        RECORDED.clear()
        assert dg.materialize([otel_spans], resources=resources, run_config=config).success
        figures.append([s for s in RECORDED if "source_file IN" in s and "FROM otel_spans" in s])
    first, again = figures
    assert (len(first), again) == (3, [])
    assert all("WHERE start_time >= @lo AND start_time < @hi AND" in s for s in first)
