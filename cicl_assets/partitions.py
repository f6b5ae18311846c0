"""Data-time partitions of the derived assets: one partition per UTC day of the data's clock.

Daily, not hourly: a day of minute aggregates is a few thousand rows per SLO, so one run per day
costs about what one per hour would, while hourly partitions would multiply runs, run records
and UI rows by 24 (a 30-day budget window would span 720 of them). A new hour of spans
re-materialises its day; that day's aggregates are rebuilt from that day's spans only.

The partitions start on a fixed early date so history older than a deployment can be
backfilled; they end with the current UTC day (``end_offset=1``), which fills as data arrives.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from cicl_assets.warehouse.base import ArrowData, Warehouse
from cicl_assets.warehouse.tables import TableSpec

PARTITIONS_START = "2024-01-01"
DAY = timedelta(days=1)
DAILY = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1, timezone="UTC")
# The most days one run of a derived job covers: a first run or a backfill of months becomes
# runs of a month each, so what a run holds (its assets' per-range state, the run's events in
# an in-process result) does not grow with the history. Not a week: each run costs seconds of
# its own (19 runs of slo_minute_counts over 128 days took 5x the time of one).
RUN_MAX_DAYS = 31


def day_range_asset(**asset_args: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``dg.asset`` on the daily partitions with a single-run backfill policy: a range of days
    is one run (the asset loops over its days). Dagster marks the policy parameter beta; its
    warning would land on every command's stderr, so it is silenced here, where it is chosen."""

    def wrap(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.asset(
                partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run(), **asset_args
            )(fn)

    return wrap


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def partition_key(day: date) -> str:
    return day.isoformat()


def days_between(start: datetime, end: datetime) -> Iterator[date]:
    """The days of the window [start, end) (whole days, as a time partition window holds)."""
    day = day_of(start)
    while day_start(day) < end:
        yield day
        day += DAY


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The days a run of a daily-partitioned asset covers: one key, or a range (backfill)."""
    window = context.partition_time_window
    return list(days_between(window.start, window.end))


def day_ranges(
    days: Iterable[date], today: date | None = None, max_days: int | None = None
) -> list[tuple[date, date]]:
    """Consecutive days grouped into inclusive (first, last) ranges, in order, each of at most
    ``max_days`` days if given. Days after today (UTC) are left out: their partitions do not
    exist yet, and a producer's clock running ahead must not fail the run that ingested its
    rows; the day is evaluated once it has begun and new rows touch it again."""
    last = today or datetime.now(UTC).date()
    ranges: list[tuple[date, date]] = []
    for day in sorted(d for d in set(days) if d <= last):
        first = ranges[-1][0] if ranges else day
        room = max_days is None or (day - first).days < max_days
        if ranges and ranges[-1][1] + DAY == day and room:
            ranges[-1] = (first, day)
        else:
            ranges.append((day, day))
    return ranges


def run_ranges(days: Iterable[date], today: date | None = None) -> list[tuple[date, date]]:
    """The ranges of ``days`` to launch one derived-job run each for, of at most
    ``RUN_MAX_DAYS`` days each."""
    return day_ranges(days, today, RUN_MAX_DAYS)


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run materialise the partitions first..last (inclusive)."""
    return {
        "dagster/asset_partition_range_start": partition_key(first),
        "dagster/asset_partition_range_end": partition_key(last),
    }


def replace_time_range(
    warehouse: Warehouse,
    spec: TableSpec,
    start: datetime,
    end: datetime,
    data: ArrowData,
) -> int:
    """Idempotent partition write: the rows of [start, end) on the spec's time column give way
    to ``data`` in one transaction (only those partitions are touched)."""
    return warehouse.replace_range(spec, start, end, data)


def replace_keys_in_range(
    warehouse: Warehouse,
    spec: TableSpec,
    column: str,
    values: list[str],
    start: datetime,
    end: datetime,
    data: ArrowData,
) -> int:
    """Idempotent write of some rows of one range: those whose ``column`` is in ``values``
    within [start, end) of the time column give way to ``data`` in one transaction."""
    return warehouse.replace_range(spec, start, end, data, column, values)
