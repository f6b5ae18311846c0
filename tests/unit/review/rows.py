"""Candidates and decisions as the review reads them, built from a few fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES
from cicl_assets.review.policy import REVIEWERS_FILE
from cicl_assets.review.rules import decision_id
from cicl_assets.warehouse.base import Warehouse

T0 = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)
ROUTING = "a" * 32
WORKFLOW = "b" * 32
RUNBOOK = "c" * 32

REVIEWERS_YAML = """
reviewers:
  - name: dana
    kinds: ["*"]
    identities: [dana@coditect.example]
  - name: lee
    kinds: [provider_routing, workflow_template, revert]
    identities: [lee@coditect.example]
  - name: sam
    kinds: [runbook, test_quarantine]
approvals:
  default: 1
  provider_routing: 2
"""


def write_reviewers(folder: Path, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REVIEWERS_FILE).write_text(REVIEWERS_YAML + extra)
    return folder


def candidate(cid: str, kind: str, status: str = "open", **more: Any) -> dict[str, Any]:
    production = kind in ("provider_routing", "workflow_template", "revert")
    target = {"provider_routing": "routing/model_groups.yaml", "runbook": "runbooks/rt.md"}
    return {
        "candidate_id": cid,
        "kind": kind,
        "target_file": target.get(kind, "workflows/support-reply.yaml"),
        "title": f"{kind} change",
        "diff": f"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old {kind}\n+new {kind}\n",
        "rationale": f"why {kind}",
        "finding_ids": "[]",
        "evidence": "{}",
        "expected_impact": '{"m": {"now": 2.0, "expected": 1.0}}',
        "risk": "high" if production else "low",
        "affects_production": production,
        "status": status,
        "status_reason": None,
        "superseded_by": None,
        "created_at": T0,
        "status_changed_at": T0,
        "base_commit": "1" * 40,
        "base_blob": "2" * 40,
        "platform_repo": "/srv/platform",
        **more,
    }


def decision(cid: str, reviewer: str, verdict: str, after: str = "open") -> dict[str, Any]:
    return {
        "decision_id": decision_id(cid, reviewer, verdict),
        "candidate_id": cid,
        "decision": verdict,
        "reviewer": reviewer,
        "decided_at": T0,
        "candidate_status_after": after,
    }


def write_candidates(warehouse: Warehouse, rows: list[dict[str, Any]]) -> None:
    warehouse.append(IMPROVEMENT_CANDIDATES, IMPROVEMENT_CANDIDATES.from_records(rows))
