"""Improvement candidates: findings and proposals turned into changes to the platform repository,
and the reviews that approve or reject them."""

import dagster as dg

from jobs.concurrency import writes

CANDIDATES_JOB = "refresh_candidates"
REVIEW_JOB = "review_candidate"
RELEASE_JOB = "release_improvements"
OUTCOMES_JOB = "measure_outcomes"


def _one_asset_job(name: str, asset: str, group: str, description: str):
    """A job of one asset that appends to the audit chain and writes ``group``'s tables."""
    return dg.define_asset_job(
        name=name,
        selection=dg.AssetSelection.assets(asset),
        description=description,
        tags={"cicl/kind": asset, **writes(group, chain=True)},
    )


improvement_candidates_job = _one_asset_job(
    CANDIDATES_JOB,
    "improvement_candidates",
    "review",
    "Generate improvement candidates from the open findings and routing proposals against "
    "the platform repository's HEAD (CICL_PLATFORM_REPO), let the policy approve the "
    "documentation-only ones config/reviewers.yaml lists, and give each open candidate its "
    "partition of candidate_review; `make run` runs it after the day runs and breach "
    "reviews. Running it again with nothing changed writes nothing.",
)

candidate_review_job = _one_asset_job(
    REVIEW_JOB,
    "candidate_review",
    "review",
    "One reviewer's decision on one candidate (the partition): `scripts/cicl.py review` "
    "runs it; the UI materializes the same asset.",
)

improvement_release_job = _one_asset_job(
    RELEASE_JOB,
    "improvement_release",
    "review",
    "Ship the approved, unreleased candidates to the platform repository in approval order: "
    "a branch cicl/release-<id> with one commit, a signed manifest in the outbox, an audit "
    "event; its blocking check holds the branch's actual diff to the approved diffs.",
)

candidate_outcomes_job = _one_asset_job(
    OUTCOMES_JOB,
    "candidate_outcomes",
    "learning",
    "Measure each released candidate deployed to production: its targeted metric before and "
    "after the deployment; a worse outcome opens an outcome_worse finding and a revert "
    "candidate.",
)

CANDIDATE_JOBS = [
    improvement_candidates_job,
    candidate_review_job,
    improvement_release_job,
    candidate_outcomes_job,
]
