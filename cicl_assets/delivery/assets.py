"""Assets of delivery: commits, and the DORA metrics of the deployment pipeline."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from cicl_assets.delivery.commits import merge_commits
from cicl_assets.delivery.dora import CommitTime, deploy_facts
from cicl_assets.delivery.dora_figures import dora_chart
from cicl_assets.delivery.incidents import incidents_from_status
from cicl_assets.delivery.metrics import day_start, period_rows, periods
from cicl_assets.delivery.policy import load_policy
from cicl_assets.delivery.tables import COMMIT_PUSHES, COMMITS, DORA_DEPLOYMENTS, DORA_METRICS
from cicl_assets.metadata import table_metadata
from cicl_assets.partitions import DAILY, partition_days
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import Warehouse

OWNERS = ["team:platform"]
# Commits older than this are not looked up: lead times beyond it are not measured anyway.
COMMIT_LOOKBACK = timedelta(days=400)
# Deploys of the 90 days a metric covers, and the one before them that starts their changes.
DEPLOY_LOOKBACK = timedelta(days=120)


def _rows(warehouse: Warehouse, table: str, sql: str, params: dict[str, Any]) -> list[dict]:
    if not warehouse.table_exists(table):
        return []
    return warehouse.query(sql, params).to_pylist()


def read_commits(warehouse: Warehouse, since: datetime) -> dict[str, CommitTime]:
    rows = _rows(
        warehouse,
        COMMITS.name,
        "SELECT sha, repo, branch, committed_at, first_seen_at FROM commits "
        "WHERE first_seen_at >= @since",
        {"since": since},
    )
    return {r["sha"]: CommitTime(**r) for r in rows}


@dg.asset(
    name=COMMITS.name,
    group_name="deployments",
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=[COMMIT_PUSHES.name, "ci_runs", "deployments"],
    description=COMMITS.description,
)
def commits(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    since = datetime.now(UTC) - COMMIT_LOOKBACK
    pushes = _rows(
        warehouse,
        COMMIT_PUSHES.name,
        "SELECT * FROM commit_pushes WHERE committed_at >= @since",
        {"since": since},
    )
    runs = _rows(
        warehouse,
        "ci_runs",
        "SELECT commit_sha, started_at, repo, branch, source_file FROM ci_runs "
        "WHERE started_at >= @since",
        {"since": since},
    )
    deploys = _rows(
        warehouse,
        "deployments",
        "SELECT commit_sha, started_at, repo, ref, source_file FROM deployments "
        "WHERE started_at >= @since",
        {"since": since},
    )
    rows = merge_commits(pushes, runs, deploys)
    warehouse.replace_table(COMMITS, COMMITS.from_records(rows))
    pushed = sum(1 for r in rows if r.get("committed_at") is not None)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(COMMITS, warehouse, ["sha", "repo", "branch", "committed_at"]),
            "commits_with_commit_time": pushed,
            "commits_without_commit_time": len(rows) - pushed,
        }
    )


def dora_inputs(
    warehouse: Warehouse, start: datetime, end: datetime, window: timedelta
) -> tuple[list[dict], list[dict], dict[str, CommitTime]]:
    """Deploys that started in [start - lookback, end), slo_status rows up to ``end``, commits."""
    deploys = _rows(
        warehouse,
        "deployments",
        "SELECT deployment_id, service, environment, version, commit_sha, status, started_at, "
        "finished_at, rollback_of FROM deployments WHERE started_at >= @since AND started_at < @end",
        {"since": start - DEPLOY_LOOKBACK, "end": end},
    )
    status = _rows(
        warehouse,
        "slo_status",
        "SELECT slo_name, service, evaluation_time, alert FROM slo_status "
        "WHERE evaluation_time >= @since AND evaluation_time < @end AND alert = 'page'",
        {"since": start - DEPLOY_LOOKBACK, "end": end},
    )
    return deploys, status, read_commits(warehouse, start - DEPLOY_LOOKBACK - COMMIT_LOOKBACK)


def _cut(deploys: list[dict], end: datetime) -> list[dict]:
    """Deploys as they stood at ``end``: a later status or finish is not yet known."""
    out = []
    for d in deploys:
        if d["started_at"] >= end:
            continue
        if d["finished_at"] is not None and d["finished_at"] >= end:
            d = {**d, "status": "in_progress", "finished_at": None}
        out.append(d)
    return out


def evaluate_day(
    warehouse: Warehouse, day: date, cicl_config: CiclConfig
) -> tuple[list[dict], list[dict]]:
    """(dora_deployments rows of deploys started on ``day``, as known now; dora_metrics rows of
    the periods ending with ``day``, as known at its end)."""
    policy = load_policy(cicl_config.path)
    start, end = day_start(day), day_start(day + timedelta(days=1))
    lookahead = end + policy.incident_window + timedelta(days=30)
    deploys, status, commit_times = dora_inputs(warehouse, start, lookahead, policy.incident_window)
    incidents = incidents_from_status(status, policy.incident_merge_gap)
    facts, _ = deploy_facts(deploys, incidents, commit_times, policy.incident_window)
    today = [f for f in facts if start <= f["started_at"] < end]
    known = [i for i in incidents if i.ended_at < end]
    facts_then, nobody = deploy_facts(
        _cut(deploys, end), known, commit_times, policy.incident_window
    )
    return today, period_rows(facts_then, nobody, day)


@dg.multi_asset(
    name="dora",
    specs=[
        dg.AssetSpec(
            DORA_DEPLOYMENTS.name,
            group_name="delivery",
            kinds={"python", "sql"},
            owners=OWNERS,
            deps=["deployments", "slo_status", COMMITS.name],
            description=DORA_DEPLOYMENTS.description,
        ),
        dg.AssetSpec(
            DORA_METRICS.name,
            group_name="delivery",
            kinds={"python", "sql"},
            owners=OWNERS,
            deps=["deployments", "slo_status", COMMITS.name],
            description=DORA_METRICS.description,
        ),
    ],
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
)
def dora(context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig):
    """Per day: the deploys that started on it and the DORA figures of the periods ending with
    it. A run replaces each of its days' deploy rows and period rows, in order; the metadata
    describes its last day."""
    for day in partition_days(context):
        today, metrics = evaluate_day(warehouse, day, cicl_config)
        start, end = day_start(day), day_start(day + timedelta(days=1))
        warehouse.ensure_table(DORA_DEPLOYMENTS)
        warehouse.execute(
            "DELETE FROM dora_deployments WHERE started_at >= @start AND started_at < @end",
            {"start": start, "end": end},
        )
        warehouse.append(DORA_DEPLOYMENTS, DORA_DEPLOYMENTS.from_records(today))
        warehouse.ensure_table(DORA_METRICS)
        week_start = periods(day)[0][1]
        # The week's row grows day by day: the latest day's replaces it.
        warehouse.execute(
            "DELETE FROM dora_metrics WHERE period_end > @week AND period_end <= @end "
            "AND (period = 'week' OR period_end = @end)",
            {"week": week_start, "end": end},
        )
        warehouse.append(DORA_METRICS, DORA_METRICS.from_records(metrics))
    production = [m for m in metrics if m["environment"] == "production"]
    yield dg.MaterializeResult(
        asset_key=DORA_DEPLOYMENTS.name,
        metadata={
            **table_metadata(DORA_DEPLOYMENTS, warehouse, ["deployment_id", "lead_time_h"]),
            "deploys_this_day": len(today),
            "failed_changes_this_day": sum(1 for f in today if f["change_failed"]),
        },
    )
    meta: dict[str, Any] = table_metadata(DORA_METRICS, warehouse, ["service", "period"])
    for m in production:
        if m["period"] == "30d":
            key = f"production/{m['service']}"
            meta[f"{key}/deploys_per_day_30d"] = m["deploys_per_day"]
            meta[f"{key}/change_failure_rate_30d"] = m["change_failure_rate"]
            if m["lead_time_median_h"] is not None:
                meta[f"{key}/lead_time_median_h_30d"] = m["lead_time_median_h"]
    chart = dora_chart(warehouse, end)
    if chart:
        meta["dora_over_time"] = dg.MetadataValue.md(chart)
    yield dg.MaterializeResult(asset_key=DORA_METRICS.name, metadata=meta)


ASSETS: list = [commits, dora]
CHECKS: list = []
