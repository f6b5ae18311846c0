"""Spool folders: under the state folder, gone when the run ends or fails, and a killed run's
folder removed by the next start while a live concurrent run's folder stays."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.ingest.spool_dirs import make_spool, remove_stale
from cicl_assets.landing.zone import LandingZone
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

HOLD = "import os, sys, time; os.makedirs(sys.argv[1] + f'/{os.getpid()}-otel-x'); print('ok', flush=True); time.sleep(60)"


def test_a_dead_runs_spool_goes_and_a_live_runs_stays(tmp_path):
    root = tmp_path / "spool"
    root.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (root / f"{dead.stdout.strip()}-otel-abc").mkdir()
    (root / f"{dead.stdout.strip()}-otel-abc" / "spans.parquet").write_bytes(b"rows")
    live = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert live.stdout.readline().strip() == "ok"
        mine = make_spool(root, "otel")
        assert sorted(p.name for p in root.iterdir()) == sorted(
            [f"{live.pid}-otel-x", Path(mine).name]
        )
        assert Path(mine).name.startswith(f"{os.getpid()}-otel-")
    finally:
        live.kill()
        live.wait()
    assert remove_stale(root) == [f"{live.pid}-otel-x"]
    assert [p.name for p in root.iterdir()] == [Path(mine).name]


def test_a_run_spools_under_the_state_folder_and_leaves_nothing(tmp_path):
    landing = tmp_path / "landing" / "otel"
    landing.mkdir(parents=True)
    (landing / "a.json").write_text('{"resourceSpans": []}')
    (landing / "b.txt").write_text("password=hunter2 is no format")
    zone = LandingZone(uri=str(tmp_path / "landing"), state_dir=str(tmp_path / "state"))
    report = ingest_stream(OTEL_STREAM, zone, DuckDBWarehouse(path=str(tmp_path / "w.duckdb")))
    assert report.files_rejected == 1
    assert "hunter2" not in report.rejects[0].error and "[REDACTED:" in report.rejects[0].error
    assert list((tmp_path / "state" / "spool").iterdir()) == []
    assert (tmp_path / "state" / "redaction.key").exists()


def test_a_failed_run_removes_its_spool(tmp_path):
    (tmp_path / "landing" / "otel").mkdir(parents=True)
    (tmp_path / "landing" / "otel" / "a.json").write_text('{"resourceSpans": []}')
    zone = LandingZone(uri=str(tmp_path / "landing"), state_dir=str(tmp_path / "state"))

    class Broken(DuckDBWarehouse):
        def commit_ingest(self, batch):
            raise RuntimeError("warehouse down")

    with pytest.raises(RuntimeError):
        ingest_stream(OTEL_STREAM, zone, Broken(path=str(tmp_path / "w.duckdb")))
    assert list((tmp_path / "state" / "spool").iterdir()) == []
