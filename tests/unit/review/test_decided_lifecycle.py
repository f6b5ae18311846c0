"""A decided candidate keeps its decision through later refreshes, except an approved one whose
base file moved before release: it becomes stale, saying why."""

from __future__ import annotations

import pytest

from cicl_assets.candidates.lifecycle import reconcile
from tests.unit.review.rows import T0, WORKFLOW, candidate

BASE = "2" * 40
NEWER = "d" * 32
STALE_REASON = (
    "approved, but its base file changed at HEAD since 111111111111 before it was released: the "
    "release skips it; the candidate regenerated against the new base needs its own review"
)


# (stored status, the file's blob at HEAD, a new candidate for the file?, status written or None)
CASES = [
    ("approved", BASE, False, None),
    ("approved", BASE, True, None),
    ("approved", "9" * 40, False, ("stale", STALE_REASON)),
    ("approved", "9" * 40, True, ("stale", STALE_REASON)),
    ("rejected", "9" * 40, True, None),
    ("rejected", BASE, False, None),
    ("open", BASE, True, ("superseded", "a newer candidate for the same file replaces it")),
]


@pytest.mark.parametrize(("status", "head_blob", "newer", "written"), CASES)
def test_decided_candidates_keep_their_status(status, head_blob, newer, written):
    stored = [candidate(WORKFLOW, "workflow_template", status)]
    generated = [candidate(NEWER, "workflow_template", base_blob=head_blob)] if newer else []
    writes = reconcile(stored, generated, lambda path: head_blob, T0)
    changed = [(w["status"], w["status_reason"]) for w in writes if w["candidate_id"] == WORKFLOW]
    assert changed == ([written] if written else [])
