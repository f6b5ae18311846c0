"""The review queue: the refresh run gives each open candidate its partition and page, the
policy approves what reviewers.yaml lets it, and the sensor keeps the queue current."""

from __future__ import annotations

import dagster as dg
import pytest

from cicl_assets.candidates.assets import improvement_candidates
from cicl_assets.resources import CiclConfig
from cicl_assets.review.policy import load_review_policy
from cicl_assets.review.queue import CANDIDATE_PARTITIONS, plan_sync
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.platform_repo import write_platform_repo
from sensors.review_queue import review_queue_sensor
from tests.unit.candidates.scenario import write_stories
from tests.unit.review.rows import ROUTING, WORKFLOW, candidate, write_candidates, write_reviewers


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """The demo's stories refreshed once, with runbooks approved by policy."""
    tmp = tmp_path_factory.mktemp("queue")
    write_platform_repo(tmp / "repo")
    warehouse = DuckDBWarehouse(path=str(tmp / "w.duckdb"))
    write_stories(warehouse)
    config = CiclConfig(
        config_dir=str(write_reviewers(tmp / "config", "auto_approve: [runbook]\n")),
        platform_repo_uri=str(tmp / "repo"),
        state_dir=str(tmp),
        outbox_uri=str(tmp / "outbox"),
        trust_file=str(tmp / "no-trust.yaml"),
    )
    instance = dg.DagsterInstance.ephemeral()
    resources = {"warehouse": warehouse, "cicl_config": config}
    first = dg.materialize([improvement_candidates], resources=resources, instance=instance)
    again = dg.materialize([improvement_candidates], resources=resources, instance=instance)
    return warehouse, instance, first, again, config


def test_each_open_candidate_gets_a_partition_and_runbooks_are_approved_by_policy(refreshed):
    warehouse, instance, first, again, _ = refreshed
    rows = warehouse.query(
        "SELECT candidate_id, kind, status FROM improvement_candidates ORDER BY kind"
    ).to_pylist()
    open_ids = sorted(r["candidate_id"] for r in rows if r["status"] == "open")
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("provider_routing", "open"),
        ("runbook", "approved"),
        ("test_quarantine", "open"),
        ("workflow_template", "open"),
        ("workflow_template", "open"),
        ("workflow_template", "open"),
    ]
    assert sorted(instance.get_dynamic_partitions(CANDIDATE_PARTITIONS)) == open_ids
    meta = first.asset_materializations_for_node("improvement_candidates")[0].metadata
    assert (meta["approved_by_policy"].value, meta["review_partitions_added"].value) == (1, 5)
    meta = again.asset_materializations_for_node("improvement_candidates")[0].metadata
    assert (meta["approved_by_policy"].value, meta["review_partitions_added"].value) == (0, 0)
    [policy] = warehouse.query("SELECT * FROM candidate_decisions").to_pylist()
    assert (policy["decided_by"], policy["reviewer"], policy["kind"]) == (
        "policy",
        "policy:auto_approve",
        "runbook",
    )
    [event] = warehouse.query("SELECT action, actor, hash FROM audit_events").to_pylist()
    assert (event["action"], event["actor"], event["hash"]) == (
        "candidate_approve",
        "policy:auto_approve",
        policy["audit_event_hash"],
    )


def test_each_partition_shows_its_candidate(refreshed):
    instance = refreshed[1]
    records = instance.fetch_observations(dg.AssetKey("candidate_review"), limit=20).records
    pages = {r.partition_key: r.asset_observation.metadata for r in records}
    assert sorted(pages) == sorted(instance.get_dynamic_partitions(CANDIDATE_PARTITIONS))
    [routing] = [p for p in pages.values() if p["kind"].value == "provider_routing"]
    assert routing["approvals"].value == "0/2"
    assert routing["who_may_decide"].value == "dana, lee"
    page = routing["candidate"].value
    assert "```diff\ndiff --git a/routing/model_groups.yaml" in page
    assert "![findings the candidate rests on](data:image/png;base64," in page


def test_the_sensor_adds_new_candidates_and_removes_decided_ones(tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    write_candidates(
        warehouse,
        [
            candidate(ROUTING, "provider_routing"),
            candidate(WORKFLOW, "workflow_template", "approved"),
        ],
    )
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(CANDIDATE_PARTITIONS, [WORKFLOW])
    config = CiclConfig(config_dir=str(write_reviewers(tmp_path / "config")))
    context = dg.build_sensor_context(
        instance=instance, resources={"warehouse": warehouse, "cicl_config": config}
    )
    result = review_queue_sensor(context)
    [add, remove] = result.dynamic_partitions_requests
    assert (add.partition_keys, remove.partition_keys) == ([ROUTING], [WORKFLOW])
    assert [o.partition for o in result.asset_events] == [ROUTING]
    instance.add_dynamic_partitions(CANDIDATE_PARTITIONS, [ROUTING])
    instance.delete_dynamic_partition(CANDIDATE_PARTITIONS, WORKFLOW)
    current = plan_sync(warehouse, [ROUTING], load_review_policy(tmp_path / "config"))
    assert (current.add, current.remove, current.observations) == ([], [], [])
    assert review_queue_sensor(context).skip_reason.skip_message == "the review queue is current"
