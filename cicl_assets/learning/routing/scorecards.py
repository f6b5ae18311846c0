"""Provider scorecards: per day, provider, model and operation, how LLM calls went.

Pure: calls and ratings in, rows out. Quantiles are exact, computed here over every sample of
the day, so DuckDB and BigQuery (whose APPROX_QUANTILES is approximate) give the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from cicl_assets.learning.routing.prices import PriceTable
from cicl_assets.learning.routing.stats import mean, quantile, wilson
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

# Time to first chunk as the GenAI semantic conventions name it (seconds), and the event the
# OpenLLMetry instrumentations add per streamed chunk: the first one's time is the first token.
TTFT_ATTRIBUTE = "gen_ai.response.time_to_first_chunk"
CHUNK_EVENT = "llm.content.completion.chunk"
OPERATION_ATTRIBUTE = "gen_ai.operation.name"

Key = tuple[str | None, str | None, str | None]  # provider, model, operation

PROVIDER_SCORECARDS = TableSpec(
    name="provider_scorecards",
    description=(
        "One row per day, LLM provider, model and operation: calls, error rate with its Wilson "
        "95% interval, p50/p95 latency, p50 ms per output token, time to first token where the "
        "spans carry it, tokens, cost from config/prices.yaml (flagged when the model has no "
        "price) and quality from evaluation scores and user feedback."
    ),
    schema=pa.schema(
        [
            ("day", UTC_TS),
            ("gen_ai_provider", pa.string()),
            ("gen_ai_model", pa.string()),
            ("operation", pa.string()),
            ("calls", pa.int64()),
            ("errors", pa.int64()),
            ("error_rate", pa.float64()),
            ("error_rate_low", pa.float64()),
            ("error_rate_high", pa.float64()),
            ("latency_p50_ms", pa.float64()),
            ("latency_p95_ms", pa.float64()),
            ("ms_per_output_token_p50", pa.float64()),
            ("ttft_p50_ms", pa.float64()),
            ("ttft_calls", pa.int64()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("cost_usd", pa.float64()),
            ("price_missing", pa.bool_()),
            ("eval_count", pa.int64()),
            ("eval_score_mean", pa.float64()),
            ("feedback_count", pa.int64()),
            ("feedback_score_mean", pa.float64()),
            ("quality_count", pa.int64()),
            ("quality", pa.float64()),
        ]
    ),
    time_column="day",
    cluster_by=("gen_ai_provider", "gen_ai_model"),
    column_docs={
        "day": "start of the UTC day the calls started on",
        "operation": "gen_ai.operation.name (chat, embeddings, ...); null when the span lacks it",
        "errors": "calls whose span status is ERROR",
        "error_rate_low": "Wilson 95% interval of the error rate, lower bound",
        "error_rate_high": "Wilson 95% interval of the error rate, upper bound",
        "latency_p50_ms": "median duration of the calls that did not fail (exact, interpolated)",
        "latency_p95_ms": "95th percentile duration of the calls that did not fail",
        "ms_per_output_token_p50": "median of duration / output tokens over successful calls",
        "ttft_p50_ms": "median time to first token: gen_ai.response.time_to_first_chunk or the "
        f"first {CHUNK_EVENT} event; null when no span carries either",
        "ttft_calls": "calls that carried a time to first token",
        "cost_usd": "sum over calls of tokens x the list price in effect; null when a call with "
        "tokens has no price",
        "price_missing": "true when config/prices.yaml has no price for the model on that day",
        "eval_score_mean": "mean gen_ai.evaluation.score.value in [0, 1] (else pass 1 / fail 0) "
        "of evaluations given that day to these calls",
        "feedback_score_mean": "mean normalised user_feedback score given that day to runs or "
        "calls these calls served",
        "quality": "mean of every evaluation and feedback score counted above",
    },
)


@dataclass(frozen=True)
class Call:
    span_id: str
    trace_id: str
    provider: str | None
    model: str | None
    operation: str | None
    start_time: datetime
    duration_ms: float
    error: bool
    input_tokens: int | None
    output_tokens: int | None
    ttft_ms: float | None

    @property
    def key(self) -> Key:
        return (self.provider, self.model, self.operation)


@dataclass(frozen=True)
class Rating:
    key: Key
    source: str  # "eval" | "feedback"
    score: float


def _nanos(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def time_to_first_token(
    attributes: dict[str, Any], events: list[dict[str, Any]], start_time: datetime
) -> float | None:
    """Milliseconds to the first token, only when the span says so: the semantic-convention
    attribute, else the first chunk event's time; never derived from the duration."""
    seconds = attributes.get(TTFT_ATTRIBUTE)
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return float(seconds) * 1000.0
    times = [
        t
        for e in events
        if e.get("name") == CHUNK_EVENT and (t := _nanos(e.get("time_unix_nano"))) is not None
    ]
    if not times:
        return None
    start_ns = int(start_time.timestamp()) * 1_000_000_000 + start_time.microsecond * 1000
    first = (min(times) - start_ns) / 1e6
    return first if first >= 0 else None


