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

CANDIDATE_JOBS = [improvement_candidates_job]
