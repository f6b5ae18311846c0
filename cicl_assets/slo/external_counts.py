"""SLI event counts exported by other systems, landed under ``slo/``, as minute counts.

Two sources count the events of objectives whose SliMapping says ``external: true``:

- cicl-native JSON lines (table ``slo_sli_counts``, cicl_assets.slo.sli_counts).
- slo-generator's exported reports (table ``slo_reports``): each row carries the good and bad
  events of one policy step window ending at its timestamp. Only the shortest step window of
  an SLO is read, and rows whose window overlaps one already taken are skipped, so no event is
  counted twice. Reports match objectives by their labels (service_name/feature_name/slo_name).

An interval's events are spread evenly over its minutes (the remainder on its first minutes):
sums over the interval are exact, and a burn window shorter than the interval sees the
interval's own bad share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from cicl_assets.partitions import DAY, day_start
from cicl_assets.slo.reports import SLO_REPORTS
from cicl_assets.slo.sli_counts import MAX_INTERVAL, SLO_SLI_COUNTS
from cicl_assets.slo.spec_model import SLI_EXTERNAL, SloSpec
from cicl_assets.warehouse.base import Warehouse

MINUTE = timedelta(minutes=1)


def _floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def spread(
    start: datetime, end: datetime, good: int, total: int
) -> Iterator[tuple[datetime, int, int]]:
    """(minute, good, total) of an interval's events spread over its whole minutes."""
    first = _floor_minute(start)
    minutes = max(int(-(-(end - first).total_seconds() // 60)), 1)
    for i in range(minutes):
        t = total // minutes + (1 if i < total % minutes else 0)
        g = good // minutes + (1 if i < good % minutes else 0)
        if t:
            yield first + i * MINUTE, g, t


def _native_intervals(
    warehouse: Warehouse, keys: dict[tuple[str, str], str], start: datetime
) -> list[tuple[str, datetime, datetime, int, int]]:
    if not warehouse.table_exists(SLO_SLI_COUNTS.name):
        return []
    rows = warehouse.query(
        f"SELECT slo_name, objective, window_start, window_end, good, total "
        f"FROM {SLO_SLI_COUNTS.name} WHERE window_start >= @since AND window_start < @until",
        {"since": start - MAX_INTERVAL, "until": start + DAY},
    ).to_pylist()
    out = []
    for r in rows:
        key = keys.get((r["slo_name"], r["objective"] or ""))
        if key and r["window_end"] > start:
            out.append((key, r["window_start"], r["window_end"], r["good"], r["total"]))
    return out


def _report_intervals(
    warehouse: Warehouse, by_report: dict[str, list[str]], start: datetime
) -> list[tuple[str, datetime, datetime, int, int]]:
    if not by_report or not warehouse.table_exists(SLO_REPORTS.name):
        return []
    rows = warehouse.query(
        "SELECT service_name, feature_name, slo_name, timestamp_human, window_seconds, "
        f"good_events_count, bad_events_count FROM {SLO_REPORTS.name} "
        "WHERE timestamp_human > @since AND timestamp_human < @until "
        "AND window_seconds <= @longest AND good_events_count IS NOT NULL "
        "AND bad_events_count IS NOT NULL",
        {
            "since": start,
            "until": start + DAY + MAX_INTERVAL,
            "longest": int(MAX_INTERVAL.total_seconds()),
        },
    ).to_pylist()
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_key[f"{r['service_name']}/{r['feature_name']}/{r['slo_name']}"].append(r)
    out = []
    for report_key, found in by_key.items():
        names = by_report.get(report_key)
        if not names:
            continue
        shortest = min(r["window_seconds"] for r in found)
        taken_until: datetime | None = None
        for r in sorted(
            (r for r in found if r["window_seconds"] == shortest),
            key=lambda r: r["timestamp_human"],
        ):
            end = r["timestamp_human"]
            begin = end - timedelta(seconds=shortest)
            if taken_until is not None and begin < taken_until:
                continue
            taken_until = end
            good, bad = int(r["good_events_count"]), int(r["bad_events_count"])
            out += [(name, begin, end, good, good + bad) for name in names]
    return out


def external_keys(slos: list[SloSpec]) -> tuple[dict[tuple[str, str], str], dict[str, list[str]]]:
    """How landed rows find their objective: (slo, objective) -> key, report key -> keys."""
    keys: dict[tuple[str, str], str] = {}
    by_report: dict[str, list[str]] = defaultdict(list)
    for slo in slos:
        if slo.sli_source != SLI_EXTERNAL:
            continue
        keys[(slo.slo_name, slo.objective)] = slo.name
        keys[(slo.name, "")] = slo.name
        if slo.report_key:
            by_report[slo.report_key].append(slo.name)
    return keys, dict(by_report)


def day_external_counts(
    warehouse: Warehouse, slos: list[SloSpec], day: date
) -> list[dict[str, Any]]:
    """slo_minute_counts rows of ``day`` for the externally counted objectives."""
    keys, by_report = external_keys(slos)
    if not keys:
        return []
    start = day_start(day)
    intervals = _native_intervals(warehouse, keys, start)
    intervals += _report_intervals(warehouse, by_report, start)
    sums: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])
    for name, begin, end, good, total in intervals:
        for minute, g, t in spread(begin, end, good, total):
            if start <= minute < start + DAY:
                cell = sums[(name, minute)]
                cell[0] += g
                cell[1] += t
    return [
        {"slo_name": name, "minute": minute, "good": g, "total": t}
        for (name, minute), (g, t) in sorted(sums.items())
    ]


def landed_days(warehouse: Warehouse, run_id: str, stream: str) -> list[date]:
    """Days the external counts this run ingested fall on (the minute-count days to refresh)."""
    this_run = (
        "source_file IN (SELECT source_file FROM ingested_files WHERE run_id = @run_id "
        "AND stream = @stream AND status = 'ingested')"
    )
    params = {"run_id": run_id, "stream": stream}
    days: set[date] = set()
    if warehouse.table_exists(SLO_SLI_COUNTS.name):
        for r in warehouse.query(
            f"SELECT window_start, window_end FROM {SLO_SLI_COUNTS.name} WHERE {this_run}", params
        ).to_pylist():
            days.update({r["window_start"].date(), (r["window_end"] - MINUTE).date()})
    if warehouse.table_exists(SLO_REPORTS.name):
        rows = warehouse.query(
            "SELECT service_name, feature_name, slo_name, timestamp_human, window_seconds "
            f"FROM {SLO_REPORTS.name} WHERE {this_run} AND window_seconds <= @longest",
            {**params, "longest": int(MAX_INTERVAL.total_seconds())},
        ).to_pylist()
        shortest: dict[tuple[str, str, str], int] = {}
        for r in rows:
            key = (r["service_name"], r["feature_name"], r["slo_name"])
            shortest[key] = min(shortest.get(key, r["window_seconds"]), r["window_seconds"])
        for r in rows:
            window = shortest[(r["service_name"], r["feature_name"], r["slo_name"])]
            if r["window_seconds"] == window:
                end = r["timestamp_human"]
                days.update({(end - MINUTE).date(), (end - timedelta(seconds=window)).date()})
    return sorted(days)
