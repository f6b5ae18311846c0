"""Small charts over time, embedded in markdown metadata as PNG data URLs.

The Dagster UI renders markdown metadata, so a picture travels with the materialization and
needs no file store. Pictures are kept small (a few tens of kilobytes) because metadata lives in
the run storage.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime

MAX_SERIES = 8


def line_chart_png(
    series: Mapping[str, Sequence[tuple[date | datetime, float]]],
    *,
    title: str,
    ylabel: str,
    ylim: tuple[float, float] | None = None,
) -> bytes:
    """One line per series (the first ``MAX_SERIES`` by name), x = time."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=80)
    try:
        for name in sorted(series)[:MAX_SERIES]:
            points = sorted(series[name])
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize="small", loc="best")
        fig.autofmt_xdate()
    except BaseException:
        plt.close(fig)
        raise
    return png_bytes(fig)


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (no timestamp: the same data gives the same bytes); closes it."""
    from matplotlib import pyplot as plt

    try:
        fig.tight_layout()
        # tight_layout leaves a placeholder layout engine, for which savefig lays the figure out
        # in a draw of its own before the one it renders: the same bytes at ~20% more CPU.
        fig.set_layout_engine(None)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    finally:
        plt.close(fig)


# Outcome letters of a run history and their colours: pass, pass on retry, fail.
OUTCOME_COLOURS = {"P": "#2e7d32", "R": "#f9a825", "F": "#c62828"}


def outcome_strips_png(histories: Sequence[tuple[str, str]], *, title: str) -> bytes:
    """One row of squares per (label, history), oldest run left: P green, R amber, F red."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = list(histories)[:MAX_SERIES]
    width = max((len(h) for _, h in shown), default=1)
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.4 * max(1, len(shown))), dpi=80)
    for row, (_, history) in enumerate(shown):
        for col, outcome in enumerate(history):
            colour = OUTCOME_COLOURS.get(outcome, "#9e9e9e")
            ax.add_patch(plt.Rectangle((col, row), 0.9, 0.8, color=colour))
    ax.set_xlim(0, width)
    ax.set_ylim(len(shown), 0)
    ax.set_yticks([i + 0.4 for i in range(len(shown))])
    ax.set_yticklabels([label[-48:] for label, _ in shown], fontsize="small")
    ax.set_xlabel("runs on the default branch, oldest first")
    ax.set_title(title)
    return png_bytes(fig)


def sparklines_png(
    lines: Sequence[tuple[str, Sequence[tuple[date, float]], date | None]], *, title: str
) -> bytes:
    """One small panel per (label, daily points, marked day): the marked day, when the deploy
    that started it happened, is drawn as a vertical line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = list(lines)[:MAX_SERIES]
    fig, axes = plt.subplots(
        max(1, len(shown)), 1, figsize=(7, 0.3 + 0.75 * max(1, len(shown))), dpi=80, squeeze=False
    )
    for ax, (label, points, marked) in zip(axes[:, 0], shown, strict=False):
        ordered = sorted(points)
        ax.plot([p[0] for p in ordered], [p[1] for p in ordered], color="#1565c0")
        if marked is not None:
            ax.axvline(marked, color="#c62828", linewidth=1)
        ax.set_title(label[:90], fontsize="small", loc="left")
        ax.tick_params(labelsize="x-small")
        ax.set_ylim(bottom=0)
    axes[0, 0].figure.suptitle(title, fontsize="medium")
    fig.autofmt_xdate()
    return png_bytes(fig)


def chart_markdown(sentence: str, png: bytes, alt: str) -> str:
    """A sentence saying what the picture shows, then the picture."""
    encoded = base64.b64encode(png).decode("ascii")
    return f"{sentence}\n\n![{alt}](data:image/png;base64,{encoded})"
