"""An ingest batch on DuckDB: statements run inside the caller's transaction, on one connection.

Rows whose identity (in its partition: the day of the time column) occurs once among the new
rows and nowhere in the table are inserted as they are; that is nearly every row of a first
ingest, so the common case costs a narrow read of the identity columns and one insert. Only the
identities that repeat go through the merge: the winning version (the ``prefer_present``
columns set, then the newest content, then the later row of a file) is written once, carried by
every content that carried any of the versions.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from cicl_assets.warehouse.batch import (
    IngestBatch,
    TableLoad,
    partition_filter,
    value_columns,
)
from cicl_assets.warehouse.tables import CARRIED_BY, TableSpec


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _same(left: str, right: str, columns: Sequence[str]) -> str:
    return " AND ".join(f"{left}.{_q(c)} IS NOT DISTINCT FROM {right}.{_q(c)}" for c in columns)


def _day(spec: TableSpec, alias: str = "") -> str:
    if not spec.time_column:
        return "CAST(NULL AS DATE)"
    prefix = f"{alias}." if alias else ""
    return f"CAST({prefix}{_q(spec.time_column)} AS DATE)"


def commit_batch(con: duckdb.DuckDBPyConnection, batch: IngestBatch) -> dict[str, int]:
    """Write ``batch`` on ``con`` (already in a transaction); returns per table the new rows
    read, each stored or merged into a row of the same identity."""
    written = {}
    for load in batch.loads:
        if load.parts:
            written[load.spec.name] = _load(con, load)
    if batch.retired.carriers:
        for spec in batch.stream_tables:
            _retire(con, spec, batch)
    for table, keys, rows in (
        ("ingested_files", batch.file_keys, batch.files),
        ("ingest_rejects", batch.reject_keys, batch.rejects),
    ):
        if keys:
            con.execute(f"DELETE FROM {table} WHERE ingest_key IN (SELECT UNNEST(?))", [list(keys)])
        if rows is not None and rows.num_rows:
            _insert_arrow(con, table, rows)
    return written


def _insert_arrow(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    con.register("_cicl_rows", rows)
    try:
        names = ", ".join(_q(n) for n in rows.column_names)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _cicl_rows")
    finally:
        con.unregister("_cicl_rows")


def _load(con: duckdb.DuckDBPyConnection, load: TableLoad) -> int:
    spec = load.spec
    table = spec.name
    cols = value_columns(spec)
    names = ", ".join(_q(c) for c in cols)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cicl_parts (filename VARCHAR, carrier VARCHAR, ord BIGINT)"
    )
    con.executemany(
        "INSERT INTO _cicl_parts VALUES (?, ?, ?)",
        [[p.path, p.carrier, p.order] for p in load.parts],
    )
    paths = [p.path for p in load.parts]
    source = (
        "(SELECT r.*, c.carrier AS _carrier, c.ord AS _ord FROM read_parquet(?, filename = true, "
        "file_row_number = true) AS r JOIN _cicl_parts AS c ON r.filename = c.filename)"
    )
    plain = (
        f"INSERT INTO {table} ({names}, {CARRIED_BY}) SELECT {names}, [_carrier] FROM {source} AS n"
    )
    if not spec.identity:
        before = _count(con, table)
        con.execute(plain, [paths])
        return _count(con, table) - before
    ids = list(spec.identity)
    id_cols = ", ".join(_q(c) for c in ids)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cicl_keys AS SELECT {id_cols}, {_day(spec)} AS _day "
        "FROM read_parquet(?)",
        [paths],
    )
    days = [
        d.isoformat()
        for (d,) in con.execute(
            "SELECT DISTINCT _day FROM _cicl_keys WHERE _day IS NOT NULL"
        ).fetchall()
    ]
    has_null = spec.time_column is not None and bool(
        con.execute("SELECT COUNT(*) FROM _cicl_keys WHERE _day IS NULL").fetchall()[0][0]
    )
    in_partitions = partition_filter(spec, "t", days, has_null)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cicl_dups AS "
        f"SELECT {id_cols}, _day FROM _cicl_keys GROUP BY ALL HAVING COUNT(*) > 1 "
        f"UNION SELECT DISTINCT {', '.join('t.' + _q(c) for c in ids)}, {_day(spec, 't')} AS _day "
        f"FROM {table} AS t SEMI JOIN _cicl_keys AS k ON {_same('t', 'k', ids)} "
        f"AND {_day(spec, 't')} IS NOT DISTINCT FROM k._day WHERE {in_partitions}"
    )
    before = _count(con, table)
    if not con.execute("SELECT COUNT(*) FROM _cicl_dups").fetchall()[0][0]:
        con.execute(plain, [paths])
        return _count(con, table) - before
    in_dups = f"{_same('n', 'd', ids)} AND {_day(spec, 'n')} IS NOT DISTINCT FROM d._day"
    con.execute(f"{plain} ANTI JOIN _cicl_dups AS d ON {in_dups}", [paths])
    inserted = _count(con, table) - before
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cicl_versions AS "
        f"SELECT {names}, [_carrier] AS {CARRIED_BY}, _ord, file_row_number AS _row, "
        f"CAST(NULL AS BIGINT) AS _rid FROM {source} AS n SEMI JOIN _cicl_dups AS d ON {in_dups}",
        [paths],
    )
    con.execute(
        f"INSERT INTO _cicl_versions SELECT {', '.join('t.' + _q(c) for c in cols)}, "
        f"t.{CARRIED_BY}, -1, 0, t.rowid FROM {table} AS t SEMI JOIN _cicl_dups AS d "
        f"ON {_same('t', 'd', ids)} AND {_day(spec, 't')} IS NOT DISTINCT FROM d._day "
        f"WHERE {in_partitions}"
    )
    con.execute(
        f"DELETE FROM {table} WHERE rowid IN "
        "(SELECT _rid FROM _cicl_versions WHERE _rid IS NOT NULL)"
    )
    group = f"{id_cols}, {_day(spec)}"
    prefer = "".join(f"({_q(c)} IS NOT NULL) DESC, " for c in spec.prefer_present)
    con.execute(
        f"INSERT INTO {table} ({names}, {CARRIED_BY}) SELECT {names}, {CARRIED_BY} FROM ("
        f"SELECT {names}, list_sort(list_distinct(flatten(list({CARRIED_BY}) OVER (PARTITION BY "
        f"{group})))) AS {CARRIED_BY}, row_number() OVER (PARTITION BY {group} ORDER BY "
        f"{prefer}_ord DESC, _row DESC) AS _rn FROM _cicl_versions) WHERE _rn = 1"
    )
    merged = con.execute("SELECT COUNT(*) FROM _cicl_versions WHERE _rid IS NULL").fetchall()
    return inserted + int(merged[0][0])


def _retire(con: duckdb.DuckDBPyConnection, spec: TableSpec, batch: IngestBatch) -> None:
    retired = batch.retired
    where = partition_filter(spec, "", retired.days, retired.null_partition)
    params = {"retired": list(retired.carriers)}
    con.execute(
        f"DELETE FROM {spec.name} WHERE {where} AND len({CARRIED_BY}) > 0 "
        f"AND list_has_all($retired, {CARRIED_BY})",
        params,
    )
    con.execute(
        f"UPDATE {spec.name} SET {CARRIED_BY} = list_filter({CARRIED_BY}, "
        f"lambda c: NOT list_contains($retired, c)) WHERE {where} "
        f"AND list_has_any({CARRIED_BY}, $retired)",
        params,
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0])
