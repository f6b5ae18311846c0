"""The candidate_review asset writes a decision as a row, an audit-chain event and the
candidate's status, on both warehouses; a refused decision fails the run and writes nothing."""

from __future__ import annotations

import dagster as dg
import pytest

from cicl_assets.audit.chain import read_chain, verify_chain
from cicl_assets.resources import CiclConfig
from cicl_assets.review.assets import candidate_review
from cicl_assets.review.queue import CANDIDATE_PARTITIONS
from tests.unit.review.rows import ROUTING, WORKFLOW, candidate, write_candidates, write_reviewers


@pytest.fixture
def gate(tmp_path, monkeypatch, any_warehouse):
    """A warehouse holding two open candidates, their partitions, the gate's settings."""
    config_dir = write_reviewers(tmp_path / "config")
    for name in list(__import__("os").environ):
        if name.startswith("CICL_") and name != "CICL_EMULATOR_CACHE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CICL_CONFIG_DIR", str(config_dir))
    write_candidates(
        any_warehouse,
        [candidate(ROUTING, "provider_routing"), candidate(WORKFLOW, "workflow_template")],
    )
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(CANDIDATE_PARTITIONS, [ROUTING, WORKFLOW])
    config = CiclConfig(
        config_dir=str(config_dir),
        outbox_uri=str(tmp_path / "outbox"),
        trust_file=str(tmp_path / "no-trust.yaml"),
    )
    return any_warehouse, instance, config


def review(gate, cid, decision, reviewer, why, tags=None, resources=None):
    warehouse, instance, cicl_config = gate
    return dg.materialize(
        [candidate_review],
        resources={"warehouse": warehouse, "cicl_config": cicl_config},
        instance=instance,
        partition_key=cid,
        run_config={
            "ops": {
                "candidate_review": {
                    "config": {"decision": decision, "reviewer": reviewer, "justification": why}
                }
            },
            **({"resources": resources} if resources else {}),
        },
        tags=tags,
        raise_on_error=False,
    )


def refusal(result) -> str:
    [failure] = [e for e in result.all_events if e.is_step_failure]
    return failure.step_failure_data.user_failure_data.description


def state(warehouse):
    decisions = (
        warehouse.query(
            "SELECT candidate_id, reviewer, decision, candidate_status_after, "
            "authenticated_identity, identity_source, audit_event_hash FROM candidate_decisions "
            "ORDER BY decided_at"
        ).to_pylist()
        if warehouse.table_exists("candidate_decisions")
        else []
    )
    statuses = {
        r["candidate_id"]: (r["status"], r["status_reason"])
        for r in warehouse.query(
            "SELECT candidate_id, status, status_reason FROM improvement_candidates"
        ).to_pylist()
    }
    chain = read_chain(warehouse)
    return decisions, statuses, chain


def test_two_reviewers_approve_production_routing_and_each_decision_is_chained(gate):
    warehouse = gate[0]
    first = review(gate, ROUTING, "approve", "dana", "anthropic is 2.5x slower since 1.8.0")
    assert first.success
    meta = first.asset_materializations_for_node("candidate_review")[0].metadata
    assert (meta["candidate_status_after"].value, meta["approvals"].value) == ("open", "1/2 (dana)")
    assert meta["authenticated_identity"].value == (
        "none: nothing proves who typed the reviewer name"
    )
    assert "routing/model_groups.yaml" in meta["candidate"].value
    second = review(
        gate,
        ROUTING,
        "approve",
        "lee",
        "openai holds quality",
        {"dagster/user": "lee@coditect.example"},
    )
    assert second.success
    decisions, statuses, chain = state(warehouse)
    assert [
        (
            d["reviewer"],
            d["candidate_status_after"],
            d["authenticated_identity"],
            d["identity_source"],
        )
        for d in decisions
    ] == [
        ("dana", "open", None, None),
        ("lee", "approved", "lee@coditect.example", "dagster/user"),
    ]
    assert statuses[ROUTING] == ("approved", "approved by dana, lee")
    assert statuses[WORKFLOW] == ("open", None)
    assert [(e["action"], e["actor"], e["resource"]) for e in chain] == [
        ("candidate_approve", "dana", f"improvement_candidates/{ROUTING}"),
        ("candidate_approve", "lee", f"improvement_candidates/{ROUTING}"),
    ]
    assert [d["audit_event_hash"] for d in decisions] == [e["hash"] for e in chain]
    assert verify_chain(chain).ok


def test_a_refused_decision_fails_the_run_and_writes_nothing(gate):
    warehouse = gate[0]
    assert review(gate, WORKFLOW, "reject", "lee", "the old template scored better").success
    before = state(warehouse)
    result = review(gate, WORKFLOW, "approve", "dana", "fine by me")
    assert not result.success
    assert refusal(result) == (
        f"Decision refused, nothing recorded: candidate {WORKFLOW} is already rejected "
        "(rejected by lee: the old template scored better): nothing is left to decide"
    )
    assert state(warehouse) == before


def test_run_config_cannot_change_the_gate_rules(gate, tmp_path):
    """What the launchpad lets anyone edit: the resources' config."""
    warehouse = gate[0]
    mine = write_reviewers(tmp_path / "mine", "  - name: mallory\n    kinds: ['*']\n")
    edited = {"cicl_config": {"config": {"config_dir": str(mine)}}}
    result = review(gate, WORKFLOW, "approve", "mallory", "trust me", resources=edited)
    assert refusal(result) == (
        "Decision refused, nothing recorded: the run's cicl_config changes config_dir from the "
        "deployment's settings; the gate's rules are the deployment's: materialize without "
        "editing the resources"
    )
    assert state(warehouse)[0] == []
