"""slo_status by day from per-day minute counts equals one evaluation over the whole span
history (the formula before partitions), on the demo's own four days of traffic; and a day's
status reads only the minute counts of the days its windows span."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cicl_assets.partitions import day_of, days_between
from cicl_assets.slo.burn import evaluation_times
from cicl_assets.slo.minute_counts import (
    data_clock,
    data_days,
    day_evaluation_times,
    day_minute_counts,
    day_status_records,
    lookback_days,
    write_day_counts,
)
from cicl_assets.slo.specs import load_spec_dir
from cicl_assets.slo.status import load_slo_counts, status_records
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.traffic_plan import plan_traffic
from sensors.slo_partitions import status_days
from tests.unit.slo.spans import span, write_spans

SPECS = load_spec_dir(Path(__file__).parents[2] / "config" / "slos").slos


def _key(row: dict) -> tuple:
    return (row["slo_name"], row["evaluation_time"])


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(path=str(tmp_path_factory.mktemp("demo") / "w.duckdb"))
    rows = [
        span(
            datetime.fromtimestamp(run.start_ns / 1e9, tz=UTC),
            workflow=run.workflow,
            error=bool(run.failure),
            trace_id=f"{hour.hour_index:08x}{run.index:024x}",
        )
        for hour in plan_traffic()
        for run in hour.runs
    ]
    write_spans(warehouse, rows)
    return warehouse


def test_status_by_day_from_minute_counts_equals_one_evaluation_of_all_spans(demo_warehouse):
    whole = status_records(load_slo_counts(demo_warehouse, SPECS), SPECS)
    first, last = min(r["evaluation_time"] for r in whole), max(r["evaluation_time"] for r in whole)
    days = list(days_between(first - timedelta(days=1), last + timedelta(minutes=1)))
    for day in days:
        write_day_counts(demo_warehouse, day, day_minute_counts(demo_warehouse, SPECS, day))
    clock = data_clock(demo_warehouse)
    by_day = []
    for day in days:
        by_day += day_status_records(demo_warehouse, SPECS, day, clock)
    assert len(by_day) == len(whole) > 10 * 4 * 288 - 10 * 2
    assert sorted(by_day, key=_key) == sorted(whole, key=_key)
    # The demo's stories are in it: its breach pages.
    assert {r["slo_name"] for r in by_day if r["alert"] == "page"} == {
        "workflow-invoice-triage-availability"
    }
    assert data_days(demo_warehouse) == [date(2026, 11, d) for d in (2, 3, 4, 5)]


T = datetime(2026, 11, 5, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("first", "last", "day", "step", "expected"),
    [
        # The last day ends at the last minute's end, off the 5-minute grid.
        (
            T - timedelta(days=1),
            T + timedelta(minutes=12),
            date(2026, 11, 5),
            5,
            [T, T + 5 * M, T + 10 * M, T + 13 * M],
        ),
        # A day before the last: every step to the day's end; midnight is the next day's.
        (T - 13 * M, T + timedelta(days=2), date(2026, 11, 4), 5, [T - 10 * M, T - 5 * M]),
        # The first day starts a minute after the first minute of data.
        (
            T + 7 * M,
            T + 20 * M,
            date(2026, 11, 5),
            5,
            [T + 10 * M, T + 15 * M, T + 20 * M, T + 21 * M],
        ),
        # A day outside the data's range has no evaluation.
        (T, T + 20 * M, date(2026, 11, 6), 5, []),
        (T, T + 20 * M, date(2026, 11, 4), 5, []),
    ],
)
def test_day_evaluation_times_cut_the_whole_range(first, last, day, step, expected):
    assert day_evaluation_times(first, last, day, step) == expected
    whole = evaluation_times(first, last, step)
    assert expected == [t for t in whole if day_of(t) == day]


@pytest.mark.parametrize(
    ("touched", "data", "expected"),
    [
        # A new hour on the last day: that day only.
        ([date(2026, 11, 5)], [date(2026, 11, d) for d in (2, 3, 4, 5)], [date(2026, 11, 5)]),
        # Late data two days back: it and every later day whose 30-day windows reach it.
        (
            [date(2026, 11, 3)],
            [date(2026, 11, d) for d in (2, 3, 4, 5)],
            [date(2026, 11, d) for d in (3, 4, 5)],
        ),
        # Never past the data's last day, nor before its first.
        (
            [date(2026, 11, 1)],
            [date(2026, 11, 30), date(2026, 12, 20)],
            [date(2026, 11, 30), date(2026, 12, 1)],
        ),
        ([], [date(2026, 11, 5)], []),
        ([date(2026, 11, 5)], [], []),
    ],
)
def test_days_a_touched_day_makes_stale(touched, data, expected):
    assert status_days(touched, data, lookback_days(SPECS)) == expected


def test_lookback_is_the_budget_window():
    assert lookback_days(SPECS) == 30
