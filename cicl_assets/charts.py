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
        fig.tight_layout()
        buffer = io.BytesIO()
        # No timestamp in the file: the same data gives the same bytes.
        fig.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    finally:
        plt.close(fig)


def chart_markdown(sentence: str, png: bytes, alt: str) -> str:
    """A sentence saying what the picture shows, then the picture."""
    encoded = base64.b64encode(png).decode("ascii")
    return f"{sentence}\n\n![{alt}](data:image/png;base64,{encoded})"
