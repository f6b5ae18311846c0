"""Assets of the telemetry group: OTLP trace and log files from the landing zone's otel/ folder."""

from datetime import date, datetime, timedelta
from typing import Any

from cicl_assets.partitions import day_start
from cicl_assets.stream_assets import (
    AssetView,
    CheckOutcome,
    DeclaredStream,
    StreamCheck,
    StreamRun,
    build_stream_asset,
)
from cicl_assets.telemetry.evaluation_figures import evaluation_figures
from cicl_assets.telemetry.evaluation_join import join_evaluated_spans
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.telemetry.logs_table import EVAL_SCORES, OTEL_LOGS
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import NULL_PARTITION

PREVIEW_COLUMNS = (
    "service_name",
    "span_name",
    "span_kind",
    "start_time",
    "duration_ms",
    "status_code",
    "gen_ai_provider",
    "trace_id",
)
LOG_PREVIEW_COLUMNS = (
    "time",
    "service_name",
    "severity_text",
    "event_name",
    "body",
    "session_id",
    "trace_id",
)
EVAL_PREVIEW_COLUMNS = (
    "evaluated_at",
    "evaluation_name",
    "score_value",
    "score_label",
    "gen_ai_provider",
    "gen_ai_model",
    "workflow_name",
    "carrier",
)
MAX_SERVICES_IN_METADATA = 20
TIME_ORDER_CHECK = "spans_end_after_they_start"
DATA_DAYS = "data_days"


def run_days(warehouse: Warehouse, run_id: str) -> list[date]:
    """The days (of any of the stream's tables) holding rows of the files this run ingested, as
    ``ingested_files`` records them: the bounds that keep reads of the spans to their
    partitions."""
    rows = warehouse.query(
        "SELECT partitions FROM ingested_files WHERE run_id = @run_id AND stream = @stream "
        "AND status = 'ingested'",
        {"run_id": run_id, "stream": OTEL_STREAM.name},
    ).to_pylist()
    days = {p for r in rows for p in r["partitions"] or () if p != NULL_PARTITION}
    return sorted(date.fromisoformat(d) for d in days)


def _days_range(days: list[date]) -> dict[str, datetime]:
    return {"lo": day_start(days[0]), "hi": day_start(days[-1] + timedelta(days=1))}


def run_figures(warehouse: Warehouse, run_id: str) -> dict[str, Any]:
    """Figures over the spans this run ingested: volume, errors, latency, services."""
    days = run_days(warehouse, run_id)
    if not days:
        return {"spans_ingested": 0, "distinct_traces": 0, "error_spans": 0, DATA_DAYS: ""}
    # The files' days bound the read to their partitions (otel_spans requires it on BigQuery).
    this_run = (
        f"FROM {OTEL_SPANS.name} WHERE start_time >= @lo AND start_time < @hi "
        "AND source_file IN (SELECT source_file FROM ingested_files "
        "WHERE run_id = @run_id AND stream = @stream AND status = 'ingested')"
    )
    params = {"run_id": run_id, "stream": OTEL_STREAM.name, **_days_range(days)}
    if warehouse.dialect == "bigquery":
        p50 = "APPROX_QUANTILES(duration_ms, 100)[OFFSET(50)]"
        p95 = "APPROX_QUANTILES(duration_ms, 100)[OFFSET(95)]"
    else:
        p50 = "quantile_cont(duration_ms, 0.5)"
        p95 = "quantile_cont(duration_ms, 0.95)"
    summary = warehouse.query(
        "SELECT COUNT(*) AS spans, COUNT(DISTINCT trace_id) AS traces, "
        "SUM(CASE WHEN status_code = 'ERROR' THEN 1 ELSE 0 END) AS errors, "
        f"{p50} AS p50, {p95} AS p95 {this_run}",
        params,
    ).to_pylist()[0]
    spans = int(summary["spans"] or 0)
    figures: dict[str, Any] = {
        "spans_ingested": spans,
        "distinct_traces": int(summary["traces"] or 0),
        "error_spans": int(summary["errors"] or 0),
    }
    if spans:
        figures["error_span_share"] = float(summary["errors"]) / spans
        figures["duration_ms_p50"] = float(summary["p50"])
        figures["duration_ms_p95"] = float(summary["p95"])
    day = warehouse.day_of("start_time")
    days = warehouse.query(f"SELECT DISTINCT {day} AS day {this_run} ORDER BY day", params)
    # The data days this run's spans fall on: the partitions of what derives from spans.
    figures[DATA_DAYS] = ",".join(str(d) for d in days.column("day").to_pylist() if d)
    by_service = warehouse.query(
        f"SELECT service_name, COUNT(*) AS n {this_run} GROUP BY service_name", params
    ).to_pylist()
    by_service.sort(key=lambda r: -int(r["n"]))
    for row in by_service[:MAX_SERVICES_IN_METADATA]:
        figures[f"spans_by_service/{row['service_name'] or 'unknown'}"] = int(row["n"])
    return figures


def check_time_order(warehouse: Warehouse, run: StreamRun) -> CheckOutcome:
    """Spans whose end is before their start point at a clock or instrumentation bug. Only the
    days this run's spans fall on are read: earlier days were checked when they arrived."""
    days = [date.fromisoformat(d) for d in str(run.extra.get(DATA_DAYS, "")).split(",") if d]
    bad = 0
    if days:
        bad = warehouse.query(
            f"SELECT COUNT(*) AS n FROM {OTEL_SPANS.name} WHERE start_time >= @lo "
            "AND start_time < @hi AND end_time < start_time",
            _days_range(days),
        ).to_pylist()[0]["n"]
    return CheckOutcome(
        passed=not bad,
        description="no span ends before it starts" if not bad else f"{bad} spans end early",
        metadata={"spans_ending_before_start": int(bad)},
    )


def this_run_figures(warehouse: Warehouse, run: StreamRun) -> dict[str, Any]:
    """This run's span figures, after evaluations that came as log records got the provider,
    model and workflow of the spans they evaluate."""
    return {**join_evaluated_spans(warehouse), **run_figures(warehouse, run.run_id)}


OTEL = DeclaredStream(
    spec=OTEL_STREAM,
    group="telemetry",
    owners=("team:observability",),
    kinds=frozenset({"python", "otlp"}),
    views=(
        AssetView(OTEL_SPANS, PREVIEW_COLUMNS),
        AssetView(OTEL_LOGS, LOG_PREVIEW_COLUMNS),
        AssetView(EVAL_SCORES, EVAL_PREVIEW_COLUMNS, (evaluation_figures,)),
    ),
    after_ingest=this_run_figures,
    checks=(
        StreamCheck(
            TIME_ORDER_CHECK,
            OTEL_SPANS.name,
            "No otel_spans row of the days an ingest's new spans fall on has an end_time before "
            "its start_time.",
            check_time_order,
        ),
    ),
    parallel=True,
    reads="ExportTraceServiceRequests and ExportLogsServiceRequests as binary protobuf, OTLP/JSON "
    "documents or OTLP/JSON lines, gzipped or not",
)

otel_spans = build_stream_asset(OTEL)

ASSETS: list = [otel_spans]
CHECKS: list = []
