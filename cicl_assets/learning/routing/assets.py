"""The provider_scorecards and routing_proposals assets, one UTC day per partition."""

import json
from datetime import date, datetime
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.charts import chart_markdown
from cicl_assets.learning.routing import DAY_RANGE_TAG
from cicl_assets.learning.routing.figures import side_by_side_png, weights_png
from cicl_assets.learning.routing.groups import ModelGroup, current_groups, load_policy
from cicl_assets.learning.routing.prices import PriceTable, load_prices
from cicl_assets.learning.routing.proposals import ROUTING_PROPOSALS, propose
from cicl_assets.learning.routing.reads import read_calls, read_ratings
from cicl_assets.learning.routing.scorecards import PROVIDER_SCORECARDS, scorecard_rows
from cicl_assets.metadata import column_schema, markdown_table
from cicl_assets.partitions import (
    DAY,
    day_range_asset,
    day_start,
    partition_days,
    replace_time_range,
)
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import Warehouse

PICTURE_DAYS = 14
PREVIEW = ("day", "gen_ai_provider", "gen_ai_model", "operation", "calls", "error_rate",
           "latency_p50_ms", "cost_usd", "price_missing", "quality")  # fmt: skip


def scorecards_of_day(warehouse: Warehouse, day: date, prices: PriceTable) -> tuple[list, int]:
    start = day_start(day)
    calls = read_calls(warehouse, start, start + DAY)
    ratings, unmatched = read_ratings(warehouse, start, start + DAY, calls)
    return scorecard_rows(start, calls, ratings, prices), unmatched


@day_range_asset(
    name=PROVIDER_SCORECARDS.name,
    group_name="learning",
    kinds={"python", "sql"},
    owners=["team:platform"],
    tags=dict([DAY_RANGE_TAG]),
    deps=["otel_spans", "eval_scores", "user_feedback"],
    description=PROVIDER_SCORECARDS.description,
)
def provider_scorecards(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    prices = load_prices(cicl_config.path)
    rows: list[dict[str, Any]] = []
    unmatched = 0
    for day in partition_days(context):
        day_rows, day_unmatched = scorecards_of_day(warehouse, day, prices)
        replace_time_range(
            warehouse,
            PROVIDER_SCORECARDS,
            day_start(day),
            day_start(day) + DAY,
            PROVIDER_SCORECARDS.from_records(day_rows),
        )
        rows += day_rows
        unmatched += day_unmatched
    unpriced = sorted(
        {f"{r['gen_ai_provider']}/{r['gen_ai_model']}" for r in rows if r["price_missing"]}
    )
    if unpriced:
        context.log.warning(f"no price in config/prices.yaml for: {', '.join(unpriced)}")
    preview = pa.Table.from_pylist([{k: r[k] for k in PREVIEW} for r in rows[:10]])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "dagster/column_schema": column_schema(PROVIDER_SCORECARDS),
            "calls": sum(r["calls"] for r in rows),
            "cost_usd": round(sum(r["cost_usd"] or 0.0 for r in rows), 4),
            "unpriced_models": dg.MetadataValue.md(
                "Models with calls but no price in config/prices.yaml (their cost is null, "
                "never zero): " + (", ".join(unpriced) or "none")
            ),
            "ratings_unmatched": unmatched,
            "preview": dg.MetadataValue.md(
                "Scorecards of the run's days, by provider, model and operation.\n\n"
                + markdown_table(preview, 10)
            ),
        }
    )


def _by_key(rows: list[dict], operation: str) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if r["operation"] == operation:
            out.setdefault((r["gen_ai_provider"], r["gen_ai_model"]), []).append(r)
    return out


def read_scorecards(warehouse: Warehouse, start: datetime, end: datetime) -> list[dict]:
    if not warehouse.table_exists(PROVIDER_SCORECARDS.name):
        return []
    return warehouse.query(
        "SELECT * FROM provider_scorecards WHERE day >= @start AND day < @end",
        {"start": start, "end": end},
    ).to_pylist()


