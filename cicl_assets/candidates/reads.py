"""What candidate generation reads from the warehouse: open findings, the latest day's routing
proposals, the failure modes and production deploys that runbook sections describe."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cicl_assets.learning.failure_modes.signature import mode_id
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FINDING_COLUMNS = (
    "finding_id, kind, status, severity, title, series_key, service_name, span_name, "
    "operation, workflow, gen_ai_provider, gen_ai_model, metric, baseline_value, current_value, "
    "effect_ratio, p_value, n_baseline, n_current, change_at, deployment_id, service_version, "
    "commit_sha, deployed_service, first_detectable_at, data_through, resolved_at, evidence"
)


@dataclass
class Inputs:
    """Everything the generators look at, read once per run."""

    findings: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    modes: dict[str, dict[str, Any]] = field(default_factory=dict)
    deploys: list[dict[str, Any]] = field(default_factory=list)
    flaky: dict[str, dict[str, Any]] = field(default_factory=dict)


def _rows(warehouse: Warehouse, table: str, sql: str, params: dict | None = None) -> list[dict]:
    if not warehouse.table_exists(table):
        return []
    return warehouse.query(sql, params or {}).to_pylist()


def read_inputs(warehouse: Warehouse) -> Inputs:
    findings = _rows(
        warehouse,
        "cl_findings",
        f"SELECT {FINDING_COLUMNS} FROM cl_findings WHERE status IN ('open', 'resolved') "
        "ORDER BY finding_id",
    )
    latest = _rows(
        warehouse, "routing_proposals", "SELECT MAX(as_of) AS as_of FROM routing_proposals"
    )
    proposals = []
    if latest and latest[0]["as_of"] is not None:
        day = latest[0]["as_of"]
        proposals = _rows(
            warehouse,
            "routing_proposals",
            "SELECT * FROM routing_proposals WHERE as_of >= @day AND as_of < @next "
            "AND status = 'open' ORDER BY model_group",
            {"day": day, "next": day + timedelta(days=1)},
        )
    inputs = Inputs(
        findings=[f for f in findings if f["status"] == "open"],
        resolved=[f for f in findings if f["status"] == "resolved"],
        proposals=proposals,
    )
    inputs.modes = read_modes(
        warehouse, [f for f in inputs.findings if f["kind"] == "failure_mode"]
    )
    inputs.deploys = _rows(
        warehouse,
        "deployments",
        "SELECT deployment_id, service, version, commit_sha, started_at FROM deployments "
        "WHERE environment = 'production' AND started_at >= @since ORDER BY started_at",
        {"since": EPOCH},
    )
    inputs.flaky = {
        r["test_key"]: r
        for r in _rows(
            warehouse,
            "flaky_tests",
            "SELECT test_key, failed_runs_caused, passed_on_retry, as_of FROM flaky_tests "
            "WHERE as_of >= (SELECT MAX(as_of) FROM flaky_tests)",
        )
    }
    return inputs


def read_modes(warehouse: Warehouse, findings: list[dict[str, Any]]) -> dict[str, dict]:
    """The failure_modes row of each failure-mode finding's first day, by finding id: what the
    mode looked like when it began (later days only add counts)."""
    if not findings:
        return {}
    wanted = {}
    for f in findings:
        signature = f["series_key"].removeprefix("signature=")
        wanted[f["finding_id"]] = (mode_id(signature), f["change_at"])
    days = sorted(
        {at.replace(hour=0, minute=0, second=0, microsecond=0) for _, at in wanted.values()}
    )
    rows = _rows(
        warehouse,
        "failure_modes",
        "SELECT * FROM failure_modes WHERE day >= @first AND day <= @last "
        f"AND mode_id IN {IN_ARRAY.format(param='ids')}",
        {"first": days[0], "last": days[-1], "ids": sorted({m for m, _ in wanted.values()})},
    )
    by_key = {(r["mode_id"], r["day"]): r for r in rows}
    out = {}
    for fid, (mid, at) in wanted.items():
        row = by_key.get((mid, at.replace(hour=0, minute=0, second=0, microsecond=0)))
        if row is not None:
            out[fid] = row
    return out
