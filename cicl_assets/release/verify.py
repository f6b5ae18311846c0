"""What a release branch actually changes, held against what was approved.

The branch's diff is recomputed from git (base commit to the branch's tip, wherever the tip now
is: anyone with push access may have added to it), and the approved diffs are applied in the
release's order to the base on a temporary index. Every hunk between that tree and the tip is a
change nobody approved; so is an approved diff that no longer applies to the base."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES
from cicl_assets.platform_repo import PlatformRepo
from cicl_assets.release.patches import Hunk, apply_in_order, hunks
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse


@dataclass
class Verified:
    """One release checked: the commit looked at, the hunks it changes, those not approved."""

    release_id: str
    tip: str
    changed: list[Hunk] = field(default_factory=list)
    unapproved: list[Hunk] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unapproved and not self.problems

    def describe(self) -> list[str]:
        return [*self.problems, *(f"not approved: {h.describe()}" for h in self.unapproved)]


def released_diffs(warehouse: Warehouse, ids: list[str]) -> dict[str, str]:
    if not ids or not warehouse.table_exists(IMPROVEMENT_CANDIDATES.name):
        return {}
    rows = warehouse.query(
        "SELECT candidate_id, diff FROM improvement_candidates WHERE candidate_id IN "
        f"{IN_ARRAY.format(param='ids')}",
        {"ids": ids},
    ).to_pylist()
    return {r["candidate_id"]: r["diff"] for r in rows}


def verify_release(repo: PlatformRepo, release: dict[str, Any], diffs: dict[str, str]) -> Verified:
    """The release's branch tip (its recorded commit once the branch is gone) against the
    approved candidates' diffs applied in order to its base."""
    tip = repo.branch_tip(release["branch"]) or release["release_commit"]
    found = Verified(release["release_id"], tip)
    ids = json.loads(release["candidate_ids"])
    missing = [cid for cid in ids if cid not in diffs]
    if missing:
        found.problems.append(f"candidates {', '.join(missing)} are not in improvement_candidates")
    applied = apply_in_order(
        repo, release["base_commit"], [(c, diffs[c]) for c in ids if c in diffs]
    )
    for cid, why in applied.skipped.items():
        found.problems.append(f"approved candidate {cid}: {why}")
    found.changed = hunks(repo, release["base_commit"], tip)
    found.unapproved = hunks(repo, applied.tree, tip)
    return found
