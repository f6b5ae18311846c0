"""What an analyst asks `eval_scores` first: how each provider and model scores, and how that
moved day by day."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.charts import chart_markdown, line_chart_png
from cicl_assets.ingest.data_days import newest_data_day
from cicl_assets.metadata import markdown_table
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.telemetry.logs_table import EVAL_SCORES
from cicl_assets.warehouse.base import Warehouse

# Figures cover the last days of data, so their cost does not grow with the table's history.
FIGURE_DAYS = 30
MAX_KEYS = 20


def recent_since(warehouse: Warehouse, table: str, column: str) -> Any:
    """The start of the figure window: FIGURE_DAYS before the table's newest row."""
    newest = warehouse.query(f"SELECT MAX({column}) AS t FROM {table}").to_pylist()[0]["t"]
    return None if newest is None else newest - timedelta(days=FIGURE_DAYS)


def recent_days(warehouse: Warehouse, stream: str) -> tuple[datetime, datetime] | None:
    """[start, end) of the FIGURE_DAYS up to the stream's newest data day, inclusive."""
    newest = newest_data_day(warehouse, stream)
    if newest is None:
        return None
    end = datetime.combine(newest + timedelta(days=1), time(), UTC)
    return end - timedelta(days=FIGURE_DAYS), end


def evaluation_figures(warehouse: Warehouse) -> dict[str, Any]:
    warehouse.ensure_table(EVAL_SCORES)
    window = recent_days(warehouse, OTEL_STREAM.name)
    if window is None:
        return {"evaluations": 0}
    day = warehouse.day_of("evaluated_at")
    rows = warehouse.query(
        f"SELECT {day} AS day, COALESCE(gen_ai_provider, '?') AS provider, "
        "COALESCE(gen_ai_model, '?') AS model, COUNT(*) AS n, AVG(score_value) AS mean "
        f"FROM {EVAL_SCORES.name} WHERE evaluated_at >= @since AND evaluated_at < @until "
        "AND score_value IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        {"since": window[0], "until": window[1]},
    ).to_pylist()
    meta: dict[str, Any] = {"evaluations": sum(int(r["n"]) for r in rows)}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    series: dict[str, list[tuple[Any, float]]] = defaultdict(list)
    for r in rows:
        key = f"{r['provider']}/{r['model']}"
        totals[key][0] += float(r["mean"]) * int(r["n"])
        totals[key][1] += int(r["n"])
        series[key].append((r["day"], float(r["mean"])))
    for key in sorted(totals)[:MAX_KEYS]:
        weighted, n = totals[key]
        meta[f"eval_score_mean/{key}"] = weighted / n
    meta["eval_scores_by_provider_model_day"] = dg.MetadataValue.md(
        markdown_table(pa.Table.from_pylist(rows), max_rows=60)
    )
    meta["eval_scores_over_time"] = dg.MetadataValue.md(
        chart_markdown(
            "Mean evaluation score per provider and model, day by day: a line that drops after a "
            "deploy points at a change in what that model is asked (a prompt template) or in "
            "the model itself.",
            line_chart_png(series, title="Evaluation score by provider/model", ylabel="mean score"),
            "evaluation scores over time",
        )
    )
    return meta
