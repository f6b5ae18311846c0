"""From findings to stored candidates: generate every kind against the repository's HEAD, then
reconcile with what is stored, so each file has at most one open candidate.

- a candidate generated again (same id) is left as it is: re-running writes nothing;
- a new candidate for a file supersedes the open one (``superseded``, ``superseded_by``), or
  makes it ``stale`` when the file itself changed since its base;
- an open candidate no longer generated becomes ``stale``: its base file changed, or the
  findings it rests on are no longer open;
- a candidate is never edited in place: a different change is a different id, a new row;
- a decided candidate (approved, rejected) is never superseded or made stale by new findings:
  its decision stands. One exception: an approved candidate whose base file changed at HEAD
  before it was released becomes ``stale``, since its diff no longer applies to what it was
  approved against; the release skips it, and the candidate regenerated against the new base
  needs a review of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cicl_assets.candidates.decisions import APPROVED
from cicl_assets.candidates.doc_changes import quarantine_proposals, runbook_proposals
from cicl_assets.candidates.edits import unified_diff
from cicl_assets.candidates.platform_changes import routing_proposals, workflow_proposals
from cicl_assets.candidates.reads import Inputs, read_inputs
from cicl_assets.candidates.reverts import revert_proposals
from cicl_assets.candidates.snapshot import Snapshot
from cicl_assets.candidates.table import (
    IMPROVEMENT_CANDIDATES,
    OPEN,
    STALE,
    SUPERSEDED,
    Proposal,
    candidate_row,
)
from cicl_assets.platform_repo import PlatformRepo
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

GENERATORS: tuple[Callable[[Inputs, Snapshot], list[Proposal]], ...] = (
    routing_proposals,
    workflow_proposals,
    runbook_proposals,
    quarantine_proposals,
    revert_proposals,
)


@dataclass
class Outcome:
    """What one run did: the candidates it proposed and the rows it wrote (new or changed)."""

    base_commit: str
    proposed: list[dict[str, Any]] = field(default_factory=list)
    written: list[dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.written if r["status"] == status)


def generate(inputs: Inputs, snapshot: Snapshot, now: datetime) -> list[dict[str, Any]]:
    """Candidate rows for ``inputs`` against ``snapshot`` (status open, created ``now``).

    A file whose released change made things worse gets its revert, not a further change."""
    rows = []
    proposals = [p for make in GENERATORS for p in make(inputs, snapshot)]
    reverted = {p.target_file for p in proposals if p.kind == "revert"}
    for proposal in proposals:
        if proposal.target_file in reverted and proposal.kind != "revert":
            continue
        old = snapshot.text(proposal.target_file)
        diff = unified_diff(proposal.target_file, old, proposal.new_text)
        if not diff:
            continue
        rows.append(
            candidate_row(
                proposal,
                diff,
                snapshot.commit,
                snapshot.blob(proposal.target_file),
                snapshot.repo.uri,
                now,
            )
        )
    targets = [r["target_file"] for r in rows]
    duplicated = {t for t in targets if targets.count(t) > 1}
    if duplicated:
        raise ValueError(f"two candidates for {sorted(duplicated)}: generators must merge them")
    return rows


def _stored(warehouse: Warehouse, ids: list[str]) -> list[dict[str, Any]]:
    if not warehouse.table_exists(IMPROVEMENT_CANDIDATES.name):
        return []
    return warehouse.query(
        "SELECT * FROM improvement_candidates WHERE status IN ('open', 'approved') "
        f"OR candidate_id IN {IN_ARRAY.format(param='ids')}",
        {"ids": ids or [""]},
    ).to_pylist()


def reconcile(
    stored: list[dict[str, Any]],
    generated: list[dict[str, Any]],
    blob_at_head: Callable[[str], str | None],
    now: datetime,
) -> list[dict[str, Any]]:
    """The rows to write: new candidates, and stored ones whose status changes."""
    by_id = {r["candidate_id"]: r for r in stored}
    new_for = {r["target_file"]: r for r in generated}
    writes = []
    for row in generated:
        old = by_id.get(row["candidate_id"])
        if old is None:
            writes.append(row)
        elif old["status"] in (STALE, SUPERSEDED):
            writes.append(
                {
                    **old,
                    "status": OPEN,
                    "status_reason": "proposed again",
                    "superseded_by": None,
                    "status_changed_at": now,
                }
            )
    generated_ids = {r["candidate_id"] for r in generated}
    for old in stored:
        if old["candidate_id"] in generated_ids:
            continue
        head_blob = blob_at_head(old["target_file"])
        if old["status"] == APPROVED and head_blob != old["base_blob"]:
            reason = (f"approved, but its base file changed at HEAD since {old['base_commit'][:12]} "
                      "before it was released: the release skips it; the candidate regenerated "
                      "against the new base needs its own review")  # fmt: skip
            writes.append(
                {**old, "status": STALE, "status_reason": reason, "status_changed_at": now}
            )
        if old["status"] != OPEN:
            continue
        if head_blob != old["base_blob"]:
            change = {"status": STALE, "status_reason": "its base file changed since "
                      f"{old['base_commit'][:12]}"}  # fmt: skip
        elif old["target_file"] in new_for:
            change = {
                "status": SUPERSEDED,
                "status_reason": "a newer candidate for the same file replaces it",
                "superseded_by": new_for[old["target_file"]]["candidate_id"],
            }
        else:
            change = {"status": STALE, "status_reason": "the findings it rests on are no "
                      "longer open, or no longer call for this change"}  # fmt: skip
        writes.append({**old, **change, "status_changed_at": now})
    return writes


def refresh_candidates(warehouse: Warehouse, repo: PlatformRepo, now: datetime) -> Outcome:
    """Generate against HEAD, reconcile with the table, write what changed."""
    snapshot = Snapshot(repo, repo.head())
    generated = generate(read_inputs(warehouse), snapshot, now)
    stored = _stored(warehouse, [r["candidate_id"] for r in generated])
    writes = reconcile(stored, generated, snapshot.blob, now)
    warehouse.ensure_table(IMPROVEMENT_CANDIDATES)
    if writes:
        warehouse.replace_where_in(
            IMPROVEMENT_CANDIDATES,
            "candidate_id",
            [r["candidate_id"] for r in writes],
            IMPROVEMENT_CANDIDATES.from_records(writes),
        )
    return Outcome(snapshot.commit, generated, writes)
