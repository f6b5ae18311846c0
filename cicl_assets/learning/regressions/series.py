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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cicl_assets.warehouse.base import Warehouse

RATE_METRICS = ("error_rate", "negative_feedback_rate")
# The direction a regression goes, per metric family.
LOWER_IS_WORSE_PREFIX = "eval_score:"


@dataclass
class Series:
    """One metric of one series: sample times (UTC epoch seconds), values, services emitting it.

    Rate metrics hold 1.0 for an event (an error, a negative rating) and 0.0 otherwise. Samples
    come as columns (``extend``: the spans, read as Arrow columns) or one by one (the lists:
    scores and ratings, a few per call).
    """

    dims: tuple[tuple[str, str], ...]
    metric: str
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    services: set[str] = field(default_factory=set)
    chunks: list[tuple[np.ndarray, np.ndarray, pa.Array]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.dims)

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS

    @property
    def worse(self) -> str:
        return "lower" if self.metric.startswith(LOWER_IS_WORSE_PREFIX) else "higher"

    @property
    def size(self) -> int:
        return len(self.times) + sum(len(c[0]) for c in self.chunks)

    def extend(self, times: np.ndarray, values: np.ndarray, traces: pa.Array) -> None:
        self.chunks.append((times, values, traces))

    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times, values and the time order; computed once, again only when samples were added."""
        cached = self.__dict__.get("_sorted_cache")
        if cached is None or cached[0] != self.size:
            times = np.concatenate(
                [c[0] for c in self.chunks] + [np.asarray(self.times, dtype=float)]
            )
            values = np.concatenate(
                [c[1] for c in self.chunks] + [np.asarray(self.values, dtype=float)]
            )
            order = np.argsort(times, kind="stable")
            cached = (self.size, times[order], values[order], order)
            self.__dict__["_sorted_cache"] = cached
        return cached[1], cached[2], cached[3]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Times and values in time order."""
        times, values, _ = self._sorted()
        return times, values

    def between(self, start: float, end: float) -> np.ndarray:
        times, values, _ = self._sorted()
        lo, hi = np.searchsorted(times, [start, end], side="left")
        return values[lo:hi]

    def traces_between(self, start: float, end: float) -> list[str | None]:
        """The trace ids of the samples ``between`` returns, in the same order."""
        times, _, order = self._sorted()
        lo, hi = np.searchsorted(times, [start, end], side="left")
        traces = pa.concat_arrays(
            [pa.array(c[2], pa.string()) for c in self.chunks]
            + [pa.array(self.traces, pa.string())]
        )
        return traces.take(pa.array(order[lo:hi], pa.int64())).to_pylist()


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
        spans = warehouse.query(SPANS_SQL.format(env=env_sql), params)
        if spans.num_rows:
            _span_series(spans, found, workflow_services, model_services)
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


# Stands for NULL in the keys spans are grouped by (no text a span carries holds it).
_NULL = "\x1e"
_UNIT_PER_S = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _text(table: pa.Table, column: str) -> pa.Array:
    return pc.fill_null(table[column].combine_chunks().cast(pa.string()), _NULL)


def _groups(*keys: pa.Array) -> Iterator[tuple[tuple[str | None, ...], np.ndarray]]:
    """The distinct combinations of ``keys`` (NULL as None), each with its rows' positions in
    their original order: one sort of the codes, not one scan per group."""
    joined = pc.binary_join_element_wise(*keys, "\x1f") if len(keys) > 1 else keys[0]
    encoded = pc.dictionary_encode(joined)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    names = encoded.dictionary.to_pylist()
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else []
    ends = [*starts[1:], len(order)]
    for first, last in zip(starts, ends, strict=True):
        parts = names[ordered[first]].split("\x1f") if len(keys) > 1 else [names[ordered[first]]]
        yield tuple(None if p == _NULL else p for p in parts), order[first:last]


