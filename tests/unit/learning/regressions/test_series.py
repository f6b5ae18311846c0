"""load_series builds each series from the spans' columns: which spans feed which series, with
NULLs and empty names, and the samples in time order with their trace ids."""

from datetime import UTC, datetime, timedelta

import numpy as np

from cicl_assets.learning.regressions.series import load_series
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

T = datetime(2026, 3, 1, tzinfo=UTC)
LLM = {"gen_ai_provider": "openai", "gen_ai_model": "gpt-4.1", "span_name": "chat gpt-4.1"}
KEY = (("gen_ai_provider", "openai"), ("gen_ai_model", "gpt-4.1"), ("operation", "chat"))


def span(minute: int, trace: str, **values) -> dict:
    return {
        "trace_id": trace,
        "span_id": f"{trace}-{minute}",
        "service_name": "router",
        "deployment_environment": "production",
        "start_time": T + timedelta(minutes=minute),
        "duration_ms": 100.0,
        "status_code": "OK",
        "parent_span_id": "p",
        **values,
    }


SPANS = [
    # Written out of time order: each series holds its samples by time.
    span(5, "t5", **LLM, duration_ms=900.0, output_tokens=300, input_tokens=100),
    span(1, "t1", **LLM, duration_ms=600.0, output_tokens=0, input_tokens=50),
    span(3, "t3", **LLM, duration_ms=None),  # no duration, no tokens: only its error rate
    span(4, "t4", **LLM, status_code="ERROR", duration_ms=50.0, output_tokens=10),
    # Empty provider text is no provider: a plain span of its service.
    span(2, "t2", gen_ai_provider="", span_name="lookup", duration_ms=40.0),
    span(6, "t6", span_name=None, duration_ms=30.0),
    # No service: its series have nobody to deploy them and are left out.
    span(7, "t7", service_name=None, span_name="orphan"),
    # Root spans of a named workflow make its series; an empty name does not.
    span(8, "t8", span_name="workflow.run", workflow_name="triage", parent_span_id=None),
    span(9, "t9", span_name="workflow.run", workflow_name="", parent_span_id=None),
    span(10, "t10", span_name="step", workflow_name="triage"),
]

EXPECTED = {
    (KEY, "error_rate"): ([1, 3, 4, 5], [0.0, 0.0, 1.0, 0.0], ["t1", "t3", "t4", "t5"]),
    (KEY, "latency_ms"): ([1, 5], [600.0, 900.0], ["t1", "t5"]),
    (KEY, "latency_per_output_token_ms"): ([5], [3.0], ["t5"]),
    (KEY, "tokens_per_call"): ([1, 5], [50.0, 400.0], ["t1", "t5"]),
    ((("service_name", "router"), ("span_name", "lookup")), "error_rate"): ([2], [0.0], ["t2"]),
    ((("service_name", "router"), ("span_name", "lookup")), "duration_ms"): ([2], [40.0], ["t2"]),
    ((("service_name", "router"), ("span_name", None)), "error_rate"): ([6], [0.0], ["t6"]),
    ((("service_name", "router"), ("span_name", None)), "duration_ms"): ([6], [30.0], ["t6"]),
    ((("service_name", "router"), ("span_name", "workflow.run")), "error_rate"): (
        [8, 9],
        [0.0, 0.0],
        ["t8", "t9"],
    ),
    ((("service_name", "router"), ("span_name", "workflow.run")), "duration_ms"): (
        [8, 9],
        [100.0, 100.0],
        ["t8", "t9"],
    ),
    ((("service_name", "router"), ("span_name", "step")), "error_rate"): ([10], [0.0], ["t10"]),
    ((("service_name", "router"), ("span_name", "step")), "duration_ms"): ([10], [100.0], ["t10"]),
    ((("workflow", "triage"),), "error_rate"): ([8], [0.0], ["t8"]),
    ((("workflow", "triage"),), "duration_ms"): ([8], [100.0], ["t8"]),
}


def test_series_from_span_columns(tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(SPANS))
    found = load_series(warehouse, T, T + timedelta(hours=1), "production")
    got = {}
    for key, series in found.items():
        times, values = series.arrays()
        minutes = [round((t - T.timestamp()) / 60) for t in times]
        got[key] = (minutes, values.tolist(), series.traces_between(0.0, np.inf))
        assert series.services == {"router"}, key
    assert got == EXPECTED
