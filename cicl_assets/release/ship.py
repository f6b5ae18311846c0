"""Shipping approved candidates: one branch and one commit in the platform repository, a signed
manifest in the outbox, an audit-chain event, a row in improvement_releases, and the candidates
marked released.

Each step can be repeated after a crash: the release id is a hash of the base commit and the
candidates, so a rerun finds its own branch (kept when its tree is the one expected), writes the
same manifest bytes (create-only outbox) and the same event id (idempotent append).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cicl_assets.audit.chain import record_action
from cicl_assets.candidates.decisions import APPROVED, CANDIDATE_DECISIONS, RELEASED
from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES
from cicl_assets.outbox import CreateOnlyStore
from cicl_assets.platform_repo import PlatformRepo, PlatformRepoError
from cicl_assets.release.manifest import (
    commit_message,
    manifest_name,
    manifest_statement,
    signed_manifest,
)
from cicl_assets.release.patches import apply_in_order, commit_tree, tree_of
from cicl_assets.release.tables import IMPROVEMENT_RELEASES
from cicl_assets.signer import Signer
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

BRANCH_PREFIX = "cicl/release-"


@dataclass
class Shipped:
    """What one release run did: the release row (None when nothing shipped) and why."""

    release: dict[str, Any] | None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    note: str = ""


def release_id(base_commit: str, candidate_ids: list[str]) -> str:
    text = "\x1f".join([base_commit, *candidate_ids])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def approved_candidates(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Approved, unreleased candidates in approval order (then by id)."""
    if not warehouse.table_exists(IMPROVEMENT_CANDIDATES.name):
        return []
    return warehouse.query(
        "SELECT * FROM improvement_candidates WHERE status = @approved "
        "ORDER BY status_changed_at, candidate_id",
        {"approved": APPROVED},
    ).to_pylist()


def decisions_of(warehouse: Warehouse, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not ids or not warehouse.table_exists(CANDIDATE_DECISIONS.name):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for row in warehouse.query(
        "SELECT * FROM candidate_decisions WHERE decided_at >= @epoch AND candidate_id IN "
        f"{IN_ARRAY.format(param='ids')} ORDER BY decided_at, decision_id",
        {"ids": ids, "epoch": datetime(1970, 1, 1, tzinfo=UTC)},
    ).to_pylist():
        out.setdefault(row["candidate_id"], []).append(row)
    return out


def stored_release(warehouse: Warehouse, rid: str) -> dict[str, Any] | None:
    if not warehouse.table_exists(IMPROVEMENT_RELEASES.name):
        return None
    rows = warehouse.query(
        "SELECT * FROM improvement_releases WHERE release_id = @id", {"id": rid}
    ).to_pylist()
    return rows[0] if rows else None


def _branch_commit(
    repo: PlatformRepo, branch: str, base: str, tree: str, message: str, now: datetime
) -> tuple[str, datetime]:
    """The release commit: the branch's, when a crashed run already made it as expected."""
    tip = repo.branch_tip(branch)
    if tip is not None:
        parent = repo.git("rev-parse", f"{tip}^").strip()
        if parent != base or tree_of(repo, tip) != tree:
            raise PlatformRepoError(
                f"{repo.uri}: branch {branch} exists and is not this release (tip {tip[:12]}); "
                "cicl never moves a branch: delete it or look at who made it"
            )
        at = int(repo.git("show", "-s", "--format=%ct", tip).strip())
        return tip, datetime.fromtimestamp(at, UTC)
    at = now.replace(microsecond=0)
    commit = commit_tree(repo, tree, base, message, at).strip()
    repo.create_branch(branch, commit)
    return commit, at


def ship(
    warehouse: Warehouse,
    repo: PlatformRepo,
    signer: Signer,
    store: CreateOnlyStore,
    notary: Any,
    now: datetime,
) -> Shipped:
    """Release every approved candidate whose diff applies to HEAD, in approval order."""
    repo.refresh()
    waiting = approved_candidates(warehouse)
    if not waiting:
        return Shipped(None, note="no approved candidate awaits release")
    base = repo.head()
    applied = apply_in_order(repo, base, [(c["candidate_id"], c["diff"]) for c in waiting])
    shipped = [c for c in waiting if c["candidate_id"] in applied.applied]
    if not shipped:
        return Shipped(
            None,
            skipped=applied.skipped,
            note=f"none of the {len(waiting)} approved candidates applies to {base[:12]}",
        )
    ids = [c["candidate_id"] for c in shipped]
    rid = release_id(base, ids)
    decisions = decisions_of(warehouse, ids)
    done = stored_release(warehouse, rid)
    if done is None:
        branch = f"{BRANCH_PREFIX}{rid}"
        message = commit_message(rid, shipped, decisions)
        commit, at = _branch_commit(repo, branch, base, applied.tree, message, now)
        if repo.remote:
            repo.push(branch)
        done = {
            "release_id": rid,
            "released_at": at,
            "platform_repo": repo.uri,
            "branch": branch,
            "base_commit": base,
            "release_commit": commit,
            "candidate_ids": json.dumps(ids),
            "skipped": json.dumps(applied.skipped, sort_keys=True),
            "manifest_id": rid,
            "manifest_path": manifest_name(rid),
            "signing_key_id": signer.key_id,
            "pushed": repo.remote,
        }
        data = signed_manifest(manifest_statement(done, shipped, decisions), signer)
        store.create(done["manifest_path"], data)
        done["manifest_sha256"] = hashlib.sha256(data).hexdigest()
        event = record_action(
            warehouse,
            action="improvement_release",
            actor="cicl",
            resource=f"{repo.uri}#{branch}",
            commit_sha=commit,
            details={
                "release_id": rid,
                "base_commit": base,
                "candidates": ids,
                "manifest": done["manifest_path"],
                "manifest_sha256": done["manifest_sha256"],
                "skipped": applied.skipped,
            },
            event_id=f"release:{rid}",
            event_time=at,
            notary=notary,
        )
        done["audit_event_hash"] = event.hash
        warehouse.replace_where_in(
            IMPROVEMENT_RELEASES, "release_id", [rid], IMPROVEMENT_RELEASES.from_records([done])
        )
    reason = f"released in {done['branch']} ({done['release_commit'][:12]})"
    warehouse.replace_where_in(
        IMPROVEMENT_CANDIDATES,
        "candidate_id",
        ids,
        IMPROVEMENT_CANDIDATES.from_records(
            [
                {**c, "status": RELEASED, "status_reason": reason, "status_changed_at": now}
                for c in shipped
            ]
        ),
    )
    return Shipped(done, shipped, applied.skipped)
