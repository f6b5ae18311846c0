"""Change points in a series of hourly values: E-divisive means with a Student t-test.

The method of Matteson & James (2014), E-divisive with the energy distance (alpha = 1), with
the permutation test replaced by a two-sample Student t-test as Fleming et al. describe for
Hunter (ICPE 2023): bisect a segment where the divergence between its two parts is largest,
keep the split when the ``window`` values on either side differ at ``max_p_value``, recurse into
both parts. Two guards the bare method lacks: each side of a change holds at least
``min_segment`` values (a single spike is not a change) and the means differ by at least
``min_magnitude`` relative to the earlier one (on noise the bare test flags about 7% of series).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cicl_assets.learning.regressions.scipy_stats import stats


@dataclass(frozen=True)
class ChangePoint:
    index: int  # the first value of the new segment
    p_value: float
    mean_before: float
    mean_after: float

    @property
    def ratio(self) -> float | None:
        return self.mean_after / self.mean_before if self.mean_before else None


def divergence(values: np.ndarray) -> np.ndarray:
    """Q(tau) of Matteson & James for every split tau of ``values`` (index = tau; 0 where a side
    has fewer than two values): (tau (n - tau) / n) times the energy distance between the parts."""
    n = values.size
    q = np.zeros(n + 1)
    if n < 4:
        return q
    distance = np.abs(values[:, None] - values[None, :])
    prefix = np.zeros((n + 1, n + 1))
    prefix[1:, 1:] = distance.cumsum(axis=0).cumsum(axis=1)
    total = prefix[n, n]
    for tau in range(2, n - 1):
        m = n - tau
        left = prefix[tau, tau]  # ordered pairs within the left part
        between = prefix[tau, n] - left
        right = total - 2 * between - left
        energy = 2 * between / (tau * m) - left / (tau * (tau - 1)) - right / (m * (m - 1))
        q[tau] = tau * m / n * energy
    return q


def e_divisive(
    series: Sequence[float],
    *,
    max_p_value: float = 0.001,
    window: int = 50,
    min_segment: int = 1,
    min_magnitude: float = 0.0,
) -> list[ChangePoint]:
    """Significant change points of ``series``, in order."""
    values = np.asarray(series, dtype=float)
    found: list[ChangePoint] = []
    segments = [(0, values.size)]
    while segments:
        start, end = segments.pop()
        best = _best_split(values, start, end, max_p_value, window, min_segment, min_magnitude)
        if best is None:
            continue
        found.append(best)
        segments += [(start, best.index), (best.index, end)]
    return sorted(found, key=lambda c: c.index)


def _best_split(
    values: np.ndarray,
    start: int,
    end: int,
    max_p_value: float,
    window: int,
    min_segment: int,
    min_magnitude: float,
) -> ChangePoint | None:
    if end - start < 2 * max(2, min_segment):
        return None
    q = divergence(values[start:end])
    offset = int(np.argmax(q))
    # The split is where the divergence is largest; a segment shorter than min_segment there is
    # a spike, not a change (moving the split to make room would hide the spike in a segment).
    if not q[offset] > 0 or min(offset, end - start - offset) < min_segment:
        return None
    tau = start + offset
    before = values[max(start, tau - window) : tau]
    after = values[tau : min(end, tau + window)]
    if before.std() == 0 and after.std() == 0:
        p = 0.0 if before[0] != after[0] else 1.0
    else:
        p = float(stats().ttest_ind(before, after, equal_var=True).pvalue)
    mean_before, mean_after = float(before.mean()), float(after.mean())
    magnitude = abs(mean_after - mean_before) / abs(mean_before) if mean_before else np.inf
    if p <= max_p_value and magnitude >= min_magnitude:
        return ChangePoint(tau, p, mean_before, mean_after)
    return None
