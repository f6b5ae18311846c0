"""Embedded DuckDB warehouse: the default backend, a real database in one file."""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import Field

from cicl_assets.warehouse.base import (
    ArrowData,
    QueryTimeout,
    Warehouse,
    upsert_assignments,
    write_parquet,
)
from cicl_assets.warehouse.batch import IngestBatch
from cicl_assets.warehouse.duckdb_merge import commit_batch
from cicl_assets.warehouse.duckdb_open import held, open_connection
from cicl_assets.warehouse.tables import INGEST_REJECTS, INGESTED_FILES, TableSpec

_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_int64(t) or pa.types.is_int32(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    raise TypeError(f"no DuckDB column type for Arrow type {t}")


def _column_ddl(f: pa.Field, spec: TableSpec) -> str:
    """Distinct JSON text per row is stored zstd-compressed: DuckDB's default dictionary/FSST
    compression keeps span attribute JSON at ~4x the size (150 vs 33 bytes a span) and is
    slower to write. JSON whose text repeats from row to row keeps dictionary compression, which
    stores it nearly free where zstd would cost ~4 bytes a row."""
    ddl = f'"{f.name}" {duckdb_type(f.type)}'
    if f.name in spec.json_columns and f.name not in spec.repeating_columns:
        return f"{ddl} USING COMPRESSION zstd"
    return ddl


class DuckDBWarehouse(Warehouse):
    """Tables live in schema ``cicl`` of one DuckDB file.

    Each call opens a short-lived connection so several processes (run workers, sensors, the
    webserver's code server) can take turns on the file; a lock held by another process is
    waited for, up to ``lock_timeout_s`` (``held`` keeps the file open across calls, see
    duckdb_open). A connection is interrupted ``timeout_s`` after it
    opened: each call is one connection, so that is the call's deadline.
    """

    path: str = Field(default=".cicl/warehouse.duckdb", description="DuckDB database file")
    schema_name: str = Field(default="cicl", description="schema holding the tables")
    lock_timeout_s: float = Field(default=300.0, description="wait this long for a file lock")
    threads: int = Field(default=0, description="DuckDB threads; 0 lets DuckDB decide")
    memory_limit: str = Field(
        default="256MB",
        description="DuckDB memory_limit per connection; bigger work spills to temp_directory",
    )

    @property
    def dialect(self) -> str:
        return "duckdb"

    @property
    def target(self) -> str:
        return f"{self.path} (schema {self.schema_name})"

    def day_of(self, column: str) -> str:
        return f"CAST({column} AS DATE)"  # the day in the session's TimeZone: UTC (connect)

    @contextmanager
    def connect(self, what: str = "") -> Iterator[duckdb.DuckDBPyConnection]:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with open_connection(self.path, self.lock_timeout_s, self._database_setup()) as con:
            # The connection's own settings: DuckDB keeps the time zone and schema per connection.
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"USE {self.schema_name}")
            with _deadline(con, self.timeout_s, what):
                yield con

    def _database_setup(self) -> list[str]:
        """Statements whose effect is the database's, shared by its connections while it is open
        (a held database applies them once, see duckdb_open)."""
        # Bounded memory: loads stream Parquet and big queries spill next to the database
        # file instead of growing the process (a 1M-span load peaked near 1 GB without it).
        setup = [f"SET memory_limit = '{self.memory_limit}'"] if self.memory_limit else []
        setup.append("SET allocator_flush_threshold = '32MB'")
        if self.path != ":memory:":
            spill = f"{self.path}.tmp".replace("'", "''")
            setup.append(f"SET temp_directory = '{spill}'")
        if self.threads:
            setup.append(f"SET threads = {int(self.threads)}")
        setup.append(f"CREATE SCHEMA IF NOT EXISTS {self.schema_name}")
        return setup

    def held(self) -> AbstractContextManager[None]:
        """Keep the database open in this process for the block: a run's many calls then skip
        opening the file each (another process waiting for it still gets its turns)."""
        return held(self.path)

    def ensure_table(self, spec: TableSpec) -> None:
        with self.connect(f"creating or extending {spec.name}") as con:
            self._ensure(con, spec)

    def _ensure(self, con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
        existing = {
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ?",
                [self.schema_name, spec.name],
            ).fetchall()
        }
        if not existing:
            cols = ", ".join(_column_ddl(f, spec) for f in spec.schema)
            con.execute(f"CREATE TABLE IF NOT EXISTS {spec.name} ({cols})")
            if spec.description:
                comment = spec.description.replace("'", "''")
                con.execute(f"COMMENT ON TABLE {spec.name} IS '{comment}'")
            return
        for f in spec.schema:
            if f.name not in existing:
                con.execute(f"ALTER TABLE {spec.name} ADD COLUMN {_column_ddl(f, spec)}")

    @contextmanager
    def transaction(
        self, what: str = "", single_thread: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection inside BEGIN ... COMMIT; any exception rolls everything back.
        ``single_thread``: DuckDB works on one thread (unless ``threads`` is configured) until
        the transaction ends; the setting is the database instance's, so it is reset then."""
        one = single_thread and not self.threads
        with self.connect(what) as con:
            if one:
                con.execute("SET threads = 1")
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                if one:
                    with suppress(duckdb.Error):  # a broken connection closes its instance
                        con.execute("RESET threads")

    def commit_ingest(self, batch: IngestBatch) -> dict[str, int]:
        tables = {s.name: s for s in (*batch.stream_tables, INGESTED_FILES, INGEST_REJECTS)}
        # One thread: a parallel insert leaves each thread's partly filled row groups (262k
        # spans in one batch: 114 instead of 74 bytes a span), and the ingest's parsing workers
        # use the other cores.
        with self.transaction(
            f"committing an ingest batch into {', '.join(tables)}", single_thread=True
        ) as con:
            for spec in tables.values():
                self._ensure(con, spec)
            return commit_batch(con, batch)

    def replace_where_in(
        self, spec: TableSpec, column: str, values: Sequence[Any], data: ArrowData
    ) -> int:
        where = f"{self.quote(column)} IN (SELECT UNNEST(?))"
        return self._replace(spec, data, where if values else None, [list(values)])

    def replace_table(self, spec: TableSpec, data: ArrowData) -> int:
        return self._replace(spec, data, "TRUE", [])

    def replace_range(
        self,
        spec: TableSpec,
        start: datetime,
        end: datetime,
        data: ArrowData,
        column: str | None = None,
        values: Sequence[Any] = (),
    ) -> int:
        if spec.time_column is None:
            raise ValueError(f"{spec.name} has no time column to replace a range of")
        where = f"{self.quote(spec.time_column)} >= ? AND {self.quote(spec.time_column)} < ?"
        params: list[Any] = [start, end]
        if column is not None:
            where += f" AND {self.quote(column)} IN (SELECT UNNEST(?))"
            params.append(list(values))
        return self._replace(spec, data, where if column is None or values else None, params)

    def _replace(
        self, spec: TableSpec, data: ArrowData, where: str | None, params: list[Any]
    ) -> int:
        """Delete the rows ``where`` selects (none when it is None) and insert ``data``, in one
        transaction."""
        with tempfile.TemporaryDirectory(prefix="cicl-replace-") as tmp:
            path = f"{tmp}/rows.parquet"
            rows = write_parquet(spec, data, path)
            with self.transaction(f"replacing rows of {spec.name}") as con:
                self._ensure(con, spec)
                if where is not None:
                    con.execute(f"DELETE FROM {spec.name} WHERE {where}", params)
                if rows:
                    names = ", ".join(f'"{n}"' for n in spec.schema.names)
                    con.execute(
                        f"INSERT INTO {spec.name} ({names}) SELECT {names} FROM read_parquet(?)",
                        [path],
                    )
            return rows

    def upsert(self, spec: TableSpec, data: ArrowData) -> int:
        on, sets, names = upsert_assignments(spec, self.quote)
        with tempfile.TemporaryDirectory(prefix="cicl-upsert-") as tmp:
            path = f"{tmp}/rows.parquet"
            rows = write_parquet(spec, data, path)
            with self.transaction(f"upserting rows of {spec.name}") as con:
                self._ensure(con, spec)
                if rows:
                    con.execute(
                        f"MERGE INTO {spec.name} AS t USING (SELECT * FROM read_parquet(?)) AS s "
                        f"ON {on} WHEN MATCHED THEN UPDATE SET {sets} "
                        f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES "
                        f"({', '.join('s.' + n for n in names.split(', '))})",
                        [path],
                    )
            return rows

    def load_parquet(self, spec: TableSpec, paths: Sequence[str]) -> int:
        if not paths:
            return 0
        with self.connect(f"loading {len(paths)} Parquet files into {spec.name}") as con:
            self._ensure(con, spec)
            names = ", ".join(f'"{n}"' for n in spec.schema.names)
            before = con.execute(f"SELECT COUNT(*) FROM {spec.name}").fetchall()[0][0]
            con.execute(
                f"INSERT INTO {spec.name} ({names}) SELECT {names} FROM read_parquet(?)",
                [list(paths)],
            )
            after = con.execute(f"SELECT COUNT(*) FROM {spec.name}").fetchall()[0][0]
            return int(after - before)

    @staticmethod
    def _bind(sql: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        return (_PARAM.sub(r"$\1", sql), params) if params else (sql, {})

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        text, bound = self._bind(sql, params)
        with self.connect(sql) as con:
            return con.sql(text, params=bound or None).to_arrow_table()

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        text, bound = self._bind(sql, params)
        with self.connect(sql) as con:
            con.execute(text, bound)

    def stored_rows(self, name: str) -> int:
        # DuckDB's statistics (duckdb_tables().estimated_size) keep counting deleted rows, even
        # after a checkpoint; its COUNT(*) of a local table adds up row-group counts and deletion
        # masks, reading no column data. Issued here, not through query(): it is not a scan.
        with self.connect(f"counting the rows of {name}") as con:
            found = con.execute(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [self.schema_name, name],
            ).fetchone()
            if not found or not found[0]:
                return 0
            counted = con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()
        return int(counted[0]) if counted else 0

    def table_row_counts(self) -> dict[str, int]:
        # Counted: DuckDB's own estimate (duckdb_tables().estimated_size) still counts deleted
        # rows, and a count of a local columnar table reads no row data.
        with self.connect("counting the rows of every table") as con:
            names = [
                row[0]
                for row in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                    "AND table_type = 'BASE TABLE' ORDER BY table_name",
                    [self.schema_name],
                ).fetchall()
            ]
            if not names:
                return {}
            counts = " UNION ALL ".join(
                f"SELECT '{name}' AS name, COUNT(*) AS n FROM \"{name}\"" for name in names
            )
            return {name: int(n) for name, n in con.execute(counts).fetchall()}

    def table_schema(self, name: str) -> pa.Schema | None:
        with self.connect(f"reading the schema of {name}") as con:
            exists = con.execute(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [self.schema_name, name],
            ).fetchall()[0][0]
            if not exists:
                return None
            return con.sql(f"SELECT * FROM {name} LIMIT 0").to_arrow_table().schema


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, timeout_s: float, what: str) -> Iterator[None]:
    """Interrupt ``con`` once ``timeout_s`` has passed; the interruption is a QueryTimeout."""
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(timeout_s, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    except duckdb.Error as exc:
        # An interrupted statement may surface as InterruptException or, mid-scan, as the
        # error of the operator it stopped.
        if fired.is_set():
            raise QueryTimeout("duckdb", timeout_s, what or "a statement") from exc
        raise
    finally:
        timer.cancel()
