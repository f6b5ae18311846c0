"""Approve candidates the way the human gate does (cicl_assets/candidates/decisions.py): one
candidate_decisions row per reviewer's approval, then the candidate's status ``approved`` with
``status_changed_at`` the approval moment. For tests of what follows the gate."""

from __future__ import annotations

import hashlib
from datetime import datetime

from cicl_assets.candidates.decisions import (
    APPROVE,
    APPROVED,
    BY_REVIEWER,
    CANDIDATE_DECISIONS,
)
from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES
from cicl_assets.warehouse.base import Warehouse


def approve(
    warehouse: Warehouse,
    candidate_id: str,
    reviewers: list[str],
    at: datetime,
    justification: str = "the numbers support it",
) -> None:
    row = warehouse.query(
        "SELECT * FROM improvement_candidates WHERE candidate_id = @id", {"id": candidate_id}
    ).to_pylist()[0]
    decisions = [
        {
            "decision_id": hashlib.sha256(f"{candidate_id}{r}{APPROVE}".encode()).hexdigest()[:32],
            "candidate_id": candidate_id,
            "kind": row["kind"],
            "decision": APPROVE,
            "decided_by": BY_REVIEWER,
            "reviewer": r,
            "justification": justification,
            "authenticated_identity": None,
            "identity_source": None,
            "decided_at": at,
            "run_id": "test-run",
            "candidate_status_after": APPROVED if n == len(reviewers) - 1 else "open",
            "audit_event_hash": None,
        }
        for n, r in enumerate(reviewers)
    ]
    warehouse.append(CANDIDATE_DECISIONS, CANDIDATE_DECISIONS.from_records(decisions))
    warehouse.replace_where_in(
        IMPROVEMENT_CANDIDATES,
        "candidate_id",
        [candidate_id],
        IMPROVEMENT_CANDIDATES.from_records(
            [{**row, "status": APPROVED, "status_reason": None, "status_changed_at": at}]
        ),
    )
