"""What a day's scorecards read: the day's LLM calls and the ratings given that day.

Every query is bounded to the day (ratings' evaluated calls: the day and the one before it), so
a day costs what its own data costs, not the history.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from cicl_assets.learning.routing.scorecards import (
    OPERATION_ATTRIBUTE,
    Call,
    Key,
    Rating,
    eval_score,
    time_to_first_token,
)
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

# A rating counts for the call it rates when that call started at most this long before the
# rating's day; older calls are not looked up (the metadata counts such ratings as unmatched).
RATED_CALL_LOOKBACK = timedelta(days=1)
CALL_COLUMNS = (
    "trace_id, span_id, gen_ai_provider, gen_ai_model, start_time, duration_ms, status_code, "
    "input_tokens, output_tokens, span_attributes, events"
)


def _call(row: dict[str, Any]) -> Call:
    attributes = json.loads(row["span_attributes"] or "{}")
    operation = attributes.get(OPERATION_ATTRIBUTE)
    return Call(
        span_id=row["span_id"],
        trace_id=row["trace_id"],
        provider=row["gen_ai_provider"],
        model=row["gen_ai_model"],
        operation=str(operation) if operation is not None else None,
        start_time=row["start_time"],
        duration_ms=float(row["duration_ms"] or 0.0),
        error=row["status_code"] == "ERROR",
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        ttft_ms=time_to_first_token(
            attributes, json.loads(row["events"] or "[]"), row["start_time"]
        ),
    )


def read_calls(warehouse: Warehouse, start: datetime, end: datetime) -> list[Call]:
    """LLM calls (spans naming a provider) that started in [start, end)."""
    if not warehouse.table_exists("otel_spans"):
        return []
    rows = warehouse.query(
        f"SELECT {CALL_COLUMNS} FROM otel_spans WHERE start_time >= @start "
        "AND start_time < @end AND gen_ai_provider IS NOT NULL",
        {"start": start, "end": end},
    ).to_pylist()
    return [_call(r) for r in rows]


def _earlier_calls(
    warehouse: Warehouse, start: datetime, traces: set[str], known: set[str]
) -> list[Call]:
    if not traces:
        return []
    rows = warehouse.query(
        f"SELECT {CALL_COLUMNS} FROM otel_spans WHERE start_time >= @since AND start_time < @start "
        f"AND gen_ai_provider IS NOT NULL AND trace_id IN {IN_ARRAY.format(param='traces')}",
        {"since": start - RATED_CALL_LOOKBACK, "start": start, "traces": sorted(traces)},
    ).to_pylist()
    return [_call(r) for r in rows if r["span_id"] not in known]


def read_ratings(
    warehouse: Warehouse, start: datetime, end: datetime, calls: list[Call]
) -> tuple[list[Rating], int]:
    """Evaluation and feedback scores given in [start, end), each attributed to the calls it
    rates: an evaluation to its evaluated span; feedback to its span when it names one, else
    once to every provider, model and operation that served its trace. Returns the ratings and
    the number of scores that matched no call."""
    evals = []
    if warehouse.table_exists("eval_scores"):
        evals = warehouse.query(
            "SELECT trace_id, span_id, score_value, score_label FROM eval_scores "
            "WHERE evaluated_at >= @start AND evaluated_at < @end",
            {"start": start, "end": end},
        ).to_pylist()
    feedback = []
    if warehouse.table_exists("user_feedback"):
        feedback = warehouse.query(
            "SELECT trace_id, span_id, score FROM user_feedback "
            "WHERE rated_at >= @start AND rated_at < @end AND score IS NOT NULL",
            {"start": start, "end": end},
        ).to_pylist()
    by_span = {c.span_id: c for c in calls}
    wanted = {r["trace_id"] for r in evals + feedback if r["trace_id"]}
    missing = {t for t in wanted if t not in {c.trace_id for c in calls}}
    for c in _earlier_calls(warehouse, start, missing, set(by_span)):
        by_span[c.span_id] = c
    by_trace: dict[str, set[Key]] = {}
    for c in by_span.values():
        by_trace.setdefault(c.trace_id, set()).add(c.key)
    ratings: list[Rating] = []
    unmatched = 0
    for r in evals:
        score = eval_score(r["score_value"], r["score_label"])
        call = by_span.get(r["span_id"] or "")
        if score is None or call is None:
            unmatched += 1
            continue
        ratings.append(Rating(call.key, "eval", score))
    for r in feedback:
        call = by_span.get(r["span_id"] or "")
        keys = {call.key} if call else by_trace.get(r["trace_id"] or "", set())
        if not keys:
            unmatched += 1
        ratings.extend(Rating(k, "feedback", float(r["score"])) for k in sorted(keys, key=str))
    return ratings, unmatched
