"""The improvement_candidates table and a candidate's identity.

A candidate is keyed by its id, a content hash of what a reviewer approves: the kind, the target
file, the base it applies to (the file's blob at the base commit), the diff, and the findings and
proposals it rests on. The same inputs give the same id; no wall-clock time enters it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

KINDS = ("provider_routing", "workflow_template", "runbook", "test_quarantine", "revert")
OPEN, STALE, SUPERSEDED = "open", "stale", "superseded"
RISKS = ("low", "medium", "high")

IMPROVEMENT_CANDIDATES = TableSpec(
    name="improvement_candidates",
    description=(
        "One row per improvement candidate: a proposed change to one file of the platform "
        "repository as a unified diff against its HEAD, the sentence that says why, the findings "
        "and rows it rests on, its expected effect in numbers, its risk and whether it affects "
        "production; at most one open candidate per file."
    ),
    schema=pa.schema(
        [
            ("candidate_id", pa.string()),
            ("kind", pa.string()),
            ("target_file", pa.string()),
            ("title", pa.string()),
            ("diff", pa.string()),
            ("rationale", pa.string()),
            ("finding_ids", JSON),
            ("evidence", JSON),
            ("expected_impact", JSON),
            ("risk", pa.string()),
            ("affects_production", pa.bool_()),
            ("status", pa.string()),
            ("status_reason", pa.string()),
            ("superseded_by", pa.string()),
            ("created_at", UTC_TS),
            ("status_changed_at", UTC_TS),
            ("base_commit", pa.string()),
            ("base_blob", pa.string()),
            ("platform_repo", pa.string()),
        ]
    ),
    cluster_by=("status", "kind"),
    json_columns=("finding_ids", "evidence", "expected_impact"),
    column_docs={
        "candidate_id": "SHA-256 (32 hex) of kind, target file, base blob, diff and the ids of "
        "the findings and proposals it rests on",
        "kind": "provider_routing, workflow_template, runbook, test_quarantine or revert",
        "target_file": "the file of the platform repository the diff changes",
        "diff": "unified diff (a/ b/ paths, git apply -p1) against the file at base_commit",
        "rationale": "one sentence: why this change, in words a reviewer reads",
        "finding_ids": "JSON list of the cl_findings ids it rests on",
        "evidence": "JSON: the rows it rests on, by table (cl_findings, routing_proposals, "
        "failure_modes, flaky_tests)",
        "expected_impact": "JSON: metric -> {now, expected}, the numbers the change should move",
        "risk": "low, medium or high: what could go wrong if the change is wrong",
        "affects_production": "true when the change alters production behaviour (needs approval)",
        "status": "open, stale (its base file or evidence changed) or superseded (a newer "
        "candidate for the same file replaced it); later stages add approved, rejected, released",
        "superseded_by": "the candidate that replaced it",
        "created_at": "wall clock of the run that first proposed it (not part of its identity)",
        "base_commit": "the platform repository's HEAD the diff was computed against",
        "base_blob": "the target file's git blob at base_commit (null: the diff creates it)",
    },
)


@dataclass(frozen=True)
class Proposal:
    """A change one generator proposes, before it is diffed against the repository."""

    kind: str
    target_file: str
    new_text: str
    title: str
    rationale: str
    finding_ids: tuple[str, ...]
    evidence: dict[str, list[Any]]
    expected_impact: dict[str, dict[str, float | None]]
    risk: str
    affects_production: bool


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def candidate_id(
    kind: str, target_file: str, base_blob: str | None, diff: str, rests_on: Sequence[str]
) -> str:
    text = "\x1f".join((kind, target_file, base_blob or "", diff, canonical(sorted(rests_on))))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def candidate_row(
    proposal: Proposal,
    diff: str,
    base_commit: str,
    base_blob: str | None,
    platform_repo: str,
    now: datetime,
) -> dict[str, Any]:
    rests_on = [
        f"{table}:{canonical(row)}" for table, rows in proposal.evidence.items() for row in rows
    ]
    return {
        "candidate_id": candidate_id(
            proposal.kind, proposal.target_file, base_blob, diff, rests_on
        ),
        "kind": proposal.kind,
        "target_file": proposal.target_file,
        "title": proposal.title,
        "diff": diff,
        "rationale": proposal.rationale,
        "finding_ids": canonical(sorted(proposal.finding_ids)),
        "evidence": canonical(proposal.evidence),
        "expected_impact": canonical(proposal.expected_impact),
        "risk": proposal.risk,
        "affects_production": proposal.affects_production,
        "status": OPEN,
        "status_reason": None,
        "superseded_by": None,
        "created_at": now,
        "status_changed_at": now,
        "base_commit": base_commit,
        "base_blob": base_blob,
        "platform_repo": platform_repo,
    }


def read_candidates(warehouse: Warehouse, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The candidates' rows by id; an id with no row is left out."""
    if not ids or not warehouse.table_exists(IMPROVEMENT_CANDIDATES.name):
        return {}
    rows = warehouse.query(
        f"SELECT * FROM {IMPROVEMENT_CANDIDATES.name} WHERE candidate_id IN "
        f"{IN_ARRAY.format(param='ids')}",
        {"ids": sorted(set(ids))},
    ).to_pylist()
    return {r["candidate_id"]: r for r in rows}
