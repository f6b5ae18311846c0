"""Which days of the SLO aggregates an ingest makes stale, and the runs that refresh them.

An otel_spans materialization lists in its metadata (``data_days``) the days its new spans
start on; an slo_reports one (the slo/ stream) the days its external SLI counts fall on. Those days' minute counts are recounted from their spans; slo_status then follows
for those days and every later day whose windows reach back to them (burn rates up to 3 days,
the 30-day error budget) - under the daemon through slo_status's automation condition, in
`make run` by the same rule applied here. Each range of consecutive days is one run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

import dagster as dg

from cicl_assets.partitions import DAY, day_ranges, range_tags, run_ranges
from cicl_assets.slo.minute_counts import SLO_MINUTE_COUNTS
from cicl_assets.slo.reports import SLO_REPORTS
from cicl_assets.telemetry.assets import DATA_DAYS
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from jobs.slo import slo_minute_counts_job
from sensors.materializations import materializations_after

SLO_PARTITIONS_SENSOR = "slo_partitions_sensor"
# Assets whose materializations name the data days their new rows fall on.
DAY_SOURCES = (OTEL_SPANS.name, SLO_REPORTS.name)


def latest_storage_id(instance: dg.DagsterInstance, asset: str) -> int | None:
    found = instance.fetch_materializations(dg.AssetKey(asset), limit=1)
    return found.records[0].storage_id if found.records else None


def latest_day_source_id(instance: dg.DagsterInstance) -> int | None:
    """The newest materialization of any asset that names data days. A run's touched days are
    those named after it: taking one source's newest instead would count again the days a
    later-stored materialization of another source named in an earlier run."""
    ids = [i for asset in DAY_SOURCES if (i := latest_storage_id(instance, asset)) is not None]
    return max(ids, default=None)


def _touched_at(
    instance: dg.DagsterInstance, after_storage_id: int | None
) -> tuple[dict[date, int], int | None]:
    """Days the new rows of otel_spans and slo_reports materializations after the storage id
    fall on, each with the storage id of the newest materialization touching it, and the newest
    storage id seen."""
    touched_at: dict[date, int] = {}
    newest = after_storage_id
    for asset in DAY_SOURCES:
        for record in materializations_after(instance, asset, after_storage_id):
            newest = max(newest or 0, record.storage_id)
            listed = record.asset_materialization.metadata.get(DATA_DAYS)
            text = listed.value if listed is not None else ""
            for day in str(text).split(","):
                if day:
                    at = max(touched_at.get(date.fromisoformat(day), 0), record.storage_id)
                    touched_at[date.fromisoformat(day)] = at
    return touched_at, newest


def touched_days(
    instance: dg.DagsterInstance, after_storage_id: int | None
) -> tuple[list[date], int | None]:
    """Days the new rows of otel_spans and slo_reports materializations after the storage id
    fall on, and the newest storage id seen."""
    touched_at, newest = _touched_at(instance, after_storage_id)
    return sorted(touched_at), newest


def uncounted_days(
    instance: dg.DagsterInstance, after_storage_id: int | None, asset: str = SLO_MINUTE_COUNTS.name
) -> tuple[list[date], int | None]:
    """Days touched by otel_spans materializations after the storage id whose partition of
    ``asset`` (the minute counts unless told) was not materialized since (`make run` counts the
    days it ingests in process, so a daemon started afterwards has nothing to do), and the
    newest otel_spans storage id seen."""
    touched_at, newest = _touched_at(instance, after_storage_id)
    if not touched_at:
        return [], newest
    counted: dict[date, int] = {}
    for record in materializations_after(instance, asset, min(touched_at.values())):
        if record.partition_key:
            counted[date.fromisoformat(record.partition_key)] = record.storage_id
    return sorted(d for d, at in touched_at.items() if counted.get(d, -1) < at), newest


def status_days(touched: Iterable[date], data_days: list[date], lookback: int) -> list[date]:
    """Days of slo_status whose windows reach a touched day: the day and ``lookback`` days
    after it, within the data's own range (no evaluation falls after its last day)."""
    if not data_days:
        return []
    first, last = data_days[0], data_days[-1]
    out: set[date] = set()
    for day in touched:
        step = max(day, first)
        while step <= min(day + lookback * DAY, last):
            out.add(step)
            step += DAY
    return sorted(out)


@dg.sensor(
    name=SLO_PARTITIONS_SENSOR,
    job=slo_minute_counts_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Reacts to otel_spans and slo_reports materializations: launches one slo_minute_counts "
        "run per range of consecutive days their new spans or external SLI counts fall on "
        "(late data included); slo_status follows through its automation condition."
    ),
)
def slo_partitions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    return day_range_requests(context, "slo_minute_counts", "slo-days")


def day_range_requests(
    context: dg.SensorEvaluationContext, asset: str, run_key_prefix: str
) -> dg.SensorResult:
    """One run request per range of consecutive days whose new spans ``asset`` has not been
    materialized for since; the cursor remembers the newest otel_spans materialization seen."""
    state = json.loads(context.cursor) if context.cursor else {}
    days, newest = uncounted_days(context.instance, state.get("after_storage_id"), asset)
    requests = [
        dg.RunRequest(
            run_key=f"{run_key_prefix}:{first}:{last}:{newest}",
            tags={**range_tags(first, last), "cicl/reason": "new spans"},
        )
        for first, last in day_ranges(days)
    ]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps({"after_storage_id": newest}))


SLO_PARTITIONS_SENSORS = [slo_partitions_sensor]


def run_day_ranges(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job_name: str,
    days: Iterable[date],
    run_config: dict | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """One in-process run of ``job_name`` per range of consecutive ``days`` (at most a month:
    ``run_ranges``), in order."""
    job = defs.resolve_job_def(job_name)
    return [
        job.execute_in_process(
            instance=instance,
            run_config=run_config,
            tags={**range_tags(first, last), "cicl/reason": "days to refresh"},
            raise_on_error=False,
        )
        for first, last in run_ranges(days)
    ]
