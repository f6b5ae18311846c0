"""What the auditor's report states about a period, read from the warehouse.

Every read of a time-series table carries a predicate on its time column, so a month's report
costs a month's data; the audit chain is the exception: verifying it means re-hashing every
link from the first, as the chain's own check does.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cicl_assets.audit.chain import read_chain
from cicl_assets.audit.judge import judge_chain
from cicl_assets.audit.notary import ChainNotary
from cicl_assets.compliance.policy import GatePolicy, Waiver
from cicl_assets.deployments.summary import EXECUTED
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

DEPLOYMENT_COLUMNS = (
    "deployment_id",
    "environment",
    "service",
    "version",
    "status",
    "started_at",
    "actor",
    "approver",
    "approved_at",
    "rollback_of",
    "image_digest",
    "verdict",
    "reasons",
    "checks",
    "waived",
)


@dataclass(frozen=True)
class ChainSummary:
    """The audit chain's verification against its published signed heads, at render time."""

    passed: bool
    description: str
    chain_length: int
    events_in_period: dict[str, int]
    heads_checked: int
    chain_id: str
    signed_by: str


@dataclass(frozen=True)
class ReportData:
    start: datetime
    end: datetime  # exclusive
    title: str
    deployments: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    rollbacks: list[dict[str, Any]]
    retention: list[dict[str, Any]]
    drift: list[dict[str, Any]]
    chain: ChainSummary
    slos: list[dict[str, Any]]
    slo_days: list[dict[str, Any]]
    dora: list[dict[str, Any]]
    dora_days: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed_gates(self) -> list[dict[str, Any]]:
        """One row per failing reason of a deployment of the period: id, check, reason."""
        rows = []
        for d in self.deployments:
            if d["verdict"] != "fail":
                continue
            for check, reasons in sorted(json.loads(d["checks"] or "{}").items()):
                rows += [{**_who(d), "check": check, "reason": r} for r in reasons]
        return rows

    @property
    def approvals(self) -> list[dict[str, Any]]:
        """Production deployments that ran, with who triggered and who approved them."""
        rows = []
        for d in self.deployments:
            if d["environment"] != "production" or d["status"] not in EXECUTED:
                continue
            reasons = json.loads(d["checks"] or "{}").get("approval")
            approval = "not required" if reasons is None else "; ".join(reasons) or "holds"
            rows.append(
                {
                    **_who(d),
                    "actor": d["actor"],
                    "approver": d["approver"],
                    "approved_at": d["approved_at"],
                    "approval": approval,
                }
            )
        return rows

    def figures(self) -> dict[str, int | bool]:
        """The headline figures, by stable name (the report's data-figure attributes and the
        asset's metadata keys)."""
        verdicts = Counter((d["environment"] or "unknown", d["verdict"]) for d in self.deployments)
        out: dict[str, int | bool] = {"deployments": len(self.deployments)}
        for (env, verdict), n in sorted(verdicts.items()):
            out[f"deployments/{env}/{verdict}"] = n
        out["production_deploys_failing_gate"] = sum(
            1
            for d in self.deployments
            if d["environment"] == "production"
            and d["status"] in EXECUTED
            and d["verdict"] == "fail"
        )
        out["failed_gate_reasons"] = len(self.failed_gates)
        out["waivers_used"] = sum(1 for w in self.waivers if w["waived"])
        out["waivers_expired_blocking"] = sum(1 for w in self.waivers if w["blocked"])
        out["rollbacks"] = len(self.rollbacks)
        out["rollbacks_not_known_good"] = sum(1 for r in self.rollbacks if not r["ok"])
        out["retention_rows_deleted"] = sum(int(r["rows_deleted"] or 0) for r in self.retention)
        out["drift_issues_open_at_end"] = sum(1 for d in self.drift if d["open_at_end"])
        out["drift_issues_opened"] = sum(1 for d in self.drift if d["opened_in_period"])
        out["drift_issues_closed"] = sum(1 for d in self.drift if d["closed_in_period"])
        out["audit_events_in_period"] = sum(self.chain.events_in_period.values())
        out["audit_chain_verified"] = self.chain.passed
        out["slo_page_evaluations"] = sum(int(s["page_evaluations"]) for s in self.slos)
        return out


def _who(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in ("deployment_id", "environment", "service", "started_at")}