def eval_score(value: float | None, label: str | None) -> float | None:
    """An evaluation on a [0, 1] scale: the value when it is one, else pass/fail as 1/0."""
    if value is not None and 0.0 <= value <= 1.0:
        return float(value)
    if label is not None and label.lower() in ("pass", "fail"):
        return 1.0 if label.lower() == "pass" else 0.0
    return None


def _cost(calls: list[Call], prices: PriceTable) -> tuple[float | None, bool]:
    total, missing = 0.0, False
    for c in calls:
        if not (c.input_tokens or c.output_tokens):
            continue
        price = prices.at(c.provider, c.model, c.start_time)
        if price is None:
            missing = True
            continue
        total += price.cost(c.input_tokens or 0, c.output_tokens or 0)
    return (None if missing else round(total, 9)), missing


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def scorecard_row(
    day: datetime, key: Key, calls: list[Call], ratings: list[Rating], prices: PriceTable
) -> dict[str, Any]:
    errors = sum(1 for c in calls if c.error)
    low, high = wilson(errors, len(calls))
    ok = [c for c in calls if not c.error]
    ttft = [c.ttft_ms for c in calls if c.ttft_ms is not None]
    per_token = [c.duration_ms / c.output_tokens for c in ok if c.output_tokens]
    cost, missing = _cost(calls, prices)
    evals = [r.score for r in ratings if r.source == "eval"]
    feedback = [r.score for r in ratings if r.source == "feedback"]
    return {
        "day": day,
        "gen_ai_provider": key[0],
        "gen_ai_model": key[1],
        "operation": key[2],
        "calls": len(calls),
        "errors": errors,
        "error_rate": _rounded(errors / len(calls)) if calls else None,
        "error_rate_low": _rounded(low),
        "error_rate_high": _rounded(high),
        "latency_p50_ms": _rounded(quantile((c.duration_ms for c in ok), 0.5), 3),
        "latency_p95_ms": _rounded(quantile((c.duration_ms for c in ok), 0.95), 3),
        "ms_per_output_token_p50": _rounded(quantile(per_token, 0.5), 4),
        "ttft_p50_ms": _rounded(quantile(ttft, 0.5), 3),
        "ttft_calls": len(ttft),
        "input_tokens": sum(c.input_tokens or 0 for c in calls),
        "output_tokens": sum(c.output_tokens or 0 for c in calls),
        "cost_usd": cost,
        "price_missing": missing,
        "eval_count": len(evals),
        "eval_score_mean": _rounded(mean(evals)),
        "feedback_count": len(feedback),
        "feedback_score_mean": _rounded(mean(feedback)),
        "quality_count": len(evals) + len(feedback),
        "quality": _rounded(mean(evals + feedback)),
    }


def _order(key: Key) -> tuple[str, str, str]:
    return (key[0] or "", key[1] or "", key[2] or "")


def scorecard_rows(
    day: datetime, calls: Iterable[Call], ratings: Iterable[Rating], prices: PriceTable
) -> list[dict[str, Any]]:
    """One row per provider, model and operation that made calls on the day."""
    by_key: dict[Key, list[Call]] = defaultdict(list)
    for c in calls:
        by_key[c.key].append(c)
    rated: dict[Key, list[Rating]] = defaultdict(list)
    for r in ratings:
        if r.key in by_key:
            rated[r.key].append(r)
    return [
        scorecard_row(day, key, by_key[key], rated[key], prices)
        for key in sorted(by_key, key=_order)
    ]
