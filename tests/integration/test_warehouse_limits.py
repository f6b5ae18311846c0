"""Every warehouse call has a deadline, and row counts come from table metadata, on both engines."""

from __future__ import annotations

import re
import time

import pyarrow as pa
import pytest

from cicl_assets.warehouse.base import QueryTimeout, Warehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from cicl_assets.warehouse.tables import TableSpec
from tests.conftest import EMULATOR_PROJECT

# Statements that run for minutes (DuckDB) or several seconds (the emulator) if not stopped.
SLOW = {
    "duckdb": "SELECT SUM(i * j) AS s FROM range(100000000) a(i), range(1000) b(j)",
    "bigquery": "SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 12000)) a, "
    "UNNEST(GENERATE_ARRAY(1, 12000)) b WHERE MOD(a * b, 7) = 3",
}
NUMBERS = TableSpec("numbers", pa.schema([("n", pa.int64())]), "One row per number.")
LETTERS = TableSpec("letters", pa.schema([("c", pa.string())]), "One row per letter.")


def with_timeout(warehouse: Warehouse, timeout_s: float) -> Warehouse:
    if isinstance(warehouse, DuckDBWarehouse):
        return DuckDBWarehouse(path=warehouse.path, timeout_s=timeout_s)
    from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse

    return BigQueryWarehouse(
        project=EMULATOR_PROJECT, dataset=warehouse.dataset, timeout_s=timeout_s
    )


def test_a_statement_running_past_the_timeout_is_stopped_with_a_clear_error(any_warehouse):
    warehouse = with_timeout(any_warehouse, 0.5)
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as stopped:
        warehouse.query(SLOW[warehouse.dialect])
    elapsed = time.monotonic() - started
    assert str(stopped.value).startswith(
        f"{warehouse.dialect}: stopped after 0.5s (the warehouse timeout, "
        f"CICL_QUERY_TIMEOUT_SECONDS): {SLOW[warehouse.dialect][:40]}"
    )
    assert elapsed < 5, f"stopped after {elapsed:.1f}s"
    # The warehouse is usable afterwards, with the same deadline for the next call.
    assert with_timeout(any_warehouse, 60).query("SELECT 1 AS x").to_pylist() == [{"x": 1}]


@pytest.mark.bigquery
def test_a_failing_bigquery_request_is_retried_only_until_the_deadline(bigquery_warehouse):
    # Unqualified INFORMATION_SCHEMA: the emulator answers 500, which the client retries.
    warehouse = with_timeout(bigquery_warehouse, 2)
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as stopped:
        warehouse.query("SELECT table_name FROM INFORMATION_SCHEMA.TABLES")
    assert time.monotonic() - started < 4
    assert re.search(
        r"^bigquery: stopped after 2s \(.*\): SELECT table_name FROM INFORMATION_SCHEMA.TABLES "
        r"\(last error: InternalServerError: 500 POST ",
        str(stopped.value),
    )


def test_row_counts_per_table_follow_loads_and_deletes(any_warehouse):
    assert any_warehouse.table_row_counts() == {}
    any_warehouse.append(NUMBERS, pa.table({"n": list(range(10))}))
    any_warehouse.append(LETTERS, pa.table({"c": ["a", "b"]}))
    any_warehouse.execute("DELETE FROM numbers WHERE n < 3")
    any_warehouse.ensure_table(TableSpec("empty", pa.schema([("x", pa.int64())]), "Nothing."))
    assert any_warehouse.table_row_counts() == {"empty": 0, "letters": 2, "numbers": 7}
