from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cicl_assets.slo.budget_windows import period_start, slice_policy, time_slices
from cicl_assets.slo.burn import AlertPolicy, MinuteCounts, evaluate
from cicl_assets.slo.minute_counts import evaluate_objective
from cicl_assets.slo.spec_model import CalendarWindow, SloSpec

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("calendar", "at", "start"),
    [
        # March begins at midnight in Berlin: 23:00 UTC the day before (CET, +1).
        (
            CalendarWindow(1, "month", "2026-01-01T00:00:00", "Europe/Berlin"),
            utc(2026, 3, 15, 10),
            utc(2026, 2, 28, 23),
        ),
        # 00:30 on 1 April in Berlin (CEST, +2) is already April.
        (
            CalendarWindow(1, "month", "2026-01-01T00:00:00", "Europe/Berlin"),
            utc(2026, 3, 31, 22, 30),
            utc(2026, 3, 31, 22),
        ),
        (
            CalendarWindow(1, "week", "2026-01-05T00:00:00", "UTC"),
            utc(2026, 1, 14, 12),
            utc(2026, 1, 12),
        ),
        (
            CalendarWindow(1, "quarter", "2026-01-01T00:00:00", "UTC"),
            utc(2026, 5, 20),
            utc(2026, 4, 1),
        ),
        # Periods count from the anchor's day: months from the 15th.
        (
            CalendarWindow(1, "month", "2026-01-15T00:00:00", "UTC"),
            utc(2026, 3, 10),
            utc(2026, 2, 15),
        ),
        (
            CalendarWindow(2, "day", "2026-01-01T00:00:00", "UTC"),
            utc(2026, 1, 4, 5),
            utc(2026, 1, 3),
        ),
    ],
)
def test_calendar_period_start(calendar, at, start):
    assert period_start(calendar, at) == start


def _counts(good: list[int], total: list[int]) -> MinuteCounts:
    return MinuteCounts(T0, np.array(good, dtype=np.int64), np.array(total, dtype=np.int64))


# Two 5-minute slices: 40 of 50 good (0.8), then 50 of 50; a third slice without events.
GOOD = [10, 10, 0, 10, 10] + [10] * 5 + [0] * 5
TOTAL = [10] * 10 + [0] * 5


@pytest.mark.parametrize(
    ("ratio", "target", "good_at", "total_at"),
    [
        (False, 0.9, {4: 0, 9: 1}, {4: 1, 9: 1}),
        (False, 0.8, {4: 1, 9: 1}, {4: 1, 9: 1}),  # a slice reaching its target is good
        (True, None, {4: 0.8, 9: 1.0}, {4: 1, 9: 1}),
    ],
)
def test_time_slices_count_each_complete_slice_once_at_its_last_minute(
    ratio, target, good_at, total_at
):
    sliced = time_slices(_counts(GOOD, TOTAL), 5, target, ratio)
    assert {i: v for i, v in enumerate(sliced.total.tolist()) if v} == total_at
    assert {i: sliced.good[i].item() for i in total_at} == good_at
    assert sliced.total.sum() == 2  # the empty slice is not counted


def test_slice_policy_caps_each_windows_minimum_at_the_slices_it_holds():
    policy = slice_policy(AlertPolicy(min_events=10), 5)
    assert [policy.min_for(w) for w in ("5m", "30m", "1h", "3d")] == [1, 6, 10, 10]


def test_calendar_budget_starts_restart_the_budget_each_period():
    # Day 1: 100 events, 50 bad; day 2: 100 events, 1 bad.
    total = np.zeros(2 * 1440, dtype=np.int64)
    good = np.zeros(2 * 1440, dtype=np.int64)
    total[600], good[600] = 100, 50
    total[1440 + 600], good[1440 + 600] = 100, 99
    counts = MinuteCounts(T0, good, total)
    at = [T0 + timedelta(days=1, hours=12)]
    rolling = evaluate(counts, at, 0.9, AlertPolicy(), 2 * 1440)
    calendar = evaluate(
        counts, at, 0.9, AlertPolicy(), 2 * 1440, budget_starts=[T0 + timedelta(days=1)]
    )
    assert (rolling[0]["total_events"], rolling[0]["bad_events"]) == (200, 51)
    assert (calendar[0]["total_events"], calendar[0]["bad_events"]) == (100, 1)
    assert calendar[0]["sli"] == 0.99


def test_ratio_timeslices_sli_is_the_mean_of_the_slice_ratios():
    slo = SloSpec(
        name="s",
        service="svc",
        sli_kind="availability",
        target=0.5,
        span_filter=None,
        budgeting_method="RatioTimeslices",
        time_slice_minutes=5,
        window_minutes=1440,
    )
    busy = _counts([10, 10, 0, 10, 10] + [20] * 5, [10] * 5 + [20] * 5)
    [record] = evaluate_objective(slo, busy, [T0 + timedelta(minutes=10)], T0)
    # Occurrences would give 140 / 150; the slices' mean is (0.8 + 1.0) / 2.
    assert record["total_events"] == 2 and record["sli"] == pytest.approx(0.9)
    [record] = evaluate_objective(
        slo, _counts([10, 10, 0, 10, 10, 1], [10] * 5 + [10]), [T0 + timedelta(minutes=10)], T0
    )
    assert record["total_events"] == 1 and record["sli"] == pytest.approx(0.8)
