"""Drift without a deploy: a change point on hourly medians is a finding only when the exact
samples either side of it differ as a deploy's would have to."""

from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.learning.regressions.deploys import Deploy
from cicl_assets.learning.regressions.detect import drift
from cicl_assets.learning.regressions.series import Series
from cicl_assets.learning.regressions.thresholds import Thresholds

START = datetime(2026, 3, 1, tzinfo=UTC)
HOURS = 40
CHANGE_HOUR = 20
# Five samples an hour, as a thin tool series at night: the median sits on the middle value.
BASE = (50.0, 60.0, 100.0, 200.0, 250.0)
# Only the middle sample moves: every hourly median goes 100 -> 130, the samples barely do.
MEDIAN_ONLY = (50.0, 60.0, 130.0, 200.0, 250.0)
# Every sample 1.5x slower.
SLOWER = tuple(v * 1.5 for v in BASE)


def _series(after: tuple[float, ...]) -> Series:
    series = Series((("service_name", "tool-worker"), ("span_name", "lookup")), "duration_ms")
    for hour in range(HOURS):
        values = BASE if hour < CHANGE_HOUR else after
        for i, value in enumerate(values):
            series.times.append((START + timedelta(hours=hour, minutes=10 * i)).timestamp())
            series.values.append(value)
            series.traces.append(f"t{hour}-{i}")
    series.services.add("tool-worker")
    return series


DEPLOY = Deploy(START + timedelta(hours=CHANGE_HOUR - 2), "tool-worker", "0.9.4", "d-1", None, "p")


@pytest.mark.parametrize(
    ("after", "deploys", "expected"),
    [
        # The hourly medians step by 30% at p = 0 (t-test on constant segments); the exact samples
        # (100 a side, four of five values identical) do not differ: no finding.
        (MEDIAN_ONLY, [], []),
        # A real slowdown: found at the change hour with the samples' medians, and first
        # detectable when 12 hours (60 samples) after it tell the two apart at p <= 1e-4.
        (SLOWER, [], [("hour:2026-03-01T20", 100.0, 150.0, 100, 100, "2026-03-02T07")]),
        # The same, attributed to a deploy two hours before the change.
        (SLOWER, [DEPLOY], [("deploy:d-1", 100.0, 150.0, 100, 100, "2026-03-02T07")]),
    ],
)
def test_drift_is_confirmed_on_exact_samples(after, deploys, expected):
    results = drift(
        _series(after), START, START + timedelta(hours=HOURS), START, deploys, Thresholds()
    )
    assert [
        (
            r.anchor,
            r.comparison.baseline,
            r.comparison.current,
            r.comparison.n_baseline,
            r.comparison.n_current,
            f"{r.first_detectable_at:%Y-%m-%dT%H}",
        )
        for r in results
    ] == expected
    assert all(r.method == "e_divisive_means" and r.comparison.p_value < 1e-4 for r in results)
