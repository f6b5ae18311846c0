"""`cicl.py review` and `cicl.py candidates`: the gate from a shell.

`review` materializes the candidate's partition of candidate_review in this process, against the
DAGSTER_HOME instance, through the same asset the UI materializes: the same rules, the same
records. A shell has no login either: the decision records no authenticated identity, and a
deployment that requires one (CICL_REQUIRE_IDENTITY) refuses it.
"""

from __future__ import annotations

import sys

import dagster as dg

from cicl_assets.review.policy import load_review_policy
from cicl_assets.review.queue import CANDIDATE_PARTITIONS, sync_queue
from cicl_assets.review.rules import LIST_HINT, Refused, Request, approvals_text, decide
from cicl_assets.review.store import (
    candidates_with_prefix,
    open_candidates,
    read_candidate,
    read_decisions,
)
from cicl_assets.warehouse.tables import utcnow

REVIEW_JOB = "review_candidate"
INFO_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def candidates(defs: dg.Definitions) -> int:
    """One line per open candidate: id, kind, target file, approvals so far, title."""
    warehouse = defs.resources["warehouse"]
    policy = load_review_policy(defs.resources["cicl_config"].path)
    rows = open_candidates(warehouse)
    decisions = read_decisions(warehouse, [r["candidate_id"] for r in rows])
    print(f"open improvement candidates: {len(rows)}")
    for r in rows:
        mine = [d for d in decisions if d["candidate_id"] == r["candidate_id"]]
        approvals = approvals_text(r["kind"], mine, policy)
        print(f"{r['candidate_id']}  {r['kind']:<17} {r['target_file']}  approvals {approvals}")
        print(f"    {r['title']}")
    return 0


def _refused(reason: str) -> int:
    print(f"refused, nothing recorded: {reason}", file=sys.stderr)
    return 1


def _failed(result: dg.ExecuteInProcessResult) -> int:
    failures = [e for e in result.all_events if e.is_step_failure]
    data = failures[0].step_failure_data if failures else None
    if data is not None and data.user_failure_data is not None:
        refusal = data.user_failure_data.description or ""
        return _refused(refusal.removeprefix("Decision refused, nothing recorded: "))
    why = data.error.message.strip() if data is not None and data.error else "see its logs"
    print(f"review failed (run {result.run_id}): {why}", file=sys.stderr)
    return 2


def review(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    prefix: str,
    decision: str,
    reviewer: str,
    justification: str,
) -> int:
    warehouse = defs.resources["warehouse"]
    policy = load_review_policy(defs.resources["cicl_config"].path)
    matches = candidates_with_prefix(warehouse, prefix)
    if len(matches) != 1:
        many = f"{len(matches)} candidates start with {prefix!r}: give more of the id"
        return _refused(
            many if matches else f"no improvement candidate has id {prefix!r}: {LIST_HINT}"
        )
    [candidate_id] = matches
    if candidate_id not in instance.get_dynamic_partitions(CANDIDATE_PARTITIONS):
        sync_queue(instance, warehouse, policy)
    if candidate_id not in instance.get_dynamic_partitions(CANDIDATE_PARTITIONS):
        # Not open, so not in the queue: the rules say why without a run.
        request = Request(candidate_id, decision, reviewer, justification)
        candidate = read_candidate(warehouse, candidate_id)
        try:
            decide(request, candidate, read_decisions(warehouse, [candidate_id]), policy,
                   utcnow(), None)  # fmt: skip
        except Refused as exc:
            return _refused(str(exc))
    result = defs.resolve_job_def(REVIEW_JOB).execute_in_process(
        instance=instance,
        partition_key=candidate_id,
        run_config={
            **INFO_LOGS,
            "ops": {
                "candidate_review": {
                    "config": {
                        "decision": decision,
                        "reviewer": reviewer,
                        "justification": justification,
                    }
                }
            },
        },
        tags={"cicl/reason": "scripts/cicl.py review"},
        raise_on_error=False,
    )
    if not result.success:
        return _failed(result)
    [event] = result.asset_materializations_for_node("candidate_review")
    meta = event.metadata
    print(
        f"{meta['reviewer'].value} {decision}d candidate {candidate_id} (run {result.run_id}): "
        f"it is now {meta['candidate_status_after'].value}, approvals "
        f"{meta['approvals'].value}; audit event {meta['audit_event_hash'].value[:16]}"
    )
    return 0
