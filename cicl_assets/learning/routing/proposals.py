"""Routing proposals: new LiteLLM weights for a model group from its deployments' scorecards.

The score (docs/routing.md): a deployment is judged against its own recent days. It violates
a constraint when its p50 latency is ``latency_ratio`` times its baseline median, or its error
rate is ``error_ratio`` times its baseline, ``min_error_increase`` above it and with the two
Wilson 95% intervals apart, or the error rate's lower bound passes ``max_error_rate``. A violating deployment's share is divided
by how far it is off (the ratio); what it gives up goes to the deployments that violate
nothing, in proportion to share x cost-adjusted quality (quality per USD of a call at the
group's token mix). Every share keeps ``floor_share``; no share moves more than ``max_step``
(the whole move is scaled down, so shares still add up to one). No violation, no proposal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from cicl_assets.learning.routing.groups import Deployment, ModelGroup, RoutingPolicy
from cicl_assets.learning.routing.prices import PriceTable
from cicl_assets.learning.routing.stats import quantile, wilson
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

METHOD = (
    "share / violation ratio for deployments slower or failing more than their own baseline; "
    "freed share to the others by share x quality per USD at the group's token mix; "
    "floor and step cap"
)
DIGITS = 3

ROUTING_PROPOSALS = TableSpec(
    name="routing_proposals",
    description=(
        "One row per day and model group whose weights should change: current and proposed "
        "LiteLLM weights, the expected effect on latency, errors, cost and quality, and the "
        "reasons in words, under a stable proposal id."
    ),
    schema=pa.schema(
        [
            ("as_of", UTC_TS),
            ("proposal_id", pa.string()),
            ("model_group", pa.string()),
            ("status", pa.string()),
            ("severity", pa.string()),
            ("title", pa.string()),
            ("current_weights", pa.string()),
            ("proposed_weights", pa.string()),
            ("expected_latency_p50_ms_current", pa.float64()),
            ("expected_latency_p50_ms_proposed", pa.float64()),
            ("expected_error_rate_current", pa.float64()),
            ("expected_error_rate_proposed", pa.float64()),
            ("expected_cost_per_1k_calls_current", pa.float64()),
            ("expected_cost_per_1k_calls_proposed", pa.float64()),
            ("expected_quality_current", pa.float64()),
            ("expected_quality_proposed", pa.float64()),
            ("reasons", pa.string()),
            ("method", pa.string()),
            ("evidence", pa.string()),
        ]
    ),
    time_column="as_of",
    cluster_by=("model_group",),
    json_columns=("current_weights", "proposed_weights", "evidence"),
    column_docs={
        "as_of": "start of the UTC day whose scorecards the proposal rests on",
        "proposal_id": "SHA-256 (32 hex) of group, day, current and proposed shares",
        "current_weights": "the group's LiteLLM model_list entries with their configured weights",
        "proposed_weights": "the same entries with the proposed weights (same total weight)",
        "expected_latency_p50_ms_current": "share-weighted mean of the deployments' p50 latency",
        "expected_cost_per_1k_calls_current": "USD per 1,000 calls at the group's mean tokens",
        "reasons": "one sentence per line: what each deployment did and how its share moves",
    },
)


@dataclass
class Judged:
    """One deployment's day against its baseline."""

    deployment: Deployment
    today: dict[str, Any] | None
    baseline_p50: float | None = None
    baseline_error_rate: float | None = None
    baseline_error_high: float | None = None
    factor: float = 1.0
    reasons: list[str] = field(default_factory=list)

    def value(self, mix: tuple[float, float], prices: PriceTable, at: datetime) -> float | None:
        price = prices.at(self.deployment.provider, self.deployment.model, at)
        quality = (self.today or {}).get("quality")
        if price is None or quality is None:
            return None
        cost = price.cost(round(mix[0]), round(mix[1]))
        return quality / cost if cost > 0 else None


