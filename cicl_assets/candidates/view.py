"""What a reviewer reads about a candidate: the diff, the sentence that says why, a picture of
the findings it rests on, and the effect expected, as one markdown block (Dagster renders it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cicl_assets.charts import chart_markdown, png_bytes
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

MAX_PANELS = 6


def findings_png(findings: Sequence[dict[str, Any]]) -> bytes:
    """One panel per finding: its metric before the change (grey) and after (red)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = list(findings)[:MAX_PANELS]
    fig, axes = plt.subplots(
        len(shown), 1, figsize=(7, 0.4 + 0.9 * len(shown)), dpi=80, squeeze=False
    )
    try:
        for ax, f in zip(axes[:, 0], shown, strict=True):
            before, after = f["baseline_value"] or 0.0, f["current_value"] or 0.0
            ax.barh(["after", "before"], [after, before], color=["#c62828", "#9e9e9e"])
            ax.set_title(f"{f['title']}"[:95], fontsize="x-small", loc="left")
            ax.tick_params(labelsize="x-small")
            ax.set_xlabel(f["metric"], fontsize="x-small")
    except BaseException:
        plt.close(fig)
        raise
    return png_bytes(fig)


def read_findings(warehouse: Warehouse, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids or not warehouse.table_exists("cl_findings"):
        return []
    return warehouse.query(
        "SELECT finding_id, title, metric, baseline_value, current_value, severity FROM "
        f"cl_findings WHERE finding_id IN {IN_ARRAY.format(param='ids')} ORDER BY finding_id",
        {"ids": list(ids)},
    ).to_pylist()


def _impact_lines(impact: dict[str, dict[str, float | None]]) -> list[str]:
    lines = ["| metric | now | expected |", "|---|---|---|"]
    for metric, values in sorted(impact.items()):
        now, then = values.get("now"), values.get("expected")
        lines.append(f"| {metric} | {_fmt(now)} | {_fmt(then)} |")
    return lines


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4g}"


def candidate_markdown(row: dict[str, Any], findings: Sequence[dict[str, Any]]) -> str:
    """The reviewer's page of one candidate (``findings``: its cl_findings rows)."""
    production = (
        "changes production behaviour"
        if row["affects_production"]
        else ("does not change production behaviour")
    )
    parts = [
        f"**{row['kind']}** `{row['target_file']}` — {row['title']}",
        "",
        f"{row['rationale']}",
        "",
        f"Risk: **{row['risk']}**; {production}. Base commit `{row['base_commit'][:12]}`, "
        f"candidate `{row['candidate_id']}` ({row['status']}).",
        "",
        "Expected effect:",
        "",
        *_impact_lines(json.loads(row["expected_impact"] or "{}")),
        "",
        "```diff",
        row["diff"].rstrip("\n"),
        "```",
    ]
    if findings:
        parts += [
            "",
            chart_markdown(
                "The findings it rests on: each metric before the change (grey) and after (red).",
                findings_png(findings),
                "findings the candidate rests on",
            ),
        ]
    return "\n".join(parts)
