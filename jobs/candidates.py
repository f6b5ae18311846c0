"""Improvement candidates: findings and proposals turned into changes to the platform repository."""

import dagster as dg

from jobs.concurrency import writes

CANDIDATES_JOB = "refresh_candidates"

improvement_candidates_job = dg.define_asset_job(
    name=CANDIDATES_JOB,
    selection=dg.AssetSelection.assets("improvement_candidates"),
    description=(
        "Generate improvement candidates from the open findings and routing proposals against "
        "the platform repository's HEAD (CICL_PLATFORM_REPO); `make run` runs it after the "
        "day runs and breach reviews. Running it again with nothing changed writes nothing."
    ),
    tags={"cicl/kind": "improvement_candidates", **writes("review")},
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
    tags={"cicl/kind": "candidate_outcomes", **writes("learning")},
)

CANDIDATE_JOBS = [improvement_candidates_job, improvement_release_job, candidate_outcomes_job]
