"""When two warehouses hold the same data: a per-table fingerprint that any engine gives alike.

docs/ingestion.md ("When two warehouses are equal") states the definition; this is its code.

A table's fingerprint is its row count and the SHA-256 of its rows' canonical JSON lines, sorted.
Sorting the whole canonical row is a total order, so the checksum depends neither on the
engine's row order nor on a declared key. What a run contributes by itself - its id, the wall
clock of ingestion or chaining, the chain's positions (cicl's own events interleave with the
order runs append them), the time and run ids of the events recording a run's own actions - is
left out, so a clean run, a run killed and run again, and a run on the other engine compare
equal when they hold the same data.

Canonical JSON of a row: an object of the row's columns (run-local ones left out), keys sorted,
no whitespace, non-ASCII as itself. Values: timestamps in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``,
dates ``YYYY-MM-DD``, floats to 12 significant digits (engines sum in different orders), a NULL
list as ``[]`` (BigQuery has no NULL arrays), bytes as hex, and text holding a JSON object or
array as that JSON, canonical, with run-local keys left out at every depth.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cicl_assets.warehouse.base import Warehouse

# Columns, in any table and as keys inside JSON text, that say which run wrote a row and when.
RUN_LOCAL_COLUMNS = frozenset({"run_id", "run_at", "ingested_at", "chained_at", "detected_at"})
# A Dagster run id (a UUID) inside text, where a row records what a run did.
RUN_ID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class RowsOfRuns:
    """Rows (where ``column`` holds ``value``) that record what a run did: their ``columns``
    are run-local, and so are the run ids inside their text."""

    column: str
    value: Any
    columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RunLocal:
    """A table's run-local columns beyond RUN_LOCAL_COLUMNS: always (``columns``), and on the
    rows that record a run's own actions (``rows_of_runs``)."""

    columns: frozenset[str] = frozenset()
    rows_of_runs: tuple[RowsOfRuns, ...] = ()
    # A log of runs (a row per run and table, nothing else): a second run recording the same
    # thing adds no data, so its rows are compared as a set, each distinct row once.
    run_log: bool = False

    def row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row without its run-local values."""
        matched = [r for r in self.rows_of_runs if row.get(r.column) == r.value]
        dropped = (
            RUN_LOCAL_COLUMNS | self.columns | frozenset().union(*(r.columns for r in matched))
        )
        kept = {k: v for k, v in row.items() if k not in dropped}
        if matched:
            kept = {
                k: RUN_ID_TEXT.sub("<run>", v) if isinstance(v, str) else v for k, v in kept.items()
            }
        return kept


RUN_LOCAL_BY_TABLE: dict[str, RunLocal] = {
    "ingest_rejects": RunLocal(frozenset({"at"})),
    # Positions and hashes follow the order of appends; cicl's own events (source `cicl`)
    # record a run's action: its time and its run id (in the event id too) belong to that run.
    "audit_events": RunLocal(
        frozenset({"seq", "prev_hash", "hash"}),
        rows_of_runs=(RowsOfRuns("source", "cicl", frozenset({"event_time"})),),
    ),
    "evidence_retention": RunLocal(run_log=True),
}


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    checksum: str


def canonical_value(value: Any, arrow_type: pa.DataType | None = None) -> Any:
    """A JSON-ready value that is the same whichever engine returned ``value``."""
    if value is None:
        return [] if arrow_type is not None and pa.types.is_list(arrow_type) else None
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return float(f"{value:.12g}")
    if isinstance(value, decimal.Decimal):
        return canonical_value(float(value))
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        return _canonical_text(value)
    if isinstance(value, Mapping):
        return {k: canonical_value(v) for k, v in value.items() if k not in RUN_LOCAL_COLUMNS}
    if isinstance(value, Iterable):
        listed = arrow_type is not None and pa.types.is_list(arrow_type)
        return [canonical_value(v, arrow_type.value_type if listed else None) for v in value]
    raise TypeError(f"no canonical form for {type(value).__name__} value {value!r}")


def _canonical_text(text: str) -> Any:
    if text[:1] not in ("{", "["):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return canonical_value(parsed)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_rows(table: pa.Table, run_local: RunLocal = RunLocal()) -> list[str]:
    """Each row's canonical JSON, run-local columns left out, sorted."""
    types = {f.name: f.type for f in table.schema}
    lines = []
    for row in table.to_pylist():
        kept = run_local.row(row)
        lines.append(canonical_json({k: canonical_value(v, types[k]) for k, v in kept.items()}))
    return sorted(set(lines) if run_local.run_log else lines)


def fingerprint_rows(lines: list[str]) -> TableFingerprint:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return TableFingerprint(len(lines), digest.hexdigest())


def table_lines(warehouse: Warehouse, name: str) -> list[str]:
    """The table's rows as canonical JSON lines, sorted."""
    return canonical_rows(warehouse.read_table(name), RUN_LOCAL_BY_TABLE.get(name, RunLocal()))


def table_fingerprint(warehouse: Warehouse, name: str) -> TableFingerprint:
    return fingerprint_rows(table_lines(warehouse, name))


def warehouse_fingerprint(warehouse: Warehouse) -> dict[str, TableFingerprint]:
    """Every table of the warehouse's schema/dataset, by name."""
    return {name: table_fingerprint(warehouse, name) for name in warehouse.table_row_counts()}


def differences(
    left: Mapping[str, TableFingerprint], right: Mapping[str, TableFingerprint]
) -> list[str]:
    """One line per table whose fingerprints differ or that only one side holds."""
    lines = []
    for name in sorted(set(left) | set(right)):
        a, b = left.get(name), right.get(name)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"{name}: only in the {'right' if a is None else 'left'} warehouse")
        elif a.rows != b.rows:
            lines.append(f"{name}: {a.rows} rows against {b.rows}")
        else:
            lines.append(f"{name}: {a.rows} rows each, different content")
    return lines


def row_differences(left: list[str], right: list[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` canonical rows only one side holds, each way, for a failure message."""
    only_left = sorted(set(left) - set(right))[:limit]
    only_right = sorted(set(right) - set(left))[:limit]
    return [f"- {line}" for line in only_left] + [f"+ {line}" for line in only_right]


def row_delta(left: list[str], right: list[str]) -> str:
    """How ``right``'s rows differ from ``left``'s, counted as multisets of canonical rows:
    rows missing, extra copies of rows ``left`` holds too (duplicates), and rows it lacks."""
    have, got = Counter(left), Counter(right)
    missing, extra = have - got, got - have
    copies = sum(n for line, n in extra.items() if line in have)
    parts = [
        f"{missing.total()} missing" if missing else "",
        f"{copies} duplicated" if copies else "",
        f"{extra.total() - copies} not in the left one" if extra.total() > copies else "",
    ]
    return ", ".join(p for p in parts if p)


def warehouse_differences(left: Warehouse, right: Warehouse, limit: int = 3) -> list[str]:
    """Empty when the two warehouses are equal; else per differing table its counts, how the
    right one's rows differ (``row_delta``) and up to ``limit`` rows only one side holds."""
    report = []
    ours, theirs = warehouse_fingerprint(left), warehouse_fingerprint(right)
    for line in differences(ours, theirs):
        name = line.split(":")[0]
        if name in ours and name in theirs:
            a, b = table_lines(left, name), table_lines(right, name)
            report.append(f"{line} ({row_delta(a, b)})")
            report += row_differences(a, b, limit)
        else:
            report.append(line)
    return report