def _span_series(
    spans: pa.Table,
    found: dict[tuple, Series],
    workflow_services: dict[str, set[str]],
    model_services: dict[tuple[str, str], set[str]],
) -> None:
    """The span series, column by column: the rows are never turned into Python objects."""
    start = spans["start_time"].combine_chunks()
    times = pc.cast(start, pa.int64()).to_numpy() / _UNIT_PER_S[start.type.unit]
    error = pc.equal(spans["status_code"], "ERROR").fill_null(False).to_numpy(zero_copy_only=False)
    duration = pc.cast(spans["duration_ms"], pa.float64()).to_numpy(zero_copy_only=False)
    ok = ~error & ~np.isnan(duration)
    out_tokens = pc.cast(spans["output_tokens"], pa.float64()).to_numpy(zero_copy_only=False)
    in_tokens = pc.cast(spans["input_tokens"], pa.float64()).to_numpy(zero_copy_only=False)
    traces = spans["trace_id"].combine_chunks()
    service = spans["service_name"].combine_chunks()
    provider, model = _text(spans, "gen_ai_provider"), _text(spans, "gen_ai_model")
    workflow, span_name = _text(spans, "workflow_name"), _text(spans, "span_name")
    # Empty text names nothing, as NULL does.
    nothing = pa.array([_NULL, ""])
    llm = ~pc.is_in(provider, value_set=nothing).to_numpy(zero_copy_only=False)
    named_workflow = ~pc.is_in(workflow, value_set=nothing).to_numpy(zero_copy_only=False)

    def services_of(rows: np.ndarray) -> set:
        return set(pc.unique(service.take(pa.array(rows, pa.int64()))).to_pylist())

    def add(dims: tuple, metric: str, rows: np.ndarray, values: np.ndarray) -> None:
        if not len(rows):
            return
        series = found.get((dims, metric))
        if series is None:
            series = found[(dims, metric)] = Series(dims, metric)
        series.extend(times[rows], values, traces.take(pa.array(rows, pa.int64())))
        series.services |= {s for s in services_of(rows) if s}

    for (name,), rows in _groups(workflow):
        if name:
            workflow_services[name] |= services_of(rows)
    llm_rows = np.flatnonzero(llm)
    if len(llm_rows):
        taken = pa.array(llm_rows, pa.int64())
        names = pc.fill_null(spans["span_name"].combine_chunks().take(taken), "")
        operation = pc.list_element(pc.split_pattern(names, " ", max_splits=1), 0)
        for (p, m, op), local in _groups(provider.take(taken), model.take(taken), operation):
            rows = llm_rows[local]
            model_services[(p, m or "")] |= services_of(rows)
            dims = (("gen_ai_provider", p), ("gen_ai_model", m or ""), ("operation", op))
            add(dims, "error_rate", rows, error[rows].astype(float))
            good = rows[ok[rows]]
            add(dims, "latency_ms", good, duration[good])
            per_token = good[~np.isnan(out_tokens[good]) & (out_tokens[good] != 0)]
            add(
                dims,
                "latency_per_output_token_ms",
                per_token,
                duration[per_token] / out_tokens[per_token],
            )
            counted = good[~(np.isnan(out_tokens[good]) & np.isnan(in_tokens[good]))]
            tokens = np.nan_to_num(out_tokens[counted]) + np.nan_to_num(in_tokens[counted])
            add(dims, "tokens_per_call", counted, tokens)
    other_rows = np.flatnonzero(~llm)
    if len(other_rows):
        taken = pa.array(other_rows, pa.int64())
        for (svc, name), local in _groups(
            _text(spans, "service_name").take(taken), span_name.take(taken)
        ):
            rows = other_rows[local]
            dims = (("service_name", svc), ("span_name", name))
            add(dims, "error_rate", rows, error[rows].astype(float))
            good = rows[ok[rows]]
            add(dims, "duration_ms", good, duration[good])
    root = pc.is_null(spans["parent_span_id"].combine_chunks()).to_numpy(zero_copy_only=False)
    root_rows = np.flatnonzero(root & named_workflow)
    if len(root_rows):
        for (name,), local in _groups(workflow.take(pa.array(root_rows, pa.int64()))):
            rows = root_rows[local]
            dims = (("workflow", name),)
            add(dims, "error_rate", rows, error[rows].astype(float))
            good = rows[ok[rows]]
            add(dims, "duration_ms", good, duration[good])


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
