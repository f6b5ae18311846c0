"""Incidents: runs of page alerts of one SLO in ``slo_status``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

PAGE = "page"
# Page rows of one SLO closer than this are one incident (the alert flickers between rules).
DEFAULT_MERGE_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class Incident:
    slo_name: str
    service: str | None
    started_at: datetime
    ended_at: datetime  # the last evaluation time that paged

    @property
    def key(self) -> str:
        return f"{self.slo_name}@{self.started_at.isoformat()}"


def incidents_from_status(
    rows: Iterable[dict[str, Any]], merge_gap: timedelta = DEFAULT_MERGE_GAP
) -> list[Incident]:
    """Rows: slo_status rows (slo_name, service, evaluation_time, alert)."""
    pages = sorted(
        (r["slo_name"], r["evaluation_time"], r.get("service"))
        for r in rows
        if r.get("alert") == PAGE
    )
    found: list[Incident] = []
    for slo, at, service in pages:
        last = found[-1] if found else None
        if last and last.slo_name == slo and at - last.ended_at <= merge_gap:
            found[-1] = Incident(slo, last.service, last.started_at, at)
        else:
            found.append(Incident(slo, service, at, at))
    return found
