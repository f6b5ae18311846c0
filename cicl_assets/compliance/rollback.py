"""Last known good: which image digest a service may be rolled back to, and whether each
rollback went to one.

A deployment is known good once it succeeded, its evidence passed, and no failed change undid
it: it did not end failed, errored or rolled back, and no later deployment names it in
``rollback_of``. The rollback target of a service in an environment is the newest known-good
deployment's digest; a rollback to a digest that was not known good at its start is a finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

Row = Mapping[str, Any]


def _undone(rows: Sequence[Row], at: datetime | None) -> set[str]:
    return {
        str(r["rollback_of"])
        for r in rows
        if r.get("rollback_of") and (at is None or (r.get("started_at") and r["started_at"] < at))
    }


def known_good(rows: Sequence[Row], at: datetime | None = None) -> dict[tuple[str, str], list[Row]]:
    """Known-good deployments per (service, environment), oldest first, as known at ``at``
    (None: now). ``rows`` are deployment_evidence rows (status, verdict, started_at, ...)."""
    undone = _undone(rows, at)
    out: dict[tuple[str, str], list[Row]] = {}
    for r in sorted(rows, key=lambda r: (r.get("started_at") is None, r.get("started_at"))):
        if at is not None and (r.get("finished_at") is None or r["finished_at"] > at):
            continue
        if (
            r.get("status") != "succeeded"
            or r.get("verdict") != "pass"
            or not r.get("image_digest")
        ):
            continue
        if r["deployment_id"] in undone:
            continue
        out.setdefault((r["service"], r["environment"]), []).append(r)
    return out


def rollback_targets(rows: Sequence[Row], evaluated_at: datetime) -> list[dict[str, Any]]:
    """One row per (service, environment) that has a known-good deployment."""
    return [
        {
            "service": service,
            "environment": environment,
            "image_digest": good[-1]["image_digest"],
            "deployment_id": good[-1]["deployment_id"],
            "version": good[-1].get("version"),
            "deployed_at": good[-1].get("started_at"),
            "evaluated_at": evaluated_at,
        }
        for (service, environment), good in sorted(known_good(rows).items())
    ]


def short(digest: str | None) -> str:
    return f"{digest[:19]}..." if digest else "no digest"


def check_rollbacks(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """One row per rollback: where it came from and went to, and the finding when the digest
    it went to was not known good at its start."""
    by_id = {r["deployment_id"]: r for r in rows}
    out = []
    for r in rows:
        if not r.get("rollback_of"):
            continue
        undone = by_id.get(str(r["rollback_of"]))
        key = (r.get("service"), r.get("environment"))
        before = [g for g in known_good(rows, r.get("started_at")).get(key, []) if g is not r]  # type: ignore[arg-type]
        good_digests = {g["image_digest"] for g in before}
        target = before[-1] if before else None
        ok = r.get("image_digest") in good_digests
        finding = None
        if not ok:
            finding = (
                f"{r['deployment_id']} rolled {r.get('service')} back to "
                f"{short(r.get('image_digest'))}, which was not known good"
                + (
                    f"; the last known-good digest was {short(target['image_digest'])} "
                    f"({target['deployment_id']})"
                    if target
                    else "; no known-good digest existed"
                )
            )
        out.append(
            {
                "deployment_id": r["deployment_id"],
                "service": r.get("service"),
                "environment": r.get("environment"),
                "rollback_of": r["rollback_of"],
                "from_digest": undone.get("image_digest") if undone else None,
                "to_digest": r.get("image_digest"),
                "known_good_digest": target["image_digest"] if target else None,
                "known_good_deployment_id": target["deployment_id"] if target else None,
                "started_at": r.get("started_at"),
                "ok": ok,
                "finding": finding,
            }
        )
    return out
