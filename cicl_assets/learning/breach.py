"""When an SLO alert launches a CL evaluation: the decision shared by the sensor and `make run`.

Pure: slo_status rows and a JSON cursor in, run requests and the next cursor out. A run is asked
for each page or ticket row not seen before, at most one per (SLO, alert, hour) - the run_key
says so - and none for an SLO within ``cooldown`` of its last run unless the alert escalated
(a page after a ticket). Rows without sufficient data never launch anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from cicl_assets.ingest.values import checked_time, require_time
from cicl_assets.settings import DEFAULT_SLO_BREACH_COOLDOWN_MINUTES
from cicl_assets.slo.burn import ALERT_PAGE, ALERT_TICKET

if TYPE_CHECKING:
    from cicl_assets.audit.notary import ChainNotary

CL_EVALUATION_JOB = "cl_evaluation"
BREACH_REPORT_ASSET = "slo_breach_report"
# An ongoing alert re-triggers a review at most twice a day; a new or escalated alert at once.
DEFAULT_COOLDOWN = timedelta(minutes=DEFAULT_SLO_BREACH_COOLDOWN_MINUTES)
FIRING = (ALERT_PAGE, ALERT_TICKET)
SEVERITY_RANK = {ALERT_TICKET: 1, ALERT_PAGE: 2}
STATUS_COLUMNS = (
    "slo_name",
    "evaluation_time",
    "alert",
    "alert_window",
    "alert_burn_rate",
    "burn_rate_1h",
    "error_budget_remaining",
)


class BreachContext(dg.Config):
    """The SLO alert a CL evaluation looks into. Empty ``slo_name``: the latest page or ticket
    found in slo_status (so a plain batch run still reports the most recent breach)."""

    slo_name: str = Field(default="", description="the SLO that alerted")
    alert: str = Field(default="", description="page or ticket")
    alert_window: str = Field(default="", description="rule that fired, e.g. 1h/5m")
    evaluation_time: str = Field(default="", description="ISO time of the alerting evaluation")
    burn_rate: float = Field(default=0.0, description="burn rate over the rule's long window")


@dataclass(frozen=True)
class BreachRun:
    slo_name: str
    alert: str
    alert_window: str
    evaluation_time: datetime
    burn_rate: float
    error_budget_remaining: float | None

    @property
    def run_key(self) -> str:
        return f"slo-breach:{self.slo_name}:{self.alert}:{self.evaluation_time:%Y-%m-%dT%H}"

    @property
    def audit_event_id(self) -> str:
        return f"cl_review_triggered:{self.run_key}"

    def context(self) -> BreachContext:
        return BreachContext(
            slo_name=self.slo_name,
            alert=self.alert,
            alert_window=self.alert_window,
            evaluation_time=self.evaluation_time.isoformat(),
            burn_rate=self.burn_rate,
        )

    def run_config(self) -> dict[str, Any]:
        return {"ops": {BREACH_REPORT_ASSET: {"config": self.context().model_dump()}}}

    def tags(self) -> dict[str, str]:
        return {
            "cicl/slo": self.slo_name,
            "cicl/alert": self.alert,
            "cicl/alert_window": self.alert_window,
            "cicl/evaluation_time": self.evaluation_time.isoformat(),
            "cicl/breach_key": self.run_key,
        }


def read_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {"last_evaluation_time": None, "last_run": {}}
    data = json.loads(cursor)
    data.setdefault("last_evaluation_time", None)
    data.setdefault("last_run", {})
    return data


def decide_breach_runs(
    status_rows: list[dict[str, Any]],
    cursor: str | None,
    now: datetime,
    cooldown: timedelta = DEFAULT_COOLDOWN,
) -> tuple[list[BreachRun], str]:
    """Runs to request for the rows after the cursor, and the cursor to keep.

    The cursor holds the last evaluation time seen and, per SLO, the evaluation time and alert
    of its last run. Cooldown and hours are on the data's clock (evaluation times), so history
    replayed in one go gives the same runs as a sensor that watched it live. ``now`` is the
    decision's wall time, kept in the cursor for people reading it.
    """
    state = read_cursor(cursor)
    seen = checked_time(state["last_evaluation_time"], "cursor last_evaluation_time")
    last_run: dict[str, dict[str, str]] = dict(state["last_run"])
    fresh = sorted(
        (r for r in status_rows if seen is None or r["evaluation_time"] > seen),
        key=lambda r: (r["evaluation_time"], r["slo_name"]),
    )
    runs: list[BreachRun] = []
    for row in fresh:
        if row.get("alert") not in FIRING:
            continue
        at: datetime = row["evaluation_time"]
        previous = last_run.get(row["slo_name"])
        if previous:
            since = at - require_time(previous["evaluation_time"], "cursor evaluation_time")
            escalated = SEVERITY_RANK[row["alert"]] > SEVERITY_RANK.get(previous["alert"], 0)
            if since < cooldown and not escalated:
                continue
        run = BreachRun(
            slo_name=row["slo_name"],
            alert=row["alert"],
            alert_window=row.get("alert_window") or "",
            evaluation_time=at,
            burn_rate=float(row.get("alert_burn_rate") or 0.0),
            error_budget_remaining=row.get("error_budget_remaining"),
        )
        if any(r.run_key == run.run_key for r in runs):
            continue
        runs.append(run)
        last_run[row["slo_name"]] = {"evaluation_time": at.isoformat(), "alert": row["alert"]}
    newest = max((r["evaluation_time"] for r in fresh), default=seen)
    new_cursor = {
        "last_evaluation_time": newest.isoformat() if newest else None,
        "last_run": last_run,
        "decided_at": now.isoformat(),
    }
    return runs, json.dumps(new_cursor, sort_keys=True)


def read_status_rows(warehouse: Any, after: datetime | None = None) -> list[dict[str, Any]]:
    """The slo_status rows a decision needs (only those after ``after`` when given)."""
    if not warehouse.table_exists("slo_status"):
        return []
    sql = f"SELECT {', '.join(STATUS_COLUMNS)} FROM slo_status"
    if after is None:
        return warehouse.query(sql).to_pylist()
    return warehouse.query(sql + " WHERE evaluation_time > @after", {"after": after}).to_pylist()


def audit_trigger(
    warehouse: Any,
    run: BreachRun,
    run_id: str | None,
    actor: str,
    notary: ChainNotary | None = None,
) -> None:
    """Chain a ``cl_review_triggered`` event and publish the chain's head through ``notary``;
    idempotent on the run_key."""
    from cicl_assets.audit.chain import record_action

    record_action(
        warehouse,
        action="cl_review_triggered",
        actor=actor,
        resource=f"slo/{run.slo_name}",
        details={
            "alert": run.alert,
            "alert_window": run.alert_window,
            "evaluation_time": run.evaluation_time.isoformat(),
            "burn_rate": run.burn_rate,
            "error_budget_remaining": run.error_budget_remaining,
            "run_key": run.run_key,
            "run_id": run_id,
            "job": CL_EVALUATION_JOB,
        },
        event_id=run.audit_event_id,
        notary=notary,
    )
