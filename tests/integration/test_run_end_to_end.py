"""`scripts/cicl.py run` end to end, as a user runs it: on the BigQuery emulator with the landing
zone on the GCS emulator, and on DuckDB with the same zone on disk. Both warehouses end with the
same tables, table by table (the engine-independent fingerprint), the command prints INFO and one
line per breach reviewed, and afterwards neither sensor asks for anything on a fresh instance.

The zone is the seeded slice of the demo's that tests/cicl_runs.py describes.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import definitions
from cicl_assets.resources import build_resources
from cicl_assets.warehouse.fingerprint import (
    differences,
    warehouse_differences,
    warehouse_fingerprint,
)
from sensors.in_process import evaluate_sensor
from sensors.regression_partitions import regression_partitions_sensor
from sensors.slo_partitions import touched_days, uncounted_days
from tests.cicl_runs import Run, cicl_run, environment, key_settings, succeeded
from tests.conftest import EMULATOR_PROJECT

pytestmark = [pytest.mark.bigquery, pytest.mark.gcs]


@pytest.fixture(scope="module")
def bucket(gcs_emulator, small_demo_zone):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=EMULATOR_PROJECT, credentials=AnonymousCredentials())
    created = client.create_bucket(f"landing-{uuid.uuid4().hex[:12]}")
    for path in sorted(p for p in small_demo_zone.rglob("*") if p.is_file()):
        created.blob(f"zone/{path.relative_to(small_demo_zone).as_posix()}").upload_from_filename(
            str(path)
        )
    yield created.name
    for blob in client.list_blobs(created):
        blob.delete()
    created.delete()


@pytest.fixture(scope="module")
def runs(small_demo_zone, bucket, demo_keys, bigquery_emulator, tmp_path_factory) -> dict[str, Run]:
    """`cicl.py run` on each engine, both at once (they share nothing but the zone's files).
    The DuckDB run reads a copy of the zone, which the last test adds a late file to."""
    duckdb_zone = tmp_path_factory.mktemp("duckdb-zone") / "zone"
    shutil.copytree(small_demo_zone, duckdb_zone)
    dataset = f"e2e_{uuid.uuid4().hex[:12]}"
    envs = {
        "duckdb": environment(
            tmp_path_factory.mktemp("duckdb-run") / "home",
            {
                "CICL_WAREHOUSE": "duckdb",
                "CICL_DUCKDB_PATH": str(tmp_path_factory.mktemp("duckdb") / "w.duckdb"),
                "CICL_LANDING_URI": str(duckdb_zone),
                **key_settings(demo_keys),
            },
        ),
        "bigquery": environment(
            tmp_path_factory.mktemp("bigquery-run") / "home",
            {
                "CICL_WAREHOUSE": "bigquery",
                "CICL_BQ_PROJECT": EMULATOR_PROJECT,
                "CICL_BQ_DATASET": dataset,
                "CICL_GCS_PROJECT": EMULATOR_PROJECT,
                "CICL_LANDING_URI": f"gs://{bucket}/zone",
                **key_settings(demo_keys),
            },
        ),
    }
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(envs, pool.map(cicl_run, envs.values()), strict=True))
    yield done
    done["bigquery"].warehouse.client.delete_dataset(
        f"{EMULATOR_PROJECT}.{dataset}", delete_contents=True, not_found_ok=True
    )


def test_the_bigquery_run_holds_what_the_duckdb_run_holds(runs):
    for run in runs.values():
        succeeded(run)
    duck, bq = runs["duckdb"].warehouse, runs["bigquery"].warehouse
    assert warehouse_differences(duck, bq) == []
    left = warehouse_fingerprint(duck)
    # Every stream and the breach path left rows to compare.
    rows = {name: fingerprint.rows for name, fingerprint in left.items()}
    assert {
        "otel_spans": rows["otel_spans"] > 0,
        "otel_logs": rows["otel_logs"] > 0,
        "eval_scores": rows["eval_scores"] > 0,
        "ci_test_cases": rows["ci_test_cases"] > 0,
        "deployments": rows["deployments"] > 0,
        "infra_apply_logs": rows["infra_apply_logs"] > 0,
        "audit_events": rows["audit_events"] > 0,
        "slo_reports": rows["slo_reports"] > 0,
        "slo_status": rows["slo_status"] > 0,
        "slo_breach_reports": rows["slo_breach_reports"] > 0,
        "provider_scorecards": rows["provider_scorecards"] > 0,
        "ingest_rejects": rows["ingest_rejects"],
        "ingested_files": rows["ingested_files"],
    } == {
        "otel_spans": True,
        "otel_logs": True,
        "eval_scores": True,
        "ci_test_cases": True,
        "deployments": True,
        "infra_apply_logs": True,
        "audit_events": True,
        "slo_reports": True,
        "slo_status": True,
        "slo_breach_reports": True,
        "provider_scorecards": True,
        "ingest_rejects": 3,
        "ingested_files": 53,
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
    succeeded(run)
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
    succeeded(runs[engine])
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


def test_after_the_run_its_own_daemon_counts_no_day_again(runs):
    """The daemon started on the run's DAGSTER_HOME sees the otel_spans materializations of the
    run, and the minute counts the run made after them: no day is counted twice."""
    run = runs["duckdb"]
    succeeded(run)
    with dg.DagsterInstance.from_config(run.env["DAGSTER_HOME"]) as instance:
        touched, _ = touched_days(instance, None)
        left, _ = uncounted_days(instance, None)
    assert (len(touched) > 0, left) == (True, [])


def test_after_the_run_its_own_daemon_evaluates_no_regression_day_again(runs):
    """The run evaluated the regressions of every day its spans touched: the daemon's
    regression_partitions_sensor on the run's DAGSTER_HOME launches nothing."""
    run = runs["duckdb"]
    succeeded(run)
    assert re.search(r"^regression days evaluated: \d{4}-\d\d-\d\d", run.stdout, re.M)
    with dg.DagsterInstance.from_config(run.env["DAGSTER_HOME"]) as instance:
        left, _ = uncounted_days(instance, None, "cl_regressions")
        asked = regression_partitions_sensor(dg.build_sensor_context(instance=instance))
    assert (left, list(asked.run_requests)) == ([], [])


WORKBENCH = "workbench-ui-workbench-page-availability"
LATE_DAY = "2026-11-03"
LATE_FILE = f"slo/workbench-ui/{LATE_DAY}.jsonl"


def _workbench_events(run: Run) -> int:
    """The events in the budget window of the Workbench SLO's last evaluation."""
    [row] = run.warehouse.query(
        "SELECT total_events FROM slo_status WHERE slo_name = @name "
        "AND evaluation_time >= @since ORDER BY evaluation_time DESC LIMIT 1",
        {"name": WORKBENCH, "since": datetime(2026, 11, 5, tzinfo=UTC)},
    ).to_pylist()
    return row["total_events"]


@dataclass(frozen=True)
class Again:
    """A later `cicl.py run` on a first run's warehouse, what was measured just before it and
    the warehouse's fingerprint just after it (None: not measured)."""

    before: Any
    run: Run
    after: Any = None


@pytest.fixture(scope="module")
def later_runs(runs, small_demo_zone) -> dict[str, Again | None]:
    """The module's last tests' runs: each engine's second run, the two engines at once, and on
    DuckDB after its second run the run after a late SLO file lands (None: the first failed)."""

    def second(engine: str) -> Again | None:
        first = runs[engine]
        if first.returncode != 0:
            return None
        before = warehouse_fingerprint(first.warehouse)
        again = cicl_run(first.env)
        # Taken here: on DuckDB the late file's run changes the warehouse next.
        after = warehouse_fingerprint(again.warehouse) if again.returncode == 0 else None
        return Again(before, again, after)

    def duckdb_second_then_late() -> dict[str, Again | None]:
        done = {"duckdb": second("duckdb")}
        run = runs["duckdb"]
        if run.returncode != 0:
            return {**done, "late": None}
        before = _workbench_events(run)
        zone = Path(run.env["CICL_LANDING_URI"])
        shutil.copy2(small_demo_zone.parent / "full" / LATE_FILE, zone / LATE_FILE)
        return {**done, "late": Again(before, cicl_run(run.env))}

    with ThreadPoolExecutor(2) as pool:
        bigquery = pool.submit(second, "bigquery")
        duckdb = pool.submit(duckdb_second_then_late)
        return {"bigquery": bigquery.result(), **duckdb.result()}


@pytest.mark.parametrize("engine", ["duckdb", "bigquery"])
def test_a_second_run_reads_no_landing_file_and_changes_no_table(runs, later_runs, engine):
    """Last but one in this module: `cicl.py run` again on each engine's warehouse."""
    succeeded(runs[engine])
    again = later_runs[engine]
    succeeded(again.run)
    assert (
        "landing files: 53 listed, 0 read (0 ingested, 0 rejected), 53 unchanged and not read"
        in again.run.stdout.splitlines()
    )
    assert "slo_status days evaluated: none" in again.run.stdout.splitlines()
    assert differences(again.before, again.after) == []


def test_a_late_slo_file_re_evaluates_its_day_and_the_days_whose_windows_cover_it(
    runs, later_runs, small_demo_zone
):
    """Last in this module: the demo's slo/ report of a day before the zone's spans lands after
    the other runs. Its day is recounted, and slo_status is evaluated again from that day
    through the data's last day (every later day's 30-day budget window covers it)."""
    succeeded(runs["duckdb"])
    late = later_runs["late"]
    succeeded(late.run)
    lines = late.run.stdout.splitlines()
    assert (
        "landing files: 54 listed, 1 read (1 ingested, 0 rejected), 53 unchanged and not read"
        in lines
    )
    assert f"slo_status days evaluated: {LATE_DAY}..2026-11-05" in lines
    # The Workbench's hourly reports (its shortest policy step) of that day now count.
    report = small_demo_zone.parent / "full" / LATE_FILE
    hourly = [
        json.loads(line)
        for line in report.read_text().splitlines()
        if json.loads(line)["window"] == 3600
    ]
    added = sum(
        r["good_events_count"] + r["bad_events_count"]
        for r in hourly
        if r["slo_name"] == "page-availability"
    )
    assert (added > 0, _workbench_events(late.run) - late.before) == (True, added)
