"""Jobs that ingest infrastructure and deployment artifacts from the landing zone."""

import dagster as dg

from jobs.concurrency import writes

infra_ingest_job = dg.define_asset_job(
    name="infra_ingest",
    tags=writes("infra", chain=True),
    selection=dg.AssetSelection.groups("infra"),
    description=(
        "Ingest OpenTofu plans, plan texts, apply logs and drift checks from infra/<environment>/,"
        " derive drift issues and apply evidence retention."
    ),
)

deployments_ingest_job = dg.define_asset_job(
    name="deployments_ingest",
    tags=writes("deployments"),
    selection=dg.AssetSelection.groups("deployments"),
    description="Ingest deployment records from deployments/ and rebuild the deployments table.",
)

ARTIFACT_JOBS = [infra_ingest_job, deployments_ingest_job]
