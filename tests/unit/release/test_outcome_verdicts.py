"""The verdict of one before/after measurement, table-driven on exact samples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cicl_assets.learning.regressions.series import Series
from cicl_assets.learning.regressions.thresholds import Thresholds
from cicl_assets.release.outcomes import measure

AT = datetime(2026, 11, 10, 12, tzinfo=UTC)
OPENING = {
    "worse": "The change got worse: ",
    "improved": "The change improved: ",
    "no_effect": "The change had no effect the detectors can tell: ",
}


def series(metric: str, before: list[float], after: list[float]) -> Series:
    s = Series((("workflow", "support-reply"),), metric)
    at = AT.timestamp()
    for i, v in enumerate(before):
        s.times.append(at - 3600 * 23 + i * 60)
        s.values.append(v)
    for i, v in enumerate(after):
        s.times.append(at + i * 60)
        s.values.append(v)
    return s


def alternating(low: float, high: float, n: int = 40) -> list[float]:
    return [low if i % 2 else high for i in range(n)]


@pytest.mark.parametrize(
    ("metric", "before", "after", "verdict", "numbers"),
    [
        ("latency_ms", alternating(900, 1100), alternating(1800, 2200), "worse", (1000, 2000)),
        ("latency_ms", alternating(1800, 2200), alternating(900, 1100), "improved", (2000, 1000)),
        ("latency_ms", alternating(900, 1100), alternating(950, 1050), "no_effect", (1000, 1000)),
        (
            "eval_score:relevance",
            alternating(0.5, 0.54),
            alternating(0.84, 0.88),
            "improved",
            (0.52, 0.86),
        ),
        (
            "eval_score:relevance",
            alternating(0.84, 0.88),
            alternating(0.5, 0.54),
            "worse",
            (0.86, 0.52),
        ),
        ("error_rate", [0.0] * 40, [1.0] * 20 + [0.0] * 20, "worse", (0.0, 0.5)),
        ("error_rate", [1.0] * 20 + [0.0] * 20, [0.0] * 40, "improved", (0.5, 0.0)),
    ],
)
def test_before_and_after_give_the_verdict(metric, before, after, verdict, numbers):
    m = measure(series(metric, before, after), AT, Thresholds(), "The change")
    assert m.verdict == verdict
    assert (m.baseline, m.current) == pytest.approx(numbers)
    assert (m.n_baseline, m.n_current) == (40, 40)
    assert m.reason.startswith(OPENING[verdict])


def test_too_few_samples_after_waits_for_more():
    m = measure(series("latency_ms", [1000.0] * 40, [2000.0] * 5), AT, Thresholds(), "The change")
    assert (m.verdict, m.baseline, m.n_current) == ("not_measured", None, 5)
    assert m.reason == (
        "The change: 40 samples before and 5 after the deployment; 20 a side are needed "
        "(measured again as data arrives)"
    )


def test_no_series_is_not_measured():
    m = measure(None, AT, Thresholds(), "The change")
    assert m.verdict == "not_measured"
    assert m.reason == "The change: no samples of its series around the deployment"
