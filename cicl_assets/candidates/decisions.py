"""The candidate_decisions table: every reviewer's (or policy's) decision on a candidate.

A candidate is ``approved`` once it holds the approvals its kind needs from distinct reviewers,
``rejected`` at its first rejection; ``improvement_candidates.status`` and ``status_changed_at``
record that moment, so the approval order of candidates is the order of their
``status_changed_at`` (ties broken by candidate id). ``released`` follows once a release ships
it. Decision rows are never updated or deleted; a refused decision writes no row.
"""

from __future__ import annotations

import pyarrow as pa

from cicl_assets.warehouse.tables import UTC_TS, TableSpec

APPROVE, REJECT = "approve", "reject"
APPROVED, REJECTED, RELEASED = "approved", "rejected", "released"
# Who decided: a reviewer through the UI or the CLI, or the auto-approval policy.
BY_REVIEWER, BY_POLICY = "reviewer", "policy"

CANDIDATE_DECISIONS = TableSpec(
    name="candidate_decisions",
    description=(
        "One row per decision on an improvement candidate: approve or reject, who decided and "
        "why, the identity the deployment vouched for (if any), and the audit-chain event that "
        "records it. Refused decisions write no row."
    ),
    schema=pa.schema(
        [
            ("decision_id", pa.string()),
            ("candidate_id", pa.string()),
            ("kind", pa.string()),
            ("decision", pa.string()),
            ("decided_by", pa.string()),
            ("reviewer", pa.string()),
            ("justification", pa.string()),
            ("authenticated_identity", pa.string()),
            ("identity_source", pa.string()),
            ("decided_at", UTC_TS),
            ("run_id", pa.string()),
            ("candidate_status_after", pa.string()),
            ("audit_event_hash", pa.string()),
        ]
    ),
    time_column="decided_at",
    cluster_by=("candidate_id",),
    verbatim_columns=("decision_id", "candidate_id", "run_id", "audit_event_hash"),
    column_docs={
        "decision_id": "SHA-256 (32 hex) of candidate id, reviewer and decision",
        "decision": "approve or reject",
        "decided_by": "reviewer (a person, through the UI or the CLI) or policy (auto-approval "
        "of a documentation-only kind, config/reviewers.yaml)",
        "reviewer": "the name the reviewer typed (policy: the policy's name)",
        "authenticated_identity": "the identity the deployment vouched for (a run tag set by "
        "Dagster+ or an identity-aware proxy); null on Dagster OSS, where nothing proves who "
        "typed the name",
        "identity_source": "the run tag the identity came from, or null",
        "candidate_status_after": "the candidate's status once this decision counted: open "
        "(more approvals needed), approved or rejected",
        "audit_event_hash": "hash of the audit-chain event that records the decision",
    },
)
