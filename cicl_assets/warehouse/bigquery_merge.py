"""An ingest batch on BigQuery: staged rows, then one multi-statement transaction.

Each table's new rows are loaded into a staging table first (a load job touches nothing else);
then one script commits everything: per table one MERGE whose ON clause carries a constant
range and list of days on the target's partitioning column, so only the partitions the new rows
fall in are read (https://cloud.google.com/bigquery/docs/using-dml-with-partitioned-tables,
https://cloud.google.com/bigquery/docs/querying-partitioned-tables); the retirements; and the
``ingested_files`` / ``ingest_rejects`` records. BEGIN TRANSACTION ... COMMIT TRANSACTION makes
it all or nothing (https://cloud.google.com/bigquery/docs/transactions); an error rolls it back.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from cicl_assets.warehouse.batch import (
    IngestBatch,
    TableLoad,
    partition_filter,
    partitions_of,
    value_columns,
)
from cicl_assets.warehouse.tables import CARRIED_BY, NULL_PARTITION, TableSpec

STAGE_EXTRA = (
    pa.field("_carrier", pa.string()),
    pa.field("_ord", pa.int64()),
    pa.field("_row", pa.int64()),
)


def _q(name: str) -> str:
    return f"`{name}`"


def sorted_union(*arrays: str) -> str:
    joined = ", ".join(f"IFNULL({a}, [])" for a in arrays)
    return f"ARRAY(SELECT DISTINCT c FROM UNNEST(ARRAY_CONCAT({joined})) AS c ORDER BY c)"


def write_stage(load: TableLoad, out: str) -> tuple[int, list[str], bool]:
    """One Parquet file of the load's rows, each tagged with its carrier, order and position;
    returns the rows, the days they fall in and whether some have no time."""
    schema = load.spec.schema
    for extra in STAGE_EXTRA:
        schema = schema.append(extra)
    rows = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for part in load.parts:
            source = pq.ParquetFile(part.path)
            position = 0
            for i in range(source.num_row_groups):
                table = load.spec.conform(source.read_row_group(i))
                n = table.num_rows
                table = table.append_column(STAGE_EXTRA[0], pa.array([part.carrier] * n))
                table = table.append_column(STAGE_EXTRA[1], pa.array([part.order] * n, pa.int64()))
                table = table.append_column(
                    STAGE_EXTRA[2], pa.array(range(position, position + n), pa.int64())
                )
                writer.write_table(table)
                position += n
                rows += n
    found = partitions_of(load.spec, [p.path for p in load.parts])
    return rows, sorted(found - {NULL_PARTITION}), NULL_PARTITION in found


def merge_statement(spec: TableSpec, stage: str, days: Sequence[str], has_null: bool) -> str:
    """MERGE a staged load into its table: one row per identity and day, the preferred version's
    values, carried by every content that carried a version."""
    cols = value_columns(spec)
    names = ", ".join(_q(c) for c in cols)
    if not spec.identity:
        return (
            f"INSERT INTO {_q(spec.name)} ({names}, {CARRIED_BY}) "
            f"SELECT {names}, [_carrier] FROM {_q(stage)}"
        )
    ids = ", ".join(_q(c) for c in spec.identity)
    day = f"CAST({_q(spec.time_column)} AS DATE)" if spec.time_column else "CAST(NULL AS DATE)"
    prefer = "".join(f"{_q(c)} IS NULL, " for c in spec.prefer_present)
    source = (
        f"SELECT {names}, _carriers AS {CARRIED_BY}, _day FROM ("
        f"SELECT {names}, _day, ROW_NUMBER() OVER (PARTITION BY {ids}, _day "
        f"ORDER BY {prefer}_ord DESC, _row DESC) AS _rn, "
        f"ARRAY_AGG(_carrier) OVER (PARTITION BY {ids}, _day) AS _carriers "
        f"FROM (SELECT *, {day} AS _day FROM {_q(stage)})) WHERE _rn = 1"
    )
    target_day = f"CAST(t.{_q(spec.time_column)} AS DATE)" if spec.time_column else "s._day"
    in_partitions = partition_filter(spec, "t", days, has_null, _q)
    on = " AND ".join(
        [f"t.{_q(c)} IS NOT DISTINCT FROM s.{_q(c)}" for c in spec.identity]
        + [f"{target_day} IS NOT DISTINCT FROM s._day", in_partitions]
    )
    union = sorted_union(f"t.{CARRIED_BY}", f"s.{CARRIED_BY}")
    keep_old = " OR ".join(
        f"(t.{_q(c)} IS NOT NULL AND s.{_q(c)} IS NULL)" for c in spec.prefer_present
    )
    keep = (
        f"WHEN MATCHED AND ({keep_old}) THEN UPDATE SET {CARRIED_BY} = {union} " if keep_old else ""
    )
    sets = ", ".join(f"{_q(c)} = s.{_q(c)}" for c in cols)
    return (
        f"MERGE {_q(spec.name)} AS t USING ({source}) AS s ON {on} {keep}"
        f"WHEN MATCHED THEN UPDATE SET {sets}, {CARRIED_BY} = {union} "
        f"WHEN NOT MATCHED THEN INSERT ({names}, {CARRIED_BY}) VALUES "
        f"({', '.join('s.' + _q(c) for c in cols)}, {sorted_union(f's.{CARRIED_BY}')})"
    )


def retire_statements(batch: IngestBatch, carriers_stage: str) -> list[str]:
    """Rows carried only by retired contents go; the others stop naming them. The retired keys
    are in a staged table: the emulator runs scripts without their query parameters."""
    retired = batch.retired
    gone = f"(SELECT v FROM {_q(carriers_stage)})"
    statements = []
    for spec in batch.stream_tables:
        where = partition_filter(spec, "", retired.days, retired.null_partition, _q)
        statements.append(
            f"DELETE FROM {_q(spec.name)} WHERE {where} AND ARRAY_LENGTH({CARRIED_BY}) > 0 "
            f"AND NOT EXISTS (SELECT 1 FROM UNNEST({CARRIED_BY}) AS c WHERE c NOT IN {gone})"
        )
        statements.append(
            f"UPDATE {_q(spec.name)} SET {CARRIED_BY} = ARRAY(SELECT c FROM UNNEST({CARRIED_BY}) "
            f"AS c WHERE c NOT IN {gone} ORDER BY c) WHERE {where} AND EXISTS "
            f"(SELECT 1 FROM UNNEST({CARRIED_BY}) AS c WHERE c IN {gone})"
        )
    return statements


def replace_statements(
    table: str, keys_stage: str, column: str, stage: str | None, names: Sequence[str]
) -> list[str]:
    """Rows whose ``column`` is one of the staged keys give way to the staged rows."""
    statements = [f"DELETE FROM {_q(table)} WHERE {_q(column)} IN (SELECT v FROM {_q(keys_stage)})"]
    if stage:
        cols = ", ".join(_q(n) for n in names)
        statements.append(f"INSERT INTO {_q(table)} ({cols}) SELECT {cols} FROM {_q(stage)}")
    return statements


def transaction(statements: Sequence[str]) -> str:
    return "BEGIN TRANSACTION;\n" + ";\n".join(statements) + ";\nCOMMIT TRANSACTION;"
