"""An SLO breach, and when one launches a CL evaluation: one type, one pure decision.

``Breach`` is the page or ticket alert a CL evaluation looks into. The same object is what the
decision returns, the run config of ``slo_breach_report`` (so a run cannot be launched without
naming its breach), what the report is computed for, and the ``cl_review_triggered`` audit event
the run appends when its report is written. That event is the record that the breach was
reviewed: the decision reads it back from the warehouse, so the sensor under the daemon and
`make run` (which evaluates the same sensor) agree on what is left to review, whatever the
sensor's cursor holds.

``decide_breaches`` is pure: slo_status rows, the reviewed breaches and a JSON cursor in; the
breaches to review and the next cursor out. A page or ticket row not reviewed yet asks for a
run, at most one per (SLO, alert, hour) - the breach key says so - and none for an SLO within
``cooldown`` of its previous run unless the alert escalated (a page after a ticket). Rows without
sufficient data never launch anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from cicl_assets.ingest.values import checked_time, require_time
from cicl_assets.partitions import range_tags
from cicl_assets.settings import DEFAULT_SLO_BREACH_COOLDOWN_MINUTES
from cicl_assets.slo.burn import ALERT_PAGE, ALERT_TICKET, parse_duration_minutes

if TYPE_CHECKING:
    from cicl_assets.audit.notary import ChainNotary

CL_EVALUATION_JOB = "cl_evaluation"
BREACH_REPORT_ASSET = "slo_breach_report"
REVIEW_ACTION = "cl_review_triggered"
DECIDED_BY_TAG = "cicl/decided_by"
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


class Breach(dg.Config):
    """An SLO alert a CL evaluation looks into (the run config slo_breach_sensor fills)."""

    slo_name: str = Field(description="the SLO that alerted")
    alert: str = Field(description="page or ticket")
    evaluation_time: str = Field(description="ISO time of the alerting evaluation (UTC)")
    alert_window: str = Field(default="", description="rule that fired, e.g. 1h/5m")
    burn_rate: float = Field(default=0.0, description="burn rate over the rule's long window")
    error_budget_remaining: float | None = Field(
        default=None, description="share of the error budget left at the evaluation"
    )

    @classmethod
    def from_status_row(cls, row: dict[str, Any]) -> Breach:
        return cls(
            slo_name=row["slo_name"],
            alert=row["alert"],
            evaluation_time=row["evaluation_time"].isoformat(),
            alert_window=row.get("alert_window") or "",
            burn_rate=float(row.get("alert_burn_rate") or 0.0),
            error_budget_remaining=row.get("error_budget_remaining"),
        )

    @property
    def at(self) -> datetime:
        return require_time(self.evaluation_time, "evaluation_time")

    @property
    def key(self) -> str:
        """At most one review per (SLO, alert, hour): the run key of its evaluation."""
        return f"slo-breach:{self.slo_name}:{self.alert}:{self.at:%Y-%m-%dT%H}"

    @property
    def breach_id(self) -> str:
        """The report's rows of this breach."""
        return f"{self.slo_name}:{self.alert}:{self.at.isoformat()}"

    @property
    def long_window(self) -> timedelta:
        long = (self.alert_window or "1h").split("/")[0]
        return timedelta(minutes=parse_duration_minutes(long))

    @property
    def window_start(self) -> datetime:
        return self.at - self.long_window

    @property
    def partition_key(self) -> str:
        """The day partition of slo_status (and of its report) the breach's evaluation is in."""
        return self.at.astimezone(UTC).date().isoformat()

    @property
    def window_days(self) -> tuple[date, date]:
        """The first and last day of the breach window: the partitions its cl_evaluation run
        covers (the regressions of those days, the report on the last)."""
        return self.window_start.astimezone(UTC).date(), self.at.astimezone(UTC).date()

    def run_config(self) -> dict[str, Any]:
        return {"ops": {BREACH_REPORT_ASSET: {"config": self.model_dump()}}}

    def tags(self, decided_by: str) -> dict[str, str]:
        return {
            "cicl/slo": self.slo_name,
            "cicl/alert": self.alert,
            "cicl/alert_window": self.alert_window,
            "cicl/evaluation_time": self.at.isoformat(),
            "cicl/breach_key": self.key,
            DECIDED_BY_TAG: decided_by,
            **range_tags(*self.window_days),
        }

    def describe(self) -> str:
        return (
            f"{self.slo_name} {self.alert} at {self.at.isoformat()}, burn rate "
            f"{self.burn_rate:.1f} on {self.alert_window or 'its window'}"
        )


def read_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {"last_evaluation_time": None, "last_run": {}}
    data = json.loads(cursor)
    data.setdefault("last_evaluation_time", None)
    data.setdefault("last_run", {})
    return data


