"""The report's pictures: PNG bytes, deterministic for the same data, None when nothing to draw."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from cicl_assets.charts import MAX_SERIES, line_chart_png, png_bytes

if TYPE_CHECKING:
    from cicl_assets.compliance.report_data import ReportData

VERDICT_COLOURS = {"pass": "#2e7d32", "fail": "#c62828"}


def verdicts_png(data: ReportData) -> bytes | None:
    """Stacked bars: deployments started per day, one bar segment per environment x verdict."""
    if not data.deployments:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    counts = Counter(
        (d["started_at"].date(), d["environment"] or "unknown", d["verdict"])
        for d in data.deployments
    )
    days = sorted({day for day, _, _ in counts})
    stacks = sorted({(env, verdict) for _, env, verdict in counts})[:MAX_SERIES]
    hatches = ["", "//", "..", "xx", "\\\\", "++", "--", "oo"]
    environments = sorted({env for env, _ in stacks})
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=80)
    try:
        bottom = [0] * len(days)
        positions = list(range(len(days)))
        for env, verdict in stacks:
            heights = [counts.get((day, env, verdict), 0) for day in days]
            ax.bar(
                positions,
                heights,
                bottom=bottom,
                color=VERDICT_COLOURS.get(verdict, "#9e9e9e"),
                hatch=hatches[environments.index(env) % len(hatches)],
                edgecolor="white",
                label=f"{env[:24]} {verdict}",
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xticks(positions, [day.isoformat() for day in days], rotation=45, ha="right")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title("Deployments per day by environment and verdict")
        ax.set_ylabel("deployments")
        ax.legend(fontsize="small", loc="best")
    except BaseException:
        plt.close(fig)
        raise
    return png_bytes(fig)


def slo_budget_png(data: ReportData) -> bytes | None:
    series: dict[str, list] = {}
    for d in data.slo_days:
        if d["worst_budget_remaining"] is not None:
            series.setdefault(str(d["slo_name"])[:40], []).append(
                (d["day"], float(d["worst_budget_remaining"]))
            )
    if not series:
        return None
    return line_chart_png(series, title="Lowest error budget left per day", ylabel="budget left")


def dora_png(data: ReportData) -> bytes | None:
    series: dict[str, list] = {}
    for r in data.dora_days:
        if r["environment"] == "production" and r["change_failure_rate"] is not None:
            series.setdefault(str(r["service"])[:40], []).append(
                (r["period_end"], float(r["change_failure_rate"]))
            )
    if not series:
        return None
    return line_chart_png(
        series, title="Change failure rate (30 days), production", ylabel="share of deploys"
    )
