"""Jobs that ingest CI artifacts from the landing zone."""

import dagster as dg

from jobs.concurrency import writes

ci_ingest_job = dg.define_asset_job(
    name="ci_ingest",
    tags=writes("ci"),
    selection=dg.AssetSelection.groups("ci"),
    description=(
        "Ingest everything under ci/<pipeline_run_id>/ in one pass: run records, JUnit test "
        "reports, coverage, SBOMs, scan results and attestations."
    ),
)

CI_JOBS = [ci_ingest_job]
