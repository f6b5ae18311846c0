"""Shared fixtures: every warehouse kind, and the local BigQuery and GCS emulators.

The emulators (and PostgreSQL) start on first use, once per test session, and stop when it ends. When one cannot
start, the tests that need it fail with its log; they are never skipped.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.emulators.harness import BIGQUERY, GCS, RunningEmulator, running

EMULATOR_PROJECT = "cicl-test"
# the scale of the demo landing zone the demo and delivery tests share
DEMO_SPANS = 20_000

WAREHOUSE_KINDS = ["duckdb", pytest.param("bigquery", marks=pytest.mark.bigquery)]

# Modules that take minutes, started first (`make test` runs `--dist loadscope
# --no-loadscope-reorder`: a module stays on one worker, and one started last would leave the
# other worker idle while it ends). Each worker takes two at once: the longest is paired with a
# shorter one.
LONG_MODULES = (
    "tests/integration/test_run_end_to_end.py",
    "tests/soak/test_kill_loop.py",
    "tests/integration/test_delivery_demo.py",
    "tests/integration/test_no_secret_stored.py",
    "tests/integration/test_scale_bench.py",
    "tests/integration/release/test_walkthrough.py",
    # after the kill loop, which makes the clean run both compare with (tests/soak/conftest.py)
    "tests/soak/test_concurrent_runs.py",
    "tests/integration/test_slo_breach.py",
    "tests/integration/test_dogfood.py",
)


def pytest_collection_modifyitems(items):
    first = {path: rank for rank, path in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: first.get(item.nodeid.split("::")[0], len(first)))


@pytest.fixture(autouse=True)
def _process_redaction():
    """Each test starts with the process's redaction policy as the test before found it: a
    policy or settings default one test installs (a key in Secret Manager, say) must not decide
    how a later test on the same worker redacts."""
    from cicl_assets.ingest import redact

    policy, default = list(redact._POLICY), list(redact._DEFAULT)
    yield
    redact._DEFAULT[:] = default
    if policy:
        redact.configure(policy[0])
    else:
        redact._POLICY.clear()
        redact._EXTRA_KEYS.clear()
        redact.is_secret_key.cache_clear()


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory) -> Iterator[RunningEmulator]:
    """bqemulator on a free loopback port; the BigQuery client finds it through the env."""
    with running(BIGQUERY, tmp_path_factory.mktemp("bigquery-emulator")) as emulator:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("BIGQUERY_EMULATOR_HOST", emulator.url)
            env.setenv("NO_GCE_CHECK", "true")
            yield emulator


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory) -> Iterator[RunningEmulator]:
    """gcp-storage-emulator on a free loopback port, named by STORAGE_EMULATOR_HOST."""
    with running(GCS, tmp_path_factory.mktemp("gcs-emulator")) as emulator:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("STORAGE_EMULATOR_HOST", emulator.url)
            env.setenv("CICL_GCS_PROJECT", EMULATOR_PROJECT)
            env.setenv("NO_GCE_CHECK", "true")
            yield emulator


@pytest.fixture(scope="session")
def postgres_server():
    """Debian's PostgreSQL (installed when missing) on a free loopback port, one per session;
    each module that uses it creates a database of its own."""
    from tests.emulators.postgres import running as running_postgres

    with running_postgres() as server:
        yield server


@pytest.fixture
def gcs_bucket(gcs_emulator):
    """A bucket of its own on the GCS emulator, emptied and deleted after the test."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="cicl-test", credentials=AnonymousCredentials())
    created = client.create_bucket(f"cicl-{uuid.uuid4().hex[:12]}")
    yield created
    for blob in client.list_blobs(created):
        blob.delete()
    created.delete()


@pytest.fixture
def duckdb_warehouse(tmp_path) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture
def bigquery_warehouse(bigquery_emulator):
    """A BigQueryWarehouse on a dataset of its own, dropped after the test."""
    from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse

    warehouse = BigQueryWarehouse(
        project=EMULATOR_PROJECT, dataset=f"test_{uuid.uuid4().hex[:12]}", location="US"
    )
    yield warehouse
    warehouse.client.delete_dataset(
        f"{EMULATOR_PROJECT}.{warehouse.dataset}", delete_contents=True, not_found_ok=True
    )


@pytest.fixture(params=WAREHOUSE_KINDS)
def any_warehouse(request, tmp_path):
    """A fresh, empty warehouse of each kind: the same test runs on every backend."""
    if request.param == "duckdb":
        return DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))
    if request.param == "bigquery":
        return request.getfixturevalue("bigquery_warehouse")
    raise AssertionError(f"unknown warehouse kind {request.param}")


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> Path:
    """``build`` run once per test session into a folder every xdist worker of the session
    shares (workers are separate processes: a file lock, as for the emulator cache), so a costly
    input is made once, not once per worker. Its users only read it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    folder = root / f"built-{name}"
    built = root / f"built-{name}.done"  # beside it: the folder holds the build's files only
    with open(root / f"built-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            built.touch()
    return folder


@pytest.fixture(scope="session")
def demo_keys(tmp_path_factory):
    from demo.keys import ensure_keys

    return ensure_keys(built_once(tmp_path_factory, "keys", ensure_keys))


@pytest.fixture(scope="session")
def small_demo_zone(tmp_path_factory, demo_keys):
    """The seeded slice of the demo's landing zone that `cicl.py run` tests run on."""
    from tests.cicl_runs import small_demo_zone

    folder = built_once(tmp_path_factory, "zone", lambda f: small_demo_zone(f, demo_keys))
    return folder / "zone"


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory, demo_keys) -> Path:
    """The demo's landing zone at a reduced scale (DEMO_SPANS), its pipeline's attestations
    signed with the demo keys' attestation key."""
    from demo.generate import generate

    def build(folder: Path) -> None:
        report = generate(
            folder, spans=DEMO_SPANS, workers=1, attestation_key=demo_keys.attestation
        )
        assert not report.skipped

    return built_once(tmp_path_factory, "demo-landing", build)


@pytest.fixture
def cicl_config(tmp_path):
    """Publishes the audit chain's heads under tmp_path/chain/outbox, signed by a key made for
    the test and trusted by a trust file of its own."""
    from tests.signing_keys import signed_config

    return signed_config(tmp_path / "chain")
