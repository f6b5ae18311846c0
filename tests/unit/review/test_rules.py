"""Every rule of the gate and every refusal, on the decision alone (no warehouse)."""

from __future__ import annotations

import pytest
import yaml

from cicl_assets.review.policy import parse_review_policy
from cicl_assets.review.rules import Refused, Request, decide, decision_id, policy_verdict
from tests.unit.review.rows import REVIEWERS_YAML, ROUTING, RUNBOOK, T0, WORKFLOW, candidate
from tests.unit.review.rows import decision as d

POLICY = parse_review_policy(yaml.safe_load(REVIEWERS_YAML), "config/reviewers.yaml")
CANDIDATES = {
    ROUTING: candidate(ROUTING, "provider_routing"),
    WORKFLOW: candidate(WORKFLOW, "workflow_template"),
    RUNBOOK: candidate(RUNBOOK, "runbook"),
}


def _request(cid, verdict="approve", who="dana", why="it helps", **more) -> Request:
    return Request(cid, verdict, who, why, **more)


# (request, decisions already recorded, candidate status after, reviewer as recorded)
ACCEPTED = [
    (_request(WORKFLOW), [], "approved", "dana"),
    (_request(ROUTING), [], "open", "dana"),
    (_request(ROUTING, who="lee"), [d(ROUTING, "dana", "approve")], "approved", "lee"),
    (_request(ROUTING, "reject", "lee"), [d(ROUTING, "dana", "approve")], "rejected", "lee"),
    (_request(WORKFLOW, "reject"), [], "rejected", "dana"),
    (_request(RUNBOOK, who=" Sam "), [], "approved", "sam"),
    (_request(WORKFLOW, who="lee", identity="LEE@coditect.example",
              identity_source="dagster/user"), [], "approved", "lee"),
    (_request(WORKFLOW, identity="dana@coditect.example", identity_source="x-iap-user",
              require_identity=True), [], "approved", "dana"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "earlier", "after", "reviewer"), ACCEPTED)
def test_accepted_decisions(request_, earlier, after, reviewer):
    verdict = decide(request_, CANDIDATES[request_.candidate_id], earlier, POLICY, T0, "run-1")
    row = verdict.row
    assert not verdict.resumed
    assert (row["candidate_status_after"], row["reviewer"], row["decided_by"]) == (
        after,
        reviewer,
        "reviewer",
    )
    assert row["decision_id"] == decision_id(request_.candidate_id, reviewer, request_.decision)
    assert row["justification"] == "it helps"
    assert (row["authenticated_identity"], row["identity_source"]) == (
        request_.identity,
        request_.identity_source,
    )
    assert (row["decided_at"], row["run_id"], row["kind"]) == (
        T0,
        "run-1",
        CANDIDATES[request_.candidate_id]["kind"],
    )


STALE = candidate(WORKFLOW, "workflow_template", "stale", status_reason="its base file changed")
SUPERSEDED = candidate(
    WORKFLOW, "workflow_template", "superseded", status_reason="a newer candidate for the same "
    "file replaces it", superseded_by="e" * 32)  # fmt: skip
APPROVED = candidate(WORKFLOW, "workflow_template", "approved", status_reason="approved by dana")
REJECTED = candidate(WORKFLOW, "workflow_template", "rejected", status_reason="rejected by lee: no")
LIST = "`scripts/cicl.py candidates` lists the open ones; in the UI, the partitions of candidate_review"

