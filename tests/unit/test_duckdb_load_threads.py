"""Ingest commits run DuckDB on one thread (a parallel insert compresses worse), unless the
warehouse configures its threads; the instance's setting is back afterwards."""

from __future__ import annotations

import duckdb
import pytest

from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


@pytest.mark.parametrize(
    ("configured", "single_thread", "inside", "after"),
    [
        (0, True, 1, "default"),
        (0, False, "default", "default"),
        (3, True, 3, 3),
        (3, False, 3, 3),
    ],
)
def test_transaction_threads(tmp_path, configured, single_thread, inside, after):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"), threads=configured)
    with warehouse.connect() as other:  # holds the instance across the transaction
        default = _threads(other) if configured == 0 else configured
        with warehouse.transaction(single_thread=single_thread) as con:
            assert _threads(con) == (default if inside == "default" else inside)
        assert _threads(other) == (default if after == "default" else after)


def test_reset_after_a_rolled_back_commit(tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    with warehouse.connect() as other:
        default = _threads(other)
        with pytest.raises(duckdb.Error), warehouse.transaction(single_thread=True) as con:
            con.execute("SELECT * FROM no_such_table")
        assert _threads(other) == default
