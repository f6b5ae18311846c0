"""GenAI evaluation results (the OpenTelemetry ``gen_ai.evaluation.result`` event) -> rows of
`eval_scores`, from log records and from span events.

The event is parented to the evaluated span: a log record names it by its trace and span ids, a
span event by being on it. When no span is known, ``gen_ai.response.id`` names the completion.
A span event's row takes provider, model and workflow from the span that carries it; a log
record's row gets them later from `otel_spans` (``telemetry.evaluation_join``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from cicl_assets.ingest.formats import ParsedRows
from cicl_assets.ingest.redact import redact_text
from cicl_assets.telemetry.logs_table import EVAL_SCORES
from cicl_assets.telemetry.spans_table import OTEL_SPANS

EVALUATION_EVENT = "gen_ai.evaluation.result"
NAME = "gen_ai.evaluation.name"
SCORE_VALUE = "gen_ai.evaluation.score.value"
SCORE_LABEL = "gen_ai.evaluation.score.label"
EXPLANATION = "gen_ai.evaluation.explanation"
RESPONSE_ID = "gen_ai.response.id"
ERROR_TYPE = "error.type"
LOG_RECORD = "log_record"
SPAN_EVENT = "span_event"


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def score(value: Any) -> float | None:
    """The score as a number: numbers and numeric text; booleans and non-finite values are none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def evaluation_row(
    attributes: dict[str, Any],
    time_ns: int,
    *,
    carrier: str,
    trace_id: str | None,
    span_id: str | None,
    evaluator: str | None,
    provider: str | None = None,
    model: str | None = None,
    workflow: str | None = None,
) -> dict[str, Any]:
    """One `eval_scores` row from the event's attributes."""
    name = _text(attributes.get(NAME))
    response_id = _text(attributes.get(RESPONSE_ID))
    identity = "|".join(
        str(part or "") for part in (carrier, trace_id, span_id, response_id, name, time_ns)
    )
    explanation = _text(attributes.get(EXPLANATION))
    return {
        "evaluation_id": hashlib.sha256(identity.encode()).hexdigest()[:32],
        "evaluated_at": datetime.fromtimestamp(time_ns / 1e9, UTC) if time_ns else None,
        "trace_id": trace_id,
        "span_id": span_id,
        "response_id": response_id,
        "evaluation_name": name,
        "score_value": score(attributes.get(SCORE_VALUE)),
        "score_label": _text(attributes.get(SCORE_LABEL)),
        "explanation": redact_text(explanation) if explanation else None,
        "error_type": _text(attributes.get(ERROR_TYPE)),
        "evaluator": evaluator,
        "carrier": carrier,
        "gen_ai_provider": provider,
        "gen_ai_model": model,
        "workflow_name": workflow,
    }


_SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "service_name",
    "gen_ai_provider",
    "gen_ai_model",
    "workflow_name",
    "events",
)


def span_event_rows(spans: pa.Table) -> list[dict[str, Any]]:
    """Evaluation rows of the spans' events; only spans whose events mention one are decoded."""
    if spans.num_rows == 0:
        return []
    mask = pc.fill_null(pc.match_substring(spans.column("events"), EVALUATION_EVENT), False)
    if not pc.any(mask).as_py():
        return []
    rows = []
    for span in spans.filter(mask).select(list(_SPAN_COLUMNS)).to_pylist():
        for event in orjson.loads(span["events"]):
            if event.get("name") != EVALUATION_EVENT:
                continue
            rows.append(
                evaluation_row(
                    event.get("attributes") or {},
                    int(event.get("time_unix_nano") or 0),
                    carrier=SPAN_EVENT,
                    trace_id=span["trace_id"],
                    span_id=span["span_id"],
                    evaluator=span["service_name"],
                    provider=span["gen_ai_provider"],
                    model=span["gen_ai_model"],
                    workflow=span["workflow_name"],
                )
            )
    return rows


def add_span_evaluations(
    parsed: Iterable[tuple[str, ParsedRows]],
) -> Iterator[tuple[str, ParsedRows]]:
    """A span parser's output, each batch of spans followed by the evaluation results found in
    its events."""
    for table_name, rows in parsed:
        yield table_name, rows
        if table_name == OTEL_SPANS.name and isinstance(rows, pa.Table):
            found = span_event_rows(rows)
            if found:
                yield EVAL_SCORES.name, found
