"""The deploys a window of data can be compared around: succeeded records of `deployments`, and
`service.version` changes seen in spans that no deployment record explains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cicl_assets.learning.findings import deploy_anchor
from cicl_assets.warehouse.base import Warehouse

# A deployment record explains a version first seen in spans up to this long after it started.
RECORD_MATCH_S = 6 * 3600


@dataclass(frozen=True)
class Deploy:
    at: datetime
    service: str
    version: str | None
    deployment_id: str | None
    commit_sha: str | None
    environment: str | None

    @property
    def anchor(self) -> str:
        """What findings attributed to it are keyed by."""
        if self.deployment_id:
            return deploy_anchor(self.deployment_id)
        return f"version:{self.environment}:{self.service}:{self.version}:{self.at:%Y-%m-%dT%H:%M}"

    @property
    def label(self) -> str:
        return f"{self.service} {self.version or '?'} deployed {self.at:%Y-%m-%d %H:%M}"


def deploys_between(
    warehouse: Warehouse, start: datetime, end: datetime, environment: str | None
) -> list[Deploy]:
    """Deploys to ``environment`` that started in [start, end), oldest first."""
    found: list[Deploy] = []
    if warehouse.table_exists("deployments"):
        rows = warehouse.query(
            "SELECT deployment_id, service, version, commit_sha, started_at, environment "
            "FROM deployments WHERE started_at >= @start AND started_at < @end "
            "AND status IN ('succeeded', 'rolled_back') AND environment = @environment",
            {"start": start, "end": end, "environment": environment or ""},
        ).to_pylist()
        found += [
            Deploy(
                r["started_at"],
                r["service"],
                r["version"],
                r["deployment_id"],
                r["commit_sha"],
                environment,
            )
            for r in rows
        ]
    found += _unrecorded_version_changes(warehouse, start, end, environment, found)
    return sorted(found, key=lambda d: (d.at, d.service, d.anchor))


def _unrecorded_version_changes(
    warehouse: Warehouse,
    start: datetime,
    end: datetime,
    environment: str | None,
    recorded: list[Deploy],
) -> list[Deploy]:
    if not warehouse.table_exists("otel_spans"):
        return []
    env_sql = "IS NULL" if environment is None else "= @environment"
    rows = warehouse.query(
        "SELECT service_name, service_version, MIN(start_time) AS first_seen "
        "FROM otel_spans WHERE start_time >= @start AND start_time < @end "
        f"AND deployment_environment {env_sql} AND service_version IS NOT NULL "
        "GROUP BY service_name, service_version",
        {"start": start, "end": end}
        | ({} if environment is None else {"environment": environment}),
    ).to_pylist()
    by_service: dict[str, list[dict]] = {}
    for r in rows:
        by_service.setdefault(r["service_name"], []).append(r)
    changes = []
    for service, versions in by_service.items():
        versions.sort(key=lambda r: (r["first_seen"], r["service_version"]))
        # The first version of the window is what ran before; each later one is a change.
        for r in versions[1:]:
            explained = any(
                d.service == service
                and (d.version is None or d.version == r["service_version"])
                and -3600 <= (r["first_seen"] - d.at).total_seconds() <= RECORD_MATCH_S
                for d in recorded
            )
            if not explained:
                changes.append(
                    Deploy(r["first_seen"], service, r["service_version"], None, None, environment)
                )
    return changes