def _rows(warehouse: Warehouse, table: str, sql: str, params: dict[str, Any]) -> list[dict]:
    if not warehouse.table_exists(table):
        return []
    return warehouse.query(sql, params).to_pylist()


def read_deployments(warehouse: Warehouse, start: datetime, end: datetime) -> list[dict]:
    return _rows(
        warehouse,
        "deployment_evidence",
        f"SELECT {', '.join(DEPLOYMENT_COLUMNS)} FROM deployment_evidence "
        "WHERE started_at >= @start AND started_at < @end "
        "ORDER BY environment, started_at, deployment_id",
        {"start": start, "end": end},
    )


def waiver_rows(
    waivers: tuple[Waiver, ...], deployments: list[dict[str, Any]], end: datetime
) -> list[dict[str, Any]]:
    """Each waiver of the gates policy: its owner, reason and expiry, whether it had expired
    by the period's end, the deployments it let through and those it no longer covered."""
    rows = []
    for w in waivers:
        waived, blocked = [], []
        for d in deployments:
            if any(f" {w.rule_id} " in f" {text} " for text in json.loads(d["waived"] or "[]")):
                waived.append(d["deployment_id"])
            scan = json.loads(d["checks"] or "{}").get("scan", [])
            if any(w.rule_id in r and "expired" in r and w.owner in r for r in scan):
                blocked.append(d["deployment_id"])
        rows.append(
            {
                "rule_id": w.rule_id,
                "services": ", ".join(w.services) or "all",
                "owner": w.owner,
                "reason": w.reason,
                "expires": w.expires,
                "state": "expired" if w.expires < end else "valid",
                "waived": waived,
                "blocked": blocked,
            }
        )
    return rows


def read_rollbacks(warehouse: Warehouse, start: datetime, end: datetime) -> list[dict]:
    return _rows(
        warehouse,
        "rollback_checks",
        "SELECT deployment_id, service, environment, rollback_of, from_digest, to_digest, "
        "known_good_digest, known_good_deployment_id, started_at, ok, finding "
        "FROM rollback_checks WHERE started_at >= @start AND started_at < @end "
        "ORDER BY started_at, deployment_id",
        {"start": start, "end": end},
    )


def read_retention(warehouse: Warehouse, start: datetime, end: datetime) -> list[dict]:
    return _rows(
        warehouse,
        "evidence_retention",
        "SELECT run_at, as_of, as_of_basis, table_name, keep_days, rows_deleted "
        "FROM evidence_retention WHERE run_at >= @start AND run_at < @end "
        "ORDER BY run_at, table_name",
        {"start": start, "end": end},
    )


def read_drift(warehouse: Warehouse, start: datetime, end: datetime) -> list[dict]:
    """Drift issues open at some moment of the period: opened before its end and not resolved
    before its start (issues are kept forever, so old open ones still count)."""
    rows = _rows(
        warehouse,
        "infra_drift_issues",
        "SELECT drift_issue_id, environment, address, type, status, opened_at, last_seen_at, "
        "resolved_at, occurrences FROM infra_drift_issues "
        "WHERE opened_at < @end AND (resolved_at IS NULL OR resolved_at >= @start) "
        "ORDER BY environment, opened_at, address",
        {"start": start, "end": end},
    )
    for r in rows:
        resolved = r["resolved_at"]
        r["open_at_end"] = resolved is None or resolved >= end
        r["opened_in_period"] = r["opened_at"] >= start
        r["closed_in_period"] = resolved is not None and start <= resolved < end
    return rows


def chain_summary(
    warehouse: Warehouse, notary: ChainNotary | str, start: datetime, end: datetime
) -> ChainSummary:
    """``notary`` is where the heads are published, or why they cannot be read."""
    rows = read_chain(warehouse)
    if isinstance(notary, str):
        passed, description, meta = False, f"not verified: {notary}", {}
    else:
        verdict = judge_chain(rows, notary)
        passed, description, meta = verdict.passed, verdict.description, verdict.metadata
    counts = _rows(
        warehouse,
        "audit_events",
        "SELECT source, COUNT(*) AS n FROM audit_events "
        "WHERE event_time >= @start AND event_time < @end GROUP BY source ORDER BY source",
        {"start": start, "end": end},
    )
    return ChainSummary(
        passed=passed,
        description=description,
        chain_length=len(rows),
        events_in_period={r["source"]: int(r["n"]) for r in counts},
        heads_checked=int(meta.get("heads_checked", 0)),
        chain_id=str(meta.get("chain_id", "")),
        signed_by=str(meta.get("signed_by", "")),
    )


