"""Per-day SLO aggregates and the slo_status of one day computed from them.

A day's spans are counted once into ``slo_minute_counts`` (good and total events per SLO per
minute, only minutes holding events). A day of ``slo_status`` then reads the minute counts of
the days its windows span (the longest burn window or budget window back from the day's end),
never raw spans: a 30-day budget over 128 days of history reads 31 days of small aggregates.

``slo_count_days`` keeps one row per day with its first and last minute of SLO events, so the
data's own clock (where evaluations begin and end, and whether a window reaches back before the
first data) is known without scanning either time-series table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cicl_assets.partitions import DAY, day_start, replace_time_range
from cicl_assets.slo.budget_windows import budget_starts, slice_policy, time_slices
from cicl_assets.slo.burn import MinuteCounts, evaluate, evaluation_times, parse_duration_minutes
from cicl_assets.slo.external_counts import day_external_counts
from cicl_assets.slo.spec_model import RATIO_TIMESLICES, SLI_EXTERNAL, SLI_SPANS
from cicl_assets.slo.specs import SPAN_SOURCE, SloSpec
from cicl_assets.slo.status import (
    SLO_STATUS,
    counts_from_rows,
    minute_counts_query,
    slo_status_rows,
    span_slos,
)
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SLO_MINUTE_COUNTS = TableSpec(
    name="slo_minute_counts",
    description=(
        "One row per SLO and minute holding at least one of its events: good and total events "
        "(spans matching the SLO's filter, good = not an error or within the latency "
        "threshold; or SLI counts landed under slo/ for an SLO mapped to external counts). "
        "Rebuilt a day at a time from that day's spans and counts."
    ),
    schema=pa.schema(
        [
            ("slo_name", pa.string()),
            ("minute", UTC_TS),
            ("good", pa.int64()),
            ("total", pa.int64()),
        ]
    ),
    time_column="minute",
    cluster_by=("slo_name",),
    require_partition_filter=True,
    column_docs={"minute": "start of the minute (UTC) the events' spans started in"},
)

SLO_COUNT_DAYS = TableSpec(
    name="slo_count_days",
    description=(
        "One row per day and SLI source (spans, external) holding SLO events: its first and "
        "last minute with events and the events counted (the data clock slo_status evaluates "
        "on, without a scan)."
    ),
    schema=pa.schema(
        [
            ("day", UTC_TS),
            ("first_minute", UTC_TS),
            ("last_minute", UTC_TS),
            ("events", pa.int64()),
            ("sli_source", pa.string()),
        ]
    ),
)


def day_minute_counts(warehouse: Warehouse, slos: list[SloSpec], day: date) -> list[dict[str, Any]]:
    """slo_minute_counts rows of ``day``: span-based SLOs from that day's spans only, externally
    counted ones from the counts landed for that day."""
    spans = [
        {**r, "sli_source": SLI_SPANS} for r in day_span_counts(warehouse, span_slos(slos), day)
    ]
    external = day_external_counts(warehouse, slos, day)
    return spans + [{**r, "sli_source": SLI_EXTERNAL} for r in external]


def day_span_counts(warehouse: Warehouse, slos: list[SloSpec], day: date) -> list[dict[str, Any]]:
    if not slos or not warehouse.table_exists(SPAN_SOURCE):
        return []
    start = day_start(day)
    query = minute_counts_query(slos, warehouse.dialect, start, start + DAY)
    counts = counts_from_rows(warehouse.query(query.sql, query.params), query, slos)
    if counts is None:
        return []
    rows = []
    for name, minute_counts in counts.by_slo.items():
        for offset in np.flatnonzero(minute_counts.total):
            rows.append(
                {
                    "slo_name": name,
                    "minute": counts.start + timedelta(minutes=int(offset)),
                    "good": int(minute_counts.good[offset]),
                    "total": int(minute_counts.total[offset]),
                }
            )
    return rows


def write_day_counts(warehouse: Warehouse, day: date, rows: list[dict[str, Any]]) -> int:
    """Replace the day's minute counts and its row in slo_count_days; returns rows written."""
    start = day_start(day)
    written = replace_time_range(
        warehouse, SLO_MINUTE_COUNTS, start, start + DAY, SLO_MINUTE_COUNTS.from_records(rows)
    )
    summary = []
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_source.setdefault(row.get("sli_source") or SLI_SPANS, []).append(row)
    for source, found in sorted(by_source.items()):
        minutes = [r["minute"] for r in found]
        summary.append(
            {
                "day": start,
                "first_minute": min(minutes),
                "last_minute": max(minutes),
                "events": sum(r["total"] for r in found),
                "sli_source": source,
            }
        )
    warehouse.replace_where_in(SLO_COUNT_DAYS, "day", [start], SLO_COUNT_DAYS.from_records(summary))
    return written


def data_clock(warehouse: Warehouse) -> tuple[datetime, datetime] | None:
    """(first minute, last minute) holding SLO events, from the per-day summary."""
    if not warehouse.table_exists(SLO_COUNT_DAYS.name):
        return None
    row = warehouse.query(
        f"SELECT MIN(first_minute) AS first, MAX(last_minute) AS last FROM {SLO_COUNT_DAYS.name}"
    ).to_pylist()[0]
    if row["first"] is None:
        return None
    return row["first"], row["last"]


