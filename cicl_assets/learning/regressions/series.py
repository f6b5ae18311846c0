"""Exact samples of every series a window of data holds, fetched with a predicate on each
table's partitioning time column (never a full-table read).

Series and their metrics:
- LLM calls by (gen_ai_provider, gen_ai_model, operation): latency_ms and
  latency_per_output_token_ms of successful calls, tokens_per_call, error_rate;
- other spans by (service_name, span_name): duration_ms of successful spans, error_rate (LLM
  spans are left to the series above, which name them better);
- workflow runs by (workflow), from root spans carrying workflow.name: duration_ms, error_rate;
- evaluation scores by (workflow) and by (gen_ai_provider, gen_ai_model): eval_score:<name>;
- user feedback by (workflow): negative_feedback_rate (normalised score below 0.5).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from cicl_assets.warehouse.base import Warehouse

RATE_METRICS = ("error_rate", "negative_feedback_rate")
# The direction a regression goes, per metric family.
LOWER_IS_WORSE_PREFIX = "eval_score:"


@dataclass
class Series:
    """One metric of one series: sample times (UTC epoch seconds), values, services emitting it.

    Rate metrics hold 1.0 for an event (an error, a negative rating) and 0.0 otherwise.
    """

    dims: tuple[tuple[str, str], ...]
    metric: str
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    services: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.dims)

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS

    @property
    def worse(self) -> str:
        return "lower" if self.metric.startswith(LOWER_IS_WORSE_PREFIX) else "higher"

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Times and values in time order; sorted once, again only when samples were added."""
        cached = self.__dict__.get("_sorted")
        if cached is None or cached[0] != len(self.times):
            order = np.argsort(np.asarray(self.times), kind="stable")
            times = np.asarray(self.times)[order]
            cached = (len(self.times), times, np.asarray(self.values, dtype=float)[order])
            self.__dict__["_sorted"] = cached
        return cached[1], cached[2]

    def between(self, start: float, end: float) -> np.ndarray:
        times, values = self.arrays()
        lo, hi = np.searchsorted(times, [start, end], side="left")
        return values[lo:hi]


SPANS_SQL = """
SELECT trace_id, service_name, span_name, start_time, duration_ms, status_code, gen_ai_provider,
       gen_ai_model, input_tokens, output_tokens, workflow_name, parent_span_id
FROM otel_spans
WHERE start_time >= @start AND start_time < @end AND deployment_environment {env}
"""
EVALS_SQL = """
SELECT trace_id, evaluated_at, evaluation_name, score_value, gen_ai_provider, gen_ai_model,
       workflow_name
FROM eval_scores
WHERE evaluated_at >= @start AND evaluated_at < @end AND score_value IS NOT NULL
"""
FEEDBACK_SQL = """
SELECT trace_id, rated_at, workflow, score
FROM user_feedback
WHERE rated_at >= @start AND rated_at < @end AND score IS NOT NULL AND workflow IS NOT NULL
"""


def _env_predicate(environment: str | None) -> tuple[str, dict]:
    if environment is None:
        return "IS NULL", {}
    return "= @environment", {"environment": environment}


