"""Assets of the feedback group: ratings from the landing zone's feedback/ folder."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.charts import chart_markdown, line_chart_png
from cicl_assets.feedback.stream import FEEDBACK_STREAM
from cicl_assets.feedback.table import USER_FEEDBACK
from cicl_assets.metadata import markdown_table
from cicl_assets.stream_assets import AssetView, DeclaredStream, build_stream_asset
from cicl_assets.telemetry.evaluation_figures import recent_since
from cicl_assets.warehouse.base import Warehouse

PREVIEW_COLUMNS = ("rated_at", "workflow", "source", "name", "rating_raw", "score", "comment")


def rating_figures(warehouse: Warehouse) -> dict[str, Any]:
    """Ratings per workflow per day (count and mean score), and a picture of the means."""
    warehouse.ensure_table(USER_FEEDBACK)
    since = recent_since(warehouse, USER_FEEDBACK.name, "rated_at")
    if since is None:
        return {"ratings": 0}
    day = warehouse.day_of("rated_at")
    rows = warehouse.query(
        f"SELECT {day} AS day, COALESCE(workflow, '?') AS workflow, COUNT(*) AS ratings, "
        "AVG(score) AS mean_score FROM user_feedback WHERE rated_at >= @since "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        {"since": since},
    ).to_pylist()
    meta: dict[str, Any] = {"ratings": sum(int(r["ratings"]) for r in rows)}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    series: dict[str, list[tuple[Any, float]]] = defaultdict(list)
    for r in rows:
        if r["mean_score"] is None:
            continue
        totals[r["workflow"]][0] += float(r["mean_score"]) * int(r["ratings"])
        totals[r["workflow"]][1] += int(r["ratings"])
        series[r["workflow"]].append((r["day"], float(r["mean_score"])))
    for workflow, (weighted, n) in sorted(totals.items()):
        meta[f"mean_score/{workflow}"] = weighted / n
    meta["ratings_per_workflow_per_day"] = dg.MetadataValue.md(
        markdown_table(pa.Table.from_pylist(rows), max_rows=60)
    )
    meta["ratings_over_time"] = dg.MetadataValue.md(
        chart_markdown(
            "Mean normalised rating (0 = worst, 1 = best) per workflow, day by day: a workflow "
            "whose line falls while the others hold changed for its users (a template, a "
            "model), not the traffic.",
            line_chart_png(
                series, title="User ratings by workflow", ylabel="mean score", ylim=(0, 1)
            ),
            "ratings over time",
        )
    )
    return meta


FEEDBACK = DeclaredStream(
    spec=FEEDBACK_STREAM,
    group="feedback",
    owners=("team:ml-platform",),
    kinds=frozenset({"python", "json"}),
    views=(AssetView(USER_FEEDBACK, PREVIEW_COLUMNS, (rating_figures,)),),
    reads="cicl-native feedback records and Langfuse score exports, gzipped or not",
)

user_feedback = build_stream_asset(FEEDBACK)

ASSETS: list = [user_feedback]
CHECKS: list = []
