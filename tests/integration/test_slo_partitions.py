"""slo_status by day from per-day minute counts equals one evaluation over the whole span
history (the formula before partitions), on the demo's own four days of traffic; and a day's
status reads only the minute counts of the days its windows span."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from cicl_assets.partitions import day_of, days_between
from cicl_assets.slo.burn import evaluation_times
from cicl_assets.slo.minute_counts import (
    data_clock,
    data_days,
    day_evaluation_times,
    day_minute_counts,
    day_status_records,
    load_window_counts,
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


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # Each SLO's own buckets at their offsets; a minute before or at the end is outside.
        (
            T,
            T + 4 * M,
            {"a": ([0, 0, 3, 0], [0, 0, 4, 0]), "b": ([1, 0, 0, 7], [2, 0, 0, 9])},
        ),
        # An SLO with no minute in the window is all zeros.
        (T + M, T + 3 * M, {"a": ([0, 3], [0, 4]), "b": ([0, 0], [0, 0])}),
    ],
)
def test_window_counts_are_dense_per_slo(tmp_path, since, until, expected):
    a, b = SPECS[0], SPECS[1]
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    rows = [
        {"slo_name": a.name, "minute": T + 2 * M, "good": 3, "total": 4},
        {"slo_name": b.name, "minute": T, "good": 1, "total": 2},
        {"slo_name": b.name, "minute": T + 3 * M, "good": 7, "total": 9},
        {"slo_name": b.name, "minute": T - M, "good": 5, "total": 5},
        {"slo_name": b.name, "minute": T + 4 * M, "good": 6, "total": 6},
        {"slo_name": SPECS[2].name, "minute": T + M, "good": 8, "total": 8},
    ]
    write_day_counts(warehouse, date(2026, 11, 4), rows[3:4])
    write_day_counts(warehouse, date(2026, 11, 5), rows[:3] + rows[4:])
    # A budget window is hundreds of thousands of rows: never turned into Python rows.
    counts = load_window_counts(_ColumnsOnly(warehouse), [a, b], since, until)
    assert sorted(counts) == sorted([a.name, b.name])
    for key, slo in (("a", a), ("b", b)):
        good, total = expected[key]
        assert counts[slo.name].start == since
        assert counts[slo.name].good.tolist() == good
        assert counts[slo.name].total.tolist() == total


class _ColumnsOnly:
    """A warehouse whose query results refuse to become Python rows."""

    def __init__(self, warehouse: DuckDBWarehouse) -> None:
        self.warehouse = warehouse

    def table_exists(self, name: str) -> bool:
        return self.warehouse.table_exists(name)

    def query(self, sql: str, params: dict | None = None) -> _NoRows:
        return _NoRows(self.warehouse.query(sql, params))


class _NoRows:
    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __getattr__(self, name: str):
        if name in ("to_pylist", "to_pydict", "to_pandas", "to_batches"):
            raise AssertionError(f"minute counts read row by row ({name})")
        return getattr(self._table, name)
