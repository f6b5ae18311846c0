"""Two `scripts/cicl.py run` processes started together on one DuckDB file: the writer lease
lets one write while the other waits behind it, so the warehouse ends with exactly one copy of
everything and the second run re-ingests nothing: it holds what two runs one after the other
hold (the engine-independent fingerprint; a second run adds its own audit events either way)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cicl_assets.warehouse.fingerprint import differences, warehouse_fingerprint
from demo import story
from demo.generate import generate
from demo.keys import ensure_keys
from tests.integration.test_run_end_to_end import (
    REPO,
    RUN_TIMEOUT_S,
    SPANS,
    Run,
    _environment,
    _key_settings,
    small_zone,
)


@pytest.fixture(scope="module")
def zone_and_keys(tmp_path_factory):
    keys = ensure_keys(tmp_path_factory.mktemp("keys"))
    full = tmp_path_factory.mktemp("demo-zone")
    generate(full, story.SEED, SPANS, workers=2, attestation_key=keys.attestation)
    out = tmp_path_factory.mktemp("zone")
    small_zone(full, out)
    return out, keys


def _settings(db, zone, keys) -> dict[str, str]:
    return {
        "CICL_WAREHOUSE": "duckdb",
        "CICL_DUCKDB_PATH": str(db),
        "CICL_LANDING_URI": str(zone),
        **_key_settings(keys),
    }


def _start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "cicl.py"), "run"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(env: dict[str, str], proc: subprocess.Popen) -> Run:
    out, err = proc.communicate(timeout=RUN_TIMEOUT_S * 2)
    run = Run(env, proc.returncode, out, err)
    assert run.returncode == 0, f"exit {run.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    return run


def test_two_runs_at_once_write_everything_once(zone_and_keys, tmp_path):
    zone, keys = zone_and_keys
    shared = tmp_path / "shared.duckdb"
    envs = [_environment(tmp_path / f"home-{i}", _settings(shared, zone, keys)) for i in (1, 2)]
    first = _start(envs[0])
    time.sleep(0.5)
    second = _start(envs[1])
    runs = [_finish(envs[0], first), _finish(envs[1], second)]
    assert any("waiting up to" in run.stderr for run in runs), "neither run waited for the lease"
    together = runs[0].warehouse
    # Every file version was read by one run only: the other found it all ingested.
    readers = together.query(
        "SELECT COUNT(DISTINCT run_id) AS runs, COUNT(*) AS files, "
        "COUNT(DISTINCT ingest_key) AS keys FROM ingested_files"
    ).to_pylist()[0]
    assert readers["runs"] == 1
    assert readers["files"] == readers["keys"]
    # The same as two runs one after the other.
    env = _environment(tmp_path / "home-alone", _settings(tmp_path / "alone.duckdb", zone, keys))
    _finish(env, _start(env))
    alone = _finish(env, _start(env))
    assert (
        differences(warehouse_fingerprint(together), warehouse_fingerprint(alone.warehouse)) == []
    )
