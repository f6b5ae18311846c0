"""The regression evaluation's assets (group learning, day-partitioned): the detectors, and
`cl_findings` as analysts see it, open findings worst first."""

import base64
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from cicl_assets.charts import chart_markdown
from cicl_assets.learning.findings import (
    CL_FINDINGS,
    SEVERITY_RANK,
    merge_findings,
    open_findings_markdown,
)
from cicl_assets.learning.regressions.pictures import finding_png
from cicl_assets.learning.regressions.run import (
    EVALUATION,
    DayEvaluation,
    detail_row,
    evaluate_day,
    finding_row,
    hours_to_detect,
)
from cicl_assets.learning.regressions.tables import CL_FINDING_PICTURES, CL_REGRESSIONS
from cicl_assets.learning.regressions.thresholds import Thresholds, load_thresholds
from cicl_assets.metadata import column_schema
from cicl_assets.partitions import DAY, day_range_asset, day_start, partition_days
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import utcnow

OWNERS = ["team:sre"]
PICTURES_SHOWN = 6
# How far back cl_findings' metadata looks for findings (its table is partitioned on change_at).
FINDINGS_LOOKBACK_DAYS = 30


def partition_window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    window = context.partition_time_window
    return window.start.astimezone(UTC), window.end.astimezone(UTC)


@day_range_asset(
    name=CL_REGRESSIONS.name,
    group_name="learning",
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=["otel_spans", "eval_scores", "user_feedback", "deployments"],
    description=CL_REGRESSIONS.description,
)
def cl_regressions(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    """Compares every series around each deploy of a service that emits it, finds drift and
    error bursts without one, writes the comparisons of each day of the run's range (oldest
    first, so a later day's findings update an earlier one's) and merges the findings into
    cl_findings with a picture each."""
    thresholds = load_thresholds(cicl_config.path)
    totals: Counter[str] = Counter()
    written: list[dict[str, Any]] = []
    hours: list[float] = []
    for day in partition_days(context):
        start = day_start(day)
        evaluation, day_written = evaluate_partition(warehouse, start, start + DAY, thresholds)
        totals.update(
            series=evaluation.series_count,
            deploys=len(evaluation.deploys),
            comparisons=len(evaluation.results),
            findings=len(evaluation.findings),
        )
        written = [
            w for w in written if w["finding_id"] not in {d["finding_id"] for d in day_written}
        ]
        written += day_written
        hours += [h for h in map(hours_to_detect, evaluation.findings) if h is not None]
    meta: dict[str, Any] = {
        "dagster/row_count": totals["comparisons"],
        "dagster/column_schema": column_schema(CL_REGRESSIONS),
        **{name: totals[name] for name in ("series", "deploys", "comparisons", "findings")},
        "findings_written": len(written),
        "findings_of_the_run": dg.MetadataValue.md(open_findings_markdown(written)),
    }
    if hours:
        meta["max_hours_to_detect"] = max(hours)
    return dg.MaterializeResult(metadata=meta)


def evaluate_partition(
    warehouse: Warehouse, start: datetime, end: datetime, thresholds: Thresholds
) -> tuple[DayEvaluation, list[dict[str, Any]]]:
    """One day: its comparisons replace the day's in cl_regressions, its findings merge into
    cl_findings, each written finding's picture replaces the stored one."""
    day = start.strftime("%Y-%m-%d")
    evaluation = evaluate_day(warehouse, start, thresholds, end)
    warehouse.replace_where_in(
        CL_REGRESSIONS,
        "partition_day",
        [day],
        CL_REGRESSIONS.from_records([detail_row(r, day) for r in evaluation.results]),
    )
    detected_at = utcnow()
    by_id = {}
    for result in evaluation.findings:
        row = finding_row(result, thresholds, detected_at, day)
        by_id[row["finding_id"]] = (row, result)
    written = merge_findings(warehouse, EVALUATION, [row for row, _ in by_id.values()])
    history = start - timedelta(hours=thresholds.history_hours)
    pictures = []
    for row in written:
        png = finding_png(by_id[row["finding_id"]][1], history, end, thresholds.before_hours)
        pictures.append(
            {
                "finding_id": row["finding_id"],
                "title": row["title"],
                "png_base64": base64.b64encode(png).decode("ascii"),
                "data_through": row["data_through"],
            }
        )
    warehouse.replace_where_in(
        CL_FINDING_PICTURES,
        "finding_id",
        [p["finding_id"] for p in pictures],
        CL_FINDING_PICTURES.from_records(pictures),
    )
    return evaluation, written


@day_range_asset(
    name=CL_FINDINGS.name,
    group_name="learning",
    kinds={"python", "sql"},
    owners=OWNERS,
    # Every evaluation merges its findings into the table; this asset reports it.
    deps=[CL_REGRESSIONS.name, "failure_modes", "flaky_tests"],
    description=CL_FINDINGS.description,
)
def cl_findings(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Reports the findings of the last FINDINGS_LOOKBACK_DAYS days as of the partition's end:
    the open ones worst first, each worst one's picture, counts by kind and severity."""
    _, end = partition_window(context)
    warehouse.ensure_table(CL_FINDINGS)
    rows = warehouse.query(
        "SELECT * FROM cl_findings WHERE change_at >= @since AND change_at < @end",
        {"since": end - timedelta(days=FINDINGS_LOOKBACK_DAYS), "end": end},
    ).to_pylist()
    open_rows = sorted(
        (r for r in rows if r["status"] == "open"),
        key=lambda r: (SEVERITY_RANK.get(r["severity"], 9), r["finding_id"]),
    )
    meta: dict[str, Any] = {
        "open_findings": dg.MetadataValue.md(open_findings_markdown(rows)),
        "dagster/row_count": len(rows),
        "dagster/column_schema": column_schema(CL_FINDINGS),
        "open": len(open_rows),
        "resolved": sum(r["status"] == "resolved" for r in rows),
    }
    for severity, n in sorted(Counter(r["severity"] for r in open_rows).items()):
        meta[f"open/{severity}"] = n
    for kind, n in sorted(Counter(r["kind"] for r in open_rows).items()):
        meta[f"open_by_kind/{kind}"] = n
    shown = [r["finding_id"] for r in open_rows[:PICTURES_SHOWN]]
    if shown and warehouse.table_exists(CL_FINDING_PICTURES.name):
        pictures = {
            p["finding_id"]: p
            for p in warehouse.query(
                "SELECT finding_id, title, png_base64 FROM cl_finding_pictures "
                f"WHERE finding_id IN {IN_ARRAY.format(param='ids')}",
                {"ids": shown},
            ).to_pylist()
        }
        parts = [
            chart_markdown(pictures[i]["title"], base64.b64decode(pictures[i]["png_base64"]), i)
            for i in shown
            if i in pictures
        ]
        meta["pictures"] = dg.MetadataValue.md("\n\n".join(parts) or "_no pictures_")
    return dg.MaterializeResult(metadata=meta)


ASSETS: list = [cl_regressions, cl_findings]
