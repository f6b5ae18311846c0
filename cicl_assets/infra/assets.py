"""Assets of the infra group: OpenTofu plans, apply logs, drift issues and evidence retention."""

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from cicl_assets.audit.chain import record_action
from cicl_assets.infra.drift import derive_drift
from cicl_assets.infra.linking import link_readable_artifacts
from cicl_assets.infra.retention import EVIDENCE_RETENTION, apply_retention
from cicl_assets.infra.retention_policy import (
    RETENTION_ALLOW_LIST,
    load_policy,
    retention_audit_events,
)
from cicl_assets.infra.stream import INFRA_STREAM, INFRA_STREAM_TABLES
from cicl_assets.infra.tables import (
    INFRA_APPLY_LOGS,
    INFRA_DRIFT,
    INFRA_DRIFT_CHECKS,
    INFRA_DRIFT_ISSUES,
    INFRA_DRIFT_OBSERVATIONS,
    INFRA_PLAN_CHANGES,
    INFRA_PLAN_CHECKS,
    INFRA_PLANS,
)
from cicl_assets.ingest.values import require_time
from cicl_assets.metadata import counts_by, markdown_table, table_metadata
from cicl_assets.resources import CiclConfig
from cicl_assets.stream_assets import AssetView, DeclaredStream, StreamRun, build_stream_asset
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import INGESTED_FILES, TableSpec

OWNERS = ["team:platform"]
KINDS = {"python", "terraform"}
_PREVIEWS = {
    INFRA_PLANS.name: ["environment", "plan_file", "create_count", "update_count", "errored"],
    INFRA_PLAN_CHANGES.name: [
        "environment",
        "address",
        "actions",
        "is_drift",
        "changed_attributes",
    ],
    INFRA_PLAN_CHECKS.name: ["environment", "address", "kind", "status", "problems"],
    INFRA_APPLY_LOGS.name: ["environment", "address", "outcome", "elapsed_s", "error"],
    INFRA_DRIFT.name: ["environment", "checked_at", "address", "status", "changed_attributes"],
    INFRA_DRIFT_ISSUES.name: ["environment", "address", "status", "opened_at", "occurrences"],
}


def _spec(table: TableSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=table.name,
        group_name="infra",
        kinds=KINDS,
        owners=OWNERS,
        description=table.description,
    )


def plan_figures(warehouse: Warehouse) -> dict[str, Any]:
    row = warehouse.query(
        "SELECT COUNT(*) AS plans, SUM(CASE WHEN errored THEN 1 ELSE 0 END) AS errored, "
        "SUM(CASE WHEN is_refresh_only THEN 1 ELSE 0 END) AS refresh_only, "
        "SUM(checks_failed) AS checks_failed FROM infra_plans"
    ).to_pylist()[0]
    return {f"plans_{k}" if k != "plans" else k: int(v or 0) for k, v in row.items()}


def plan_change_figures(warehouse: Warehouse) -> dict[str, Any]:
    """Planned actions in total and per environment, and resources drifted under a plan."""
    by_environment = warehouse.query(
        "SELECT environment, actions, COUNT(*) AS n FROM infra_plan_changes "
        "WHERE NOT is_drift GROUP BY environment, actions"
    ).to_pylist()
    by_action: Counter[str] = Counter()
    per_environment: dict[str, int] = {}
    for row in by_environment:
        by_action[str(row["actions"])] += int(row["n"])
        per_environment[f"changes/{row['environment'] or 'unknown'}/{row['actions']}"] = int(
            row["n"]
        )
    meta: dict[str, Any] = {f"changes/{a}": n for a, n in sorted(by_action.items())}
    meta.update(sorted(per_environment.items()))
    meta["drifted_resources_in_plans"] = int(
        warehouse.query("SELECT COUNT(*) AS n FROM infra_plan_changes WHERE is_drift")
        .column(0)[0]
        .as_py()
    )
    return meta


def plan_check_figures(warehouse: Warehouse) -> dict[str, Any]:
    by_status = counts_by(warehouse, INFRA_PLAN_CHECKS.name, "status")
    return {f"checks/{s}": n for s, n in sorted(by_status.items(), key=str)}


