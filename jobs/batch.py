"""Jobs that ingest the landing zone and refresh what it feeds."""

import dagster as dg

from jobs.concurrency import writes

INGEST_GROUPS = ("telemetry", "ci", "infra", "deployments", "audit", "slo", "feedback")
# Evaluations run with the breach they examine as config (launched by slo_breach_sensor or by
# `make run` after this job); reviews are partitioned per candidate and decided by people.
# Delivery evaluations are day-partitioned: they run per day in delivery_daily.
NOT_BATCHED_GROUPS = ("learning", "review", "delivery")
# Partitioned by data day: they run per range of days after the ingest (jobs.slo).
DAY_PARTITIONED = ("slo_minute_counts", "slo_status")
# Partitioned by calendar month: the auditor's report runs in compliance_reports (jobs.reports).
MONTH_PARTITIONED = ("compliance_report",)
# The table families landing_batch writes: the ingest groups and what is rebuilt from them.
LANDING_BATCH_GROUPS = (*INGEST_GROUPS, "compliance")

landing_batch_job = dg.define_asset_job(
    name="landing_batch",
    tags=writes(*LANDING_BATCH_GROUPS, chain=True),
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.groups(*NOT_BATCHED_GROUPS)
    - dg.AssetSelection.assets(*DAY_PARTITIONED, *MONTH_PARTITIONED),
    description=(
        "Everything the landing zone feeds that is not partitioned by data day: ingestion and "
        "what is rebuilt from it (deployments, drift, evidence). `make run` executes this job, "
        "then the day-partitioned SLO jobs for the days the new spans fall on."
    ),
)

telemetry_ingest_job = dg.define_asset_job(
    name="telemetry_ingest",
    tags=writes("telemetry"),
    selection=dg.AssetSelection.groups("telemetry"),
    description="Ingest new OTLP trace and log files from the landing zone's otel/ folder.",
)

delivery_daily_job = dg.define_asset_job(
    name="delivery_daily",
    tags=writes("delivery"),
    selection=dg.AssetSelection.groups("delivery"),
    description=(
        "The delivery evaluations of one day: DORA metrics, flaky tests, failure modes. "
        "Backfill a range of days to see them over time."
    ),
)

BATCH_JOBS = [landing_batch_job, telemetry_ingest_job, delivery_daily_job]
