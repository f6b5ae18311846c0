"""Two `scripts/cicl.py run` processes started together on one DuckDB file: the writer lease
lets one write while the other waits behind it, so the warehouse ends with exactly one copy of
everything and the second run re-ingests nothing: it holds what two runs one after the other
hold (the engine-independent fingerprint; a second run adds its own audit events either way)."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

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
    _cicl_run,
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


def _one_after_the_other(zone, keys, tmp_path) -> Run:
    env = _environment(tmp_path / "home-alone", _settings(tmp_path / "alone.duckdb", zone, keys))
    first = _cicl_run(env)
    assert first.returncode == 0, first.stderr[-3000:]
    second = _cicl_run(env)
    assert second.returncode == 0, second.stderr[-3000:]
    return second


def test_two_runs_at_once_write_everything_once(zone_and_keys, tmp_path):
    zone, keys = zone_and_keys
    reference = ThreadPoolExecutor(1).submit(_one_after_the_other, zone, keys, tmp_path)
    shared = tmp_path / "shared.duckdb"
    envs = [_environment(tmp_path / f"home-{i}", _settings(shared, zone, keys)) for i in (1, 2)]
    procs = []
    for env in envs:
        procs.append(
            subprocess.Popen(
                [sys.executable, str(REPO / "scripts" / "cicl.py"), "run"],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        time.sleep(0.5)
    runs = []
    for env, proc in zip(envs, procs, strict=True):
        out, err = proc.communicate(timeout=2 * RUN_TIMEOUT_S)
        runs.append(Run(env, proc.returncode, out, err))
    for run in runs:
        assert run.returncode == 0, (
            f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    assert any("waiting up to" in run.stderr for run in runs), "neither run waited for the lease"
    alone = reference.result(timeout=4 * RUN_TIMEOUT_S)
    together = runs[0].warehouse
    # Every file version was read by one run only: the second found it all ingested.
    readers = together.query(
        "SELECT COUNT(DISTINCT run_id) AS runs, COUNT(*) AS files, "
        "COUNT(DISTINCT ingest_key) AS keys FROM ingested_files"
    ).to_pylist()[0]
    assert readers["runs"] == 1
    assert readers["files"] == readers["keys"]
    assert (
        differences(warehouse_fingerprint(together), warehouse_fingerprint(alone.warehouse)) == []
    )
