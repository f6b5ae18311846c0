"""Provider, model and workflow of evaluated spans, joined into `eval_scores` rows that came as
log records (a span event's row has them from the span that carries it).

A log record's evaluation may land before or after the span it evaluates, so every run joins
the rows still missing them. The join reads spans only in the window those rows can point at:
from ``JOIN_LAG`` before the oldest such evaluation to its newest (an evaluation follows the
call it evaluates), and looks only ``LOOKBACK`` back from the end of the newest day the
stream's files hold (as ``ingested_files`` records it, so eval_scores is read by day only), so
a row whose span never arrives stops costing anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from cicl_assets.ingest.data_days import newest_data_day
from cicl_assets.telemetry.evaluations import LOG_RECORD
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.telemetry.logs_table import EVAL_SCORES
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse

JOIN_LAG = timedelta(days=1)
LOOKBACK = timedelta(days=7)


def _unjoined(table: str = "") -> str:
    """Rows of log-record evaluations the join has not filled yet."""
    q = f"{table}." if table else ""
    return (
        f"{q}carrier = '{LOG_RECORD}' AND {q}gen_ai_provider IS NULL "
        f"AND {q}gen_ai_model IS NULL AND {q}workflow_name IS NULL"
    )


def _window(warehouse: Warehouse) -> tuple[datetime, datetime] | None:
    # The newest day the stream's files hold bounds the look back (eval_scores is read by day).
    newest = newest_data_day(warehouse, OTEL_STREAM.name)
    if newest is None:
        return None
    until = datetime.combine(newest + timedelta(days=1), time(), UTC)
    bounds = warehouse.query(
        f"SELECT MIN(evaluated_at) AS lo, MAX(evaluated_at) AS hi FROM {EVAL_SCORES.name} "
        f"WHERE evaluated_at >= @since AND evaluated_at < @until AND {_unjoined()}",
        {"since": until - LOOKBACK, "until": until},
    ).to_pylist()[0]
    if bounds["lo"] is None:
        return None
    return bounds["lo"], bounds["hi"]


def _response_id(warehouse: Warehouse, column: str) -> str:
    path = '$."gen_ai.response.id"'
    if warehouse.dialect == "bigquery":
        return f"JSON_VALUE({column}, '{path}')"
    return f"json_extract_string({column}, '{path}')"


def join_evaluated_spans(warehouse: Warehouse) -> dict[str, Any]:
    """Fill provider, model and workflow of log-record evaluations from their spans (by trace and
    span id, else by gen_ai.response.id); returns figures of what is still missing."""
    for spec in (EVAL_SCORES, OTEL_SPANS):
        warehouse.ensure_table(spec)
    window = _window(warehouse)
    if window is None:
        return {"evaluations_without_span": 0}
    lo, hi = window
    params = {"span_lo": lo - JOIN_LAG, "span_hi": hi, "eval_lo": lo, "eval_hi": hi}
    e = EVAL_SCORES.name
    in_window = (
        "s.start_time >= @span_lo AND s.start_time <= @span_hi "
        f"AND {e}.evaluated_at >= @eval_lo AND {e}.evaluated_at <= @eval_hi"
    )
    unjoined = _unjoined(e)
    warehouse.execute(
        f"UPDATE {e} SET gen_ai_provider = s.gen_ai_provider, gen_ai_model = s.gen_ai_model, "
        f"workflow_name = s.workflow_name FROM {OTEL_SPANS.name} AS s "
        f"WHERE {unjoined} AND {in_window} "
        f"AND s.trace_id = {e}.trace_id AND s.span_id = {e}.span_id",
        params,
    )
    warehouse.execute(
        f"UPDATE {e} SET gen_ai_provider = s.gen_ai_provider, gen_ai_model = s.gen_ai_model, "
        f"workflow_name = s.workflow_name, trace_id = s.trace_id, span_id = s.span_id "
        f"FROM {OTEL_SPANS.name} AS s "
        f"WHERE {unjoined} AND {in_window} AND {e}.span_id IS NULL "
        f"AND {e}.response_id IS NOT NULL "
        f"AND {_response_id(warehouse, 's.span_attributes')} = {e}.response_id",
        params,
    )
    left = warehouse.query(
        f"SELECT COUNT(*) AS n FROM {e} WHERE evaluated_at >= @eval_lo "
        f"AND evaluated_at <= @eval_hi AND {_unjoined()}",
        {"eval_lo": lo, "eval_hi": hi},
    ).to_pylist()[0]["n"]
    return {"evaluations_without_span": int(left)}
