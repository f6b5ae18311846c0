"""hourly_line: the hour-by-hour line both a finding's and a release outcome's picture draw."""

from datetime import UTC, datetime, timedelta

import matplotlib
import pytest

from cicl_assets.learning.regressions.pictures import hourly_line
from cicl_assets.learning.regressions.series import Series

matplotlib.use("Agg")
from matplotlib import pyplot as plt

T = datetime(2026, 3, 1, tzinfo=UTC)
H = 3600.0
DIMS = (("service_name", "router"), ("span_name", "route"))


def series(metric: str, samples: list[tuple[float, float]]) -> Series:
    return Series(DIMS, metric, [T.timestamp() + s for s, _ in samples], [v for _, v in samples])


CASES = [
    # (metric, samples (seconds after T, value), marks, points, title)
    (
        "duration_ms",
        [(60, 100.0), (120, 300.0), (180, 200.0), (2 * H + 5, 50.0)],
        [(T + timedelta(hours=1), "#d62728", "--", "deploy")],
        [(T, 200.0), (T + timedelta(hours=2), 50.0)],  # the empty hour has no point
        "service_name=router, span_name=route: hourly p50 duration",
    ),
    (
        "error_rate",
        [(10, 1.0), (20, 0.0), (30, 0.0), (40, 0.0), (H + 1, 1.0)],
        [
            (T + timedelta(minutes=30), "#ff7f0e", ":", "change"),
            (T + timedelta(hours=1), "#2e7d32", "--", "release deployed"),
        ],
        [(T, 0.25), (T + timedelta(hours=1), 1.0)],
        "service_name=router, span_name=route: hourly error rate",
    ),
]


@pytest.mark.parametrize(("metric", "samples", "marks", "points", "title"), CASES)
def test_the_line_its_marks_and_title(metric, samples, marks, points, title):
    fig, ax = plt.subplots()
    try:
        hourly_line(ax, series(metric, samples), T, T + timedelta(hours=3), marks)
        [line, *verticals] = ax.get_lines()
        assert list(zip(line.get_xdata(), line.get_ydata(), strict=True)) == points
        assert [
            (v.get_xdata()[0], v.get_color(), v.get_linestyle(), v.get_label()) for v in verticals
        ] == [(at, c, s, label) for at, c, s, label in marks]
        assert ax.get_title() == title
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [m[3] for m in marks]
    finally:
        plt.close(fig)
