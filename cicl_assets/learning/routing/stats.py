"""Exact statistics over samples held in memory, so every warehouse gives the same numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def quantile(values: Iterable[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between closest ranks (Hyndman-Fan type 7, what
    DuckDB's quantile_cont and numpy's default compute); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion; (None, None) for no trials."""
    if trials <= 0:
        return None, None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
