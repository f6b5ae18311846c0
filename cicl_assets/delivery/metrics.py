"""DORA figures per service x environment over a period, from per-deploy facts."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cicl_assets.delivery.bands import (
    change_failure_rate_band,
    deployment_frequency_band,
    lead_time_band,
    recovery_band,
)
from cicl_assets.delivery.incidents import Incident

ROLLING_DAYS = (30, 90)
PRODUCTION = "production"
UNKNOWN_SERVICE = "(unknown)"  # an SLO that names no service


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def periods(as_of: date) -> list[tuple[str, datetime, datetime]]:
    """(name, start, end exclusive): the ISO week holding ``as_of`` up to its end, and the last
    30 and 90 days ending with it."""
    end = day_start(as_of + timedelta(days=1))
    week = day_start(week_start(as_of))
    return [
        ("week", week, end),
        *[(f"{n}d", end - timedelta(days=n), end) for n in ROLLING_DAYS],
    ]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def period_rows(
    facts: Sequence[dict[str, Any]],
    unattributed: Sequence[Incident],
    as_of: date,
) -> list[dict[str, Any]]:
    """One row per service x environment x period with deploys in it, and per production
    service with an incident in it that no deploy explains (its rates unknown, none deployed)."""
    rows = []
    for name, start, end in periods(as_of):
        inside = [f for f in facts if start <= f["started_at"] < end]
        orphans = [i for i in unattributed if start <= i.started_at < end]
        targets = sorted(
            {(f["service"], f["environment"]) for f in inside}
            | {(i.service or UNKNOWN_SERVICE, PRODUCTION) for i in orphans}
        )
        days = (end - start).total_seconds() / 86400
        for service, environment in targets:
            mine = [f for f in inside if (f["service"], f["environment"]) == (service, environment)]
            failed = [f for f in mine if f["change_failed"]]
            leads = [f["lead_time_h"] for f in mine if f["lead_time_h"] is not None]
            recoveries = [f["recovery_h"] for f in failed if f["recovery_h"] is not None]
            per_day = round(len(mine) / days, 4)
            cfr = round(len(failed) / len(mine), 4) if mine else None
            lead = _median(leads)
            recovery = _median(recoveries)
            causes = Counter(c for f in failed for c in (f["failure_causes"] or "").split(","))
            rows.append(
                {
                    "service": service,
                    "environment": environment,
                    "period": name,
                    "period_start": start,
                    "period_end": end,
                    "as_of": end,
                    "deployments": len(mine),
                    "deploys_per_day": per_day,
                    "deployment_frequency_band": deployment_frequency_band(per_day),
                    "lead_time_median_h": lead,
                    "lead_time_deploys": len(leads),
                    "lead_time_from_deployed_commit": sum(
                        1 for f in mine if f["lead_time_from"] != "first_commit"
                    ),
                    "lead_time_band": lead_time_band(lead),
                    "failed_deployments": len(failed),
                    "change_failure_rate": cfr,
                    "change_failure_rate_band": change_failure_rate_band(cfr),
                    "failure_causes": json.dumps(dict(sorted(causes.items()))),
                    "recovery_median_h": recovery,
                    "unrecovered_failures": len(failed) - len(recoveries),
                    "recovery_band": recovery_band(recovery),
                    "incidents_without_deploy": sum(
                        1
                        for i in orphans
                        if (i.service or UNKNOWN_SERVICE) == service and environment == PRODUCTION
                    ),
                }
            )
    return rows
