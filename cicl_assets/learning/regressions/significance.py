"""Two-sample tests for "is the data after worse than the data before?".

One-sided in the direction a regression goes (``worse="higher"`` for latency, error rates and
tokens; ``"lower"`` for scores): an improvement is never a finding. Pure functions over plain
sequences; scipy computes the distributions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cicl_assets.learning.regressions.scipy_stats import stats


@dataclass(frozen=True)
class Comparison:
    """The outcome of one before/after test."""

    method: str
    statistic: float
    p_value: float
    baseline: float  # median (samples) or rate (counts) before
    current: float  # the same after
    n_baseline: int
    n_current: int

    @property
    def ratio(self) -> float | None:
        """current / baseline; None when the baseline is zero."""
        return self.current / self.baseline if self.baseline else None


def _alternative(worse: str) -> str:
    if worse not in ("higher", "lower"):
        raise ValueError(f"worse must be 'higher' or 'lower', not {worse!r}")
    return "greater" if worse == "higher" else "less"


def mann_whitney(
    before: Sequence[float], after: Sequence[float], worse: str = "higher"
) -> Comparison:
    """Mann-Whitney U of ``after`` against ``before`` (U counts pairs where after is worse).

    Exact distribution for small samples without ties, the normal approximation with tie and
    continuity correction otherwise (scipy's ``auto``); medians as baseline and current.
    """
    a = np.asarray(after, dtype=float)
    b = np.asarray(before, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("both samples need at least one value")
    result = stats().mannwhitneyu(a, b, alternative=_alternative(worse), method="auto")
    return Comparison(
        method="mann_whitney_u",
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        baseline=float(np.median(b)),
        current=float(np.median(a)),
        n_baseline=int(b.size),
        n_current=int(a.size),
    )


def fisher_rates(
    events_before: int, total_before: int, events_after: int, total_after: int
) -> Comparison:
    """Fisher's exact test that the rate of events (errors, negative ratings) rose.

    The statistic is the sample odds ratio (after over before; inf when no event before).
    """
    if total_before <= 0 or total_after <= 0:
        raise ValueError("both sides need at least one trial")
    if not (0 <= events_before <= total_before and 0 <= events_after <= total_after):
        raise ValueError("events must lie between 0 and the number of trials")
    table = [
        [events_after, total_after - events_after],
        [events_before, total_before - events_before],
    ]
    odds, p = stats().fisher_exact(table, alternative="greater")
    return Comparison(
        method="fisher_exact",
        statistic=float(odds),
        p_value=float(p),
        baseline=events_before / total_before,
        current=events_after / total_after,
        n_baseline=total_before,
        n_current=total_after,
    )
