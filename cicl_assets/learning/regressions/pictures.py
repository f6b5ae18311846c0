"""A finding's picture: the metric hour by hour with the deploy and the change marked, beside
the distributions before and after (PNG, embedded in markdown metadata by the caller)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cicl_assets.charts import png_bytes
from cicl_assets.learning.regressions.describe import metric_words
from cicl_assets.learning.regressions.detect import HOUR, Result, hourly
from cicl_assets.learning.regressions.series import Series

# A vertical line on the hourly line: when, colour, line style, legend label.
Mark = tuple[datetime, str, str, str]


def hourly_line(ax, series: Series, start: datetime, end: datetime, marks: Sequence[Mark]) -> None:
    """``series`` hour by hour from ``start`` to ``end`` on the axes ``ax``, with ``marks``."""
    points = hourly(series, start.timestamp(), end.timestamp(), 1)
    ax.plot(
        [datetime.fromtimestamp(p[0], UTC) for p in points],
        [p[1] for p in points],
        marker=".",
        color="#1f77b4",
    )
    for at, colour, style, label in marks:
        ax.axvline(at, color=colour, linestyle=style, label=label)
    ax.set_title(f"{series.key}: hourly {metric_words(series.metric)}", fontsize="small")
    ax.legend(fontsize="x-small", loc="best")
    ax.grid(alpha=0.3)
    ax.tick_params(axis="x", labelsize="x-small", labelrotation=30)


def finding_png(result: Result, start: datetime, end: datetime, before_hours: float) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    series = result.series
    change = result.change_at.timestamp()
    fig, (line, dist) = plt.subplots(
        1, 2, figsize=(9, 3.2), dpi=72, gridspec_kw={"width_ratios": [2.2, 1]}
    )
    try:
        marks = [(result.change_at, "#ff7f0e", ":", "change")]
        if result.deploy is not None:
            marks.insert(0, (result.deploy.at, "#d62728", "--", "deploy"))
        hourly_line(line, series, start, end, marks)
        before = series.between(change - before_hours * HOUR, change)
        after = series.between(change, result.data_through.timestamp())
        if series.is_rate:
            dist.bar(
                ["before", "after"], [before.mean(), after.mean()], color=["#7f7f7f", "#d62728"]
            )
            dist.set_title("rate", fontsize="small")
        else:
            dist.boxplot([before, after], showfliers=False)
            dist.set_xticks([1, 2], ["before", "after"])
            dist.set_title("distribution", fontsize="small")
        dist.grid(alpha=0.3)
    except BaseException:
        plt.close(fig)
        raise
    return png_bytes(fig)
