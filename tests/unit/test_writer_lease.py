"""The writer lease across real processes: a killed holder's lease expires; a waiting writer
queues behind DuckDB's file lock instead of failing on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from cicl_assets.warehouse import lease
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

REPO = Path(__file__).resolve().parents[2]
TTL_S = 5

HOLDER = textwrap.dedent(
    """
    import sys, time
    from cicl_assets.warehouse import lease
    from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
    warehouse = DuckDBWarehouse(path=sys.argv[1])
    with lease.writer_lease(warehouse, ttl_s=float(sys.argv[2])) as owner:
        print(owner, flush=True)
        time.sleep(600)
    """
)


def _holder(path: Path, ttl_s: float) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(ttl_s)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    owner = proc.stdout.readline().strip()
    assert owner, "the holder process did not take the lease"
    return proc, owner


def test_a_killed_holders_lease_expires(tmp_path):
    path = tmp_path / "w.duckdb"
    # The ttl leaves the holder's renewals (every ttl/3) room on a loaded machine.
    proc, owner = _holder(path, ttl_s=TTL_S)
    warehouse = DuckDBWarehouse(path=str(path))
    try:
        # Renewed while the holder lives: still held after more than one ttl.
        time.sleep(TTL_S + 1)
        assert lease.holder(warehouse) == owner
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        killed_at = time.monotonic()
        with lease.writer_lease(warehouse, owner="next", wait_s=30, poll_s=0.2):
            waited = time.monotonic() - killed_at
            assert lease.holder(warehouse) == "next"
    finally:
        proc.kill()
        proc.wait(10)
    # One ttl after the last renewal plus polls, well before the 30 s the writer would wait: the
    # lease expired because its holder stopped renewing it.
    assert waited <= TTL_S + 8
    assert lease.holder(warehouse) is None


def test_a_second_writer_waits_then_skips_naming_the_holder(tmp_path):
    path = tmp_path / "w.duckdb"
    proc, owner = _holder(path, ttl_s=30)
    warehouse = DuckDBWarehouse(path=str(path))
    try:
        started = time.monotonic()
        try:
            with lease.writer_lease(warehouse, owner="second", wait_s=2, poll_s=0.2):
                raise AssertionError("the second writer took a held lease")
        except lease.LeaseBusy as exc:
            message = str(exc)
        assert 2 <= time.monotonic() - started < 15
        assert f"held by {owner}" in message
        assert "this run wrote nothing" in message
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
