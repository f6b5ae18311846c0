"""When a release reached an environment.

The platform's CI/CD may squash or rebase the release branch, so the deployed commit need not
be the release commit. A release counts as deployed by the first succeeded deployment to the
environment, started after the release, that either carries its manifest id
(``release_manifest`` of a cicl.deployment/v1 record) or deployed a commit that has the release
commit as an ancestor in the platform repository (``git merge-base --is-ancestor``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cicl_assets.platform_repo import PlatformRepo
from cicl_assets.warehouse.base import Warehouse

BY_MANIFEST, BY_ANCESTOR = "release_manifest", "ancestor"


@dataclass(frozen=True)
class Deployed:
    deployment_id: str
    at: datetime
    by: str


def _deployments(warehouse: Warehouse, environment: str, since: datetime) -> list[dict]:
    if not warehouse.table_exists("deployments"):
        return []
    schema = warehouse.table_schema("deployments")
    # a warehouse whose deployments predate the column has no manifest ids to match
    manifest = (
        "release_manifest" if schema is not None and "release_manifest" in schema.names else "NULL"
    )
    return warehouse.query(
        f"SELECT deployment_id, commit_sha, {manifest} AS release_manifest, started_at, "
        "finished_at FROM deployments WHERE environment = @env AND status = 'succeeded' "
        "AND started_at >= @since ORDER BY started_at, deployment_id",
        {"env": environment, "since": since},
    ).to_pylist()


def deployed_to(
    warehouse: Warehouse,
    repo: PlatformRepo | None,
    release: dict[str, Any],
    environment: str = "production",
) -> Deployed | None:
    """The deployment that took ``release`` to ``environment``, or None so far."""
    for d in _deployments(warehouse, environment, release["released_at"]):
        at = d["finished_at"] or d["started_at"]
        if d["release_manifest"] == release["manifest_id"]:
            return Deployed(d["deployment_id"], at, BY_MANIFEST)
        if (
            repo is not None
            and d["commit_sha"]
            and repo.is_ancestor(release["release_commit"], d["commit_sha"])
        ):
            return Deployed(d["deployment_id"], at, BY_ANCESTOR)
    return None
