"""Assets of the learning group: the CL evaluation an SLO breach launches."""

from typing import Any

import dagster as dg

from cicl_assets.ingest.content import ParseError
from cicl_assets.learning.breach import (
    BREACH_REPORT_ASSET,
    DECIDED_BY_TAG,
    FIRING,
    Breach,
    record_review,
)
from cicl_assets.learning.breach_findings import (
    explaining_findings,
    findings_markdown,
    read_findings,
)
from cicl_assets.learning.breach_report import (
    SLO_BREACH_REPORTS,
    breach_rows,
    cause,
    summary_markdown,
    top_by_dimension,
)
from cicl_assets.learning.regressions import assets as regressions
from cicl_assets.metadata import column_schema
from cicl_assets.partitions import (
    DAY,
    day_of,
    day_range_asset,
    day_start,
    partition_days,
    partition_key,
    replace_keys_in_range,
)
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.specs import SloSpec, load_spec_dir
from cicl_assets.warehouse.base import Warehouse


def breach_slo(breach: Breach, cicl_config: CiclConfig) -> SloSpec:
    """The spec of the breached SLO; a Failure naming what is wrong with the breach otherwise."""
    specs = {s.name: s for s in load_spec_dir(cicl_config.path / "slos").slos}
    if breach.slo_name not in specs:
        raise dg.Failure(
            f"SLO {breach.slo_name!r} is not among the evaluable specs in "
            f"{cicl_config.path / 'slos'} ({', '.join(sorted(specs)) or 'none'})"
        )
    if breach.alert not in FIRING:
        raise dg.Failure(f"alert {breach.alert!r} is not one of {', '.join(FIRING)}")
    try:
        breach.at  # noqa: B018 - parsing is the check
    except ParseError as exc:
        raise dg.Failure(str(exc)) from None
    return specs[breach.slo_name]


@day_range_asset(
    name=BREACH_REPORT_ASSET,
    group_name="learning",
    kinds={"python", "sql"},
    owners=["team:sre"],
    # After the findings: the report links those that explain the breach.
    deps=["slo_status", "slo_minute_counts", "otel_spans", "cl_findings"],
    description=SLO_BREACH_REPORTS.description,
)
def slo_breach_report(
    context: dg.AssetExecutionContext,
    config: Breach,
    warehouse: Warehouse,
    cicl_config: CiclConfig,
) -> dg.MaterializeResult:
    """One row per SLO breach x dimension x value: who contributed the breach's bad events.

    Run config names the breach (slo_breach_sensor fills it, under the daemon and in `make
    run`); there is no default, so a run cannot report a breach nobody decided on. The run
    covers the days of the breach window (their regressions run first in cl_evaluation); the
    report belongs to the last, the breach's day. Once the rows are written the run chains its
    ``cl_review_triggered`` event: the breach is reviewed.
    """
    slo = breach_slo(config, cicl_config)
    day = day_of(config.at)
    days = partition_days(context)
    if days[-1] != day:
        covered = ", ".join(partition_key(d) for d in (days[0], days[-1]))
        raise dg.Failure(
            f"the breach at {config.evaluation_time} belongs to partition {partition_key(day)}, "
            f"which must be the last of the run's ({covered})"
        )
    run_id = context.run.run_id
    rows = breach_rows(warehouse, config, slo, run_id=run_id)
    replace_keys_in_range(
        warehouse,
        SLO_BREACH_REPORTS,
        "breach_id",
        [config.breach_id],
        day_start(day),
        day_start(day) + DAY,
        SLO_BREACH_REPORTS.from_records(rows),
    )
    record_review(
        warehouse,
        config,
        run_id,
        context.run.tags.get(DECIDED_BY_TAG, "launched by hand"),
        notary=cicl_config.chain_notary(warehouse),
    )
    meta: dict[str, Any] = {
        "dagster/row_count": len(rows),
        "dagster/column_schema": column_schema(SLO_BREACH_REPORTS),
    }
    explaining = explaining_findings(rows, read_findings(warehouse, config), config)
    meta["summary"] = dg.MetadataValue.md(summary_markdown(config, rows))
    meta["findings"] = dg.MetadataValue.md(findings_markdown(explaining))
    meta["explained_by"] = len(explaining)
    meta["finding_ids"] = ",".join(f["finding_id"] for f in explaining)
    meta["cause"] = cause(rows, external=slo.span_filter is None)
    meta["slo"] = config.slo_name
    meta["breach_id"] = config.breach_id
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


ASSETS: list = [slo_breach_report, *regressions.ASSETS]
CHECKS: list = []
