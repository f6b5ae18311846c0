"""What surrounded a production deployment, for its evidence bundle: the status of its service's
SLOs before it started and once its watch window closed, the alerts in that window, and the scan
findings still open in the runs that built its digest.

Every value comes from the warehouse (never the clock), so a rerun states the same context; it
changes only as SLO evaluations or findings arrive, and then the next bundle is cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from cicl_assets.compliance.policy import BundlePolicy
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

_LATEST = (
    "SELECT slo_name, evaluation_time, sli, error_budget_remaining, alert FROM slo_status "
    "WHERE service = @service AND evaluation_time >= @since AND evaluation_time <= @until "
    "QUALIFY ROW_NUMBER() OVER (PARTITION BY slo_name ORDER BY evaluation_time DESC) = 1"
)
_ALERTS = (
    "SELECT slo_name, alert, COUNT(*) AS n FROM slo_status WHERE service = @service "
    "AND evaluation_time > @since AND evaluation_time <= @until AND alert IN ('page', 'ticket') "
    "GROUP BY slo_name, alert"
)
# The newest evaluation at most this old stands for the status at the watch window's end.
_STATUS_AGE = timedelta(hours=1)


def _time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _status(row: Mapping[str, Any]) -> dict[str, Any]:
    remaining = row.get("error_budget_remaining")
    return {
        "evaluatedAt": _time(row["evaluation_time"]),
        "sli": row.get("sli"),
        "errorBudgetRemaining": round(remaining, 6) if remaining is not None else None,
        "alert": row.get("alert"),
    }


def slo_context(
    warehouse: Warehouse, deployment: Mapping[str, Any], policy: BundlePolicy
) -> dict[str, Any]:
    """The SLOs of the deployment's service around it: the status at its start, at the end of its
    watch window (once evaluations reach it), and the page/ticket evaluations in between."""
    started, finished = deployment.get("started_at"), deployment.get("finished_at")
    if started is None or finished is None:
        return {"window": None, "slos": []}
    until = finished + policy.slo_after
    window = {"from": _time(started - policy.slo_before), "to": _time(until)}
    if not warehouse.table_exists("slo_status"):
        return {"window": window, "slos": []}
    service = deployment.get("service")

    def latest(at: datetime, age: timedelta) -> dict[str, dict]:
        rows = warehouse.query(_LATEST, {"service": service, "since": at - age, "until": at})
        return {r["slo_name"]: _status(r) for r in rows.to_pylist()}

    before, after = latest(started, policy.slo_before), latest(until, _STATUS_AGE)
    alerts: dict[str, dict[str, int]] = {}
    for r in warehouse.query(
        _ALERTS, {"service": service, "since": finished, "until": until}
    ).to_pylist():
        alerts.setdefault(r["slo_name"], {})[r["alert"]] = int(r["n"])
    names = sorted(set(before) | set(after) | set(alerts))
    return {
        "window": window,
        "slos": [
            {
                "slo": name,
                "atStart": before.get(name),
                "atWindowEnd": after.get(name),
                "alertEvaluations": alerts.get(name, {}),
            }
            for name in names
        ],
    }


def open_findings(warehouse: Warehouse, run_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """pipeline_run_id -> the findings its scans left open, in a stable order."""
    if not run_ids or not warehouse.table_exists("ci_findings"):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in warehouse.query(
        "SELECT DISTINCT pipeline_run_id, tool, rule_id, severity, package_name, "
        "installed_version FROM ci_findings WHERE status = 'open' AND pipeline_run_id IN "
        f"{IN_ARRAY.format(param='ids')}",
        {"ids": sorted(set(run_ids))},
    ).to_pylist():
        out.setdefault(r.pop("pipeline_run_id"), []).append(
            {
                "tool": r["tool"],
                "ruleId": r["rule_id"],
                "severity": r["severity"],
                "package": r["package_name"],
                "installedVersion": r["installed_version"],
            }
        )
    return out


def findings_of(
    by_run: Mapping[str, list[dict[str, Any]]], run_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The open findings of ``run_ids``, each once, most severe first."""
    order = {s: i for i, s in enumerate(("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"))}
    unique = {
        tuple(sorted(f.items(), key=lambda kv: kv[0])): f
        for i in run_ids
        for f in by_run.get(i, [])
    }
    return sorted(
        unique.values(),
        key=lambda f: (order.get(str(f["severity"]), 9), str(f["ruleId"]), str(f["package"])),
    )
