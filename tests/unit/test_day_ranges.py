from datetime import UTC, date, datetime

import pytest

from cicl_assets.partitions import DAILY, day_ranges

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
