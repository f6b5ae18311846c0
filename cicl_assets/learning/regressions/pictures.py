"""A finding's picture: the metric hour by hour with the deploy and the change marked, beside
the distributions before and after (PNG, embedded in markdown metadata by the caller)."""

from __future__ import annotations

from datetime import UTC, datetime

from cicl_assets.charts import png_bytes
from cicl_assets.learning.regressions.describe import metric_words
from cicl_assets.learning.regressions.detect import HOUR, Result, hourly


def finding_png(result: Result, start: datetime, end: datetime, before_hours: float) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    series = result.series
    change = result.change_at.timestamp()
    points = hourly(series, start.timestamp(), end.timestamp(), 1)
    fig, (line, dist) = plt.subplots(
        1, 2, figsize=(9, 3.2), dpi=72, gridspec_kw={"width_ratios": [2.2, 1]}
    )
    try:
        line.plot(
            [datetime.fromtimestamp(p[0], UTC) for p in points],
            [p[1] for p in points],
            marker=".",
            color="#1f77b4",
        )
        if result.deploy is not None:
            line.axvline(result.deploy.at, color="#d62728", linestyle="--", label="deploy")
        line.axvline(result.change_at, color="#ff7f0e", linestyle=":", label="change")
        line.set_title(f"{series.key}: hourly {metric_words(series.metric)}", fontsize="small")
        line.legend(fontsize="x-small", loc="best")
        line.grid(alpha=0.3)
        line.tick_params(axis="x", labelsize="x-small", labelrotation=30)
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
