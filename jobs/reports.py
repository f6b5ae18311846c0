"""The auditor's monthly report: a job per month partition and the schedule that renders the
month just ended."""

import dagster as dg

from jobs.concurrency import writes

compliance_reports_job = dg.define_asset_job(
    name="compliance_reports",
    tags=writes("compliance"),
    selection=dg.AssetSelection.assets("compliance_report"),
    description=(
        "Render the compliance report of a calendar month into the outbox; backfill months "
        "to render past ones (`scripts/cicl.py compliance-report` renders any date range)."
    ),
)

# On the 1st at 06:00 UTC, the month that just ended; stopped until an operator turns it on.
monthly_compliance_report = dg.build_schedule_from_partitioned_job(
    compliance_reports_job, hour_of_day=6, day_of_month=1
)

REPORT_JOBS = [compliance_reports_job]
REPORT_SCHEDULES = [monthly_compliance_report]