def _judge(d: Deployment, today: dict | None, history: list[dict], p: RoutingPolicy) -> Judged:
    j = Judged(d, today)
    past = [r for r in history if r["calls"] >= p.min_calls]
    if past:
        j.baseline_p50 = quantile((r["latency_p50_ms"] for r in past if r["latency_p50_ms"]), 0.5)
        calls, errors = sum(r["calls"] for r in past), sum(r["errors"] for r in past)
        j.baseline_error_rate = errors / calls
        j.baseline_error_high = wilson(errors, calls)[1]
    if today is None or today["calls"] < p.min_calls:
        return j
    p50, rate, low = today["latency_p50_ms"], today["error_rate"], today["error_rate_low"]
    if j.baseline_p50 and p50 and p50 / j.baseline_p50 >= p.latency_ratio:
        ratio = p50 / j.baseline_p50
        j.factor *= ratio
        j.reasons.append(
            f"p50 latency {p50:,.0f} ms is {ratio:.1f}x its {len(past)}-day baseline "
            f"({j.baseline_p50:,.0f} ms)"
        )
    base_rate = j.baseline_error_rate
    if (
        base_rate is not None
        and j.baseline_error_high is not None
        and low > j.baseline_error_high
        and rate >= p.error_ratio * base_rate
        and rate - base_rate >= p.min_error_increase
    ):
        ratio = rate / base_rate if base_rate > 0 else p.error_ratio
        j.factor *= ratio
        j.reasons.append(
            f"error rate {rate:.1%} ({today['errors']} of {today['calls']} calls) is "
            f"{ratio:.1f}x its baseline ({base_rate:.1%}), Wilson 95% intervals apart"
        )
    elif low > p.max_error_rate:
        ratio = rate / p.max_error_rate
        j.factor *= ratio
        j.reasons.append(
            f"error rate {rate:.1%} is above the {p.max_error_rate:.0%} limit "
            f"(Wilson 95% lower bound {low:.1%})"
        )
    return j


def _floor(shares: dict[str, float], floor: float) -> dict[str, float]:
    out = dict(shares)
    for _ in range(len(out)):
        low = [k for k, v in out.items() if v < floor]
        if not low:
            break
        deficit = sum(floor - out[k] for k in low)
        rich = {k: v - floor for k, v in out.items() if v > floor}
        for k in low:
            out[k] = floor
        spare = sum(rich.values())
        for k, extra in rich.items():
            out[k] -= deficit * extra / spare
    return out


def _rounded_shares(shares: dict[str, float]) -> dict[str, float]:
    out = {k: round(v, DIGITS) for k, v in shares.items()}
    biggest = max(out, key=lambda k: (out[k], k))
    out[biggest] = round(out[biggest] + 1 - sum(out.values()), DIGITS)
    return out


def target_shares(
    group: ModelGroup,
    judged: list[Judged],
    policy: RoutingPolicy,
    mix: tuple[float, float],
    prices: PriceTable,
    at: datetime,
) -> dict[str, float]:
    current = group.shares
    target = {j.deployment.name: current[j.deployment.name] / j.factor for j in judged}
    freed = 1.0 - sum(target.values())
    # Only deployments seen doing well today take traffic over; one without calls stays put.
    healthy = [
        j for j in judged if j.factor == 1.0 and (j.today or {}).get("calls", 0) >= policy.min_calls
    ]
    if healthy and freed > 0:
        values = [j.value(mix, prices, at) for j in healthy]
        if any(v is None for v in values):
            values = [1.0] * len(healthy)
        pull = {
            j.deployment.name: current[j.deployment.name] * v
            for j, v in zip(healthy, values, strict=True)
        }
        total = sum(pull.values())
        for name, weight in pull.items():
            target[name] += freed * (weight / total if total else 1 / len(pull))
    else:
        norm = sum(target.values())
        target = {k: v / norm for k, v in target.items()}
    target = _floor(target, policy.floor_share)
    biggest_move = max(abs(target[k] - current[k]) for k in current)
    scale = min(1.0, policy.max_step / biggest_move) if biggest_move else 1.0
    return _rounded_shares({k: current[k] + scale * (target[k] - current[k]) for k in current})


def _expected(judged: list[Judged], shares: dict[str, float], metric) -> float | None:
    values = [(shares[j.deployment.name], metric(j)) for j in judged]
    if any(v is None for _, v in values):
        return None
    return round(sum(s * v for s, v in values), 6)


