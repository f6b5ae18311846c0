"""The review queue: one ``candidate`` partition of candidate_review per open candidate.

A candidate gets its partition when it opens, with an observation carrying its page (diff, why,
pictures, expected effect) so a reviewer selecting the partition in the UI reads what they
decide on. A candidate that is no longer open (approved, rejected, stale, superseded) loses its
partition: the partitions are the candidates waiting for a decision. Its decisions stay in
candidate_decisions and its materializations in the asset's history.

Before the queue is synced, the policy approves the documentation-only candidates that
config/reviewers.yaml lets it approve, so those never wait in the queue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg

from cicl_assets.audit.notary import ChainNotary
from cicl_assets.candidates.view import candidate_markdown, read_findings
from cicl_assets.review.policy import ReviewPolicy
from cicl_assets.review.rules import approvals_text, policy_verdict
from cicl_assets.review.store import open_candidates, read_decisions, record
from cicl_assets.warehouse.base import Warehouse

CANDIDATE_PARTITIONS = "candidate"
REVIEW_ASSET = "candidate_review"
candidate_partitions = dg.DynamicPartitionsDefinition(name=CANDIDATE_PARTITIONS)


@dataclass(frozen=True)
class QueueSync:
    """Partitions to add and remove, and the observations that show each added candidate."""

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    observations: list[dg.AssetObservation] = field(default_factory=list)

    def requests(self) -> list:
        out: list = []
        if self.add:
            out.append(candidate_partitions.build_add_request(self.add))
        if self.remove:
            out.append(candidate_partitions.build_delete_request(self.remove))
        return out

    def summary(self) -> str:
        return f"{len(self.add)} candidate partitions added, {len(self.remove)} removed"


def candidate_page(
    warehouse: Warehouse,
    row: dict[str, Any],
    decisions: Sequence[dict[str, Any]],
    policy: ReviewPolicy,
) -> dict[str, Any]:
    """The metadata a reviewer reads on a candidate's partition."""
    findings = read_findings(warehouse, json.loads(row["finding_ids"] or "[]"))
    return {
        "candidate": dg.MetadataValue.md(candidate_markdown(row, findings)),
        "kind": row["kind"],
        "target_file": row["target_file"],
        "affects_production": bool(row["affects_production"]),
        "approvals": approvals_text(row["kind"], decisions, policy),
        "who_may_decide": ", ".join(policy.who_may_decide(row["kind"])) or "nobody",
    }


def plan_sync(warehouse: Warehouse, existing: Sequence[str], policy: ReviewPolicy) -> QueueSync:
    rows = open_candidates(warehouse)
    open_ids = [r["candidate_id"] for r in rows]
    have = set(existing)
    add = [cid for cid in open_ids if cid not in have]
    decisions = read_decisions(warehouse, add)
    observations = [
        dg.AssetObservation(
            asset_key=REVIEW_ASSET,
            partition=row["candidate_id"],
            metadata=candidate_page(
                warehouse,
                row,
                [d for d in decisions if d["candidate_id"] == row["candidate_id"]],
                policy,
            ),
        )
        for row in rows
        if row["candidate_id"] in add
    ]
    return QueueSync(add, sorted(have - set(open_ids)), observations)


def apply_sync(instance: dg.DagsterInstance, sync: QueueSync) -> None:
    """Apply ``sync`` to ``instance`` directly (the refresh run and the command line, which do
    not wait for the sensor)."""
    if sync.add:
        instance.add_dynamic_partitions(CANDIDATE_PARTITIONS, sync.add)
    for key in sync.remove:
        instance.delete_dynamic_partition(CANDIDATE_PARTITIONS, key)
    for observation in sync.observations:
        instance.report_runless_asset_event(observation)


def sync_queue(
    instance: dg.DagsterInstance, warehouse: Warehouse, policy: ReviewPolicy
) -> QueueSync:
    existing = instance.get_dynamic_partitions(CANDIDATE_PARTITIONS)
    sync = plan_sync(warehouse, existing, policy)
    apply_sync(instance, sync)
    return sync


def approve_by_policy(
    warehouse: Warehouse,
    policy: ReviewPolicy,
    notary: ChainNotary | None,
    now: datetime,
    run_id: str | None,
) -> list[dict[str, Any]]:
    """Record the policy's approval of each open candidate it approves by itself."""
    if not policy.auto_approve:
        return []
    recorded = []
    for row in open_candidates(warehouse):
        if policy.approves_by_itself(row):
            recorded.append(
                record(warehouse, policy_verdict(row, policy, now, run_id), row, notary)
            )
    return recorded
