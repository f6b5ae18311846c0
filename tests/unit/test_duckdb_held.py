"""A DuckDB warehouse held open for a run: its calls share one open database, what they write
is there for the next process, and another process waiting for the file gets its turn while the
holder keeps calling, not only when the hold ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from cicl_assets.warehouse import duckdb_open
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

# Loaded from its file alone (no package import, no Dagster): opens the file once (waiting for the lock as the warehouse does), reads the row count, and
# prints how long it waited for the file.
WAITER = textwrap.dedent(
    """
    import importlib.util, sys, time
    spec = importlib.util.spec_from_file_location("duckdb_open", sys.argv[2])
    module = sys.modules["duckdb_open"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print("ready", flush=True)
    began = time.monotonic()
    with module.open_connection(sys.argv[1], lock_timeout_s=60) as con:
        waited = time.monotonic() - began
        rows = con.execute("SELECT count(*) FROM cicl.t").fetchone()[0]
    print(f"{waited:.2f} {rows}", flush=True)
    """
)


def test_calls_inside_a_hold_share_the_open_database_and_it_closes_after(tmp_path):
    path = str(tmp_path / "w.duckdb")
    warehouse = DuckDBWarehouse(path=path)
    with warehouse.held():
        warehouse.execute("CREATE TABLE t (x BIGINT)")
        warehouse.execute("INSERT INTO t VALUES (1), (2)")
        # A global setting lives as long as the database instance: it survives from one call
        # to the next only because the hold keeps the database open.
        warehouse.execute("SET GLOBAL checkpoint_threshold = '123MiB'")
        kept = warehouse.query("SELECT current_setting('checkpoint_threshold') AS v")
        with warehouse.held():  # re-entrant
            assert warehouse.query("SELECT count(*) AS n FROM t").to_pylist() == [{"n": 2}]
    after = warehouse.query("SELECT current_setting('checkpoint_threshold') AS v")
    assert {"kept": kept.to_pylist()[0]["v"], "after": after.to_pylist()[0]["v"]} == {
        "kept": "123.0 MiB",
        "after": "16.0 MiB",
    }
    assert duckdb_open._holds == {}
    # Closed for other processes: a plain connection opens the file at once.
    con = duckdb.connect(path)
    assert con.execute("SELECT count(*) FROM cicl.t").fetchone() == (2,)
    con.close()


@pytest.mark.parametrize("holder_calls_for_s", [8.0])
def test_a_process_waiting_for_the_file_gets_it_while_the_holder_keeps_calling(
    tmp_path, holder_calls_for_s
):
    path = str(tmp_path / "w.duckdb")
    warehouse = DuckDBWarehouse(path=path)
    warehouse.execute("CREATE TABLE t (x BIGINT)")
    with warehouse.held():
        warehouse.execute("INSERT INTO t VALUES (1)")
        waiter = subprocess.Popen(
            [sys.executable, "-c", WAITER, path, duckdb_open.__file__],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert waiter.stdout.readline().strip() == "ready"
        began = time.monotonic()
        while waiter.poll() is None and time.monotonic() - began < holder_calls_for_s:
            warehouse.execute("INSERT INTO t VALUES (1)")
            time.sleep(0.02)
        done_while_held = waiter.poll() is not None
        out, _ = waiter.communicate(timeout=120)
    assert waiter.returncode == 0
    waited, rows = out.split()
    # Without giving way it would wait for the whole hold (holder_calls_for_s and more).
    assert done_while_held, f"the waiter got the file only after the hold (waited {waited} s)"
    assert int(rows) >= 1


def _settings(warehouse: DuckDBWarehouse) -> dict[str, str]:
    return warehouse.query(
        "SELECT current_setting('memory_limit') AS memory, current_setting('TimeZone') AS zone, "
        "current_setting('temp_directory') AS spill, current_schema() AS schema"
    ).to_pylist()[0]


def test_a_held_database_is_set_up_once_and_each_connection_gets_its_own_settings(tmp_path):
    path = str(tmp_path / "w.duckdb")
    warehouse = DuckDBWarehouse(path=path, memory_limit="300MB")
    expected = {"memory": "286.1 MiB", "zone": "UTC", "spill": f"{path}.tmp", "schema": "cicl"}
    with warehouse.held():
        assert _settings(warehouse) == expected
        # Changed by a call: the next connection keeps the database's setting as it is (set up
        # once) and still gets its own time zone.
        warehouse.execute("SET GLOBAL memory_limit = '200MB'; SET TimeZone = 'Asia/Tokyo'")
        assert _settings(warehouse) == {**expected, "memory": "190.7 MiB"}
        # Another warehouse on the file with other settings applies its own.
        other = DuckDBWarehouse(path=path, memory_limit="400MB")
        assert _settings(other) == {**expected, "memory": "381.4 MiB"}
        assert _settings(warehouse) == expected
    # The hold ended and the database closed: the next connection sets it up again.
    with warehouse.held():
        assert _settings(warehouse) == expected