def model_list(group: ModelGroup, weights: dict[str, float]) -> str:
    """The group's deployments as LiteLLM ``model_list`` entries with these weights (JSON)."""
    return json.dumps(
        [
            {
                "model_name": group.name,
                "litellm_params": {"model": d.name, "weight": weights[d.name]},
            }
            for d in group.deployments
        ]
    )


def proposal_id(group: str, as_of: datetime, current: dict, proposed: dict) -> str:
    body = json.dumps([group, as_of.date().isoformat(), current, proposed], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def propose(
    group: ModelGroup,
    today: dict[tuple[str, str], dict],
    history: dict[tuple[str, str], list[dict]],
    policy: RoutingPolicy,
    prices: PriceTable,
    as_of: datetime,
) -> dict[str, Any] | None:
    """The group's proposal for the day, or None when its weights should stay as they are.
    ``today`` and ``history`` hold scorecard rows of the group's operation by (provider, model)."""
    if len(group.deployments) < 2:
        return None
    judged = [
        _judge(d, today.get((d.provider, d.model)), history.get((d.provider, d.model), []), policy)
        for d in group.deployments
    ]
    if all(j.factor == 1.0 for j in judged):
        return None
    rows = [j.today for j in judged if j.today]
    calls = sum(r["calls"] for r in rows)
    mix = (
        sum(r["input_tokens"] for r in rows) / calls if calls else 0.0,
        sum(r["output_tokens"] for r in rows) / calls if calls else 0.0,
    )
    current = _rounded_shares(group.shares)
    proposed = target_shares(group, judged, policy, mix, prices, as_of)
    if proposed == current:
        return None
    total = sum(d.weight for d in group.deployments)

    def cost(j: Judged) -> float | None:
        price = prices.at(j.deployment.provider, j.deployment.model, as_of)
        return None if price is None else 1000 * price.cost(round(mix[0]), round(mix[1]))

    def metric(name: str):
        return lambda j: (j.today or {}).get(name)

    effect = {}
    for column, fn in (
        ("latency_p50_ms", metric("latency_p50_ms")),
        ("error_rate", metric("error_rate")),
        ("cost_per_1k_calls", cost),
        ("quality", metric("quality")),
    ):
        effect[f"expected_{column}_current"] = _expected(judged, group.shares, fn)
        effect[f"expected_{column}_proposed"] = _expected(judged, proposed, fn)
    reasons = []
    for j in judged:
        name = j.deployment.name
        move = f"share {current[name]:.0%} -> {proposed[name]:.0%}"
        why = "; ".join(j.reasons) if j.reasons else "within its constraints"
        reasons.append(f"{name}: {why}; {move}.")
    losers = [j.deployment.name for j in judged if j.factor > 1.0]
    gainers = [k for k in proposed if proposed[k] > current[k]]
    worst = max(j.factor for j in judged)
    return {
        "as_of": as_of,
        "proposal_id": proposal_id(group.name, as_of, current, proposed),
        "model_group": group.name,
        "status": "open",
        "severity": "high" if worst >= 2.0 else "medium",
        "title": (f"{group.name}: shift traffic from {', '.join(losers)} to {', '.join(gainers)}"),
        "current_weights": model_list(group, {d.name: d.weight for d in group.deployments}),
        "proposed_weights": model_list(
            group, {k: round(v * total, DIGITS) for k, v in proposed.items()}
        ),
        **effect,
        "reasons": "\n".join(reasons),
        "method": METHOD,
        "evidence": json.dumps(
            {
                j.deployment.name: {
                    "calls": (j.today or {}).get("calls", 0),
                    "latency_p50_ms": (j.today or {}).get("latency_p50_ms"),
                    "baseline_latency_p50_ms": j.baseline_p50,
                    "error_rate": (j.today or {}).get("error_rate"),
                    "baseline_error_rate": None
                    if j.baseline_error_rate is None
                    else round(j.baseline_error_rate, 6),
                    "violation_ratio": round(j.factor, 4),
                }
                for j in judged
            },
            sort_keys=True,
        ),
    }
