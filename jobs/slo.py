"""Jobs of the SLO group's derived, day-partitioned assets (one run per range of days)."""

import dagster as dg

from jobs.concurrency import writes

slo_minute_counts_job = dg.define_asset_job(
    name="slo_counts_by_day",
    tags=writes("slo"),
    selection=dg.AssetSelection.assets("slo_minute_counts"),
    description=(
        "Count each SLO's good and total events per minute for a range of days, from those "
        "days' spans (slo_partitions_sensor launches it for the days an ingest's spans fall on)."
    ),
)

slo_status_job = dg.define_asset_job(
    name="slo_status_by_day",
    tags=writes("slo"),
    selection=dg.AssetSelection.assets("slo_status"),
    description=(
        "Evaluate burn rates and error budgets for a range of days from the minute counts of "
        "the days their windows span."
    ),
)

SLO_JOBS = [slo_minute_counts_job, slo_status_job]
