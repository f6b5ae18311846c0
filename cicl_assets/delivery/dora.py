"""Per-deploy DORA facts: lead time, whether the change failed (once per deploy), recovery.

A production deploy is a failed change when it failed or errored, when a later deploy rolls it
back (``rollback_of``, or its own status ``rolled_back``), or when a page incident of an SLO of
its service starts within ``incident_window`` after it and it is that service's latest deploy
before the incident. However many of these happen, the deploy counts once; so the change failure
rate never exceeds 100%.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cicl_assets.delivery.incidents import Incident

PRODUCTION = "production"
FAILED_STATUSES = ("failed", "error")
DEFAULT_INCIDENT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class CommitTime:
    sha: str
    repo: str | None
    branch: str | None
    committed_at: datetime | None
    first_seen_at: datetime | None


def _end(d: Mapping[str, Any]) -> datetime:
    return d["finished_at"] or d["started_at"]


def _lead_time(
    deploy: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    commits: Mapping[str, CommitTime],
    by_repo: Mapping[str | None, list[CommitTime]],
) -> tuple[float | None, str, datetime | None]:
    """(hours, which time it runs from, that time). The change's first commit is the earliest
    pushed commit of the deployed commit's repository and branch after the previous deploy's
    commit and up to the deployed one; without both ends known, the deployed commit's own time
    (or, unpushed, when a CI run or deploy first named it) stands in, and the column says so."""
    target = commits.get(deploy["commit_sha"] or "")
    if target is None:
        return None, "unknown", None
    if target.committed_at is None:
        if target.first_seen_at is None:
            return None, "unknown", None
        start, basis = target.first_seen_at, "deployed_commit_first_seen"
    else:
        start, basis = target.committed_at, "deployed_commit"
        before = commits.get((previous or {}).get("commit_sha") or "")
        floor = before.committed_at if before is not None else None
        if previous is None or floor is not None:
            change = [
                c.committed_at
                for c in by_repo.get(target.repo, [])
                if c.branch == target.branch
                and c.committed_at is not None
                and c.committed_at <= target.committed_at
                and (floor is None or c.committed_at > floor)
            ]
            start, basis = min(change, default=start), "first_commit"
    hours = (_end(deploy) - start).total_seconds() / 3600
    return round(hours, 4), basis, start


def _next_good(good: Sequence[Mapping[str, Any]], since: datetime) -> datetime | None:
    return min((_end(o) for o in good if o["started_at"] >= since), default=None)


def deploy_facts(
    deploys: Sequence[Mapping[str, Any]],
    incidents: Sequence[Incident],
    commits: Mapping[str, CommitTime],
    incident_window: timedelta = DEFAULT_INCIDENT_WINDOW,
) -> tuple[list[dict[str, Any]], list[Incident]]:
    """One row per deploy that ran (any environment); and the incidents no deploy explains."""
    ran = sorted(
        (d for d in deploys if d.get("started_at") is not None and d.get("status") != "pending"),
        key=lambda d: (d["started_at"], d["deployment_id"]),
    )
    by_repo: dict[str | None, list[CommitTime]] = {}
    for c in commits.values():
        by_repo.setdefault(c.repo, []).append(c)
    rolled_back_by = {d["rollback_of"]: d for d in ran if d.get("rollback_of")}
    attributed: dict[str, list[Incident]] = {}
    unattributed = []
    for incident in incidents:
        culprit = None
        for d in ran:
            if (
                d["environment"] == PRODUCTION
                and d["service"] == incident.service
                and d["started_at"] <= incident.started_at <= _end(d) + incident_window
            ):
                culprit = d  # the latest such deploy wins: ``ran`` is in start order
        if culprit is None:
            unattributed.append(incident)
        else:
            attributed.setdefault(culprit["deployment_id"], []).append(incident)
    rows = []
    previous_by_target: dict[tuple, Mapping[str, Any]] = {}
    for d in ran:
        target = (d["service"], d["environment"])
        lead_h, lead_from, lead_start = _lead_time(
            d, previous_by_target.get(target), commits, by_repo
        )
        previous_by_target[target] = d
        causes: list[tuple[str, datetime, datetime | None]] = []
        good_after = [
            o
            for o in ran
            if (o["service"], o["environment"]) == target
            and o["status"] == "succeeded"
            and o["started_at"] > d["started_at"]
        ]

        if d["status"] in FAILED_STATUSES:
            causes.append(("failed_deploy", _end(d), _next_good(good_after, _end(d))))
        rollback = rolled_back_by.get(d["deployment_id"])
        if rollback is not None or d["status"] == "rolled_back":
            # The bad change was live from the end of its deploy until the rollback finished.
            recovered = _end(rollback) if rollback and rollback["status"] == "succeeded" else None
            causes.append(("rollback", _end(d), recovered or _next_good(good_after, _end(d))))
        for incident in attributed.get(d["deployment_id"], []):
            good = _next_good(good_after, incident.started_at)
            ends = [t for t in (incident.ended_at, good) if t is not None]
            causes.append(("incident", incident.started_at, min(ends)))
        failure_at = min((c[1] for c in causes), default=None)
        recovered_at = None
        if causes and all(c[2] is not None for c in causes):
            recovered_at = max(c[2] for c in causes)
        rows.append(
            {
                "deployment_id": d["deployment_id"],
                "service": d["service"],
                "environment": d["environment"],
                "version": d.get("version"),
                "commit_sha": d.get("commit_sha"),
                "status": d["status"],
                "started_at": d["started_at"],
                "finished_at": d.get("finished_at"),
                "rollback_of": d.get("rollback_of"),
                "change_started_at": lead_start,
                "lead_time_h": lead_h,
                "lead_time_from": lead_from,
                "change_failed": bool(causes),
                "failure_causes": ",".join(sorted({c[0] for c in causes})) or None,
                "incidents": json.dumps([i.key for i in attributed.get(d["deployment_id"], [])]),
                "failure_at": failure_at,
                "recovered_at": recovered_at,
                "recovery_h": (
                    round((recovered_at - failure_at).total_seconds() / 3600, 4)
                    if recovered_at and failure_at
                    else None
                ),
            }
        )
    return rows, unattributed