def source_starts(warehouse: Warehouse) -> dict[str, datetime]:
    """The first minute of SLO events of each SLI source: a window of an SLO counted from spans
    is not covered by external counts that began earlier, nor the other way round."""
    if not warehouse.table_exists(SLO_COUNT_DAYS.name):
        return {}
    rows = warehouse.query(
        f"SELECT sli_source, MIN(first_minute) AS first FROM {SLO_COUNT_DAYS.name} "
        "GROUP BY sli_source"
    ).to_pylist()
    starts: dict[str, datetime] = {}
    for row in rows:
        source = row["sli_source"] or SLI_SPANS
        starts[source] = min(row["first"], starts.get(source, row["first"]))
    return starts


def data_days(warehouse: Warehouse) -> list[date]:
    """Days holding SLO events, in order."""
    if not warehouse.table_exists(SLO_COUNT_DAYS.name):
        return []
    rows = warehouse.query(f"SELECT day FROM {SLO_COUNT_DAYS.name} ORDER BY day").to_pylist()
    return [r["day"].date() for r in rows]


def lookback_minutes(slos: list[SloSpec]) -> int:
    """The longest window any evaluation of these SLOs sums over (burn or budget window)."""
    longest = 0
    for slo in slos:
        longest = max(longest, slo.window_minutes)
        longest = max([longest, *(parse_duration_minutes(w) for w in slo.policy.windows)])
    return longest


def lookback_days(slos: list[SloSpec]) -> int:
    """Days after a day whose evaluations sum over it: its own and the windows' span."""
    return -(-lookback_minutes(slos) // 1440)


def load_window_counts(
    warehouse: Warehouse, slos: list[SloSpec], since: datetime, until: datetime
) -> dict[str, MinuteCounts]:
    """Dense per-minute counts of each SLO over [since, until), from slo_minute_counts.

    A budget window is 30 days of minutes per SLO (hundreds of thousands of rows): they go from
    Arrow to numpy in whole columns, never row by row."""
    names = [s.name for s in slos]
    empty = np.zeros(0, dtype=np.int64)
    rows: pa.Table | None = None
    if warehouse.table_exists(SLO_MINUTE_COUNTS.name):
        rows = warehouse.query(
            f"SELECT slo_name, minute, good, total FROM {SLO_MINUTE_COUNTS.name} "
            "WHERE minute >= @since AND minute < @until "
            f"AND slo_name IN {IN_ARRAY.format(param='slos')}",
            {"since": since, "until": until, "slos": names},
        )
    if rows is None or rows.num_rows == 0:
        return {n: MinuteCounts.from_offsets(empty, empty, empty, since, until) for n in names}
    micros = pc.cast(rows.column("minute"), pa.timestamp("us", tz="UTC")).cast(pa.int64())
    since_us = int((since - EPOCH) // timedelta(microseconds=1))
    offsets = (_numpy(micros) - since_us) // 60_000_000
    good, total = _numpy(rows.column("good")), _numpy(rows.column("total"))
    slo_of = _numpy(
        pc.fill_null(pc.index_in(rows.column("slo_name"), value_set=pa.array(names)), -1)
    )
    counts = {}
    for i, name in enumerate(names):
        mine = slo_of == i
        counts[name] = MinuteCounts.from_offsets(
            offsets[mine], good[mine], total[mine], since, until
        )
    return counts


def _numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False))


def day_evaluation_times(
    first: datetime, last: datetime, day: date, step_minutes: int
) -> list[datetime]:
    """The evaluation times of the whole data range [first, last] (minutes) that fall on
    ``day``: the same times as one evaluation of the whole range, cut at the day's bounds."""
    start, end = day_start(day), day_start(day) + DAY
    one_minute = timedelta(minutes=1)
    lo, hi = max(first, start - one_minute), min(last, end - one_minute)
    if lo > hi:
        return []
    # Cut at the day's end, the last time is the next day's midnight: that day's first time.
    times = evaluation_times(lo, hi, step_minutes)
    return [t for t in times if start <= t < end]


def day_status_records(
    warehouse: Warehouse,
    slos: list[SloSpec],
    day: date,
    clock: tuple[datetime, datetime] | None,
    step_minutes: int = 5,
) -> list[dict[str, Any]]:
    """slo_status rows of the evaluation times on ``day``, from minute counts of the days its
    windows span; equal to the rows one evaluation over all the data gives for that day."""
    if clock is None or not slos:
        return []
    first, last = clock
    times = day_evaluation_times(first, last, day, step_minutes)
    if not times:
        return []
    until = day_start(day) + DAY
    since = day_start(day) - timedelta(minutes=lookback_minutes(slos))
    counts = load_window_counts(warehouse, slos, since, until)
    starts = source_starts(warehouse)
    out: list[dict[str, Any]] = []
    for slo in slos:
        records = evaluate_objective(
            slo, counts[slo.name], times, starts.get(slo.sli_source, first)
        )
        out += slo_status_rows(slo, records)
    return out


def evaluate_objective(
    slo: SloSpec, counts: MinuteCounts, times: list[datetime], data_start: datetime
) -> list[dict[str, Any]]:
    """``evaluate`` under the objective's budgeting method and (rolling or calendar) window."""
    policy = slo.policy
    if slo.timesliced and slo.time_slice_minutes:
        ratio = slo.budgeting_method == RATIO_TIMESLICES
        counts = time_slices(counts, slo.time_slice_minutes, slo.time_slice_target, ratio)
        policy = slice_policy(policy, slo.time_slice_minutes)
    return evaluate(
        counts,
        times,
        slo.target,
        policy,
        slo.window_minutes,
        data_start=data_start,
        budget_starts=budget_starts(slo.calendar, times),
    )


def write_day_status(warehouse: Warehouse, day: date, records: list[dict[str, Any]]) -> int:
    start = day_start(day)
    return replace_time_range(
        warehouse, SLO_STATUS, start, start + DAY, SLO_STATUS.from_records(records)
    )
