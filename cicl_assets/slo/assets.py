"""Assets of the slo group: external SLO reports and the multi-window burn-rate status."""

from datetime import timedelta
from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field

from cicl_assets.metadata import column_schema, markdown_table
from cicl_assets.partitions import day_range_asset, partition_days
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.external_counts import landed_days
from cicl_assets.slo.minute_counts import (
    SLO_MINUTE_COUNTS,
    data_clock,
    day_minute_counts,
    day_status_records,
    write_day_counts,
    write_day_status,
)
from cicl_assets.slo.reports import SLO_REPORTS, SLO_STREAM
from cicl_assets.slo.sli_counts import SLO_SLI_COUNTS
from cicl_assets.slo.spec_table import SLO_SPECS, spec_rows
from cicl_assets.slo.specs import SpecSet, load_spec_dir
from cicl_assets.slo.status import SLO_STATUS, StatusFold
from cicl_assets.stream_assets import AssetView, DeclaredStream, StreamRun, build_stream_asset
from cicl_assets.warehouse.base import Warehouse

OWNERS = ["team:sre"]


def reports_alerting(warehouse: Warehouse) -> dict[str, int]:
    alerting = warehouse.query(f"SELECT COUNT(*) AS n FROM {SLO_REPORTS.name} WHERE alert")
    return {"reports_alerting": int(alerting.column("n")[0].as_py() or 0)}


# Metadata naming the data days an ingest's rows fall on (slo_partitions_sensor reads it).
DATA_DAYS = "data_days"


def external_days(warehouse: Warehouse, run: StreamRun) -> dict[str, Any]:
    """The days this run's external counts fall on: the minute-count days they refresh."""
    days = landed_days(warehouse, run.run_id, SLO_STREAM.name)
    return {DATA_DAYS: ",".join(d.isoformat() for d in days)}


SLO_REPORTS_STREAM = DeclaredStream(
    spec=SLO_STREAM,
    group="slo",
    owners=tuple(OWNERS),
    kinds=frozenset({"python", "json"}),
    views=(AssetView(SLO_REPORTS, figures=(reports_alerting,)), AssetView(SLO_SLI_COUNTS)),
    after_ingest=external_days,
    reads=("rows of slo-generator's BigQuery exporter and cicl-native SLI counts, as JSON lines"),
)

slo_reports = build_stream_asset(SLO_REPORTS_STREAM)


class SloStatusConfig(dg.Config):
    step_minutes: int = Field(default=5, description="minutes between evaluation times")


# Days back a day of slo_status reads minute counts from: the SLOs' 30-day budget window
# (config/slos). The dependency below declares it so the UI's lineage shows what a day reads.
BUDGET_DAYS = 30
# A day's minute counts changed: its own day and every day whose windows reach back to it are
# stale. Upstream days missing (before the data began) do not hold a day back, as eager would.
STATUS_AUTOMATION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("when the minute counts of the days its windows span change")


@day_range_asset(
    name=SLO_MINUTE_COUNTS.name,
    group_name="slo",
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=["otel_spans", SLO_REPORTS.name, SLO_SLI_COUNTS.name, SLO_SPECS.name],
    description=SLO_MINUTE_COUNTS.description,
)
def slo_minute_counts(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    """Counted from the spans of the run's days only; slo_partitions_sensor (or `make run`)
    asks for the days an ingest's spans fall on."""
    specs = load_spec_dir(cicl_config.path / "slos")
    written: dict[str, int] = {}
    for day in partition_days(context):
        rows = day_minute_counts(warehouse, specs.slos, day)
        written[day.isoformat()] = write_day_counts(warehouse, day, rows)
    context.log.info(f"minute counts per day: {written}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(written.values()),
            "dagster/column_schema": column_schema(SLO_MINUTE_COUNTS),
            "days": len(written),
            "rows_by_day": dg.MetadataValue.json(written),
        }
    )


