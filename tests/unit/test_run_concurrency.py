"""The run queue's tags: which jobs append to the audit chain and which table families they write,
and the production instance configs that limit them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

import definitions
from jobs.concurrency import (
    CHAIN_APPENDERS,
    CHAIN_TAG,
    concurrency_tags,
    only_concurrency_tags,
)
from sensors.landing import WATCHED_FOLDERS, assets_fed_by

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [
    ROOT / "deploy" / "dagster" / "dagster.yaml",
    ROOT / "deploy" / "dagster" / "dagster-vm.yaml",
]
GRAPH = definitions.defs.resolve_asset_graph()

W = "cicl/writes-"
EXPECTED_JOB_TAGS = {
    "landing_batch": [
        CHAIN_TAG,
        f"{W}audit",
        f"{W}ci",
        f"{W}compliance",
        f"{W}deployments",
        f"{W}feedback",
        f"{W}infra",
        f"{W}slo",
        f"{W}telemetry",
    ],
    "telemetry_ingest": [f"{W}telemetry"],
    "delivery_daily": [f"{W}delivery"],
    "ci_ingest": [f"{W}ci"],
    "infra_ingest": [CHAIN_TAG, f"{W}infra"],
    "deployments_ingest": [f"{W}deployments"],
    "cl_evaluation": [CHAIN_TAG, f"{W}learning"],
    "routing_by_day": [f"{W}learning"],
    "cl_regression_days": [f"{W}learning"],
    "slo_counts_by_day": [f"{W}slo"],
    "slo_status_by_day": [f"{W}slo"],
    "refresh_candidates": [CHAIN_TAG, f"{W}review"],
    "review_candidate": [CHAIN_TAG, f"{W}review"],
    "compliance_reports": [f"{W}compliance"],
    "release_improvements": [CHAIN_TAG, f"{W}review"],
    "measure_outcomes": [CHAIN_TAG, f"{W}learning"],
}

EXPECTED_LANDING_TAGS = {
    "otel": [f"{W}telemetry"],
    "slo": [f"{W}slo"],
    "audit": [CHAIN_TAG, f"{W}audit", f"{W}compliance"],
    "ci": [CHAIN_TAG, f"{W}ci", f"{W}compliance", f"{W}deployments"],
    "infra": [CHAIN_TAG, f"{W}compliance", f"{W}infra"],
    "deployments": [CHAIN_TAG, f"{W}compliance", f"{W}deployments"],
    "feedback": [f"{W}feedback"],
}


def _job(name: str):
    return definitions.defs.resolve_job_def(name)


@pytest.mark.parametrize("name", sorted(EXPECTED_JOB_TAGS))
def test_each_job_declares_the_families_it_writes_and_whether_it_appends(name):
    job = _job(name)
    assert sorted(only_concurrency_tags(dict(job.tags))) == EXPECTED_JOB_TAGS[name]
    # The declaration is what the job's assets say.
    selected = job.asset_layer.selected_asset_keys
    assert only_concurrency_tags(dict(job.tags)) == concurrency_tags(selected, GRAPH)


def test_every_job_is_listed():
    jobs = {j.name for j in definitions.defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert jobs == set(EXPECTED_JOB_TAGS)


def test_the_chain_appenders_are_assets_of_the_code_location():
    keys = {k.to_user_string() for k in GRAPH.get_all_asset_keys()}
    assert set(CHAIN_APPENDERS) <= keys


@pytest.mark.parametrize("folder", WATCHED_FOLDERS, ids=lambda f: f.prefix)
def test_the_landing_sensors_runs_carry_the_tags_of_their_assets(folder):
    keys = [k for k in assets_fed_by(folder).resolve(GRAPH) if not GRAPH.get(k).is_partitioned]
    assert sorted(concurrency_tags(keys, GRAPH)) == EXPECTED_LANDING_TAGS[folder.prefix]


def test_a_tick_tags_each_request(tmp_path):
    from cicl_assets.landing.zone import LandingZone
    from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
    from sensors.landing import landing_arrivals_sensor

    (tmp_path / "zone" / "audit").mkdir(parents=True)
    (tmp_path / "zone" / "audit" / "a.jsonl").write_text("{}\n")
    defs = dg.Definitions(
        assets=[a for d in definitions.DOMAINS for a in d.ASSETS],
        sensors=[landing_arrivals_sensor],
        resources={
            **definitions.defs.resources,
            "landing": LandingZone(uri=str(tmp_path / "zone")),
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
        },
    )
    from sensors.in_process import evaluate_sensor

    with dg.instance_for_test() as instance:
        [request] = evaluate_sensor(defs, instance, "landing_arrivals_sensor")
    assert sorted(only_concurrency_tags(dict(request.tags))) == EXPECTED_LANDING_TAGS["audit"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_the_instance_limits_every_tag_to_one_run(path):
    config = yaml.safe_load(path.read_text())
    coordinator = config["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    limits = coordinator["config"]["tag_concurrency_limits"]
    groups = {GRAPH.get(k).group_name for k in GRAPH.get_all_asset_keys()}
    assert sorted(limit["key"] for limit in limits) == sorted(
        [CHAIN_TAG, *(f"{W}{g}" for g in groups)]
    )
    assert {limit["limit"] for limit in limits} == {1}
    assert all("value" not in limit for limit in limits)  # any value of the key counts
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    assert set(config["storage"]["postgres"]["postgres_db"]) == {
        "hostname",
        "port",
        "db_name",
        "username",
        "password",
        "scheme",
    }


def test_the_two_configs_differ_only_in_how_runs_are_launched():
    prod, vm = (yaml.safe_load(p.read_text()) for p in CONFIGS)
    assert prod["storage"] == vm["storage"]
    assert (
        prod["run_coordinator"]["config"]["tag_concurrency_limits"]
        == vm["run_coordinator"]["config"]["tag_concurrency_limits"]
    )
    assert prod["run_launcher"]["class"] == "K8sRunLauncher"
    assert vm["run_launcher"]["class"] == "DefaultRunLauncher"
