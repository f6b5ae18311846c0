"""What the bad events of an SLO breach have in common: operations, providers, models,
deploy versions, workflows and error types, with their share of the bad events and their lift.

An SLO event is one span matching the SLO's filter (a workflow run, a gateway request, an LLM
call). Its *culprits* are the failing spans beneath it in its trace (or itself, for a latency
SLO or when nothing beneath it failed); a bad event counts once for each distinct value its
culprits carry. ``lift`` is a value's bad rate in the breach window over the SLO's bad rate in
the budget window before it: 20 means events with that value failed 20x more than usual.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pyarrow as pa

from cicl_assets.learning.breach import Breach
from cicl_assets.slo.minute_counts import SLO_MINUTE_COUNTS
from cicl_assets.slo.specs import SPAN_SOURCE, SloSpec
from cicl_assets.slo.status import span_filter_sql
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

NONE_VALUE = "(none)"
DIMENSIONS = ("operation", "provider", "model", "error_type", "service_version", "workflow")
# Child spans of a trace are looked for a little around the window: a run that started just
# before the window end can have its calls end after it.
TRACE_MARGIN = timedelta(minutes=15)

SLO_BREACH_REPORTS = TableSpec(
    name="slo_breach_reports",
    description=(
        "One row per SLO breach, dimension (operation, provider, model, error_type, "
        "service_version, workflow) and value: the bad events of the breach window carrying "
        "that value, their share of all bad events, the value's bad rate and its lift over the "
        "SLO's bad rate before the window."
    ),
    schema=pa.schema(
        [
            ("breach_id", pa.string()),
            ("slo_name", pa.string()),
            ("alert", pa.string()),
            ("alert_window", pa.string()),
            ("evaluation_time", UTC_TS),
            ("window_start", UTC_TS),
            ("window_end", UTC_TS),
            ("dimension", pa.string()),
            ("value", pa.string()),
            ("bad_events", pa.int64()),
            ("share_of_bad", pa.float64()),
            ("events", pa.int64()),
            ("bad_rate", pa.float64()),
            ("baseline_bad_rate", pa.float64()),
            ("lift", pa.float64()),
            ("window_bad_events", pa.int64()),
            ("window_events", pa.int64()),
            ("run_id", pa.string()),
        ]
    ),
    time_column="evaluation_time",
    cluster_by=("slo_name", "dimension"),
    require_partition_filter=True,
    column_docs={
        "events": "SLO events in the window whose trace carries the value (any status)",
        "bad_rate": "bad_events / events",
        "baseline_bad_rate": "the SLO's bad share over its budget window before window_start",
        "lift": "bad_rate / baseline_bad_rate (null when the baseline had no bad event)",
    },
)


def _bad_expr(slo: SloSpec, params: dict[str, Any]) -> str:
    """SQL for "this SLO event is bad"; binds the latency threshold into ``params``."""
    if slo.sli_kind == "latency":
        params["threshold_ms"] = float(slo.threshold_ms or 0.0)
        return "duration_ms > @threshold_ms"
    return "status_code = 'ERROR'"


def baseline(warehouse: Warehouse, breach: Breach, slo: SloSpec) -> tuple[int, int]:
    """(events, bad events) of the SLO over its budget window before the breach window, from
    the minute counts (the window's start is a whole minute: evaluations are)."""
    if not warehouse.table_exists(SLO_MINUTE_COUNTS.name):
        return 0, 0
    row = warehouse.query(
        f"SELECT SUM(total) AS n, SUM(total - good) AS bad FROM {SLO_MINUTE_COUNTS.name} "
        "WHERE slo_name = @slo AND minute >= @since AND minute < @until",
        {
            "slo": slo.name,
            "since": breach.window_start - timedelta(minutes=slo.window_minutes),
            "until": breach.window_start,
        },
    ).to_pylist()[0]
    return int(row["n"] or 0), int(row["bad"] or 0)


def _window_events(warehouse: Warehouse, breach: Breach, slo: SloSpec) -> list[dict[str, Any]]:
    condition, params = span_filter_sql(slo.span_filter)
    params.update({"since": breach.window_start, "until": breach.at})
    bad = _bad_expr(slo, params)
    return warehouse.query(
        "SELECT trace_id, span_id, span_name, service_version, workflow_name, gen_ai_provider, "
        f"gen_ai_model, error_type, CASE WHEN {bad} THEN 1 ELSE 0 END AS bad "
        f"FROM {SPAN_SOURCE} WHERE {condition} AND start_time >= @since AND start_time < @until",
        params,
    ).to_pylist()


def _trace_spans(
    warehouse: Warehouse, breach: Breach, trace_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    if not trace_ids:
        return {}
    membership = f"trace_id IN {IN_ARRAY.format(param='ids')}"
    rows = warehouse.query(
        "SELECT trace_id, span_id, parent_span_id, span_name, status_code, gen_ai_provider, "
        f"gen_ai_model, error_type FROM {SPAN_SOURCE} WHERE {membership} "
        "AND start_time >= @since AND start_time < @until",
        {
            "ids": trace_ids,
            "since": breach.window_start - TRACE_MARGIN,
            "until": breach.at + TRACE_MARGIN,
        },
    ).to_pylist()
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_trace[row["trace_id"]].append(row)
    return by_trace


def _descendants(root_id: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        if span["parent_span_id"]:
            children[span["parent_span_id"]].append(span)
    out, stack, seen = [], [root_id], {root_id}
    while stack:
        for child in children.get(stack.pop(), []):
            if child["span_id"] not in seen:
                seen.add(child["span_id"])
                out.append(child)
                stack.append(child["span_id"])
    return out


def _values(spans: list[dict[str, Any]]) -> dict[str, set[str]]:
    return {
        "operation": {s["span_name"] for s in spans if s["span_name"]},
        "provider": {s["gen_ai_provider"] for s in spans if s["gen_ai_provider"]},
        "model": {s["gen_ai_model"] for s in spans if s["gen_ai_model"]},
        "error_type": {s["error_type"] for s in spans if s["error_type"]},
    }


def attribute(
    events: list[dict[str, Any]], traces: dict[str, list[dict[str, Any]]], latency: bool
) -> tuple[Counter, Counter]:
    """(bad events, events) per (dimension, value) over the window's SLO events."""
    bad: Counter = Counter()
    present: Counter = Counter()
    for event in events:
        below = [] if latency else _descendants(event["span_id"], traces.get(event["trace_id"], []))
        everything = _values([event, *below])
        failing = [s for s in below if s["status_code"] == "ERROR"]
        culprits = _values(failing or [event])
        own = {
            "service_version": {event["service_version"] or NONE_VALUE},
            "workflow": {event["workflow_name"] or NONE_VALUE},
        }
        for dim in DIMENSIONS:
            seen = own.get(dim) or everything[dim] or {NONE_VALUE}
            for value in seen:
                present[(dim, value)] += 1
            if event["bad"]:
                for value in own.get(dim) or culprits[dim] or {NONE_VALUE}:
                    bad[(dim, value)] += 1
    return bad, present


def breach_rows(
    warehouse: Warehouse, breach: Breach, slo: SloSpec, run_id: str = ""
) -> list[dict[str, Any]]:
    """slo_breach_reports rows for one breach, most bad events first within each dimension.
    No rows for an SLO counted outside cicl (external SLI counts): no spans to attribute."""
    if slo.span_filter is None:
        return []
    base_n, base_bad = baseline(warehouse, breach, slo)
    baseline_rate = base_bad / base_n if base_n else None
    events = _window_events(warehouse, breach, slo)
    latency = slo.sli_kind == "latency"
    bad_trace_ids = sorted({e["trace_id"] for e in events})
    traces = {} if latency else _trace_spans(warehouse, breach, bad_trace_ids)
    bad, present = attribute(events, traces, latency)
    window_bad = sum(e["bad"] for e in events)
    rows = []
    for (dim, value), n_bad in bad.items():
        n = max(present[(dim, value)], n_bad)
        rate = n_bad / n if n else None
        rows.append(
            {
                "breach_id": breach.breach_id,
                "slo_name": breach.slo_name,
                "alert": breach.alert,
                "alert_window": breach.alert_window,
                "evaluation_time": breach.at,
                "window_start": breach.window_start,
                "window_end": breach.at,
                "dimension": dim,
                "value": value,
                "bad_events": n_bad,
                "share_of_bad": n_bad / window_bad if window_bad else None,
                "events": n,
                "bad_rate": rate,
                "baseline_bad_rate": baseline_rate,
                "lift": rate / baseline_rate if rate is not None and baseline_rate else None,
                "window_bad_events": window_bad,
                "window_events": len(events),
                "run_id": run_id,
            }
        )
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    rows.sort(
        key=lambda r: (order[r["dimension"]], -r["bad_events"], -(r["lift"] or 0), r["value"])
    )
    return rows


def top_by_dimension(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    top: dict[str, dict[str, Any]] = {}
    for row in rows:
        top.setdefault(row["dimension"], row)
    return top


def summary_markdown(breach: Breach, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return (
            f"**{breach.slo_name}** {breach.alert} ({breach.alert_window}) at "
            f"{breach.at.isoformat()}: no bad events in the window."
        )
    first = rows[0]
    lines = [
        f"**{breach.slo_name}** {breach.alert} on {breach.alert_window} at "
        f"{breach.at.isoformat()}: {first['window_bad_events']} bad of "
        f"{first['window_events']} events from {breach.window_start.isoformat()}"
        + (
            f" (bad share before the window: {first['baseline_bad_rate']:.2%})."
            if first["baseline_bad_rate"] is not None
            else "."
        ),
        "",
        "| dimension | top value | bad events | share of bad | bad rate | lift |",
        "|---|---|---|---|---|---|",
    ]
    for dim, row in top_by_dimension(rows).items():
        lift = f"{row['lift']:.1f}x" if row["lift"] is not None else "n/a"
        lines.append(
            f"| {dim} | `{row['value']}` | {row['bad_events']} | {row['share_of_bad']:.0%} | "
            f"{row['bad_rate']:.0%} | {lift} |"
        )
    return "\n".join(lines)


# The dimensions that can name a cause, in the order a person reads one.
CAUSE_DIMENSIONS = ("error_type", "provider", "model", "service_version", "operation", "workflow")


EXTERNAL_CAUSE = "events counted outside cicl (external SLI counts): no spans to attribute"


def cause(rows: list[dict[str, Any]], external: bool = False) -> str:
    """One line on what the breach's bad events have in common: each dimension whose top value
    carries at least half of them (at most four), with its share and lift."""
    if external:
        return EXTERNAL_CAUSE
    if not rows:
        return "no bad events in the window"
    top = top_by_dimension(rows)
    named = []
    for dim in CAUSE_DIMENSIONS:
        row = top.get(dim)
        if row is None or row["value"] == NONE_VALUE or (row["share_of_bad"] or 0) < 0.5:
            continue
        lift = f", {row['lift']:.0f}x the usual rate" if row["lift"] is not None else ""
        named.append(f"{dim} {row['value']} ({row['share_of_bad']:.0%} of bad{lift})")
    first = rows[0]
    counts = f"{first['window_bad_events']} of {first['window_events']} events bad"
    if not named:
        return f"{counts}; no single value carries half of them"
    return f"{counts}; " + ", ".join(named[:4])
