"""Jobs that ingest the landing zone and refresh what it feeds."""

import dagster as dg

INGEST_GROUPS = ("telemetry", "ci", "infra", "deployments", "audit", "slo", "feedback")
# Evaluations run with the breach they examine as config (launched by slo_breach_sensor or by
# `make run` after this job); reviews are partitioned per candidate and decided by people.
# Delivery evaluations are day-partitioned: they run per day in delivery_daily.
NOT_BATCHED_GROUPS = ("learning", "review", "delivery")

landing_batch_job = dg.define_asset_job(
    name="landing_batch",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(*NOT_BATCHED_GROUPS),
    description=(
        "Everything the landing zone feeds: ingestion, SLO status, evaluations, evidence. "
        "`make run` executes this job once."
    ),
)

telemetry_ingest_job = dg.define_asset_job(
    name="telemetry_ingest",
    selection=dg.AssetSelection.groups("telemetry"),
    description="Ingest new OTLP trace and log files from the landing zone's otel/ folder.",
)

delivery_daily_job = dg.define_asset_job(
    name="delivery_daily",
    selection=dg.AssetSelection.groups("delivery"),
    description=(
        "The delivery evaluations of one day: DORA metrics, flaky tests, failure modes. "
        "Backfill a range of days to see them over time."
    ),
)

BATCH_JOBS = [landing_batch_job, telemetry_ingest_job, delivery_daily_job]
