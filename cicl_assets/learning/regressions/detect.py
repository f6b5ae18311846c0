"""The detectors: every series compared around each deploy of a service that emits it, drift
without a deploy (change points on hourly medians), and error bursts (an hour against the day
before it). Pure: series and deploys in, results out; the asset reads and writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from cicl_assets.learning.findings import hour_anchor
from cicl_assets.learning.regressions.changepoints import e_divisive
from cicl_assets.learning.regressions.deploys import Deploy
from cicl_assets.learning.regressions.describe import effect
from cicl_assets.learning.regressions.series import Series
from cicl_assets.learning.regressions.significance import Comparison, fisher_rates, mann_whitney
from cicl_assets.learning.regressions.thresholds import Thresholds

HOUR = 3600.0


@dataclass
class Result:
    """One comparison (passed or not); those that pass are findings."""

    series: Series
    method: str
    comparison: Comparison
    change_at: datetime
    data_through: datetime
    passed: bool
    deploy: Deploy | None = None
    first_detectable_at: datetime | None = None
    resolved_at: datetime | None = None
    extra: dict = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        if self.deploy is not None:
            return self.deploy.anchor
        return hour_anchor(self.change_at)


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def compare(series: Series, before: np.ndarray, after: np.ndarray) -> Comparison:
    if series.is_rate:
        return fisher_rates(int(before.sum()), before.size, int(after.sum()), after.size)
    return mann_whitney(before, after, worse=series.worse)


def passes(series: Series, c: Comparison, t: Thresholds, max_p: float | None = None) -> bool:
    """Whether a comparison is a regression at the thresholds."""
    if c.n_baseline < t.min_samples or c.n_current < t.min_samples:
        return False
    if c.p_value > (t.max_p_value if max_p is None else max_p):
        return False
    if series.is_rate:
        events = round(c.current * c.n_current)
        grew = c.current >= t.rates.min_ratio * c.baseline
        return (
            events >= t.rates.min_events and grew and c.current - c.baseline >= t.rates.min_increase
        )
    if series.worse == "lower":
        return c.baseline > 0 and (c.baseline - c.current) / c.baseline >= t.min_score_drop
    return effect(c.ratio, series.worse) >= t.min_ratio


def recovered(series: Series, c: Comparison, t: Thresholds) -> bool:
    """Back to baseline: no longer worse at p 0.05, or by less than half the minimum effect."""
    if c.p_value > 0.05:
        return True
    if series.is_rate:
        return c.current < c.baseline + t.rates.min_increase / 2
    if series.worse == "lower":
        return c.baseline <= 0 or (c.baseline - c.current) / c.baseline < t.min_score_drop / 2
    return effect(c.ratio, series.worse) < 1 + (t.min_ratio - 1) / 2


def _test(series: Series, start: float, split: float, end: float) -> Comparison | None:
    before, after = series.between(start, split), series.between(split, end)
    if before.size == 0 or after.size == 0:
        return None
    return compare(series, before, after)


def per_deploy(
    series: Series,
    deploy: Deploy,
    data_end: datetime,
    t: Thresholds,
    previous: datetime | None = None,
    following: datetime | None = None,
) -> Result | None:
    """Before vs after one deploy, with the data time it first passed and when it recovered.

    The windows stop at the deploys before and after it (``previous``, ``following``) of the
    services emitting the series, so each change is held against the deploy that shipped it.
    """
    at = deploy.at.timestamp()
    end = min(at + t.after_hours * HOUR, data_end.timestamp())
    if following is not None:
        end = min(end, following.timestamp())
    start = at - t.before_hours * HOUR
    if previous is not None:
        start = max(start, previous.timestamp())
    c = _test(series, start, at, end)
    if c is None:
        return None
    result = Result(series, c.method, c, deploy.at, _ts(end), passes(series, c, t), deploy)
    if not result.passed:
        return result
    cutoff = at + HOUR
    while cutoff < end:
        early = _test(series, start, at, cutoff)
        if early is not None and passes(series, early, t):
            break
        cutoff += HOUR
    first = min(cutoff, end)
    result.first_detectable_at = _ts(first)
    result.resolved_at = _recovery(series, start, at, first, end, t)
    return result


def _recovery(
    series: Series, start: float, at: float, first: float, end: float, t: Thresholds
) -> datetime | None:
    """The earliest hour from which the data to ``end`` (at least ``recovery_hours`` of it) no
    longer differs from the baseline; None while the regression lasts."""
    back_since = None
    since = end - t.recovery_hours * HOUR
    while since >= first:
        before = series.between(start, at)
        after = series.between(since, end)
        if before.size == 0 or after.size < t.min_samples:
            break
        if not recovered(series, compare(series, before, after), t):
            break
        back_since = since
        since -= HOUR
    return _ts(back_since) if back_since is not None else None


def hourly(series: Series, start: float, end: float, min_samples: int) -> list[tuple[float, float]]:
    """(hour start, median or rate) of every hour in [start, end) with enough samples."""
    points = []
    hour = start
    while hour < end:
        chunk = series.between(hour, hour + HOUR)
        if chunk.size >= min_samples:
            points.append((hour, float(chunk.mean() if series.is_rate else np.median(chunk))))
        hour += HOUR
    return points


def attribute(at: datetime, deploys: Iterable[Deploy], hours: float) -> Deploy | None:
    """The nearest deploy before the end of the hour starting ``at``, within ``hours``."""
    earlier = [d for d in deploys if -timedelta(hours=1) < at - d.at <= timedelta(hours=hours)]
    return max(earlier, key=lambda d: d.at) if earlier else None


def _confirmed(
    series: Series, start: float, change: float, end: float, t: Thresholds
) -> Comparison | None:
    """The change point's segments compared on their exact samples, as a deploy's would be:
    hourly medians of a few samples each move by chance, the samples behind them less so."""
    c = _test(series, start, change, end)
    return c if c is not None and passes(series, c, t) else None


def _changes(values: list[float], t: Thresholds) -> list:
    d = t.drift
    return e_divisive(
        values,
        max_p_value=d.max_p_value,
        window=d.window,
        min_segment=d.min_segment_hours,
        min_magnitude=d.min_magnitude,
    )


def drift(
    series: Series,
    start: datetime,
    end: datetime,
    report_from: datetime,
    deploys: list[Deploy],
    t: Thresholds,
) -> list[Result]:
    """Change points for the worse on the series' hourly medians that begin at or after
    ``report_from`` and that the exact samples either side confirm, each attributed to the
    nearest deploy before it within the window."""
    if series.is_rate:
        return []  # hourly rates of thin traffic are mostly zeros; bursts watch rates instead
    d = t.drift
    points = hourly(series, start.timestamp(), end.timestamp(), d.min_samples_per_hour)
    hours = [p[0] for p in points]
    values = [p[1] for p in points]
    changes = _changes(values, t)
    found = []
    for n, cp in enumerate(changes):
        change = _ts(hours[cp.index])
        if change < report_from or effect(cp.ratio, series.worse) < 1 + d.min_magnitude:
            continue
        lo = max(cp.index - d.window, changes[n - 1].index if n else 0)
        hi = min(cp.index + d.window, changes[n + 1].index if n + 1 < len(changes) else len(hours))
        c = _confirmed(series, hours[lo], hours[cp.index], hours[hi - 1] + HOUR, t)
        if c is None:
            continue
        first = None
        for k in range(cp.index + d.min_segment_hours, hi + 1):
            if any(p.index == cp.index for p in _changes(values[:k], t)) and _confirmed(
                series, hours[lo], hours[cp.index], hours[k - 1] + HOUR, t
            ):
                first = _ts(hours[k - 1] + HOUR)
                break
        deploy = attribute(change, deploys, d.attribution_hours)
        extra = {"hours": len(values), "change_point_p_value": cp.p_value}
        found.append(
            Result(series, "e_divisive_means", c, change, end, True, deploy, first, None, extra)
        )
    return found


def bursts(
    series: Series, day_start: datetime, day_end: datetime, deploys: list[Deploy], t: Thresholds
) -> list[Result]:
    """Hours of a rate series far above the ``burst.baseline_hours`` before them; consecutive
    burst hours are one finding, resolved at the end of the last when a calmer hour follows."""
    if not series.is_rate:
        return []
    found: list[Result] = []
    current: Result | None = None
    hour = day_start.timestamp()
    last_sample = series.arrays()[0].max() if series.size else hour
    while hour < day_end.timestamp() and hour <= last_sample:
        base_start = (
            current.change_at.timestamp() if current else hour
        ) - t.burst.baseline_hours * HOUR
        base_end = current.change_at.timestamp() if current else hour
        before, now = series.between(base_start, base_end), series.between(hour, hour + HOUR)
        hit = None
        if before.size and now.size:
            c = compare(series, before, now)
            if passes(series, c, t, max_p=t.burst.max_p_value):
                hit = c
        if hit is not None and current is None:
            change = _ts(hour)
            deploy = attribute(change, deploys, t.drift.attribution_hours)
            current = Result(
                series, "fisher_exact_hourly", hit, change, _ts(hour + HOUR), True, deploy
            )
            current.first_detectable_at = _ts(hour + HOUR)
            found.append(current)
        elif hit is not None and current is not None:
            current.data_through = _ts(hour + HOUR)
        elif current is not None:
            if now.size:
                current.resolved_at = _ts(hour)
                current.data_through = _ts(hour + HOUR)
            current = None
        hour += HOUR
    return found
