"""The four DORA figures over time, with the 2024 band edges, as pictures in metadata."""

from __future__ import annotations

from datetime import datetime, timedelta

from cicl_assets.charts import chart_markdown, line_chart_png
from cicl_assets.warehouse.base import Warehouse

SHOWN_DAYS = 90
# (column, title, unit, band edges drawn as flat lines)
FIGURES = (
    ("deploys_per_day", "Deployment frequency (30 days)", "deploys per day",
     {"elite edge: daily": 1.0, "high edge: weekly": 1 / 7}),
    ("lead_time_median_h", "Lead time for changes, median (30 days)", "hours",
     {"elite edge: 1 day": 24.0, "high edge: 1 week": 168.0}),
    ("change_failure_rate", "Change failure rate (30 days)", "share of deploys",
     {"elite: 5%": 0.05, "high: 20%": 0.20}),
    ("recovery_median_h", "Failed deployment recovery time, median (30 days)", "hours",
     {"elite edge: 1 hour": 1.0, "high edge: 1 day": 24.0}),
)  # fmt: skip


def dora_chart(warehouse: Warehouse, end: datetime) -> str | None:
    """Markdown: a sentence and a picture per figure, per production service, daily."""
    if not warehouse.table_exists("dora_metrics"):
        return None
    rows = warehouse.query(
        "SELECT service, period_end, deploys_per_day, lead_time_median_h, change_failure_rate, "
        "recovery_median_h FROM dora_metrics WHERE period = '30d' AND environment = 'production' "
        "AND period_end > @since AND period_end <= @end ORDER BY period_end",
        {"since": end - timedelta(days=SHOWN_DAYS), "end": end},
    ).to_pylist()
    if not rows:
        return None
    parts = []
    days = sorted({r["period_end"] for r in rows})
    for column, title, unit, edges in FIGURES:
        series: dict[str, list] = {}
        for r in rows:
            if r[column] is not None:
                series.setdefault(r["service"], []).append((r["period_end"], float(r[column])))
        if not series:
            continue
        for name, value in edges.items():
            series[name] = [(days[0], value), (days[-1], value)]
        png = line_chart_png(series, title=title, ylabel=unit)
        parts.append(
            chart_markdown(
                f"{title} of each production service, over the 30 days ending each day; flat "
                "lines mark the 2024 DORA report's band edges.",
                png,
                title,
            )
        )
    return "\n\n".join(parts) or None
