"""Metadata every asset reports: row count, column schema, a markdown preview."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.ingest.runner import IngestReport, report_metadata
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import NULL_PARTITION, TableSpec

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 60
ROWS_COLUMN = "cicl_preview_table_rows"


def counts_by(warehouse: Warehouse, table: str, column: str) -> dict[Any, int]:
    """Rows per value of ``column`` (None for nulls), for figures like tests by status."""
    rows = warehouse.query(f"SELECT {column} AS k, COUNT(*) AS n FROM {table} GROUP BY {column}")
    return {r["k"]: int(r["n"]) for r in rows.to_pylist()}


def column_schema(spec: TableSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name,
                type="json" if f.name in spec.json_columns else str(f.type),
                description=spec.column_docs.get(f.name),
            )
            for f in spec.schema
        ]
    )


def markdown_table(table: pa.Table, max_rows: int = PREVIEW_ROWS) -> str:
    if table.num_rows == 0:
        return "_no rows_"
    rows = table.slice(0, max_rows).to_pylist()
    names = table.column_names

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"

    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cell(r[n]) for n in names) + " |" for r in rows]
    return "\n".join(lines)


def table_metadata(
    spec: TableSpec,
    warehouse: Warehouse,
    preview_columns: list[str] | None = None,
    days: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Row count, column schema and a preview of the table as the warehouse holds it. A table
    that must be read by partition (``require_partition_filter``) is counted from its storage's
    statistics and previewed from the newest of ``days`` (the days a run wrote), never read
    whole."""
    warehouse.ensure_table(spec)
    cols = ", ".join(preview_columns) if preview_columns else "*"
    if not spec.require_partition_filter:
        # One query for both: the window counts the table's rows before LIMIT keeps five. On
        # BigQuery every query is a job, so each asset's metadata costs one instead of two.
        preview = warehouse.query(
            f"SELECT {cols}, COUNT(*) OVER () AS {ROWS_COLUMN} FROM {spec.name} "
            f"LIMIT {PREVIEW_ROWS}"
        )
        rows = preview.column(ROWS_COLUMN)[0].as_py() if preview.num_rows else 0
        shown = markdown_table(preview.drop_columns([ROWS_COLUMN]))
    else:
        rows = warehouse.stored_rows(spec.name)
        newest = max((d for d in days or () if d != NULL_PARTITION), default=None)
        shown = "_no rows written by this run_"
        if newest is not None:
            lo = datetime.combine(date.fromisoformat(newest), time(), UTC)
            preview = warehouse.query(
                f"SELECT {cols} FROM {spec.name} WHERE {spec.time_column} >= @lo "
                f"AND {spec.time_column} < @hi LIMIT {PREVIEW_ROWS}",
                {"lo": lo, "hi": lo + timedelta(days=1)},
            )
            shown = f"Rows of {newest}, the newest day this run wrote:\n\n" + markdown_table(
                preview
            )
    return {
        "dagster/row_count": rows,
        "dagster/column_schema": column_schema(spec),
        "preview": dg.MetadataValue.md(shown),
    }


def rejects_markdown(report: IngestReport, limit: int = 20) -> str:
    if not report.rejects:
        return "_no rejects_"
    lines = [
        f"- `{o.source_file}` ({o.detected_format}): {o.error}" for o in report.rejects[:limit]
    ]
    if len(report.rejects) > limit:
        lines.append(f"- … and {len(report.rejects) - limit} more in `ingest_rejects`")
    return "\n".join(lines)


def ingest_metadata(report: IngestReport) -> dict[str, Any]:
    meta: dict[str, Any] = dict(report_metadata(report))
    meta["rejects"] = dg.MetadataValue.md(rejects_markdown(report))
    for fmt, rows in sorted(report.rows_by_format.items()):
        meta[f"rows_from/{fmt}"] = rows
    return meta
