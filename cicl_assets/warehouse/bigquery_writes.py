"""BigQuery writes that must be atomic: an ingest batch, a replace, an upsert.

Rows go up first into staging tables of the dataset (load jobs touch nothing else), then one
query job commits them: a multi-statement transaction (BEGIN TRANSACTION ... COMMIT
TRANSACTION, https://cloud.google.com/bigquery/docs/transactions) or a single MERGE, so readers
see the table before or after, never between; staging tables are dropped afterwards, whatever
happened. Values reach scripts as staged tables, not query parameters: the emulator runs a
multi-statement query without its parameters.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.cloud import bigquery

from cicl_assets.warehouse.base import upsert_assignments, write_parquet
from cicl_assets.warehouse.batch import IngestBatch
from cicl_assets.warehouse.bigquery_merge import (
    merge_statement,
    replace_statements,
    retire_statements,
    transaction,
    write_stage,
)
from cicl_assets.warehouse.bigquery_types import bigquery_field
from cicl_assets.warehouse.tables import INGEST_REJECTS, INGESTED_FILES, TableSpec

if TYPE_CHECKING:
    from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse, Deadline

CANCEL_TIMEOUT_S = 10.0


def stage_file(wh: BigQueryWarehouse, schema: pa.Schema, path: str, deadline: Deadline) -> str:
    """Load a local Parquet file into a new staging table of the dataset; its name."""
    name = f"_stage_{uuid.uuid4().hex[:16]}"
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        schema=[bigquery_field(f) for f in schema],
        job_timeout_ms=int(wh.timeout_s * 1000),
    )
    config.parquet_options = bigquery.ParquetOptions()
    config.parquet_options.enable_list_inference = True
    with open(path, "rb") as fh:
        job = wh.client.load_table_from_file(
            fh,
            wh._table_id(name),
            size=os.path.getsize(path),
            job_config=config,
            timeout=deadline.left(),
        )
    wh._job_result(job, deadline)
    return name


def drop(wh: BigQueryWarehouse, names: Sequence[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            wh.client.delete_table(wh._table_id(name), not_found_ok=True, timeout=CANCEL_TIMEOUT_S)


def arrow_stage(
    wh: BigQueryWarehouse, spec: TableSpec, data: Any, tmp: str, deadline: Deadline
) -> tuple[str | None, int]:
    path = os.path.join(tmp, f"{uuid.uuid4().hex}.parquet")
    rows = write_parquet(spec, data, path)
    return (stage_file(wh, spec.schema, path, deadline) if rows else None), rows


def values_stage(
    wh: BigQueryWarehouse,
    values: Sequence[Any],
    arrow_type: pa.DataType,
    tmp: str,
    deadline: Deadline,
) -> str:
    """A staged one-column table ``v`` of ``values``: scripts get no query parameters on
    the emulator, and a table holds any text a literal would have to escape."""
    path = os.path.join(tmp, f"{uuid.uuid4().hex}.parquet")
    table = pa.table({"v": pa.array(list(values), arrow_type)})
    pq.write_table(table, path)
    return stage_file(wh, table.schema, path, deadline)


def commit_ingest(wh: BigQueryWarehouse, batch: IngestBatch) -> dict[str, int]:
    what = f"committing an ingest batch into {wh.target}"
    staged: list[str] = []
    with wh._bounded(what) as deadline, tempfile.TemporaryDirectory() as tmp:
        for spec in (*batch.stream_tables, INGESTED_FILES, INGEST_REJECTS):
            wh._ensure_table(spec, deadline)
        statements: list[str] = []
        written = {}
        try:
            for i, load in enumerate(batch.loads):
                path = os.path.join(tmp, f"load-{i}.parquet")
                rows, days, has_null = write_stage(load, path)
                if not rows:
                    continue
                loaded = stage_file(wh, pq.read_schema(path), path, deadline)
                staged.append(loaded)
                statements.append(merge_statement(load.spec, loaded, days, has_null))
                written[load.spec.name] = rows
            if batch.retired.carriers:
                gone = values_stage(wh, batch.retired.carriers, pa.string(), tmp, deadline)
                staged.append(gone)
                statements += retire_statements(batch, gone)
            for table, keys, rows_of in (
                (INGESTED_FILES, batch.file_keys, batch.files),
                (INGEST_REJECTS, batch.reject_keys, batch.rejects),
            ):
                if not keys and (rows_of is None or not rows_of.num_rows):
                    continue
                keys_stage = values_stage(wh, keys, pa.string(), tmp, deadline)
                staged.append(keys_stage)
                stage = None
                if rows_of is not None and rows_of.num_rows:
                    stage, _ = arrow_stage(wh, table, rows_of, tmp, deadline)
                    staged += [stage] if stage else []
                statements += replace_statements(
                    table.name, keys_stage, "ingest_key", stage, table.schema.names
                )
            if statements:
                wh._run_query(transaction(statements), None, deadline)
        finally:
            drop(wh, staged)
        return written


def replace(
    wh: BigQueryWarehouse,
    spec: TableSpec,
    data: Any,
    column: str | None,
    values: Sequence[Any],
    time_range: tuple[datetime, datetime] | None = None,
) -> int:
    """Delete and insert in one transaction: readers see the old rows or the new ones.

    Without ``column`` and ``time_range`` every row goes; ``time_range`` limits the delete to
    [start, end) of the time column (the partitions it spans), ``column`` to rows whose value
    is one of ``values`` (none when ``values`` is empty)."""
    with wh._bounded(f"replacing rows of {wh.target}.{spec.name}") as deadline:
        wh._ensure_table(spec, deadline)
        staged: list[str] = []
        with tempfile.TemporaryDirectory() as tmp:
            try:
                stage, rows = arrow_stage(wh, spec, data, tmp, deadline)
                staged += [stage] if stage else []
                where = ["TRUE"]
                if time_range is not None:
                    where.append(_in_range(spec, *time_range))
                if column is not None and values:
                    keys = values_stage(wh, values, spec.schema.field(column).type, tmp, deadline)
                    staged.append(keys)
                    where.append(f"`{column}` IN (SELECT v FROM `{keys}`)")
                statements = []
                if column is None or values:
                    statements.append(f"DELETE FROM `{spec.name}` WHERE {' AND '.join(where)}")
                if stage:
                    cols = ", ".join(f"`{n}`" for n in spec.schema.names)
                    statements.append(
                        f"INSERT INTO `{spec.name}` ({cols}) SELECT {cols} FROM `{stage}`"
                    )
                if statements:
                    wh._run_query(transaction(statements), None, deadline)
            finally:
                drop(wh, staged)
            return rows


def _in_range(spec: TableSpec, start: datetime, end: datetime) -> str:
    # Literals, not parameters: the emulator runs a multi-statement query without them. The
    # text is formatted here from datetimes, never taken from input.
    if spec.time_column is None:
        raise ValueError(f"{spec.name} has no time column to replace a range of")

    def literal(at: datetime) -> str:
        if at.tzinfo is None:
            raise ValueError(f"a naive datetime cannot bound a range of {spec.name}: {at!r}")
        return f"TIMESTAMP '{at.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}+00:00'"

    column = f"`{spec.time_column}`"
    return f"{column} >= {literal(start)} AND {column} < {literal(end)}"


def upsert(wh: BigQueryWarehouse, spec: TableSpec, data: Any) -> int:
    on, sets, names = upsert_assignments(spec, wh.quote)
    with wh._bounded(f"upserting rows of {wh.target}.{spec.name}") as deadline:
        wh._ensure_table(spec, deadline)
        with tempfile.TemporaryDirectory() as tmp:
            stage, rows = arrow_stage(wh, spec, data, tmp, deadline)
            if not stage:
                return 0
            try:
                values = ", ".join("s." + n for n in names.split(", "))
                wh._run_query(
                    f"MERGE `{spec.name}` AS t USING `{stage}` AS s ON {on} "
                    f"WHEN MATCHED THEN UPDATE SET {sets} "
                    f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})",
                    None,
                    deadline,
                )
            finally:
                drop(wh, [stage])
            return rows