def read_slos(
    warehouse: Warehouse, start: datetime, end: datetime
) -> tuple[list[dict], list[dict]]:
    """(per SLO: its last evaluation of the period and its alerting evaluations; per SLO and
    day: the lowest error budget left). An evaluation at ``end`` covers data up to it."""
    window = {"start": start, "end": end}
    days = _rows(
        warehouse,
        "slo_status",
        "SELECT slo_name, service, target, CAST(evaluation_time AS DATE) AS day, "
        "MIN(error_budget_remaining) AS worst_budget_remaining, "
        "MAX(evaluation_time) AS last_at, "
        "SUM(CASE WHEN alert = 'page' THEN 1 ELSE 0 END) AS pages, "
        "SUM(CASE WHEN alert = 'ticket' THEN 1 ELSE 0 END) AS tickets "
        "FROM slo_status WHERE evaluation_time > @start AND evaluation_time <= @end "
        "GROUP BY slo_name, service, target, CAST(evaluation_time AS DATE) "
        "ORDER BY slo_name, day",
        window,
    )
    if not days:
        return [], []
    last = {}
    for d in days:
        last[d["slo_name"]] = max(last.get(d["slo_name"], d["last_at"]), d["last_at"])
    final = {
        (r["slo_name"], r["evaluation_time"]): r
        for r in warehouse.query(
            "SELECT slo_name, evaluation_time, sli, error_budget_remaining, alert "
            "FROM slo_status WHERE evaluation_time > @start AND evaluation_time <= @end "
            f"AND evaluation_time IN {IN_ARRAY.format(param='times')}",
            {**window, "times": sorted(set(last.values()))},
        ).to_pylist()
    }
    slos = []
    for name in sorted(last):
        own = [d for d in days if d["slo_name"] == name]
        at_end = final.get((name, last[name]), {})
        budgets = [
            d["worst_budget_remaining"] for d in own if d["worst_budget_remaining"] is not None
        ]
        slos.append(
            {
                "slo_name": name,
                "service": own[0]["service"],
                "target": own[0]["target"],
                "last_evaluated_at": last[name],
                "sli": at_end.get("sli"),
                "error_budget_remaining": at_end.get("error_budget_remaining"),
                "alert": at_end.get("alert"),
                "worst_budget_remaining": min(budgets, default=None),
                "page_evaluations": sum(int(d["pages"]) for d in own),
                "ticket_evaluations": sum(int(d["tickets"]) for d in own),
            }
        )
    return slos, days


def read_dora(
    warehouse: Warehouse, start: datetime, end: datetime
) -> tuple[list[dict], list[dict]]:
    """(per service and environment: the 30-day figures as of the period's last evaluated day;
    every 30-day row of the period, for the picture)."""
    rows = _rows(
        warehouse,
        "dora_metrics",
        "SELECT service, environment, period_end, deployments, deploys_per_day, "
        "deployment_frequency_band, lead_time_median_h, lead_time_band, failed_deployments, "
        "change_failure_rate, change_failure_rate_band, recovery_median_h, recovery_band "
        "FROM dora_metrics WHERE period = '30d' AND period_end > @start AND period_end <= @end "
        "ORDER BY service, environment, period_end",
        {"start": start, "end": end},
    )
    latest: dict[tuple[str, str], dict] = {}
    for r in rows:
        latest[(r["service"], r["environment"])] = r
    return [latest[k] for k in sorted(latest)], rows


def gather_report(
    warehouse: Warehouse,
    notary: ChainNotary | str,
    policy: GatePolicy,
    start: datetime,
    end: datetime,
    title: str,
) -> ReportData:
    """Everything the report of [start, end) shows."""
    deployments = read_deployments(warehouse, start, end)
    slos, slo_days = read_slos(warehouse, start, end)
    dora, dora_days = read_dora(warehouse, start, end)
    return ReportData(
        start=start,
        end=end,
        title=title,
        deployments=deployments,
        waivers=waiver_rows(policy.waivers, deployments, end),
        rollbacks=read_rollbacks(warehouse, start, end),
        retention=read_retention(warehouse, start, end),
        drift=read_drift(warehouse, start, end),
        chain=chain_summary(warehouse, notary, start, end),
        slos=slos,
        slo_days=slo_days,
        dora=dora,
        dora_days=dora_days,
    )