def decide_breaches(
    status_rows: list[dict[str, Any]],
    reviewed: Iterable[Breach],
    cursor: str | None,
    now: datetime,
    cooldown: timedelta = DEFAULT_COOLDOWN,
) -> tuple[list[Breach], str]:
    """Breaches to review among the rows after the cursor, and the cursor to keep.

    A breach's previous run is the latest one before it of its SLO among the reviewed breaches,
    those the cursor remembers asking for (their review may still be running) and those decided
    here. Cooldown and hours are on the data's clock (evaluation times), so history replayed in
    one go gives the same breaches as a sensor that watched it live. ``now`` is the decision's
    wall time, kept in the cursor for people reading it.
    """
    state = read_cursor(cursor)
    seen = checked_time(state["last_evaluation_time"], "cursor last_evaluation_time")
    runs: dict[str, list[tuple[datetime, str]]] = {}
    done: set[str] = set()
    for breach in reviewed:
        runs.setdefault(breach.slo_name, []).append((breach.at, breach.alert))
        done.add(breach.key)
    for slo, last in state["last_run"].items():
        at = require_time(last["evaluation_time"], "cursor evaluation_time")
        runs.setdefault(slo, []).append((at, last["alert"]))
        done.add(last.get("key", ""))
    fresh = sorted(
        (r for r in status_rows if seen is None or r["evaluation_time"] > seen),
        key=lambda r: (r["evaluation_time"], r["slo_name"]),
    )
    decided: list[Breach] = []
    last_run: dict[str, dict[str, str]] = dict(state["last_run"])
    for row in fresh:
        if row.get("alert") not in FIRING:
            continue
        breach = Breach.from_status_row(row)
        if breach.key in done:
            continue
        at = row["evaluation_time"]
        earlier = [run for run in runs.get(breach.slo_name, []) if run[0] <= at]
        if earlier:
            previous_at, previous_alert = max(earlier)
            escalated = SEVERITY_RANK[breach.alert] > SEVERITY_RANK.get(previous_alert, 0)
            if at - previous_at < cooldown and not escalated:
                continue
        decided.append(breach)
        done.add(breach.key)
        runs.setdefault(breach.slo_name, []).append((at, breach.alert))
        last_run[breach.slo_name] = {
            "evaluation_time": at.isoformat(),
            "alert": breach.alert,
            "key": breach.key,
        }
    newest = max((r["evaluation_time"] for r in fresh), default=seen)
    new_cursor = {
        "last_evaluation_time": newest.isoformat() if newest else None,
        "last_run": last_run,
        "decided_at": now.isoformat(),
    }
    return decided, json.dumps(new_cursor, sort_keys=True)


def read_status_rows(
    warehouse: Any, days: Iterable[date], firing_only: bool = False
) -> list[dict[str, Any]]:
    """The slo_status rows a decision needs: those of ``days`` (partitions just materialized).
    ``firing_only``: just the page and ticket rows and those of the latest evaluation time, all
    ``decide_breaches`` reads of them (a first run over months of days would otherwise hold
    every evaluation of every SLO: 369k rows at 128 days)."""
    from cicl_assets.partitions import day_ranges, day_start

    if not warehouse.table_exists("slo_status"):
        return []
    window = "evaluation_time >= @since AND evaluation_time < @until"
    where = window
    if firing_only:
        firing = ", ".join(f"'{alert}'" for alert in FIRING)
        where += (
            f" AND (alert IN ({firing}) OR evaluation_time = "
            f"(SELECT max(evaluation_time) FROM slo_status WHERE {window}))"
        )
    rows: list[dict[str, Any]] = []
    for first, last in day_ranges(days):
        rows += warehouse.query(
            f"SELECT {', '.join(STATUS_COLUMNS)} FROM slo_status WHERE {where}",
            {"since": day_start(first), "until": day_start(last) + timedelta(days=1)},
        ).to_pylist()
    return rows


def read_reviewed(warehouse: Any, since: datetime) -> list[Breach]:
    """The breaches whose evaluation wrote its report: the chain's review events recorded
    since ``since``. A review is recorded after the data that shows its breach, so reviews of
    breaches at or after ``since`` are all among them."""
    if not warehouse.table_exists("audit_events"):
        return []
    rows = warehouse.query(
        "SELECT details FROM audit_events WHERE event_time >= @since "
        "AND source = 'cicl' AND action = @action",
        {"action": REVIEW_ACTION, "since": since},
    ).to_pylist()
    fields = set(Breach.model_fields)
    reviewed = []
    for row in rows:
        details = json.loads(row["details"] or "{}")
        reviewed.append(
            Breach(**{k: v for k, v in details.get("breach", {}).items() if k in fields})
        )
    return reviewed


def reviews_since(status_rows: list[dict[str, Any]], cooldown: timedelta) -> datetime | None:
    """The earliest review a decision over ``status_rows`` can depend on: one in the cooldown
    before the first row, or in the same hour (the breach key's)."""
    if not status_rows:
        return None
    first = min(r["evaluation_time"] for r in status_rows)
    return first.replace(minute=0, second=0, microsecond=0) - cooldown


def record_review(
    warehouse: Any,
    breach: Breach,
    run_id: str,
    actor: str,
    notary: ChainNotary | None = None,
) -> None:
    """Chain the ``cl_review_triggered`` event of the run that reviewed ``breach`` and publish
    the chain's head through ``notary``; idempotent within the run."""
    from cicl_assets.audit.chain import record_action

    record_action(
        warehouse,
        action=REVIEW_ACTION,
        actor=actor,
        resource=f"slo/{breach.slo_name}",
        details={
            "breach": breach.model_dump(),
            "run_key": breach.key,
            "run_id": run_id,
            "job": CL_EVALUATION_JOB,
        },
        event_id=f"{REVIEW_ACTION}:{breach.key}:{run_id}",
        notary=notary,
    )
