"""Pictures of a model group: its deployments side by side over days, and its weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from cicl_assets.charts import png_bytes

# (scorecard field, panel title) of the four panels
PANELS = (
    ("latency_p50_ms", "p50 latency (ms)"),
    ("error_rate", "error rate"),
    ("cost_per_1k_calls", "USD per 1k calls"),
    ("quality", "quality (0-1)"),
)


def side_by_side_png(
    series: Mapping[str, Sequence[tuple[date, Mapping[str, float | None]]]], *, title: str
) -> bytes:
    """Four panels (latency, errors, cost, quality), one line per deployment, x = day."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(8, 4.8), dpi=80, sharex=True)
    for ax, (field, label) in zip(axes.flat, PANELS, strict=True):
        for name in sorted(series):
            points = [(d, v[field]) for d, v in sorted(series[name]) if v.get(field) is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        ax.set_title(label, fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0, 0].legend(fontsize="x-small", loc="best")
    fig.suptitle(title, fontsize="medium")
    fig.autofmt_xdate()
    return png_bytes(fig)


def weights_png(
    current: Mapping[str, float], proposed: Mapping[str, float], *, title: str
) -> bytes:
    """Current and proposed share of each deployment, as paired bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = list(current)
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.5 * len(names)), dpi=80)
    rows = range(len(names))
    ax.barh(
        [r + 0.2 for r in rows], [current[n] for n in names], 0.4, label="current", color="#90a4ae"
    )
    ax.barh(
        [r - 0.2 for r in rows],
        [proposed[n] for n in names],
        0.4,
        label="proposed",
        color="#1565c0",
    )
    for r, n in zip(rows, names, strict=True):
        ax.text(proposed[n] + 0.01, r - 0.2, f"{proposed[n]:.0%}", va="center", fontsize="x-small")
        ax.text(current[n] + 0.01, r + 0.2, f"{current[n]:.0%}", va="center", fontsize="x-small")
    ax.set_yticks(list(rows))
    ax.set_yticklabels(names, fontsize="small")
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("share of the group's traffic")
    ax.legend(fontsize="x-small", loc="lower right")
    ax.set_title(title)
    return png_bytes(fig)