# (request, candidate (None: unknown), decisions recorded, the reason)
REFUSED = [
    (_request(WORKFLOW, why="  "), CANDIDATES[WORKFLOW], [],
     "the justification is empty: say why you approve (it is recorded with your decision and in "
     "the audit chain)"),
    (_request(WORKFLOW, "maybe"), CANDIDATES[WORKFLOW], [],
     "decision 'maybe' is not one of approve, reject"),
    (_request("f" * 32), None, [], f"no improvement candidate has id '{'f' * 32}': {LIST}"),
    (_request(WORKFLOW, who="mallory"), CANDIDATES[WORKFLOW], [],
     "'mallory' is not a reviewer in config/reviewers.yaml (reviewers: dana, lee, sam): type "
     "your name as listed there, or ask to be added"),
    (_request(ROUTING, who="sam"), CANDIDATES[ROUTING], [],
     "sam may not decide provider_routing candidates (config/reviewers.yaml lets them decide "
     "runbook, test_quarantine): ask one of dana, lee"),
    (_request(WORKFLOW, identity="dana@coditect.example", identity_source="dagster/user",
              who="lee"), CANDIDATES[WORKFLOW], [],
     "the run was launched by dana@coditect.example (run tag dagster/user), but reviewer lee is "
     "mapped to lee@coditect.example in config/reviewers.yaml: decide under your own name, or "
     "add the identity to your entry"),
    (_request(RUNBOOK, who="sam", identity="sam@x", identity_source="dagster/user"),
     CANDIDATES[RUNBOOK], [],
     "the run was launched by sam@x (run tag dagster/user), but reviewer sam is mapped to none "
     "in config/reviewers.yaml: decide under your own name, or add the identity to your entry"),
    (_request(WORKFLOW, require_identity=True), CANDIDATES[WORKFLOW], [],
     "this deployment requires an authenticated identity (CICL_REQUIRE_IDENTITY) and the run "
     "carries none: launch it through the deployment's login (Dagster+, or the identity-aware "
     "proxy that sets the identity tag), not a typed name alone"),
    (_request(ROUTING), CANDIDATES[ROUTING], [d(ROUTING, "dana", "approve")],
     f"dana already decided on candidate {ROUTING} (approve at 2026-11-06 09:00 UTC): one "
     "decision per reviewer; another reviewer must add theirs"),
    (_request(ROUTING, "reject"), CANDIDATES[ROUTING], [d(ROUTING, "dana", "approve")],
     f"dana already decided on candidate {ROUTING} (approve at 2026-11-06 09:00 UTC): one "
     "decision per reviewer; another reviewer must add theirs"),
    (_request(WORKFLOW), STALE, [],
     f"candidate {WORKFLOW} is stale (its base file changed): review the candidate regenerated "
     f"for the same file ({LIST})"),
    (_request(WORKFLOW), SUPERSEDED, [],
     f"candidate {WORKFLOW} is superseded (a newer candidate for the same file replaces it): "
     f"review candidate {'e' * 32}, which replaces it"),
    (_request(WORKFLOW, who="lee"), APPROVED, [d(WORKFLOW, "dana", "approve", "approved")],
     f"candidate {WORKFLOW} is already approved (approved by dana): nothing is left to decide"),
    (_request(WORKFLOW), REJECTED, [d(WORKFLOW, "lee", "reject", "rejected")],
     f"candidate {WORKFLOW} is already rejected (rejected by lee: no): nothing is left to decide"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "row", "earlier", "reason"), REFUSED)
def test_refusals_say_why_and_what_to_do(request_, row, earlier, reason):
    with pytest.raises(Refused) as refused:
        decide(request_, row, earlier, POLICY, T0, "run-2")
    assert str(refused.value) == reason


def test_a_decision_recorded_before_its_status_was_set_is_resumed():
    earlier = [{**d(WORKFLOW, "dana", "approve", "approved"), "audit_event_hash": "h"}]
    verdict = decide(_request(WORKFLOW), CANDIDATES[WORKFLOW], earlier, POLICY, T0, "run-3")
    assert verdict.resumed
    assert (verdict.status_after, verdict.row["audit_event_hash"]) == ("approved", "h")


def test_the_policy_approves_documentation_only_candidates_when_listed():
    listed = parse_review_policy(
        yaml.safe_load(REVIEWERS_YAML + "auto_approve: [runbook]\n"), "config/reviewers.yaml"
    )
    assert listed.approves_by_itself(CANDIDATES[RUNBOOK])
    assert not POLICY.approves_by_itself(CANDIDATES[RUNBOOK])
    # a runbook candidate that somehow changes production still waits for a person
    assert not listed.approves_by_itself({**CANDIDATES[RUNBOOK], "affects_production": True})
    assert not listed.approves_by_itself(CANDIDATES[WORKFLOW])
    row = policy_verdict(CANDIDATES[RUNBOOK], listed, T0, "run-4").row
    assert {
        k: row[k] for k in ("decided_by", "reviewer", "decision", "candidate_status_after")
    } == {
        "decided_by": "policy",
        "reviewer": "policy:auto_approve",
        "decision": "approve",
        "candidate_status_after": "approved",
    }
    assert row["justification"] == (
        "runbook candidates change documentation only and this one does not affect production; "
        "config/reviewers.yaml lists runbook under auto_approve"
    )
