"""`scripts/cicl.py run` end to end, as a user runs it: on the BigQuery emulator with the landing
zone on the GCS emulator, and on DuckDB with the same zone on disk. Both warehouses end with the
same tables, table by table (the engine-independent fingerprint), the command prints INFO and one
line per breach reviewed, and afterwards neither sensor asks for anything on a fresh instance.

The zone is a seeded slice of the demo's: the breach day's traffic from six hours before the
breach to its end (so the 6h/30m rule can page), the broken files, one pipeline run, and a few
files of each other stream.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

import definitions
from cicl_assets.resources import build_resources
from cicl_assets.settings import Settings
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.fingerprint import (
    differences,
    row_differences,
    table_lines,
    warehouse_fingerprint,
)
from demo import story
from demo.generate import generate
from demo.keys import SIGNING_KEY, TRUST_FILE, DemoKeys, ensure_keys
from sensors.in_process import evaluate_sensor
from tests.conftest import EMULATOR_PROJECT

pytestmark = [pytest.mark.bigquery, pytest.mark.gcs]

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 600
SPANS = 3000
OTHER_STREAMS = {"deployments": 3, "infra/dev": 3, "audit": 1, "slo": 1}


def small_zone(full: Path, out: Path) -> list[str]:
    """Copy the slice of the demo zone at ``full`` described in the module doc to ``out``."""
    hours = range((story.BREACH_START - timedelta(hours=6)).hour, story.BREACH_END.hour)
    day = full / "otel" / story.BREACH_START.strftime("%Y/%m/%d")
    picked = [p for p in sorted(day.iterdir()) if int(p.name[:2]) in hours]
    picked += sorted((full / "otel" / "broken").iterdir())
    picked += sorted(sorted((full / "ci").iterdir())[0].iterdir())
    for folder, count in OTHER_STREAMS.items():
        picked += sorted(p for p in (full / folder).rglob("*") if p.is_file())[:count]
    copied = []
    for path in picked:
        relative = path.relative_to(full).as_posix()
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out / relative)
        copied.append(relative)
    return copied


@dataclass(frozen=True)
class Run:
    env: dict[str, str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    @property
    def warehouse(self) -> Warehouse:
        return build_resources(self.settings)["warehouse"]


def _cicl_run(env: dict[str, str]) -> Run:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "cicl.py"), "run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return Run(env, done.returncode, done.stdout, done.stderr)


def _environment(home: Path, settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without cicl settings a shell may hold, plus ``settings``."""
    home.mkdir(parents=True)
    subprocess.run(
        ["make", "-s", f"DAGSTER_HOME={home}", f"{home}/dagster.yaml"],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CICL_")}
    return {
        **env,
        "DAGSTER_HOME": str(home),
        "CICL_CONFIG_DIR": str(REPO / "config"),
        "CICL_OUTBOX_URI": str(home / "outbox"),
        "CICL_STATE_DIR": str(home / "state"),
        **settings,
    }


def _key_settings(keys: DemoKeys) -> dict[str, str]:
    """The demo's keys as `make run` passes them."""
    return {
        "CICL_ATTESTATION_PUBLIC_KEY": keys.attestation_public_pem,
        "CICL_SIGNING_KEY": (keys.folder / SIGNING_KEY).read_text(),
        "CICL_TRUST_FILE": str(keys.folder / TRUST_FILE),
        # One redaction key for both engines, so their markers (and fingerprints) agree.
        "CICL_REDACTION_KEY": "e2e-redaction-key-0123456789abcdef",
    }


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> DemoKeys:
    return ensure_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def zone(tmp_path_factory, keys) -> Path:
    full = tmp_path_factory.mktemp("demo-zone")
    generate(full, story.SEED, SPANS, workers=2, attestation_key=keys.attestation)
    out = tmp_path_factory.mktemp("zone")
    assert len(small_zone(full, out)) == 40
    return out


@pytest.fixture(scope="module")
def bucket(gcs_emulator, zone):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=EMULATOR_PROJECT, credentials=AnonymousCredentials())
    created = client.create_bucket(f"landing-{uuid.uuid4().hex[:12]}")
    for path in sorted(p for p in zone.rglob("*") if p.is_file()):
        created.blob(f"zone/{path.relative_to(zone).as_posix()}").upload_from_filename(str(path))
    yield created.name
    for blob in client.list_blobs(created):
        blob.delete()
    created.delete()


