"""Assets of the telemetry group: OTLP trace files from the landing zone's otel/ folder."""

import os
from typing import Any

import dagster as dg
from pydantic import Field

from cicl_assets.ingest.runner import IngestReport, ingest_stream
from cicl_assets.landing.zone import LandingZone
from cicl_assets.metadata import ingest_metadata, table_metadata
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse

PREVIEW_COLUMNS = [
    "service_name",
    "span_name",
    "span_kind",
    "start_time",
    "duration_ms",
    "status_code",
    "gen_ai_provider",
    "trace_id",
]
MAX_SERVICES_IN_METADATA = 20
TIME_ORDER_CHECK = "spans_end_after_they_start"


class OtelSpansConfig(dg.Config):
    workers: int = Field(
        default=0, description="parser processes working on files in parallel; 0 = one per core"
    )


def run_figures(warehouse: Warehouse, run_id: str) -> dict[str, Any]:
    """Figures over the spans this run ingested: volume, errors, latency, services."""
    this_run = (
        f"FROM {OTEL_SPANS.name} WHERE source_file IN (SELECT source_file FROM ingested_files "
        "WHERE run_id = @run_id AND stream = @stream AND status = 'ingested')"
    )
    params = {"run_id": run_id, "stream": OTEL_STREAM.name}
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
    by_service = warehouse.query(
        f"SELECT service_name, COUNT(*) AS n {this_run} GROUP BY service_name", params
    ).to_pylist()
    by_service.sort(key=lambda r: -int(r["n"]))
    for row in by_service[:MAX_SERVICES_IN_METADATA]:
        figures[f"spans_by_service/{row['service_name'] or 'unknown'}"] = int(row["n"])
    return figures


def check_time_order(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Spans whose end is before their start point at a clock or instrumentation bug."""
    bad = warehouse.query(
        f"SELECT COUNT(*) AS n FROM {OTEL_SPANS.name} WHERE end_time < start_time"
    ).to_pylist()[0]["n"]
    return dg.AssetCheckResult(
        check_name=TIME_ORDER_CHECK,
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        description="no span ends before it starts" if not bad else f"{bad} spans end early",
        metadata={"spans_ending_before_start": int(bad)},
    )


@dg.asset(
    name=OTEL_SPANS.name,
    group_name="telemetry",
    kinds={"python", "otlp"},
    owners=["team:observability"],
    tags={"cicl/layer": "ingest"},
    metadata={"grain": OTEL_SPANS.description},
    check_specs=[
        dg.AssetCheckSpec(
            TIME_ORDER_CHECK,
            asset=OTEL_SPANS.name,
            blocking=False,
            description="No otel_spans row has an end_time before its start_time.",
        )
    ],
)
def otel_spans(
    context: dg.AssetExecutionContext,
    config: OtelSpansConfig,
    warehouse: Warehouse,
    landing: LandingZone,
) -> dg.MaterializeResult:
    """One row per OpenTelemetry span from the OTLP trace files under the landing zone's otel/.

    Reads binary protobuf ExportTraceServiceRequests, OTLP/JSON documents and OTLP/JSON lines
    (gzipped or not), each file once. Files that are not OTLP traces, or are broken, are
    recorded in ingest_rejects with the reason.
    """
    workers = config.workers or os.cpu_count() or 1
    report: IngestReport = ingest_stream(
        landing.capped(OTEL_STREAM),
        landing,
        warehouse,
        run_id=context.run.run_id,
        workers=workers,
        log=context.log.warning,
    )
    context.log.info(
        f"otel: {report.files_ingested} files ingested, {report.files_rejected} rejected, "
        f"{report.files_skipped} already ingested; {report.rows_written} spans"
    )
    return dg.MaterializeResult(
        metadata={
            **table_metadata(OTEL_SPANS, warehouse, PREVIEW_COLUMNS),
            **ingest_metadata(report),
            **run_figures(warehouse, context.run.run_id),
            "workers": workers,
        },
        check_results=[check_time_order(warehouse)],
    )


ASSETS: list = [otel_spans]
CHECKS: list = []
