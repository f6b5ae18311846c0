"""What one ingest commit writes, handed to ``Warehouse.commit_ingest`` as one unit.

A batch holds the spooled rows of some landing contents, each part tagged with the content key
its rows carry; the contents whose last holder changed (retired: their rows go unless another
current content carries them); and the ``ingested_files`` / ``ingest_rejects`` rows recording
those files. A backend commits all of it or nothing (DuckDB: one transaction; BigQuery: staging
tables and one multi-statement transaction), so a file's rows and its record land together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from cicl_assets.warehouse.tables import CARRIED_BY, NULL_PARTITION, TableSpec


@dataclass(frozen=True)
class Part:
    """One content's spooled rows for one table: a local Parquet file written with the spec."""

    path: str
    carrier: str  # the content key the rows carry
    order: int  # among parts carrying the same identity, the higher order is the newer content


@dataclass(frozen=True)
class TableLoad:
    spec: TableSpec  # with provenance (``carried_by``)
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Retirement:
    """Content keys no current landing file holds any more, and the days their rows are in."""

    carriers: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()

    @property
    def days(self) -> list[str]:
        return sorted(p for p in self.partitions if p != NULL_PARTITION)

    @property
    def null_partition(self) -> bool:
        return NULL_PARTITION in self.partitions


@dataclass(frozen=True)
class IngestBatch:
    stream_tables: tuple[TableSpec, ...]  # every table of the stream, with provenance
    loads: tuple[TableLoad, ...] = ()
    retired: Retirement = Retirement()
    # Rows of ingested_files replacing those with the same ingest_key; likewise ingest_rejects.
    files: pa.Table | None = None
    file_keys: tuple[str, ...] = ()
    rejects: pa.Table | None = None
    reject_keys: tuple[str, ...] = ()


def partition_filter(
    spec: TableSpec,
    alias: str,
    days: Sequence[str],
    with_null: bool,
    quote: Callable[[str], str] = lambda name: f'"{name}"',
) -> str:
    """A predicate on the partition column naming ``days`` (YYYY-MM-DD): every identity check
    and retirement looks only there, never across the table. A constant range on the column
    lets BigQuery prune partitions and DuckDB skip row groups; the list of days keeps the days
    between out. Days are literals (both engines read them alike): the BigQuery emulator runs
    a multi-statement transaction without its query parameters."""
    if not spec.time_column:
        return "TRUE"
    column = f"{alias}.{quote(spec.time_column)}" if alias else quote(spec.time_column)
    if not days:
        return f"{column} IS NULL" if with_null else "FALSE"
    dates = sorted(dt.date.fromisoformat(d) for d in days)
    low, high = dates[0], dates[-1] + dt.timedelta(days=1)
    listed = ", ".join(f"DATE '{d.isoformat()}'" for d in dates)
    in_days = (
        f"({column} >= TIMESTAMP '{low.isoformat()} 00:00:00+00' "
        f"AND {column} < TIMESTAMP '{high.isoformat()} 00:00:00+00' "
        f"AND CAST({column} AS DATE) IN ({listed}))"
    )
    return f"({in_days} OR {column} IS NULL)" if with_null else in_days


def value_columns(spec: TableSpec) -> list[str]:
    return [n for n in spec.schema.names if n != CARRIED_BY]


def partitions_of(spec: TableSpec, paths: Sequence[str]) -> set[str]:
    """The days (and the NULL partition) the rows of these spool files fall in."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not spec.time_column:
        return set()
    found: set[str] = set()
    for path in paths:
        column = pq.read_table(path, columns=[spec.time_column]).column(0)
        if column.null_count:
            found.add(NULL_PARTITION)
        days = pc.unique(pc.cast(column.drop_null(), pa.date32()))
        found.update(d.isoformat() for d in days.to_pylist())
    return found
