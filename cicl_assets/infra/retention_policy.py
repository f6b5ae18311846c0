"""Evidence retention policy: plan artifacts 30 days, apply logs 90 days, drift forever.

The allow-list below is the only way retention code can name a table; drift tables are not on
it, so no policy file, config or caller can make retention delete drift evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cicl_assets.ingest.values import checked_time

PLAN_ARTIFACT_DAYS = 30
APPLY_LOG_DAYS = 90

# table -> days kept; every table listed here has an ``expires_at`` column set at ingestion.
RETENTION_ALLOW_LIST: Mapping[str, int] = {
    "infra_plans": PLAN_ARTIFACT_DAYS,
    "infra_plan_changes": PLAN_ARTIFACT_DAYS,
    "infra_plan_checks": PLAN_ARTIFACT_DAYS,
    "infra_plan_artifacts": PLAN_ARTIFACT_DAYS,
    "infra_apply_logs": APPLY_LOG_DAYS,
}
# Kept forever: named so a policy that gives them a period is refused, not silently ignored.
PERMANENT_TABLES = frozenset(
    {"infra_drift", "infra_drift_issues", "infra_drift_checks", "infra_drift_observations"}
)
# The event times that date the data, for "now from the newest data". Only times the files
# state themselves: plan-text artifacts are usually dated by their ingestion, which is "now".
EVENT_TIME_COLUMNS: Mapping[str, str] = {
    "infra_plans": "planned_at",
    "infra_apply_logs": "applied_at",
}


CLOCKS = ("wall", "data")


class RetentionRefused(ValueError):
    """Retention was asked to touch a table it may not delete from."""


def expires(basis: datetime, days: int) -> datetime:
    return basis + timedelta(days=days)


def plan_expiry(planned_at: datetime | None, now: datetime | None = None) -> tuple[datetime, str]:
    """expires_at and its basis: the plan's own timestamp, else the time it was ingested."""
    if planned_at is not None:
        return expires(planned_at, PLAN_ARTIFACT_DAYS), "planned_at"
    return expires(now or datetime.now(UTC), PLAN_ARTIFACT_DAYS), "ingested_at"


def apply_log_expiry(
    applied_at: datetime | None, now: datetime | None = None
) -> tuple[datetime, str]:
    if applied_at is not None:
        return expires(applied_at, APPLY_LOG_DAYS), "applied_at"
    return expires(now or datetime.now(UTC), APPLY_LOG_DAYS), "ingested_at"


@dataclass(frozen=True)
class RetentionPolicy:
    """Days kept per table (from config/policies/retention.yaml) and an optional fixed as_of."""

    keep_days: Mapping[str, int]
    as_of: datetime | None = None
    clock: str = "wall"  # wall | data (replays of old data, the demo)

    def days_for(self, table: str) -> int:
        return self.keep_days[checked_table(table)]


def checked_table(table: str) -> str:
    """The table name if retention may delete from it; RetentionRefused otherwise."""
    if table in PERMANENT_TABLES:
        raise RetentionRefused(f"{table} is permanent evidence; retention never deletes from it")
    if table not in RETENTION_ALLOW_LIST:
        raise RetentionRefused(f"{table} is not on the retention allow-list")
    return table


def policy_from_mapping(doc: Mapping[str, Any]) -> RetentionPolicy:
    """Validate a retention policy document; refuses anything that would shorten drift evidence."""
    tables = doc.get("tables")
    if not isinstance(tables, Mapping):
        raise ValueError("retention policy: 'tables' must map table names to keep_days")
    keep: dict[str, int] = {}
    for table, rule in tables.items():
        days = rule.get("keep_days") if isinstance(rule, Mapping) else rule
        if table in PERMANENT_TABLES:
            if days != "forever":
                raise RetentionRefused(
                    f"retention policy: {table} must be kept forever, not {days!r}"
                )
            continue
        checked_table(table)
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise ValueError(f"retention policy: {table}.keep_days must be a positive integer")
        if days != RETENTION_ALLOW_LIST[table]:
            # expires_at is stamped at ingestion with the allow-list's period; a policy that
            # disagrees would delete on a different clock than the one stored in each row.
            raise ValueError(
                f"retention policy: {table} keeps {days} days but rows are stamped with "
                f"{RETENTION_ALLOW_LIST[table]}; change both together"
            )
        keep[table] = days
    as_of = checked_time(doc.get("as_of"), "retention policy: as_of")
    clock = doc.get("clock") or "wall"
    if clock not in CLOCKS:
        raise ValueError(f"retention policy: clock {clock!r} is not one of {', '.join(CLOCKS)}")
    return RetentionPolicy(keep_days=keep, as_of=as_of, clock=clock)


def load_policy(path: Path) -> RetentionPolicy:
    with path.open() as fh:
        doc = yaml.safe_load(fh) or {}
    return policy_from_mapping(doc)


def choose_as_of(
    configured: datetime | None,
    newest_event: datetime | None,
    wall_clock: datetime,
    clock: str = "wall",
) -> tuple[datetime, str]:
    """The "now" retention measures expiry against, and why.

    A configured as_of wins. By default the wall clock: a "kept N days" promise is about days
    that passed. Only when the data clock is configured (replaying old data: the demo), the
    earlier of the wall clock and the newest event time in the retained tables, so a data set
    from weeks ago is not expired wholesale and one file dated in the future cannot expire
    everything else.
    """
    if configured is not None:
        return configured, "configured"
    if clock != "data" or newest_event is None:
        return wall_clock, "wall_clock"
    if newest_event < wall_clock:
        return newest_event, "newest_data"
    return wall_clock, "wall_clock"


def retention_audit_events(deleted: Mapping[str, int], as_of: datetime) -> list[dict[str, Any]]:
    """Audit-chain payloads describing one retention run, one per table that lost rows."""
    return [
        {
            "kind": "cicl.retention_deletion/v1",
            "table": table,
            "rows_deleted": n,
            "as_of": as_of.isoformat(),
            "keep_days": RETENTION_ALLOW_LIST[table],
        }
        for table, n in sorted(deleted.items())
        if n
    ]


def retained_tables(names: Iterable[str]) -> list[str]:
    return [checked_table(n) for n in names]
