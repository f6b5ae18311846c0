from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from cicl_assets.partitions import DAILY, RUN_MAX_DAYS, day_ranges, run_ranges

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("days", "ranges"),
    [
        ([], []),
        ([date(2026, 11, 3)], [(date(2026, 11, 3), date(2026, 11, 3))]),
        (
            [date(2026, 11, 5), date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 4)],
            [(date(2026, 11, 3), date(2026, 11, 5))],
        ),
        (
            [date(2026, 11, 3), date(2026, 11, 5)],
            [(date(2026, 11, 3), date(2026, 11, 3)), (date(2026, 11, 5), date(2026, 11, 5))],
        ),
        # a producer's clock ahead of ours: tomorrow and later have no partition yet
        ([date(2026, 11, 30), TODAY, date(2026, 12, 2)], [(date(2026, 11, 30), TODAY)]),
        ([date(2030, 1, 1)], []),
    ],
)
def test_day_ranges(days, ranges):
    assert day_ranges(days, today=TODAY) == ranges


def test_every_range_of_today_is_a_partition_that_exists():
    keys = set(DAILY.get_partition_keys())
    for first, last in day_ranges([date(2024, 1, 1), datetime.now(UTC).date(), date(2099, 1, 1)]):
        assert first.isoformat() in keys and last.isoformat() in keys


D = date(2026, 6, 1)


def _d(offset: int) -> date:
    return date.fromordinal(D.toordinal() + offset)


@pytest.mark.parametrize(
    ("days", "max_days", "ranges"),
    [
        (range(3), 3, [(0, 2)]),
        (range(4), 3, [(0, 2), (3, 3)]),
        (range(7), 3, [(0, 2), (3, 5), (6, 6)]),
        # a gap starts a new range whose length counts from its own first day
        ([0, 1, 3, 4, 5, 6], 3, [(0, 1), (3, 5), (6, 6)]),
        (range(5), 1, [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]),
        (range(5), None, [(0, 4)]),
    ],
)
def test_day_ranges_of_at_most_max_days(days, max_days, ranges):
    got = day_ranges([_d(i) for i in days], today=TODAY, max_days=max_days)
    assert got == [(_d(a), _d(b)) for a, b in ranges]


def test_a_first_run_of_128_days_launches_month_long_runs():
    """A first run over 128 days of history: 5 runs of at most RUN_MAX_DAYS days, not one
    run holding all 128 (a range is what one run's assets hold and its result keeps)."""
    days = [_d(i) for i in range(128)]
    ranges = run_ranges(days, today=TODAY)
    assert RUN_MAX_DAYS == 31
    assert [(b - a).days + 1 for a, b in ranges] == [31] * 4 + [4]
    assert ranges[0][0] == days[0] and ranges[-1][1] == days[-1]
    assert all(b + timedelta(days=1) == c for (_, b), (c, _) in pairwise(ranges))