def apply_log_figures(warehouse: Warehouse) -> dict[str, Any]:
    by_outcome = counts_by(warehouse, INFRA_APPLY_LOGS.name, "outcome")
    return {f"outcomes/{o}": n for o, n in sorted(by_outcome.items(), key=str)}


_FIGURES = {
    INFRA_PLANS.name: (plan_figures,),
    INFRA_PLAN_CHANGES.name: (plan_change_figures,),
    INFRA_PLAN_CHECKS.name: (plan_check_figures,),
    INFRA_APPLY_LOGS.name: (apply_log_figures,),
}


def _link_plan_texts(warehouse: Warehouse, run: StreamRun) -> dict[str, Any]:
    return {"plans_linked_to_readable_text": link_readable_artifacts(warehouse)}


INFRA = DeclaredStream(
    spec=INFRA_STREAM,
    group="infra",
    owners=tuple(OWNERS),
    kinds=frozenset(KINDS),
    views=tuple(
        AssetView(t, tuple(_PREVIEWS.get(t.name, ())), _FIGURES.get(t.name, ()))
        for t in INFRA_STREAM_TABLES
    ),
    op_name="infra_landing_ingest",
    after_ingest=_link_plan_texts,
    reads="OpenTofu `show -json` plans, binary plans, plan-readable.txt, apply logs and drift "
    "checks, one folder per environment; plans are linked to the plan text beside them",
)

infra_landing_ingest = build_stream_asset(INFRA)


def _ingested_at(warehouse: Warehouse) -> dict[str, datetime]:
    rows = warehouse.query(
        "SELECT source_file, MIN(ingested_at) AS first_ingested_at FROM ingested_files "
        "WHERE stream = @stream GROUP BY source_file",
        {"stream": INFRA_STREAM.name},
    ).to_pylist()
    return {r["source_file"]: r["first_ingested_at"] for r in rows}


@dg.multi_asset(
    name="infra_drift_derive",
    specs=[
        _spec(INFRA_DRIFT).replace_attributes(
            deps=[INFRA_DRIFT_CHECKS.name, INFRA_DRIFT_OBSERVATIONS.name]
        ),
        _spec(INFRA_DRIFT_ISSUES).replace_attributes(
            deps=[INFRA_DRIFT_CHECKS.name, INFRA_DRIFT_OBSERVATIONS.name]
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "no_open_drift",
            asset=INFRA_DRIFT_ISSUES.name,
            description="No drift issue is open (daily drift detection found nothing new).",
        )
    ],
)
def infra_drift_derive(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """One row per drifted resource per check (infra_drift) and per drift issue (issues).

    A check without its own time is dated by when its file was ingested. Issues are permanent:
    an issue already in the table and absent from this derivation is kept as it was.
    """
    for spec in (
        INGESTED_FILES,
        INFRA_DRIFT_CHECKS,
        INFRA_DRIFT_OBSERVATIONS,
        INFRA_DRIFT,
        INFRA_DRIFT_ISSUES,
    ):
        warehouse.ensure_table(spec)
    ingested = _ingested_at(warehouse)
    checks = warehouse.read_table(INFRA_DRIFT_CHECKS.name).to_pylist()
    observations = warehouse.read_table(INFRA_DRIFT_OBSERVATIONS.name).to_pylist()
    for row in (*checks, *observations):
        if row["checked_at"] is None:
            row["checked_at"] = ingested.get(row["source_file"])
    drift_rows, issues = derive_drift(checks, observations)
    warehouse.replace_table(INFRA_DRIFT, INFRA_DRIFT.from_records(drift_rows))
    # Issues are permanent: derived ones are updated in place or added, in one statement;
    # an issue this derivation no longer sees stays as it was.
    warehouse.upsert(INFRA_DRIFT_ISSUES, INFRA_DRIFT_ISSUES.from_records(issues))
    all_issues = warehouse.read_table(INFRA_DRIFT_ISSUES.name).to_pylist()
    open_issues = [i for i in all_issues if i["status"] == "open"]
    by_env = Counter(i["environment"] or "unknown" for i in open_issues)
    yield dg.MaterializeResult(
        asset_key=INFRA_DRIFT.name,
        metadata={
            **table_metadata(INFRA_DRIFT, warehouse, _PREVIEWS[INFRA_DRIFT.name]),
            "drift_checks": len(checks),
        },
    )
    yield dg.MaterializeResult(
        asset_key=INFRA_DRIFT_ISSUES.name,
        metadata={
            **table_metadata(INFRA_DRIFT_ISSUES, warehouse, _PREVIEWS[INFRA_DRIFT_ISSUES.name]),
            "open_issues": len(open_issues),
            "resolved_issues": len(all_issues) - len(open_issues),
            **{f"open_issues/{env}": n for env, n in sorted(by_env.items())},
        },
    )
    # Drift is a finding to act on, not a reason to stop the evidence pipeline: WARN.
    yield dg.AssetCheckResult(
        asset_key=INFRA_DRIFT_ISSUES.name,
        check_name="no_open_drift",
        passed=not open_issues,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "open_issues": len(open_issues),
            "open": dg.MetadataValue.md(
                markdown_table(
                    INFRA_DRIFT_ISSUES.from_records(open_issues).select(
                        ["environment", "address", "opened_at", "last_seen_at", "occurrences"]
                    ),
                    max_rows=20,
                )
            ),
        },
    )


