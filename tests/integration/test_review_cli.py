"""`scripts/cicl.py candidates` and `review` as a reviewer types them, against a small demo
warehouse and instance built once for the module."""

from __future__ import annotations

import sys

import pytest

from tests.cicl_runs import CICL, cicl_run
from tests.review_home import review_home


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return review_home(tmp_path_factory.mktemp("review_cli"))


def cicl(home, *args: str):
    return cicl_run(home.env, [sys.executable, str(CICL), *args])


def test_a_reviewer_lists_the_candidates_then_approves_and_is_refused_a_second_time(home):
    routing = home.candidates["provider_routing"]
    listed = cicl(home, "candidates")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert listed.stdout.splitlines()[0] == "open improvement candidates: 6"
    assert f"{routing}  provider_routing  routing/model_groups.yaml  approvals 0/2" in listed.stdout

    approved = cicl(home, "review", routing[:12], "--approve", "--reviewer", "dana",
                    "--justification", "anthropic is 2.5x slower since 1.8.0")  # fmt: skip
    assert approved.returncode == 0, approved.stderr[-3000:]
    assert f"dana approved candidate {routing} (run " in approved.stdout
    assert "it is now open, approvals 1/2 (dana)" in approved.stdout

    again = cicl(home, "review", routing, "--reject", "--reviewer", "dana",
                 "--justification", "changed my mind")  # fmt: skip
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1] == (
        f"refused, nothing recorded: dana already decided on candidate {routing} (approve at "
        f"{_decided_at(home, routing)} UTC): one decision per reviewer; another reviewer must add "
        "theirs"
    )
    rows = home.warehouse.query(
        "SELECT reviewer, decision, candidate_status_after, decided_by, authenticated_identity, "
        "audit_event_hash FROM candidate_decisions"
    ).to_pylist()
    [event] = home.warehouse.query(
        "SELECT action, actor, resource, hash FROM audit_events"
    ).to_pylist()
    assert [(r["reviewer"], r["decision"], r["candidate_status_after"], r["decided_by"],
             r["authenticated_identity"]) for r in rows] == [
        ("dana", "approve", "open", "reviewer", None)]  # fmt: skip
    assert (event["action"], event["actor"], event["resource"], event["hash"]) == (
        "candidate_approve",
        "dana",
        f"improvement_candidates/{routing}",
        rows[0]["audit_event_hash"],
    )


def _decided_at(home, candidate_id: str) -> str:
    [row] = home.warehouse.query(
        "SELECT decided_at FROM candidate_decisions WHERE candidate_id = @id", {"id": candidate_id}
    ).to_pylist()
    return f"{row['decided_at']:%Y-%m-%d %H:%M}"
