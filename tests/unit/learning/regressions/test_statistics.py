"""The tests and the change-point detector on inputs small enough to check by hand."""

from math import comb

import pytest

from cicl_assets.learning.regressions.changepoints import divergence, e_divisive
from cicl_assets.learning.regressions.significance import fisher_rates, mann_whitney

CALM = [10.0, 11, 9, 10, 12, 10, 11, 9, 10, 11]
RAISED = [20.0, 21, 19, 20, 22, 20, 21, 19, 20, 21]


@pytest.mark.parametrize(
    ("before", "after", "worse", "u", "p", "medians"),
    [
        # Every after value beats every before value: U = 3*3, exact p = 1 / C(6,3).
        ([1, 2, 3], [4, 5, 6], "higher", 9.0, 1 / comb(6, 3), (2.0, 5.0)),
        ([1, 2, 3, 4], [5, 6, 7, 8], "higher", 16.0, 1 / comb(8, 4), (2.5, 6.5)),
        # An improvement is not a regression: all 20 orderings are at least as extreme.
        ([1, 2, 3], [4, 5, 6], "lower", 9.0, 1.0, (2.0, 5.0)),
        # Scores falling: after below before, one-sided "lower".
        ([0.9, 0.8, 0.85], [0.5, 0.4, 0.45], "lower", 0.0, 1 / comb(6, 3), (0.85, 0.45)),
        # One swap (3 after 4): U = 8, p = 2 / 20.
        ([1, 2, 4], [3, 5, 6], "higher", 8.0, 2 / comb(6, 3), (2.0, 5.0)),
    ],
)
def test_mann_whitney(before, after, worse, u, p, medians):
    c = mann_whitney(before, after, worse=worse)
    assert (c.statistic, c.baseline, c.current) == (u, *medians)
    assert c.p_value == pytest.approx(p, rel=1e-12)
    assert (c.n_baseline, c.n_current, c.method) == (len(before), len(after), "mann_whitney_u")


def _hypergeometric_tail(events_after, total_after, events, total):
    """P(X >= events_after) for the after-side count X with the margins fixed."""
    return sum(
        comb(events, x) * comb(total - events, total_after - x)
        for x in range(events_after, min(events, total_after) + 1)
    ) / comb(total, total_after)


@pytest.mark.parametrize(
    ("before", "after", "odds"),
    [
        ((0, 3), (3, 3), float("inf")),
        ((1, 10), (5, 10), (5 / 5) / (1 / 9)),
        ((2, 100), (30, 100), (30 / 70) / (2 / 98)),
        ((5, 10), (5, 10), 1.0),
    ],
)
def test_fisher_rates(before, after, odds):
    c = fisher_rates(before[0], before[1], after[0], after[1])
    expected = _hypergeometric_tail(after[0], after[1], before[0] + after[0], before[1] + after[1])
    assert c.p_value == pytest.approx(expected, rel=1e-9)
    assert c.statistic == pytest.approx(odds)
    assert (c.baseline, c.current) == (before[0] / before[1], after[0] / after[1])


def test_fisher_rates_refuses_impossible_counts():
    with pytest.raises(ValueError, match="between 0"):
        fisher_rates(4, 3, 1, 3)


def test_divergence_of_two_blocks():
    # tau=2 splits [0,0 | 1,1]: between-distance 1, within 0: energy 2*1 - 0 - 0, Q = 2*2/4*2.
    q = divergence(__import__("numpy").array([0.0, 0.0, 1.0, 1.0]))
    assert q.tolist() == [0.0, 0.0, 2.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("series", "kwargs", "expected"),
    [
        # A step at 30: found at its first raised value; p is Student's t over 30 vs 30 values.
        (CALM * 3 + RAISED * 3, {}, [(30, 2.686936461182072e-45, 10.3, 20.3)]),
        # Noise-free but for one spike: no change (the spike is one value).
        (CALM * 3 + [50.0] + CALM * 3, {"min_segment": 3, "min_magnitude": 0.1}, []),
        # Two raised values at the end are a change to the bare method, not with 3-value segments.
        (CALM * 3 + [30.0, 30.0], {"min_segment": 1}, "some"),
        (CALM * 3 + [30.0, 30.0], {"min_segment": 3}, []),
        # A 5% step is significant on quiet data, but under the minimum magnitude.
        (CALM * 3 + [v * 1.05 for v in CALM] * 3, {"max_p_value": 1.0}, "some"),
        (CALM * 3 + [v * 1.05 for v in CALM] * 3, {"max_p_value": 1.0, "min_magnitude": 0.1}, []),
        # Constant series: nothing to split.
        ([5.0] * 40, {}, []),
    ],
)
def test_e_divisive(series, kwargs, expected):
    found = e_divisive(series, **kwargs)
    if expected == "some":
        assert found
        return
    got = [(c.index, c.p_value, c.mean_before, c.mean_after) for c in found]
    assert [g[0] for g in got] == [e[0] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g[1] == pytest.approx(e[1], rel=1e-9)
        assert g[2:] == pytest.approx(e[2:])


def test_e_divisive_window_bounds_the_test():
    # Two steps: 10 -> 20 at 30, 20 -> 40 at 60; both found, each tested within its window.
    series = CALM * 3 + RAISED * 3 + [2 * v for v in RAISED] * 3
    assert [c.index for c in e_divisive(series, window=20)] == [30, 60]