def group_picture(group: ModelGroup, rows: list[dict], day: date) -> str:
    by_key = _by_key(rows, group.operation)
    series = {}
    for d in group.deployments:
        points = []
        for r in by_key.get((d.provider, d.model), []):
            cost = r["cost_usd"] / r["calls"] * 1000 if r["cost_usd"] is not None else None
            points.append((r["day"].date(), {**r, "cost_per_1k_calls": cost}))
        series[d.name] = points
    return chart_markdown(
        f"Model group {group.name}: each deployment's p50 latency, error rate, USD per 1,000 "
        f"calls and quality per day over the {PICTURE_DAYS} days to {day}; a line that rises "
        "alone (latency, errors, cost) or falls alone (quality) is the deployment to move "
        "traffic away from.",
        side_by_side_png(series, title=f"{group.name}: deployments side by side"),
        f"{group.name} deployments over {PICTURE_DAYS} days",
    )


def weights_picture(group: ModelGroup, proposal: dict) -> str:
    total = sum(d.weight for d in group.deployments)
    proposed = {
        e["litellm_params"]["model"]: e["litellm_params"]["weight"] / total
        for e in json.loads(proposal["proposed_weights"])
    }
    return chart_markdown(
        f"Model group {group.name}: grey bars are each deployment's share of traffic today, blue "
        f"bars the share proposed on {proposal['as_of'].date()} ({proposal['title']}).",
        weights_png(group.shares, proposed, title=f"{group.name}: current vs proposed weights"),
        f"{group.name} current vs proposed weights",
    )


def proposals_of_day(
    warehouse: Warehouse, day: date, groups: list[ModelGroup], cicl_config: CiclConfig
) -> tuple[list[dict], list[dict]]:
    """The day's proposals and the scorecards of the picture window (which holds the policy's
    baseline days when those are fewer)."""
    policy = load_policy(cicl_config.path)
    prices = load_prices(cicl_config.path)
    start = day_start(day)
    window = max(PICTURE_DAYS - 1, policy.baseline_days)
    rows = read_scorecards(warehouse, start - window * DAY, start + DAY)
    today = [r for r in rows if r["day"] == start]
    since = start - policy.baseline_days * DAY
    history = [r for r in rows if since <= r["day"] < start]
    proposals = []
    for group in groups:
        found = propose(
            group,
            {k: v[0] for k, v in _by_key(today, group.operation).items()},
            _by_key(history, group.operation),
            policy,
            prices,
            start,
        )
        if found:
            proposals.append(found)
    return proposals, rows


@day_range_asset(
    name=ROUTING_PROPOSALS.name,
    group_name="learning",
    kinds={"python", "sql"},
    owners=["team:platform"],
    tags=dict([DAY_RANGE_TAG]),
    deps=[
        dg.AssetDep(
            PROVIDER_SCORECARDS.name,
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(PICTURE_DAYS - 1)),
        )
    ],
    description=ROUTING_PROPOSALS.description,
)
def routing_proposals(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    groups, groups_from = current_groups(cicl_config.path, cicl_config.platform_repo())
    written: list[dict] = []
    meta: dict[str, Any] = {}
    days = partition_days(context)
    for day in days:
        proposals, rows = proposals_of_day(warehouse, day, groups, cicl_config)
        replace_time_range(
            warehouse,
            ROUTING_PROPOSALS,
            day_start(day),
            day_start(day) + DAY,
            ROUTING_PROPOSALS.from_records(proposals),
        )
        written += proposals
        if day != days[-1]:
            continue
        for group in groups:
            meta[f"group/{group.name}"] = dg.MetadataValue.md(group_picture(group, rows, day))
        for proposal in proposals:
            group = next(g for g in groups if g.name == proposal["model_group"])
            meta[f"weights/{group.name}"] = dg.MetadataValue.md(weights_picture(group, proposal))
    listed = pa.Table.from_pylist(
        [{k: p[k] for k in ("as_of", "model_group", "severity", "title")} for p in written]
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(written),
            "dagster/column_schema": column_schema(ROUTING_PROPOSALS),
            "proposals": len(written),
            "groups": len(groups),
            "model_groups_from": groups_from,
            "proposed": dg.MetadataValue.md(
                "Model groups whose weights should change, and why in one line.\n\n"
                + markdown_table(listed, 20)
            ),
            **meta,
        }
    )


ASSETS: list = [provider_scorecards, routing_proposals]
CHECKS: list = []
