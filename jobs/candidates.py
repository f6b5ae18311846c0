"""Improvement candidates: findings and proposals turned into changes to the platform repository,
and the reviews that approve or reject them."""

import dagster as dg

from jobs.concurrency import writes

CANDIDATES_JOB = "refresh_candidates"
REVIEW_JOB = "review_candidate"

improvement_candidates_job = dg.define_asset_job(
    name=CANDIDATES_JOB,
    selection=dg.AssetSelection.assets("improvement_candidates"),
    description=(
        "Generate improvement candidates from the open findings and routing proposals against "
        "the platform repository's HEAD (CICL_PLATFORM_REPO), let the policy approve the "
        "documentation-only ones config/reviewers.yaml lists, and give each open candidate its "
        "partition of candidate_review; `make run` runs it after the day runs and breach "
        "reviews. Running it again with nothing changed writes nothing."
    ),
    tags={"cicl/kind": "improvement_candidates", **writes("review", chain=True)},
)

candidate_review_job = dg.define_asset_job(
    name=REVIEW_JOB,
    selection=dg.AssetSelection.assets("candidate_review"),
    description=(
        "One reviewer's decision on one candidate (the partition): `scripts/cicl.py review` "
        "runs it; the UI materializes the same asset."
    ),
    tags={"cicl/kind": "candidate_review", **writes("review", chain=True)},
)


RELEASE_JOB = "release_improvements"

improvement_release_job = dg.define_asset_job(
    name=RELEASE_JOB,
    selection=dg.AssetSelection.assets("improvement_release"),
    description=(
        "Ship the approved, unreleased candidates to the platform repository in approval order: "
        "a branch cicl/release-<id> with one commit, a signed manifest in the outbox, an audit "
        "event; its blocking check holds the branch's actual diff to the approved diffs."
    ),
    tags={"cicl/kind": "improvement_release", **writes("review", chain=True)},
)

OUTCOMES_JOB = "measure_outcomes"

candidate_outcomes_job = dg.define_asset_job(
    name=OUTCOMES_JOB,
    selection=dg.AssetSelection.assets("candidate_outcomes"),
    description=(
        "Measure each released candidate deployed to production: its targeted metric before and "
        "after the deployment; a worse outcome opens an outcome_worse finding and a revert "
        "candidate."
    ),
    tags={"cicl/kind": "candidate_outcomes", **writes("learning", chain=True)},
)

CANDIDATE_JOBS = [
    improvement_candidates_job,
    candidate_review_job,
    improvement_release_job,
    candidate_outcomes_job,
]
