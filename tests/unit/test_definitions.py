"""The code location loads, and every asset carries what the UI and its users rely on."""

import json
import os
from pathlib import Path

import dagster as dg

import definitions

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")

JOBS = {
    "landing_batch",
    "telemetry_ingest",
    "ci_ingest",
    "infra_ingest",
    "deployments_ingest",
    "cl_evaluation",
    "cl_regression_days",
    "delivery_daily",
    "slo_counts_by_day",
    "slo_status_by_day",
    "routing_by_day",
    "refresh_candidates",
    "compliance_reports",
    "review_candidate",
    "release_improvements",
    "measure_outcomes",
}
SENSORS = {
    "landing_arrivals_sensor",
    "slo_breach_sensor",
    "slo_partitions_sensor",
    "regression_partitions_sensor",
    "review_queue_sensor",
    "default_automation_condition_sensor",
}


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def _partitions(node) -> str | None:
    return None if node.partitions_def is None else type(node.partitions_def).__name__


def _asset_facts() -> dict[str, dict]:
    graph = definitions.defs.resolve_asset_graph()
    facts = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        facts[key.to_user_string()] = {
            "group": node.group_name,
            "owners": sorted(node.owners),
            "kinds": sorted(node.kinds),
            "partitions": _partitions(node),
            "automation": node.automation_condition.get_label()
            if node.automation_condition
            else None,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "description": _first_line(node.description),
        }
    return facts


def _job_facts() -> dict[str, list[str]]:
    repo = definitions.defs.get_repository_def()
    return {
        job.name: sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
        for job in sorted(repo.get_all_jobs(), key=lambda j: j.name)
        if not job.name.startswith("__")
    }


def _facts() -> dict[str, dict]:
    return {"assets": _asset_facts(), "jobs": _job_facts()}


def test_definitions_load_with_exactly_the_jobs_and_sensors_users_run():
    dg.Definitions.validate_loadable(definitions.defs)
    repo = definitions.defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")} == JOBS
    assert {s.name for s in repo.sensor_defs} == SENSORS


def test_every_asset_states_its_grain_and_has_group_owner_and_kind():
    graph = definitions.defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.group_name and node.group_name != "default", name
        assert node.owners, f"{name} has no owner"
        assert node.kinds, f"{name} has no kinds"
        # The grain: what one row of the asset's table is.
        assert _first_line(node.description).startswith("One row per "), name


def test_asset_graph_and_job_selections_match_the_snapshot():
    """Renaming, regrouping or rewiring an asset, or changing what a job runs, breaks analysts'
    bookmarks and schedules: it must be a deliberate change.

    Regenerate with `UPDATE_SNAPSHOT=1 make test` after such a change.
    """
    facts = _facts()
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), f"{SNAPSHOT.name} is missing: run UPDATE_SNAPSHOT=1 make test"
    expected = json.loads(SNAPSHOT.read_text())
    assert sorted(facts["assets"]) == sorted(expected["assets"])
    for name, asset in facts["assets"].items():
        assert asset == expected["assets"][name], name
    assert facts["jobs"] == expected["jobs"]