@dg.asset(
    name=SLO_SPECS.name,
    group_name="slo",
    kinds={"python", "yaml"},
    owners=OWNERS,
    description=SLO_SPECS.description,
    check_specs=[
        dg.AssetCheckSpec(
            "slo_spec_files_read",
            asset=SLO_SPECS.name,
            description="No file under config/slos is refused (not an SLO spec, or malformed).",
        )
    ],
)
def slo_specs(context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig):
    """Read from CICL_CONFIG_DIR/slos on every run: the specs are configuration, not data."""
    specs = load_spec_dir(cicl_config.path / "slos")
    rows = spec_rows(specs)
    written = warehouse.replace_table(SLO_SPECS, SLO_SPECS.from_records(rows))
    not_evaluable = [r for r in rows if not r["evaluable"]]
    context.log.info(
        f"{len(rows)} objectives, {len(not_evaluable)} not evaluable, {len(specs.rejects)} refused"
    )
    preview = pa.Table.from_pylist(
        [
            {
                k: r[k]
                for k in ("evaluation_name", "format", "target", "budget_window", "sli_source")
            }
            | {"evaluable": r["evaluable"]}
            for r in rows
        ]
    )
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "dagster/column_schema": column_schema(SLO_SPECS),
            "objectives_evaluable": len(rows) - len(not_evaluable),
            "objectives_not_evaluable": len(not_evaluable),
            "files_refused": len(specs.rejects),
            "preview": dg.MetadataValue.md(markdown_table(preview, max_rows=50)),
            "not_evaluable": dg.MetadataValue.md(
                "\n".join(f"- `{r['evaluation_name']}`: {r['reason']}" for r in not_evaluable)
                or "_every objective is evaluated_"
            ),
            "refused": dg.MetadataValue.md(_spec_rejects_markdown(specs)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="slo_spec_files_read",
        passed=not specs.rejects,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"refused": len(specs.rejects)},
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


def _episodes_markdown(episodes: list[dict[str, Any]]) -> str:
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


@day_range_asset(
    name=SLO_STATUS.name,
    group_name="slo",
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=[
        dg.AssetDep(
            SLO_MINUTE_COUNTS.name,
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-BUDGET_DAYS),
        )
    ],
    automation_condition=STATUS_AUTOMATION,
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
    """Each day holds the evaluations on it, every ``step_minutes`` across the span data's own
    time range (its first to last minute of SLO events, not the wall clock), computed from the
    minute counts of the days its windows span; past breaches stay visible as a history.
    """
    specs = load_spec_dir(cicl_config.path / "slos")
    clock = data_clock(warehouse)
    fold = StatusFold()
    for day in partition_days(context):
        rows = day_status_records(warehouse, specs.slos, day, clock, config.step_minutes)
        write_day_status(warehouse, day, rows)
        fold.add(rows)
    context.log.info(
        f"{len(specs.slos)} SLOs, {fold.rows} evaluations on "
        f"{context.partition_key_range.start}..{context.partition_key_range.end}"
        + (f" (data from {clock[0]} to {clock[1]})" if clock else " (no SLO events)")
    )

    latest = fold.latest
    meta: dict[str, Any] = {
        "dagster/row_count": fold.rows,
        "dagster/column_schema": column_schema(SLO_STATUS),
    }
    meta["slos"] = len(specs.slos)
    meta["spec_rejects"] = dg.MetadataValue.md(_spec_rejects_markdown(specs))
    meta["alerting_now"] = dg.MetadataValue.md(_alerting_markdown(latest))
    meta["alert_history"] = dg.MetadataValue.md(_episodes_markdown(fold.episodes))
    meta["evaluations_paging"] = fold.paging
    meta["evaluations_ticketing"] = fold.ticketing
    if clock:
        meta["data_clock"] = dg.MetadataValue.timestamp(clock[1] + timedelta(minutes=1))
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


ASSETS: list = [slo_reports, slo_specs, slo_minute_counts, slo_status]
CHECKS: list = []
