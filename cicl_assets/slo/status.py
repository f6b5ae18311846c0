"""slo_status: evaluate every SLO at a series of times from per-minute span counts.

One warehouse query counts spans per minute and per value of the columns the SLO filters use
(with an error count and one under-threshold count per latency threshold); everything after it
is numpy over those small counts (cicl_assets.slo.burn).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cicl_assets.slo.burn import WINDOWS, MinuteCounts, evaluate, evaluation_times
from cicl_assets.slo.specs import SPAN_SOURCE, SloSpec, SpanFilter
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

WINDOW_NAMES = tuple(WINDOWS)

SLO_STATUS = TableSpec(
    name="slo_status",
    description=(
        "One row per SLO and evaluation time: the SLI and error budget over the SLO's budget "
        "window, burn rates and event counts over 5m..3d windows (from event counts, never "
        "averaged ratios), and the multi-window burn-rate alert (page, ticket, none, "
        "insufficient_data)."
    ),
    schema=pa.schema(
        [
            ("slo_name", pa.string()),
            ("service", pa.string()),
            ("sli_kind", pa.string()),
            ("target", pa.float64()),
            ("threshold_ms", pa.float64()),
            ("evaluation_time", UTC_TS),
            ("budget_window", pa.string()),
            ("sli", pa.float64()),
            ("good_events", pa.int64()),
            ("bad_events", pa.int64()),
            ("total_events", pa.int64()),
            ("error_budget_events", pa.float64()),
            ("error_budget_consumed_events", pa.int64()),
            ("error_budget_remaining_events", pa.float64()),
            ("error_budget_consumed", pa.float64()),
            ("error_budget_remaining", pa.float64()),
            *[(f"burn_rate_{w}", pa.float64()) for w in WINDOW_NAMES],
            *[(f"events_{w}", pa.int64()) for w in WINDOW_NAMES],
            *[(f"bad_{w}", pa.int64()) for w in WINDOW_NAMES],
            ("alert", pa.string()),
            ("alert_window", pa.string()),
            ("alert_burn_rate", pa.float64()),
            ("insufficient_windows", pa.string()),
            ("alert_policy", pa.string()),
            ("span_filter", pa.string()),
            ("spec_source", pa.string()),
        ]
    ),
    time_column="evaluation_time",
    cluster_by=("slo_name",),
    require_partition_filter=True,
    column_docs={
        "evaluation_time": "end (exclusive) of every window of this row, on the span data's clock",
        "sli": "good / total events over the budget window (clipped to the data available)",
        "error_budget_remaining": "1 - bad / allowed bad events; negative once the budget is spent",
        "alert_window": "long/short windows of the rule that fired, e.g. 1h/5m",
        "insufficient_windows": "windows holding fewer events than the policy's minimum",
    },
)


INT_COLUMNS = tuple(f.name for f in SLO_STATUS.schema if pa.types.is_integer(f.type))


def span_slos(slos: list[SloSpec]) -> list[SloSpec]:
    """The SLOs whose events are spans (the others count events landed from elsewhere)."""
    return [s for s in slos if s.span_filter is not None]


def _minute_expr(dialect: str) -> str:
    if dialect == "bigquery":
        return "TIMESTAMP_TRUNC(start_time, MINUTE)"
    return "date_trunc('minute', start_time)"


def span_filter_sql(span_filter: SpanFilter, prefix: str = "") -> tuple[str, dict[str, Any]]:
    """A parenthesised WHERE condition for the filter, with its bound parameters."""
    params: dict[str, Any] = {}
    ands = []
    for j, (column, value) in enumerate(span_filter.equals):
        params[f"{prefix}f{j}"] = value
        ands.append(f"{column} = @{prefix}f{j}")
    if span_filter.span_name_prefix:
        params[f"{prefix}p"] = span_filter.span_name_prefix + "%"
        ands.append(f"span_name LIKE @{prefix}p")
    return "(" + " AND ".join(ands) + ")", params


@dataclass(frozen=True)
class CountsQuery:
    sql: str
    params: dict[str, Any]
    dims: tuple[str, ...]
    thresholds: tuple[float, ...]


def minute_counts_query(
    slos: list[SloSpec],
    dialect: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CountsQuery:
    """Spans per minute grouped by every column an SLO filters on, with errors and one count
    of spans at or under each latency threshold. The WHERE keeps only spans some SLO counts,
    started in [since, until) when given (a predicate on otel_spans' partitioning column)."""
    slos = span_slos(slos)
    dims: set[str] = set()
    for slo in slos:
        dims.update(c for c, _ in slo.span_filter.equals)
        if slo.span_filter.span_name_prefix:
            dims.add("span_name")
    ordered_dims = tuple(sorted(dims))
    thresholds = tuple(sorted({s.threshold_ms for s in slos if s.threshold_ms is not None}))
    params: dict[str, Any] = {}
    ors = []
    for i, slo in enumerate(slos):
        condition, bound = span_filter_sql(slo.span_filter, f"s{i}_")
        params.update(bound)
        ors.append(condition)
    minute = _minute_expr(dialect)
    under = []
    for k, threshold in enumerate(thresholds):
        params[f"t{k}"] = float(threshold)
        under.append(f"SUM(CASE WHEN duration_ms <= @t{k} THEN 1 ELSE 0 END) AS under_{k}")
    select = [*ordered_dims, f"{minute} AS minute", "COUNT(*) AS total"]
    select.append("SUM(CASE WHEN status_code = 'ERROR' THEN 1 ELSE 0 END) AS errors")
    select += under
    group = [*ordered_dims, minute]
    when = "start_time IS NOT NULL"
    if since is not None and until is not None:
        params.update({"since": since, "until": until})
        when = "start_time >= @since AND start_time < @until"
    sql = (
        f"SELECT {', '.join(select)} FROM {SPAN_SOURCE} "
        f"WHERE {when} AND ({' OR '.join(ors) or 'FALSE'}) "
        f"GROUP BY {', '.join(group)}"
    )
    return CountsQuery(sql, params, ordered_dims, thresholds)


@dataclass
class SloCounts:
    """Per-minute good/total counts of each SLO, on one clock [start, end)."""

    start: datetime
    end: datetime
    by_slo: dict[str, MinuteCounts]


def _minutes_since_epoch(column: pa.ChunkedArray) -> np.ndarray:
    micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
    return np.asarray(micros.to_numpy(zero_copy_only=False), dtype=np.int64) // 60_000_000


def _epoch_minute(m: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=int(m))


def counts_from_rows(rows: pa.Table, query: CountsQuery, slos: list[SloSpec]) -> SloCounts | None:
    """Split the grouped rows into dense per-minute counts for each SLO."""
    if rows.num_rows == 0:
        return None
    minutes = _minutes_since_epoch(rows.column("minute"))
    first, last = int(minutes.min()), int(minutes.max())
    size = last - first + 1
    offsets = minutes - first
    total = np.asarray(rows.column("total").to_numpy(zero_copy_only=False), dtype=np.int64)
    errors = np.asarray(
        pc.fill_null(rows.column("errors"), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    by_slo = {}
    for slo in span_slos(slos):
        mask = np.ones(rows.num_rows, dtype=bool)
        for column, value in slo.span_filter.equals:
            mask &= np.asarray(
                pc.fill_null(pc.equal(rows.column(column), value), False).to_numpy(
                    zero_copy_only=False
                )
            )
        if slo.span_filter.span_name_prefix:
            mask &= np.asarray(
                pc.fill_null(
                    pc.starts_with(rows.column("span_name"), slo.span_filter.span_name_prefix),
                    False,
                ).to_numpy(zero_copy_only=False)
            )
        if slo.sli_kind == "latency":
            k = query.thresholds.index(slo.threshold_ms)
            good_rows = np.asarray(
                pc.fill_null(rows.column(f"under_{k}"), 0).to_numpy(zero_copy_only=False),
                dtype=np.int64,
            )
        else:
            good_rows = total - errors
        good = np.zeros(size, dtype=np.int64)
        tot = np.zeros(size, dtype=np.int64)
        np.add.at(good, offsets[mask], good_rows[mask])
        np.add.at(tot, offsets[mask], total[mask])
        by_slo[slo.name] = MinuteCounts(_epoch_minute(first), good, tot)
    return SloCounts(_epoch_minute(first), _epoch_minute(last + 1), by_slo)


def load_slo_counts(warehouse: Warehouse, slos: list[SloSpec]) -> SloCounts | None:
    if not slos or not warehouse.table_exists(SPAN_SOURCE):
        return None
    query = minute_counts_query(slos, warehouse.dialect)
    return counts_from_rows(warehouse.query(query.sql, query.params), query, slos)


def status_records(
    counts: SloCounts,
    slos: list[SloSpec],
    step_minutes: int = 5,
    lookback_hours: float | None = None,
) -> list[dict[str, Any]]:
    """slo_status rows: every SLO at each evaluation time across the data's time range."""
    times = evaluation_times(
        counts.start, counts.end - timedelta(minutes=1), step_minutes, lookback_hours
    )
    # An SLO counted outside spans has no events here: it is evaluated on zeros, as a day is.
    size = int((counts.end - counts.start).total_seconds() // 60)
    none = MinuteCounts(counts.start, np.zeros(size, np.int64), np.zeros(size, np.int64))
    out = []
    for slo in slos:
        records = evaluate(
            counts.by_slo.get(slo.name, none), times, slo.target, slo.policy, slo.window_minutes
        )
        out += slo_status_rows(slo, records)
    return out


def slo_status_rows(slo: SloSpec, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """slo_status rows of one SLO from its ``evaluate`` records."""
    out = []
    rule_by_label = {r.label: r for r in slo.policy.rules}
    columns = frozenset(SLO_STATUS.schema.names)  # a new list at each call of ``names``
    for rec in records:
        rates = rec.pop("burn_rates")
        insufficient = rec.pop("insufficient_windows")
        fired = rule_by_label.get(rec["alert_window"] or "")
        row = {
            "slo_name": slo.name,
            "service": slo.service,
            "sli_kind": slo.sli_kind,
            "target": slo.target,
            "threshold_ms": slo.threshold_ms,
            "budget_window": slo.window,
            "alert_burn_rate": rates.get(fired.long_window) if fired else None,
            "insufficient_windows": ",".join(insufficient),
            "alert_policy": slo.policy.name,
            "span_filter": slo.describe_sli(),
            "spec_source": slo.source_file,
            **{k: v for k, v in rec.items() if k in columns},
        }
        for key in INT_COLUMNS:
            # RatioTimeslices count fractional slices; the columns hold whole events.
            if isinstance(row.get(key), float):
                row[key] = round(row[key])
        for w in WINDOW_NAMES:
            row[f"burn_rate_{w}"] = rates.get(w)
        out.append(row)
    return out


def latest_by_slo(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for rec in records:
        name = rec["slo_name"]
        if name not in latest or rec["evaluation_time"] > latest[name]["evaluation_time"]:
            latest[name] = rec
    return latest


class StatusFold:
    """What a run reports of its evaluations, folded in one day's rows at a time (days in
    order): a range of days never holds all its evaluations at once (128 days of 10 SLOs
    every 5 minutes are 369k rows, over 1 GB as dicts)."""

    def __init__(self) -> None:
        self.rows = 0
        self.paging = 0
        self.ticketing = 0
        self.latest: dict[str, dict[str, Any]] = {}
        self._episodes: list[dict[str, Any]] = []
        self._open: dict[str, dict[str, Any]] = {}

    def add(self, records: list[dict[str, Any]]) -> None:
        """Fold in evaluations later than every one folded before (per SLO)."""
        self.rows += len(records)
        self.paging += sum(r["alert"] == "page" for r in records)
        self.ticketing += sum(r["alert"] == "ticket" for r in records)
        self.latest = latest_by_slo([*self.latest.values(), *records])
        for rec in sorted(records, key=lambda r: (r["slo_name"], r["evaluation_time"])):
            name = rec["slo_name"]
            current = self._open.get(name)
            if rec["alert"] not in ("page", "ticket"):
                self._open.pop(name, None)
            elif current and current["alert"] == rec["alert"]:
                current["last"] = rec["evaluation_time"]
                current["peak_burn_rate"] = max(
                    current["peak_burn_rate"], rec["alert_burn_rate"] or 0.0
                )
            else:
                current = {
                    "slo_name": name,
                    "alert": rec["alert"],
                    "alert_window": rec["alert_window"],
                    "first": rec["evaluation_time"],
                    "last": rec["evaluation_time"],
                    "peak_burn_rate": rec["alert_burn_rate"] or 0.0,
                }
                self._episodes.append(current)
                self._open[name] = current

    @property
    def episodes(self) -> list[dict[str, Any]]:
        return sorted(self._episodes, key=lambda e: (e["slo_name"], e["first"]))


def alert_episodes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive evaluations of one SLO with the same page/ticket alert, as episodes."""
    fold = StatusFold()
    fold.add(records)
    return fold.episodes
