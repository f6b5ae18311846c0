"""A released candidate's outcome: its targeted metric before and after the production
deployment, tested both ways with the regression detectors' tests and thresholds.

The targeted metric is the series and metric of the finding the candidate rests on (the
regression it was meant to fix), preferring the finding whose metric the candidate's
expected_impact names. Worse means the detectors would call the change a regression; improved
means they would call the reverse change one (the same test with before and after swapped);
anything between is no effect. Candidates that rest on no measured series (runbooks, test
quarantine) are ``not_measured``, saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from cicl_assets.charts import png_bytes
from cicl_assets.learning.regressions.describe import metric_words, value_text
from cicl_assets.learning.regressions.detect import HOUR, compare, passes
from cicl_assets.learning.regressions.pictures import hourly_line
from cicl_assets.learning.regressions.series import Series
from cicl_assets.learning.regressions.thresholds import Thresholds
from cicl_assets.release.tables import IMPROVED, NO_EFFECT, NOT_MEASURED, WORSE

SERIES_METRICS = (
    "latency_ms",
    "latency_per_output_token_ms",
    "tokens_per_call",
    "error_rate",
    "duration_ms",
    "negative_feedback_rate",
)
# expected_impact names some metrics by the statistic the detectors compare.
ALIASES = {"latency_p50_ms": "latency_ms"}


def measurable(metric: str | None) -> bool:
    return bool(metric) and (metric in SERIES_METRICS or metric.startswith("eval_score:"))


@dataclass(frozen=True)
class Target:
    series_key: str
    metric: str
    finding_id: str
    expected: float | None


def target_of(candidate: dict[str, Any], findings: dict[str, dict[str, Any]]) -> Target | None:
    """The series the candidate means to move, from the findings it rests on."""
    impact = json.loads(candidate["expected_impact"] or "{}")
    named = {}
    for key, value in impact.items():
        metric = key.rsplit(".", 1)[-1] if "." in key else key
        named.setdefault(ALIASES.get(metric, metric), value)
    rested = [findings[f] for f in json.loads(candidate["finding_ids"] or "[]") if f in findings]
    usable = [f for f in rested if f["series_key"] and measurable(f["metric"])]
    if not usable:
        return None
    usable.sort(key=lambda f: (f["metric"] not in named, f["finding_id"]))
    best = usable[0]
    expected = (named.get(best["metric"]) or {}).get("expected")
    return Target(best["series_key"], best["metric"], best["finding_id"], expected)


@dataclass(frozen=True)
class Measured:
    verdict: str
    reason: str
    baseline: float | None = None
    current: float | None = None
    ratio: float | None = None
    p_worse: float | None = None
    p_improved: float | None = None
    n_baseline: int = 0
    n_current: int = 0
    method: str | None = None


def measure(series: Series | None, at: datetime, t: Thresholds, title: str) -> Measured:
    """Before (``before_hours`` up to ``at``) against after (``after_hours`` from ``at``)."""
    if series is None:
        return Measured(NOT_MEASURED, f"{title}: no samples of its series around the deployment")
    split = at.timestamp()
    before = series.between(split - t.before_hours * HOUR, split)
    after = series.between(split, split + t.after_hours * HOUR)
    if before.size < t.min_samples or after.size < t.min_samples:
        return Measured(
            NOT_MEASURED,
            f"{title}: {before.size} samples before and {after.size} after the deployment; "
            f"{t.min_samples} a side are needed (measured again as data arrives)",
            n_baseline=int(before.size),
            n_current=int(after.size),
        )
    worse = compare(series, before, after)
    better = compare(series, after, before)
    words = metric_words(series.metric)
    numbers = (
        f"{value_text(series.metric, worse.baseline)} -> {value_text(series.metric, worse.current)}"
    )
    if passes(series, worse, t):
        verdict, how = WORSE, f"got worse: {words} {numbers} (p={worse.p_value:.1g})"
    elif passes(series, better, t):
        verdict, how = IMPROVED, f"improved: {words} {numbers} (p={better.p_value:.1g})"
    else:
        verdict, how = NO_EFFECT, f"had no effect the detectors can tell: {words} {numbers}"
    return Measured(
        verdict,
        f"{title} {how}, {worse.n_baseline} samples before and {worse.n_current} after the "
        "deployment.",
        worse.baseline,
        worse.current,
        worse.ratio,
        worse.p_value,
        better.p_value,
        worse.n_baseline,
        worse.n_current,
        worse.method,
    )


def outcome_png(series: Series, at: datetime, t: Thresholds, verdict: str) -> bytes:
    """The metric hour by hour with the deployment marked, beside the two distributions."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    split = at.timestamp()
    start, end = split - t.before_hours * HOUR, split + t.after_hours * HOUR
    before, after = series.between(start, split), series.between(split, end)
    colour = {IMPROVED: "#2e7d32", WORSE: "#c62828"}.get(verdict, "#7f7f7f")
    fig, (line, dist) = plt.subplots(
        1, 2, figsize=(9, 3.2), dpi=72, gridspec_kw={"width_ratios": [2.2, 1]}
    )
    try:
        hourly_line(line, series, *window(at, t), [(at, colour, "--", "release deployed")])
        if series.is_rate:
            dist.bar(["before", "after"], [before.mean(), after.mean()], color=["#7f7f7f", colour])
            dist.set_title("rate", fontsize="small")
        else:
            dist.boxplot([np.asarray(before), np.asarray(after)], showfliers=False)
            dist.set_xticks([1, 2], ["before", "after"])
            dist.set_title(verdict.replace("_", " "), fontsize="small")
        dist.grid(alpha=0.3)
    except BaseException:
        plt.close(fig)
        raise
    return png_bytes(fig)


def window(at: datetime, t: Thresholds) -> tuple[datetime, datetime]:
    """The data a measurement reads: ``before_hours`` before the deployment to ``after_hours``
    after it."""
    return at - timedelta(hours=t.before_hours), at + timedelta(hours=t.after_hours)
