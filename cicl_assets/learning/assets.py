"""Assets of the learning group: the CL evaluation an SLO breach launches."""

from typing import Any

import dagster as dg

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.values import require_time
from cicl_assets.learning.breach import BREACH_REPORT_ASSET, FIRING, BreachContext
from cicl_assets.learning.breach_report import (
    SLO_BREACH_REPORTS,
    Breach,
    breach_rows,
    summary_markdown,
    top_by_dimension,
)
from cicl_assets.metadata import table_metadata
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.specs import load_spec_dir
from cicl_assets.warehouse.base import Warehouse


def latest_alert(warehouse: Warehouse) -> dict[str, Any] | None:
    """The most recent page (else ticket) row of slo_status, or None; among SLOs alerting at the
    same time, the one burning its budget fastest (then by name), never the engine's row order."""
    if not warehouse.table_exists("slo_status"):
        return None
    rows = warehouse.query(
        "SELECT slo_name, alert, alert_window, evaluation_time, alert_burn_rate FROM slo_status "
        "WHERE alert IN ('page', 'ticket') "
        "ORDER BY evaluation_time DESC, alert ASC, alert_burn_rate DESC, slo_name ASC LIMIT 1"
    ).to_pylist()
    return rows[0] if rows else None


def resolve_breach(
    config: BreachContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> Breach | None:
    if not config.slo_name:
        row = latest_alert(warehouse)
        if row is None:
            return None
        config = BreachContext(
            slo_name=row["slo_name"],
            alert=row["alert"],
            alert_window=row["alert_window"] or "",
            evaluation_time=row["evaluation_time"].isoformat(),
            burn_rate=float(row["alert_burn_rate"] or 0.0),
        )
    specs = {s.name: s for s in load_spec_dir(cicl_config.path / "slos").slos}
    if config.slo_name not in specs:
        raise dg.Failure(
            f"SLO {config.slo_name!r} is not among the evaluable specs in "
            f"{cicl_config.path / 'slos'} ({', '.join(sorted(specs)) or 'none'})"
        )
    if config.alert not in FIRING:
        raise dg.Failure(f"alert {config.alert!r} is not one of {', '.join(FIRING)}")
    try:
        at = require_time(config.evaluation_time, "evaluation_time")
    except ParseError as exc:
        raise dg.Failure(str(exc)) from None
    return Breach(specs[config.slo_name], config.alert, config.alert_window or "1h", at)


@dg.asset(
    name=BREACH_REPORT_ASSET,
    group_name="learning",
    kinds={"python", "sql"},
    owners=["team:sre"],
    deps=["slo_status", "otel_spans"],
    description=SLO_BREACH_REPORTS.description,
)
def slo_breach_report(
    context: dg.AssetExecutionContext,
    config: BreachContext,
    warehouse: Warehouse,
    cicl_config: CiclConfig,
) -> dg.MaterializeResult:
    """One row per SLO breach x dimension x value: who contributed the breach's bad events.

    Run config names the breach (the slo_breach_sensor fills it); without one, the latest page
    or ticket in slo_status is reported.
    """
    breach = resolve_breach(config, warehouse, cicl_config)
    if breach is None:
        warehouse.ensure_table(SLO_BREACH_REPORTS)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(SLO_BREACH_REPORTS, warehouse),
                "summary": dg.MetadataValue.md("_no SLO alert to explain_"),
            }
        )
    rows = breach_rows(warehouse, breach, run_id=context.run.run_id)
    warehouse.replace_where_in(
        SLO_BREACH_REPORTS, "breach_id", [breach.breach_id], SLO_BREACH_REPORTS.from_records(rows)
    )
    meta: dict[str, Any] = table_metadata(SLO_BREACH_REPORTS, warehouse)
    meta["summary"] = dg.MetadataValue.md(summary_markdown(breach, rows))
    meta["slo"] = breach.slo.name
    meta["breach_id"] = breach.breach_id
    meta["rows_for_breach"] = len(rows)
    if rows:
        meta["window_bad_events"] = rows[0]["window_bad_events"]
        meta["window_events"] = rows[0]["window_events"]
        if rows[0]["baseline_bad_rate"] is not None:
            meta["baseline_bad_rate"] = float(rows[0]["baseline_bad_rate"])
        for dim, top in top_by_dimension(rows).items():
            meta[f"top/{dim}"] = top["value"]
            meta[f"top_share_of_bad/{dim}"] = float(top["share_of_bad"] or 0.0)
            if top["lift"] is not None:
                meta[f"top_lift/{dim}"] = float(top["lift"])
    return dg.MaterializeResult(metadata=meta)


ASSETS: list = [slo_breach_report]
CHECKS: list = []