def load_series(
    warehouse: Warehouse, start: datetime, end: datetime, environment: str | None
) -> dict[tuple, Series]:
    """Every series with samples in [start, end) of ``environment``'s spans, keyed by
    (dims, metric); evaluation and feedback series join the services of the workflow's spans."""
    found: dict[tuple, Series] = {}

    def add(dims, metric, at, value, trace, service=None):
        series = found.get((dims, metric))
        if series is None:
            series = found[(dims, metric)] = Series(dims, metric)
        series.times.append(at)
        series.values.append(value)
        series.traces.append(trace)
        if service:
            series.services.add(service)

    env_sql, env_params = _env_predicate(environment)
    params = {"start": start, "end": end, **env_params}
    workflow_services: dict[str, set[str]] = defaultdict(set)
    model_services: dict[tuple[str, str], set[str]] = defaultdict(set)
    if warehouse.table_exists("otel_spans"):
        spans = warehouse.query(SPANS_SQL.format(env=env_sql), params).to_pylist()
        for s in spans:
            at = s["start_time"].timestamp()
            error = s["status_code"] == "ERROR"
            service, trace = s["service_name"], s["trace_id"]
            if s["workflow_name"]:
                workflow_services[s["workflow_name"]].add(service)
            if s["gen_ai_provider"]:
                provider, model = s["gen_ai_provider"], s["gen_ai_model"] or ""
                model_services[(provider, model)].add(service)
                operation = (s["span_name"] or "").split(" ", 1)[0]
                dims = (
                    ("gen_ai_provider", provider),
                    ("gen_ai_model", model),
                    ("operation", operation),
                )
                add(dims, "error_rate", at, float(error), trace, service)
                if not error and s["duration_ms"] is not None:
                    add(dims, "latency_ms", at, s["duration_ms"], trace, service)
                    tokens_out = s["output_tokens"]
                    if tokens_out:
                        per_token = s["duration_ms"] / tokens_out
                        add(dims, "latency_per_output_token_ms", at, per_token, trace, service)
                    if tokens_out is not None or s["input_tokens"] is not None:
                        tokens = (tokens_out or 0) + (s["input_tokens"] or 0)
                        add(dims, "tokens_per_call", at, float(tokens), trace, service)
            else:
                dims = (("service_name", service), ("span_name", s["span_name"]))
                add(dims, "error_rate", at, float(error), trace, service)
                if not error and s["duration_ms"] is not None:
                    add(dims, "duration_ms", at, s["duration_ms"], trace, service)
            if s["workflow_name"] and s["parent_span_id"] is None:
                dims = (("workflow", s["workflow_name"]),)
                add(dims, "error_rate", at, float(error), trace, service)
                if not error and s["duration_ms"] is not None:
                    add(dims, "duration_ms", at, s["duration_ms"], trace, service)
    if warehouse.table_exists("eval_scores"):
        for e in warehouse.query(EVALS_SQL, {"start": start, "end": end}).to_pylist():
            metric = f"{LOWER_IS_WORSE_PREFIX}{e['evaluation_name']}"
            at, trace = e["evaluated_at"].timestamp(), e["trace_id"]
            if e["workflow_name"]:
                add((("workflow", e["workflow_name"]),), metric, at, e["score_value"], trace)
            if e["gen_ai_provider"]:
                dims = (("gen_ai_provider", e["gen_ai_provider"]),)
                dims += (("gen_ai_model", e["gen_ai_model"] or ""),)
                add(dims, metric, at, e["score_value"], trace)
    if warehouse.table_exists("user_feedback"):
        for f in warehouse.query(FEEDBACK_SQL, {"start": start, "end": end}).to_pylist():
            negative = float(f["score"] < 0.5)
            dims = (("workflow", f["workflow"]),)
            add(dims, "negative_feedback_rate", f["rated_at"].timestamp(), negative, f["trace_id"])
    # Ratings and scores belong to this environment when its spans run their workflow or model.
    for key, series in list(found.items()):
        named = dict(series.dims)
        if "workflow" in named:
            series.services |= workflow_services.get(named["workflow"], set())
        elif "gen_ai_provider" in named:
            series.services |= model_services.get(
                (named["gen_ai_provider"], named["gen_ai_model"]), set()
            )
        if not series.services:
            del found[key]
    return found


def environments(warehouse: Warehouse, start: datetime, end: datetime) -> list[str | None]:
    """The deployment environments the spans of [start, end) come from."""
    if not warehouse.table_exists("otel_spans"):
        return []
    rows = warehouse.query(
        "SELECT DISTINCT deployment_environment AS env FROM otel_spans "
        "WHERE start_time >= @start AND start_time < @end",
        {"start": start, "end": end},
    ).to_pylist()
    return sorted((r["env"] for r in rows), key=lambda e: (e is None, e or ""))
