"""Revert candidates: a released change whose outcome was worse, taken back.

The outcome_worse finding carries the released diff; the revert is that diff reversed against
HEAD, proposed while the finding is open and HEAD still holds the change (before the platform
merged the release, or after someone already took it back, there is nothing to revert)."""

from __future__ import annotations

import json

from cicl_assets.candidates.reads import Inputs
from cicl_assets.candidates.snapshot import Snapshot
from cicl_assets.candidates.table import Proposal
from cicl_assets.release.patches import reverse_applied

OUTCOME_WORSE = "outcome_worse"


def revert_proposals(inputs: Inputs, snapshot: Snapshot) -> list[Proposal]:
    out = []
    for f in inputs.findings:
        if f["kind"] != OUTCOME_WORSE:
            continue
        evidence = json.loads(f["evidence"] or "{}")
        path, diff = evidence.get("target_file"), evidence.get("released_diff")
        if not path or not diff:
            continue
        new = reverse_applied(snapshot.repo, snapshot.commit, diff, path)
        if new is None:
            continue
        out.append(
            Proposal(
                kind="revert",
                target_file=path,
                new_text=new,
                title=f"revert: {evidence.get('title') or path}",
                rationale=(
                    f"{f['title']}: release {evidence.get('release_id')} made it worse, so this "
                    f"takes candidate {evidence.get('candidate_id')} back."
                ),
                finding_ids=(f["finding_id"],),
                evidence={
                    "cl_findings": [f["finding_id"]],
                    "improvement_releases": [evidence.get("release_id")],
                },
                expected_impact={
                    f["metric"]: {"now": f["current_value"], "expected": f["baseline_value"]}
                },
                risk="medium",
                affects_production=bool(evidence.get("affects_production", True)),
            )
        )
    return out
