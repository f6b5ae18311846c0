"""The narrow warehouse interface every asset talks to.

Assets never import duckdb or google.cloud; they call these methods. SQL passed to ``query`` and
``execute`` names tables unqualified (the backend sets the default schema/dataset) and binds
parameters as ``@name``. Where the two dialects differ, branch on ``dialect``.

Every statement and metadata call has a deadline (``timeout_s``): past it, the backend stops the
work (DuckDB interrupts the connection, BigQuery cancels the job) and raises ``QueryTimeout``;
nothing is retried beyond it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from cicl_assets.warehouse.batch import IngestBatch
from cicl_assets.warehouse.tables import TableSpec

ArrowData = pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]

# `column IN` an array parameter, in a form both DuckDB and BigQuery accept.
IN_ARRAY = "(SELECT v FROM UNNEST(@{param}) AS v)"
DEFAULT_TIMEOUT_S = 600.0


class QueryTimeout(RuntimeError):
    """A warehouse call ran past its deadline and was stopped."""

    def __init__(self, dialect: str, timeout_s: float, what: str, last_error: str | None = None):
        message = (
            f"{dialect}: stopped after {timeout_s:g}s (the warehouse timeout, "
            f"CICL_QUERY_TIMEOUT_SECONDS): {_head(what)}"
        )
        if last_error:
            message += f" (last error: {_head(last_error)})"
        super().__init__(message)
        self.timeout_s = timeout_s


def _head(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class Warehouse(dg.ConfigurableResource):
    """Base class of the warehouse resources; see DuckDBWarehouse and BigQueryWarehouse."""

    timeout_s: float = Field(
        default=DEFAULT_TIMEOUT_S,
        gt=0,
        description="longest any statement or metadata call may take before it is stopped "
        "(CICL_QUERY_TIMEOUT_SECONDS)",
    )

    @property
    def dialect(self) -> str:
        raise NotImplementedError

    @property
    def target(self) -> str:
        """Where the tables live, as a person names it: a file's schema, a project's dataset."""
        raise NotImplementedError

    def held(self) -> AbstractContextManager[None]:
        """Keep what the calls of a run share open for the block (DuckDB: the open file);
        nothing by default."""
        return nullcontext()

    def table_row_counts(self) -> dict[str, int]:
        """Rows per table of the schema/dataset, by name; exact, and never by reading a remote
        table's data (BigQuery answers a whole-table COUNT(*) from metadata)."""
        raise NotImplementedError

    def ensure_table(self, spec: TableSpec) -> None:
        """Create the table if missing and add columns the spec gained since."""
        raise NotImplementedError

    def load_parquet(self, spec: TableSpec, paths: Sequence[str]) -> int:
        """Append the rows of local Parquet files (written with ``spec.schema``); returns rows."""
        raise NotImplementedError

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        raise NotImplementedError

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run a statement that returns nothing (DML)."""
        raise NotImplementedError

    def table_schema(self, name: str) -> pa.Schema | None:
        """The table's schema as the warehouse reports it, or None when it does not exist."""
        raise NotImplementedError

    def day_of(self, column: str) -> str:
        """The SQL expression of the UTC calendar day of the timestamp ``column``."""
        raise NotImplementedError

    # Everything below is written once on top of the primitives above.

    def table_exists(self, name: str) -> bool:
        return self.table_schema(name) is not None

    def append(self, spec: TableSpec, data: ArrowData) -> int:
        """Append Arrow data (conformed to the spec) through a Parquet file; returns rows."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="cicl-append-") as tmp:
            path = f"{tmp}/part.parquet"
            rows = write_parquet(spec, data, path)
            if rows == 0:
                self.ensure_table(spec)
                return 0
            return self.load_parquet(spec, [path])

    def quote(self, identifier: str) -> str:
        """An identifier quoted for this dialect (for column names that are reserved words)."""
        return f"`{identifier}`" if self.dialect == "bigquery" else f'"{identifier}"'

    def delete_where_in(self, spec: TableSpec, column: str, values: Sequence[Any]) -> None:
        self.ensure_table(spec)
        if not values:
            return
        self.execute(
            f"DELETE FROM {spec.name} WHERE {self.quote(column)} IN {IN_ARRAY.format(param='values')}",
            {"values": list(values)},
        )

    def replace_where_in(
        self, spec: TableSpec, column: str, values: Sequence[Any], data: ArrowData
    ) -> int:
        """Idempotent, atomic write: the rows whose ``column`` is in ``values`` give way to
        ``data`` in one transaction (readers see the old rows or the new, never neither)."""
        raise NotImplementedError

    def replace_table(self, spec: TableSpec, data: ArrowData) -> int:
        """Replace every row of the table atomically (for small derived tables)."""
        raise NotImplementedError

    def replace_range(
        self,
        spec: TableSpec,
        start: datetime,
        end: datetime,
        data: ArrowData,
        column: str | None = None,
        values: Sequence[Any] = (),
    ) -> int:
        """Idempotent, atomic partition write: the rows whose ``spec.time_column`` is in
        [start, end) — and, given ``column``, whose ``column`` is in ``values`` — give way to
        ``data`` in one transaction. The predicate is on the partitioning column, so BigQuery
        touches only those partitions."""
        raise NotImplementedError

    def upsert(self, spec: TableSpec, data: ArrowData) -> int:
        """Update the rows whose ``spec.identity`` matches a row of ``data`` and insert the
        others, in one statement; no row is ever deleted. Returns the rows of ``data``."""
        raise NotImplementedError

    def commit_ingest(self, batch: IngestBatch) -> dict[str, int]:
        """Write an ingest batch all or nothing (see ``warehouse.batch``); rows per table."""
        raise NotImplementedError

    def read_table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        cols = ", ".join(columns) if columns else "*"
        return self.query(f"SELECT {cols} FROM {name}")

    def row_count(self, name: str) -> int:
        if not self.table_exists(name):
            return 0
        return int(self.query(f"SELECT COUNT(*) AS n FROM {name}").column("n")[0].as_py())

    def stored_rows(self, name: str) -> int:
        """The table's rows as its storage keeps count of them, reading no row: what metadata
        of a table too big to scan shows (0 when it does not exist)."""
        raise NotImplementedError


def upsert_assignments(spec: TableSpec, quote: Any) -> tuple[str, str, str]:
    """The ON condition, the SET list and the column list of an upsert by identity, naming the
    target ``t`` and the new rows ``s``; identical in both dialects."""
    if not spec.identity:
        raise ValueError(f"{spec.name}: an upsert needs the table's identity columns")
    on = " AND ".join(f"t.{quote(c)} = s.{quote(c)}" for c in spec.identity)
    names = spec.schema.names
    sets = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in names if c not in spec.identity)
    return on, sets, ", ".join(quote(c) for c in names)


def write_parquet(spec: TableSpec, data: ArrowData, path: str | io.BytesIO) -> int:
    """Stream Arrow data into one zstd Parquet file with the spec's schema; returns rows."""
    if isinstance(data, pa.Table):
        batches: Iterable[pa.RecordBatch] = data.to_batches()
    elif isinstance(data, pa.RecordBatch):
        batches = [data]
    else:
        batches = data
    rows = 0
    with pq.ParquetWriter(path, spec.schema, compression="zstd") as writer:
        for batch in batches:
            table = spec.conform(batch)
            if table.num_rows:
                writer.write_table(table)
                rows += table.num_rows
    return rows
