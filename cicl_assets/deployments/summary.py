"""Deployments from their status events, and the figures and approval findings over them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cicl_assets.ingest.values import sha256_digest

_RANK = {"pending": 0, "in_progress": 1}  # terminal statuses rank 2
_MERGED = (
    "environment",
    "service",
    "version",
    "commit_sha",
    "image_digest",
    "image",
    "provider",
    "actor",
    "approver",
    "approved_at",
    "change_window_start",
    "change_window_end",
    "rollback_of",
    "pipeline_run_id",
    "repo",
    "ref",
    "url",
    "release_manifest",
)
FAILED = ("failed", "rolled_back", "error")
FINISHED = ("succeeded", *FAILED)
EXECUTED = ("in_progress", *FINISHED)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _order(event: dict[str, Any]) -> tuple:
    at = event["event_at"]
    return (
        at or _EPOCH,
        _RANK.get(event["status"], 2),
        event["event_id"] or "",
    )


def merge_deployments(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per deployment_id: later events' values win, started_at is the earliest seen.

    The status is the latest event's, except that `inactive` (GitHub marks a deployment
    inactive once a newer one replaces it) does not hide an earlier succeeded/failed outcome.
    """
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_id[e["deployment_id"]].append(e)
    rows = []
    for dep_id, evs in by_id.items():
        evs.sort(key=_order)
        row: dict[str, Any] = {"deployment_id": dep_id, **dict.fromkeys(_MERGED)}
        for e in evs:
            for key in _MERGED:
                if e.get(key) is not None:
                    row[key] = e[key]
        statuses = [e["status"] for e in evs if e["status"]]
        status = statuses[-1] if statuses else None
        if status == "inactive":
            status = next((s for s in reversed(statuses) if s in FINISHED), status)
        starts = [e["started_at"] for e in evs if e.get("started_at")]
        finishes = [e["finished_at"] for e in evs if e.get("finished_at")]
        row.update(
            status=status,
            started_at=min(starts) if starts else None,
            finished_at=max(finishes) if finishes else None,
            events=len(evs),
            last_event_at=evs[-1]["event_at"],
            source_file=evs[-1]["source_file"],
        )
        rows.append(row)
    rows.sort(key=lambda r: (r["started_at"] or r["last_event_at"] or _EPOCH, r["deployment_id"]))
    return rows


def approval_findings(deployment: dict[str, Any]) -> list[str]:
    """Why a production deployment breaks the approval gate; empty when it does not."""
    if deployment.get("environment") != "production" or deployment.get("status") not in EXECUTED:
        return []
    problems = []
    if not deployment.get("approver"):
        problems.append("no approver")
    if not deployment.get("approved_at"):
        problems.append("no approved_at")
    start, end = deployment.get("change_window_start"), deployment.get("change_window_end")
    began = deployment.get("started_at")
    if start is None or end is None:
        problems.append("no change window")
    elif began is not None and not (start <= began <= end):
        problems.append(
            f"started {began.isoformat()} outside window {start.isoformat()} to {end.isoformat()}"
        )
    approved = deployment.get("approved_at")
    if approved is not None and began is not None and approved > began:
        problems.append("approved after it started")
    return problems


def deployment_figures(deployments: Sequence[dict[str, Any]]) -> dict[str, float | int]:
    """Numeric metadata: counts by environment and status, approvals, rollbacks, failure rate."""
    figures: dict[str, float | int] = {}
    for (env, status), n in sorted(
        Counter(
            (d["environment"] or "unknown", d["status"] or "unknown") for d in deployments
        ).items()
    ):
        figures[f"deployments/{env}/{status}"] = n
    rolled_back_ids = {d["rollback_of"] for d in deployments if d.get("rollback_of")}
    production = [d for d in deployments if d["environment"] == "production"]
    finished = [d for d in production if d["status"] in FINISHED]
    failures = [
        d for d in finished if d["status"] in FAILED or d["deployment_id"] in rolled_back_ids
    ]
    figures["production_deploys"] = len(production)
    figures["production_deploys_without_approval"] = sum(
        1
        for d in production
        if d["status"] in EXECUTED and not (d.get("approver") and d.get("approved_at"))
    )
    figures["production_deploys_failing_gate"] = sum(1 for d in production if approval_findings(d))
    figures["rollbacks"] = sum(1 for d in deployments if d.get("rollback_of"))
    figures["rolled_back_status"] = sum(1 for d in deployments if d["status"] == "rolled_back")
    figures["change_failure_rate_production"] = (
        round(len(failures) / len(finished), 4) if finished else 0.0
    )
    return figures


def match_subjects(
    attestations: Sequence[Mapping[str, Any]], deployments: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """For each deployment (a mapping with ``image_digest``, or an image reference ending in
    ``@sha256:...``), the attestations whose subject digest is that image's digest.

    ``status`` is ``verified`` when at least one matching attestation was verified,
    ``attested-unverified`` when some match but none verified, ``no-attestation`` when none
    match, ``no-digest`` when the deployment names no digest.
    """
    by_digest: dict[str, list[Mapping[str, Any]]] = {}
    for att in attestations:
        digest = sha256_digest(att.get("subject_digest"))
        if digest:
            by_digest.setdefault(digest, []).append(att)
    out = []
    for dep in deployments:
        digest = sha256_digest(dep.get("image_digest")) or sha256_digest(dep.get("image"))
        matches = by_digest.get(digest, []) if digest else []
        verified = [m for m in matches if m.get("verification") == "verified"]
        if not digest:
            status = "no-digest"
        elif verified:
            status = "verified"
        elif matches:
            status = "attested-unverified"
        else:
            status = "no-attestation"
        out.append(
            {
                "deployment": dict(dep),
                "image_digest": digest,
                "status": status,
                "attestations": list(matches),
                "verified_attestations": len(verified),
                "predicate_types": sorted(
                    {str(m["predicate_type"]) for m in matches if m.get("predicate_type")}
                ),
            }
        )
    return out