class RetentionConfig(dg.Config):
    as_of: str | None = Field(
        default=None,
        description=(
            "RFC 3339 time to measure expiry against; default: the policy file's as_of, else "
            "its clock (CICL_RETENTION_CLOCK overrides it): wall, now; data, the earlier of now "
            "and the newest planned_at/applied_at in the data"
        ),
    )
    policy_file: str = Field(
        default="policies/retention.yaml", description="under the config directory"
    )


@dg.asset(
    name=EVIDENCE_RETENTION.name,
    group_name="infra",
    kinds={"python", "sql"},
    owners=["team:compliance"],
    deps=list(RETENTION_ALLOW_LIST),
    description=EVIDENCE_RETENTION.description,
)
def evidence_retention(
    context: dg.AssetExecutionContext,
    config: RetentionConfig,
    warehouse: Warehouse,
    cicl_config: CiclConfig,
) -> dg.MaterializeResult:
    """One row per table per retention run: expired plan artifacts (30 d) and apply logs (90 d)
    deleted. Drift tables are not on the allow-list and can never be touched.

    Each table's deletion is appended to the audit chain (action ``retention_deletion``).
    """
    policy = load_policy(cicl_config.path / config.policy_file)
    if config.as_of or cicl_config.retention_clock:
        policy = type(policy)(
            keep_days=policy.keep_days,
            as_of=require_time(config.as_of, "as_of") if config.as_of else policy.as_of,
            clock=cicl_config.retention_clock or policy.clock,
        )
    now = datetime.now(UTC)
    outcome = apply_retention(warehouse, policy, now)
    warehouse.append(
        EVIDENCE_RETENTION,
        EVIDENCE_RETENTION.from_records(
            [
                {
                    "run_at": now,
                    "run_id": context.run.run_id,
                    "as_of": outcome.as_of,
                    "as_of_basis": outcome.as_of_basis,
                    "table_name": table,
                    "keep_days": policy.keep_days[table],
                    "rows_deleted": n,
                }
                for table, n in outcome.deleted.items()
            ]
        ),
    )
    context.log.info(f"retention as of {outcome.as_of} ({outcome.as_of_basis}): {outcome.deleted}")
    notary = cicl_config.chain_notary(warehouse)
    chained = [
        record_action(
            warehouse,
            action="retention_deletion",
            actor="evidence_retention",
            resource=f"table/{event['table']}",
            details=event,
            event_id=f"retention:{context.run.run_id}:{event['table']}",
            notary=notary,
        )
        for event in retention_audit_events(outcome.deleted, outcome.as_of)
    ]
    return dg.MaterializeResult(
        metadata={
            **table_metadata(EVIDENCE_RETENTION, warehouse),
            "as_of": outcome.as_of.isoformat(),
            "as_of_basis": outcome.as_of_basis,
            "rows_deleted": sum(outcome.deleted.values()),
            **{f"rows_deleted/{t}": n for t, n in sorted(outcome.deleted.items())},
            "audit_events_appended": len(chained),
        }
    )


ASSETS: list = [infra_landing_ingest, infra_drift_derive, evidence_retention]
CHECKS: list = []
