"""One decision on one candidate, decided from what is stored: pure, so every rule and every
refusal is tested without a warehouse.

Approvals accumulate from distinct reviewers until the kind's count is reached; any rejection
rejects. A refusal (``Refused``) says why and what to do, and nothing is recorded for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cicl_assets.candidates.decisions import (
    APPROVE,
    APPROVED,
    BY_POLICY,
    BY_REVIEWER,
    REJECT,
    REJECTED,
    RELEASED,
)
from cicl_assets.candidates.table import OPEN
from cicl_assets.review.policy import POLICY_REVIEWER, ReviewPolicy

DECISIONS = (APPROVE, REJECT)
LIST_HINT = "`scripts/cicl.py candidates` lists the open ones; in the UI, the partitions of candidate_review"


class Refused(Exception):
    """A decision the gate does not accept; ``str()`` is the reason a person reads."""


@dataclass(frozen=True)
class Request:
    """What a reviewer submitted, and the identity the deployment vouched for (if any)."""

    candidate_id: str
    decision: str
    reviewer: str
    justification: str
    identity: str | None = None
    identity_source: str | None = None
    require_identity: bool = False


@dataclass(frozen=True)
class Verdict:
    """The decision row to record and the candidate's status once it counts. ``resumed``: the
    row was recorded by an earlier attempt of the same decision that stopped before the
    candidate's status was set; only the status remains to be written."""

    row: dict[str, Any]
    resumed: bool = False

    @property
    def status_after(self) -> str:
        return self.row["candidate_status_after"]