@pytest.fixture(scope="module")
def runs(zone, bucket, keys, bigquery_emulator, tmp_path_factory) -> dict[str, Run]:
    """`cicl.py run` on each engine, both at once (they share nothing but the zone's files)."""
    dataset = f"e2e_{uuid.uuid4().hex[:12]}"
    envs = {
        "duckdb": _environment(
            tmp_path_factory.mktemp("duckdb-run") / "home",
            {
                "CICL_WAREHOUSE": "duckdb",
                "CICL_DUCKDB_PATH": str(tmp_path_factory.mktemp("duckdb") / "w.duckdb"),
                "CICL_LANDING_URI": str(zone),
                **_key_settings(keys),
            },
        ),
        "bigquery": _environment(
            tmp_path_factory.mktemp("bigquery-run") / "home",
            {
                "CICL_WAREHOUSE": "bigquery",
                "CICL_BQ_PROJECT": EMULATOR_PROJECT,
                "CICL_BQ_DATASET": dataset,
                "CICL_GCS_PROJECT": EMULATOR_PROJECT,
                "CICL_LANDING_URI": f"gs://{bucket}/zone",
                **_key_settings(keys),
            },
        ),
    }
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(envs, pool.map(_cicl_run, envs.values()), strict=True))
    yield done
    done["bigquery"].warehouse.client.delete_dataset(
        f"{EMULATOR_PROJECT}.{dataset}", delete_contents=True, not_found_ok=True
    )


def _succeeded(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"


def test_the_bigquery_run_holds_what_the_duckdb_run_holds(runs):
    for run in runs.values():
        _succeeded(run)
    duck, bq = runs["duckdb"].warehouse, runs["bigquery"].warehouse
    left, right = warehouse_fingerprint(duck), warehouse_fingerprint(bq)
    report = []
    for line in differences(left, right):
        name = line.split(":")[0]
        report.append(line)
        if name in left and name in right:
            report += row_differences(table_lines(duck, name), table_lines(bq, name))
    assert report == []
    # Every stream and the breach path left rows to compare.
    rows = {name: fingerprint.rows for name, fingerprint in left.items()}
    assert {
        "otel_spans": rows["otel_spans"] > 0,
        "ci_test_cases": rows["ci_test_cases"] > 0,
        "deployments": rows["deployments"] > 0,
        "infra_apply_logs": rows["infra_apply_logs"] > 0,
        "audit_events": rows["audit_events"] > 0,
        "slo_reports": rows["slo_reports"] > 0,
        "slo_status": rows["slo_status"] > 0,
        "slo_breach_reports": rows["slo_breach_reports"] > 0,
        "ingest_rejects": rows["ingest_rejects"],
        "ingested_files": rows["ingested_files"],
    } == {
        "otel_spans": True,
        "ci_test_cases": True,
        "deployments": True,
        "infra_apply_logs": True,
        "audit_events": True,
        "slo_reports": True,
        "slo_status": True,
        "slo_breach_reports": True,
        "ingest_rejects": 3,
        "ingested_files": 40,
    }


BREACH_LINES = [
    "  slo-breach:gateway-availability:page:2026-11-05T14: run <run>: 1 of 31 events bad; "
    "error_type RateLimitError (100% of bad), provider gcp.gemini (100% of bad), model "
    "gemini-2.5-pro (100% of bad), service_version 2.4.1 (100% of bad)",
    "  slo-breach:workflow-invoice-triage-availability:page:2026-11-05T14: run <run>: 1 of 12 "
    "events bad; error_type RateLimitError (100% of bad), provider gcp.gemini (100% of bad), "
    "model gemini-2.5-pro (100% of bad), service_version 1.8.0 (100% of bad)",
]


@pytest.mark.parametrize("engine", ["duckdb", "bigquery"])
def test_the_command_prints_info_a_summary_and_one_line_per_breach(runs, engine):
    run = runs[engine]
    _succeeded(run)
    output = run.stdout + run.stderr
    assert " - DEBUG - " not in output
    assert " - INFO - landing_batch - " in output
    lines = run.stdout.splitlines()
    warehouse = run.warehouse
    assert f"{warehouse.dialect} {warehouse.target}" in lines
    assert re.search(r"^otel_spans +[\d,]+$", run.stdout, re.M)
    assert "rejects (3):" in lines
    start = lines.index("SLO breaches reviewed (slo_breach_sensor): 2")
    breaches = [re.sub(r"run [0-9a-f]{8}:", "run <run>:", line) for line in lines[start + 1 :]]
    assert breaches == BREACH_LINES


def _defs_for(run: Run) -> dg.Definitions:
    """The code location as the daemon would load it with the run's environment."""
    defs = definitions.defs
    return dg.Definitions(
        assets=list(defs.assets or []),
        asset_checks=list(defs.asset_checks or []),
        jobs=list(defs.jobs or []),
        sensors=list(defs.sensors or []),
        resources=build_resources(run.settings),
        executor=dg.in_process_executor,
    )


@pytest.mark.parametrize("engine", ["duckdb", "bigquery"])
def test_after_the_run_a_fresh_daemon_launches_nothing(runs, engine, monkeypatch):
    _succeeded(runs[engine])
    # The daemon's environment: resources read their EnvVar fields from it.
    for name, value in runs[engine].env.items():
        if name.startswith("CICL_"):
            monkeypatch.setenv(name, value)
    defs = _defs_for(runs[engine])
    with dg.instance_for_test() as fresh:
        asked = {
            name: evaluate_sensor(defs, fresh, name)
            for name in ("landing_arrivals_sensor", "slo_breach_sensor")
        }
    assert asked == {"landing_arrivals_sensor": [], "slo_breach_sensor": []}
