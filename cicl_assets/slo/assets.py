"""Assets of the slo group: external SLO reports and the multi-window burn-rate status."""

from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing.zone import LandingZone
from cicl_assets.metadata import ingest_metadata, markdown_table, table_metadata
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.reports import SLO_REPORTS, SLO_STREAM
from cicl_assets.slo.specs import SpecSet, load_spec_dir
from cicl_assets.slo.status import (
    SLO_STATUS,
    alert_episodes,
    latest_by_slo,
    load_slo_counts,
    status_records,
)
from cicl_assets.warehouse.base import Warehouse

OWNERS = ["team:sre"]


@dg.asset(
    name=SLO_REPORTS.name,
    group_name="slo",
    kinds={"python", "json"},
    owners=OWNERS,
    description=SLO_REPORTS.description,
)
def slo_reports(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    """One row per slo-generator SLO report (its BigQuery exporter's rows under landing slo/)."""
    report = ingest_stream(
        landing.capped(SLO_STREAM), landing, warehouse, run_id=context.run.run_id
    )
    meta = {**table_metadata(SLO_REPORTS, warehouse), **ingest_metadata(report)}
    alerting = (
        warehouse.query("SELECT COUNT(*) AS n FROM slo_reports WHERE alert").column("n")[0].as_py()
    )
    meta["reports_alerting"] = int(alerting or 0)
    return dg.MaterializeResult(metadata=meta)


class SloStatusConfig(dg.Config):
    step_minutes: int = Field(default=5, description="minutes between evaluation times")
    lookback_hours: float | None = Field(
        default=None,
        description="evaluate only the last N hours of span data; default: its whole range",
    )


def _spec_rejects_markdown(specs: SpecSet) -> str:
    if not specs.rejects:
        return "_every spec was read_"
    return "\n".join(f"- `{r.source_file}` {r.name}: {r.reason}" for r in specs.rejects)


def _alerting_markdown(latest: dict[str, dict[str, Any]]) -> str:
    rows = [r for r in latest.values() if r["alert"] in ("page", "ticket")]
    if not rows:
        return "_no SLO is alerting at the latest evaluation_"
    table = pa.Table.from_pylist(
        [
            {
                "slo": r["slo_name"],
                "alert": r["alert"],
                "window": r["alert_window"],
                "burn rate": round(r["alert_burn_rate"] or 0.0, 2),
                "budget left": round(r["error_budget_remaining"] or 0.0, 3),
                "at": r["evaluation_time"].isoformat(),
            }
            for r in sorted(rows, key=lambda r: (r["alert"], r["slo_name"]))
        ]
    )
    return markdown_table(table, max_rows=len(rows))


def _episodes_markdown(records: list[dict[str, Any]]) -> str:
    episodes = alert_episodes(records)
    if not episodes:
        return "_no page or ticket in the evaluated range_"
    table = pa.Table.from_pylist(
        [
            {
                "slo": e["slo_name"],
                "alert": e["alert"],
                "window": e["alert_window"],
                "from": e["first"].isoformat(),
                "to": e["last"].isoformat(),
                "peak burn rate": round(e["peak_burn_rate"], 2),
            }
            for e in episodes
        ]
    )
    return markdown_table(table, max_rows=50)


@dg.asset(
    name=SLO_STATUS.name,
    group_name="slo",
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=["otel_spans"],
    description=SLO_STATUS.description,
    check_specs=[
        dg.AssetCheckSpec(
            "slo_specs_readable",
            asset=SLO_STATUS.name,
            description="Every SLO spec under config/slos is evaluable (none refused).",
        )
    ],
)
def slo_status(
    context: dg.AssetExecutionContext,
    config: SloStatusConfig,
    warehouse: Warehouse,
    cicl_config: CiclConfig,
):
    """One row per SLO and evaluation time: SLI, error budget, burn rates over 5m..3d and the alert.

    Evaluation times step every ``step_minutes`` across the span data's own time range (its
    max(start_time), not the wall clock), so past breaches stay visible as a history.
    """
    specs = load_spec_dir(cicl_config.path / "slos")
    counts = load_slo_counts(warehouse, specs.slos)
    records = (
        status_records(counts, specs.slos, config.step_minutes, config.lookback_hours)
        if counts
        else []
    )
    warehouse.replace_table(SLO_STATUS, SLO_STATUS.from_records(records))
    context.log.info(
        f"{len(specs.slos)} SLOs, {len(records)} evaluations"
        + (f" from {counts.start} to {counts.end}" if counts else " (no spans)")
    )

    latest = latest_by_slo(records)
    meta: dict[str, Any] = table_metadata(SLO_STATUS, warehouse)
    meta["slos"] = len(specs.slos)
    meta["spec_rejects"] = dg.MetadataValue.md(_spec_rejects_markdown(specs))
    meta["alerting_now"] = dg.MetadataValue.md(_alerting_markdown(latest))
    meta["alert_history"] = dg.MetadataValue.md(_episodes_markdown(records))
    meta["evaluations_paging"] = sum(r["alert"] == "page" for r in records)
    meta["evaluations_ticketing"] = sum(r["alert"] == "ticket" for r in records)
    if counts:
        meta["data_clock"] = dg.MetadataValue.timestamp(counts.end)
    for name, rec in sorted(latest.items()):
        if rec["error_budget_remaining"] is not None:
            meta[f"error_budget_remaining/{name}"] = float(rec["error_budget_remaining"])
        if rec["burn_rate_1h"] is not None:
            meta[f"burn_rate_1h/{name}"] = float(rec["burn_rate_1h"])
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name="slo_specs_readable",
        passed=not specs.rejects,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "refused": len(specs.rejects),
            "reasons": dg.MetadataValue.md(_spec_rejects_markdown(specs)),
        },
    )


ASSETS: list = [slo_reports, slo_status]
CHECKS: list = []
