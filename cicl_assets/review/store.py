"""Decisions in the warehouse: the candidate and its decisions as the rules read them, and a
verdict recorded as an audit-chain event, a candidate_decisions row and the candidate's status.

The three writes happen in that order, each keyed so that an attempt stopped between two of them
is finished by the next: the audit event's id is ``decision:<decision_id>`` (appended once), the
row is written once per decision id, and the rules resume a recorded decision whose candidate
status was not yet set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cicl_assets.audit.chain import record_action
from cicl_assets.audit.notary import ChainNotary
from cicl_assets.candidates.decisions import CANDIDATE_DECISIONS
from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES, OPEN, read_candidates
from cicl_assets.review.rules import Verdict
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse


def read_candidate(warehouse: Warehouse, candidate_id: str) -> dict[str, Any] | None:
    return read_candidates(warehouse, [candidate_id]).get(candidate_id)


def candidates_with_prefix(warehouse: Warehouse, prefix: str) -> list[str]:
    """Ids of the candidates starting with ``prefix`` (the 12 characters a listing shows)."""
    if not prefix or not warehouse.table_exists(IMPROVEMENT_CANDIDATES.name):
        return []
    rows = warehouse.query(
        "SELECT candidate_id FROM improvement_candidates WHERE STARTS_WITH(candidate_id, @p) "
        "ORDER BY candidate_id LIMIT 10",
        {"p": prefix.strip().lower()},
    ).to_pylist()
    return [r["candidate_id"] for r in rows]


def read_decisions(warehouse: Warehouse, candidate_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The decisions recorded on ``candidate_ids``, oldest first."""
    if not candidate_ids or not warehouse.table_exists(CANDIDATE_DECISIONS.name):
        return []
    return warehouse.query(
        "SELECT * FROM candidate_decisions WHERE candidate_id IN "
        f"{IN_ARRAY.format(param='ids')} ORDER BY decided_at, decision_id",
        {"ids": list(candidate_ids)},
    ).to_pylist()


def open_candidates(warehouse: Warehouse) -> list[dict[str, Any]]:
    if not warehouse.table_exists(IMPROVEMENT_CANDIDATES.name):
        return []
    return warehouse.query(
        "SELECT * FROM improvement_candidates WHERE status = @open ORDER BY kind, target_file",
        {"open": OPEN},
    ).to_pylist()


def _status_reason(row: dict[str, Any], decisions: Sequence[dict[str, Any]]) -> str:
    if row["decision"] == "reject":
        return f"rejected by {row['reviewer']}: {row['justification']}"
    approvers = sorted({d["reviewer"] for d in decisions if d["decision"] == "approve"})
    return f"approved by {', '.join(approvers)}"


def record(
    warehouse: Warehouse,
    verdict: Verdict,
    candidate: dict[str, Any],
    notary: ChainNotary | None,
) -> dict[str, Any]:
    """Record ``verdict`` on ``candidate``; returns the decision row as stored."""
    row = dict(verdict.row)
    if not verdict.resumed:
        event = record_action(
            warehouse,
            action=f"candidate_{row['decision']}",
            actor=row["reviewer"],
            resource=f"improvement_candidates/{row['candidate_id']}",
            details={
                "decision_id": row["decision_id"],
                "candidate_id": row["candidate_id"],
                "kind": row["kind"],
                "target_file": candidate["target_file"],
                "base_commit": candidate["base_commit"],
                "decision": row["decision"],
                "decided_by": row["decided_by"],
                "justification": row["justification"],
                "authenticated_identity": row["authenticated_identity"],
                "identity_source": row["identity_source"],
                "candidate_status_after": row["candidate_status_after"],
                "run_id": row["run_id"],
            },
            event_id=f"decision:{row['decision_id']}",
            event_time=row["decided_at"],
            notary=notary,
        )
        row["audit_event_hash"] = event.hash
        warehouse.ensure_table(CANDIDATE_DECISIONS)
        warehouse.append(CANDIDATE_DECISIONS, CANDIDATE_DECISIONS.from_records([row]))
    if row["candidate_status_after"] != candidate["status"]:
        decisions = read_decisions(warehouse, [row["candidate_id"]])
        changed = {
            **candidate,
            "status": row["candidate_status_after"],
            "status_reason": _status_reason(row, decisions),
            "status_changed_at": row["decided_at"],
        }
        warehouse.replace_where_in(
            IMPROVEMENT_CANDIDATES,
            "candidate_id",
            [row["candidate_id"]],
            IMPROVEMENT_CANDIDATES.from_records([changed]),
        )
    return row
