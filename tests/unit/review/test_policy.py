"""config/reviewers.yaml: the shipped file, and every mistake in one named by file and entry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cicl_assets.review.policy import (
    ReviewPolicyError,
    load_review_policy,
    parse_review_policy,
)

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_reviewers_need_two_approvals_for_production_routing():
    policy = load_review_policy(ROOT / "config")
    assert [r.name for r in policy.reviewers] == ["dana", "lee", "sam"]
    needed = {k: policy.approvals_needed(k) for k in ("provider_routing", "runbook", "revert")}
    assert needed == {"provider_routing": 2, "runbook": 1, "revert": 1}
    assert policy.who_may_decide("provider_routing") == ["dana", "lee"]
    assert policy.who_may_decide("test_quarantine") == ["dana", "sam"]
    assert policy.auto_approve == frozenset()
    assert policy.reviewer("  LEE ").name == "lee"


def test_without_the_file_nobody_may_decide(tmp_path):
    policy = load_review_policy(tmp_path)
    assert (policy.reviewers, policy.approvals_needed("runbook")) == ((), 1)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[]", "f: expected a mapping with reviewers and approvals"),
        ("reviewer: []", "f: unknown keys ['reviewer']"),
        ("approvals: {default: 0}", "f: approvals.default is a whole number of approvals, at least 1"),
        ("approvals: {routing: 2}", "f: approvals.routing: not a candidate kind (provider_routing, "
         "workflow_template, runbook, test_quarantine, revert)"),
        ("auto_approve: [provider_routing]", "f: auto_approve: provider_routing is not one of "
         "runbook"),
        ("reviewers: [{kinds: ['*']}]", "f: reviewers[0] needs a name"),
        ("reviewers: [{name: a, kinds: [routing]}]", "f: reviewers[0].kinds: routing is not one "
         "of provider_routing, workflow_template, runbook, test_quarantine, revert, *"),
        ("reviewers: [{name: a}]", "f: reviewers[0].kinds is a list of names"),
        ("reviewers: [{name: a, kinds: ['*']}, {name: A, kinds: ['*']}]",
         "f: reviewers[1]: A is listed twice"),
        ("reviewers: [{name: 'policy:x', kinds: ['*']}]",
         "f: reviewers[0]: names starting with 'policy:' are the policy's"),
    ],
)  # fmt: skip
def test_mistakes_are_named(text, error):
    with pytest.raises(ReviewPolicyError) as raised:
        parse_review_policy(yaml.safe_load(text), "f")
    assert str(raised.value) == error


def test_an_unreadable_file_is_named(tmp_path):
    (tmp_path / "reviewers.yaml").write_text("reviewers: [")
    with pytest.raises(ReviewPolicyError, match=r"reviewers.yaml: cannot be read"):
        load_review_policy(tmp_path)
