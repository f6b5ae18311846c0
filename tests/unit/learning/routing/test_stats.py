"""Exact quantiles (DuckDB's quantile_cont) and the Wilson interval, against known values."""

import pytest

from cicl_assets.learning.routing.stats import quantile, wilson


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.95, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0.95, 3.85),  # (n-1)q = 2.85 -> 3 + 0.85 x (4 - 3)
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0.95, 48.0),
    ],
)
def test_quantile(values, q, expected):
    assert quantile(values, q) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 0, None, None),
        (0, 10, 0.0, 0.277533),  # Wilson's known 95% upper bound for 0 of 10
        (5, 10, 0.236593, 0.763407),
        (1, 100, 0.001767, 0.054486),
    ],
)
def test_wilson(k, n, low, high):
    got = wilson(k, n)
    if low is None:
        assert got == (None, None)
    else:
        assert got == (pytest.approx(low, abs=1e-6), pytest.approx(high, abs=1e-6))