def decision_id(candidate_id: str, reviewer: str, decision: str) -> str:
    text = "\x1f".join((candidate_id, reviewer, decision))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _approvers(decisions: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({d["reviewer"] for d in decisions if d["decision"] == APPROVE})


def _not_decidable(candidate: Mapping[str, Any]) -> str:
    status, cid = candidate["status"], candidate["candidate_id"]
    reason = candidate.get("status_reason") or "see candidate_decisions"
    if status in (APPROVED, REJECTED, RELEASED):
        return f"candidate {cid} is already {status} ({reason}): nothing is left to decide"
    replaced = candidate.get("superseded_by")
    then = (
        f"review candidate {replaced}, which replaces it"
        if replaced
        else "review the candidate regenerated for the same file (" + LIST_HINT + ")"
    )
    return f"candidate {cid} is {status} ({reason}): {then}"


def _identity_problem(request: Request, reviewer_identities: frozenset[str]) -> str | None:
    if request.identity is None:
        if request.require_identity:
            return (
                "this deployment requires an authenticated identity (CICL_REQUIRE_IDENTITY) and "
                "the run carries none: launch it through the deployment's login (Dagster+, or "
                "the identity-aware proxy that sets the identity tag), not a typed name alone"
            )
        return None
    known = {i.casefold() for i in reviewer_identities}
    if request.identity.casefold() not in known:
        mapped = ", ".join(sorted(reviewer_identities)) or "none"
        return (
            f"the run was launched by {request.identity} (run tag {request.identity_source}), "
            f"but reviewer {request.reviewer} is mapped to {mapped} in config/reviewers.yaml: "
            "decide under your own name, or add the identity to your entry"
        )
    return None


def decide(
    request: Request,
    candidate: Mapping[str, Any] | None,
    decisions: Sequence[Mapping[str, Any]],
    policy: ReviewPolicy,
    now: datetime,
    run_id: str | None,
) -> Verdict:
    """The verdict on ``request`` for ``candidate`` (None: no such candidate) given the
    ``decisions`` already recorded on it; raises Refused."""
    if request.decision not in DECISIONS:
        raise Refused(f"decision {request.decision!r} is not one of approve, reject")
    justification = request.justification.strip()
    if not justification:
        raise Refused(
            "the justification is empty: say why you "
            f"{request.decision} (it is recorded with your decision and in the audit chain)"
        )
    if candidate is None:
        raise Refused(f"no improvement candidate has id {request.candidate_id!r}: {LIST_HINT}")
    reviewer = policy.reviewer(request.reviewer)
    if reviewer is None:
        names = ", ".join(r.name for r in policy.reviewers) or "none"
        raise Refused(
            f"{request.reviewer.strip()!r} is not a reviewer in {policy.origin} (reviewers: "
            f"{names}): type your name as listed there, or ask to be added"
        )
    problem = _identity_problem(request, reviewer.identities)
    if problem:
        raise Refused(problem)
    kind = candidate["kind"]
    if not reviewer.may_decide(kind):
        allowed = ", ".join(policy.who_may_decide(kind)) or "nobody yet"
        raise Refused(
            f"{reviewer.name} may not decide {kind} candidates ({policy.origin} lets them "
            f"decide {reviewer.kinds_text()}): ask one of {allowed}"
        )
    did = decision_id(candidate["candidate_id"], reviewer.name, request.decision)
    earlier = [d for d in decisions if d["reviewer"] == reviewer.name]
    for d in earlier:
        resumable = candidate["status"] == OPEN != d["candidate_status_after"]
        if d["decision_id"] == did and resumable:
            return Verdict(dict(d), resumed=True)
    if candidate["status"] != OPEN:
        raise Refused(_not_decidable(candidate))
    if earlier:
        first = earlier[0]
        raise Refused(
            f"{reviewer.name} already decided on candidate {candidate['candidate_id']} "
            f"({first['decision']} at {first['decided_at']:%Y-%m-%d %H:%M} UTC): one decision "
            "per reviewer; another reviewer must add theirs"
        )
    if request.decision == REJECT:
        status = REJECTED
    else:
        approvers = [*_approvers(decisions), reviewer.name]
        status = APPROVED if len(approvers) >= policy.approvals_needed(kind) else OPEN
    return Verdict(
        _row(
            candidate,
            did,
            request.decision,
            BY_REVIEWER,
            reviewer.name,
            justification,
            request,
            now,
            run_id,
            status,
        )
    )


def policy_verdict(
    candidate: Mapping[str, Any], policy: ReviewPolicy, now: datetime, run_id: str | None
) -> Verdict:
    """The policy's approval of a documentation-only candidate (``approves_by_itself``)."""
    kind = candidate["kind"]
    why = (
        f"{kind} candidates change documentation only and this one does not affect production; "
        f"{policy.origin} lists {kind} under auto_approve"
    )
    did = decision_id(candidate["candidate_id"], POLICY_REVIEWER, APPROVE)
    return Verdict(
        _row(candidate, did, APPROVE, BY_POLICY, POLICY_REVIEWER, why, None, now, run_id, APPROVED)
    )


def _row(
    candidate: Mapping[str, Any],
    did: str,
    decision: str,
    decided_by: str,
    reviewer: str,
    justification: str,
    request: Request | None,
    now: datetime,
    run_id: str | None,
    status: str,
) -> dict[str, Any]:
    return {
        "decision_id": did,
        "candidate_id": candidate["candidate_id"],
        "kind": candidate["kind"],
        "decision": decision,
        "decided_by": decided_by,
        "reviewer": reviewer,
        "justification": justification,
        "authenticated_identity": request.identity if request else None,
        "identity_source": request.identity_source if request and request.identity else None,
        "decided_at": now,
        "run_id": run_id,
        "candidate_status_after": status,
        "audit_event_hash": None,
    }


def approvals_text(candidate_kind: str, decisions: Sequence[Mapping[str, Any]], policy) -> str:
    """``1/2 (dana)``: the approvals a candidate holds against the number its kind needs."""
    approvers = _approvers(decisions)
    named = f" ({', '.join(approvers)})" if approvers else ""
    return f"{len(approvers)}/{policy.approvals_needed(candidate_kind)}{named}"
