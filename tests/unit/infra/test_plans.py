import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.infra.plans import changed_attributes, normalise_actions
from cicl_assets.ingest.content import ParseError
from tests.unit.infra.fixtures import FIXTURES, parse_fixture, parse_infra

# file -> (changes per normalised action, drift rows, check results per status, errored,
#          refresh-only); counted by reading each file.
CORPUS_PLANS = {
    "opentofu-eqtest-drift_refresh_only__plan.json": ({}, 1, {}, False, True),
    "opentofu-showjson-conditions__output-refresh-only.json": (
        {},
        0,
        {"pass": 1, "fail": 2},
        False,
        True,
    ),
    "opentofu-showjson-plan-error__output.json": ({}, 0, {}, True, False),
    "opentofu-showjson-requires-replace__output.json": ({"replace": 1}, 0, {}, False, False),
    "tfjson-110_sensitive_values__plan.json": ({"create": 7}, 0, {}, False, False),
    "tfjson-120_basic__plan.json": ({"create": 7}, 0, {}, False, False),
    "tfjson-action_reason__plan.json": ({"replace": 1}, 0, {}, False, False),
    "tfjson-has_checks__plan.json": ({"create": 2}, 0, {"pass": 1}, False, False),
    "tfjson-moved_block__plan.json": ({"no-op": 1}, 0, {}, False, False),
    "tfvalidator__example_container_cluster.tfplan.json": ({"create": 3}, 0, {}, False, False),
    "tfvalidator__example_project_update.tfplan.json": ({"update": 1}, 0, {}, False, False),
    "tfvalidator__full_sql_database_instance.tfplan.json": ({"create": 4}, 0, {}, False, False),
    "tgc__empty-0.13.7.tfplan.json": ({}, 0, {}, False, False),
}


def test_every_corpus_plan_is_in_the_table():
    on_disk = {p.name for p in FIXTURES.glob("*.json") if not p.name.startswith("cicl-")}
    assert on_disk == set(CORPUS_PLANS)


@pytest.mark.parametrize("name", sorted(CORPUS_PLANS))
def test_corpus_plan(name):
    actions, drift, checks, errored, refresh_only = CORPUS_PLANS[name]
    fmt, tables = parse_fixture(name, "prod")
    assert fmt == "tofu-show-json-plan"
    [plan] = tables["infra_plans"]
    changes = [r for r in tables["infra_plan_changes"] if not r["is_drift"]]
    drifted = [r for r in tables["infra_plan_changes"] if r["is_drift"]]
    assert dict(Counter(r["actions"] for r in changes)) == actions
    assert len(drifted) == drift
    assert dict(Counter(r["status"] for r in tables["infra_plan_checks"])) == checks
    assert plan["errored"] is errored
    assert plan["is_refresh_only"] is refresh_only
    assert plan["environment"] == "production"  # "prod" in the path is normalised
    assert plan["resource_changes"] == sum(actions.values())
    assert plan["drift_changes"] == drift
    for action, n in actions.items():
        column = {"no-op": "noop_count"}.get(action, f"{action}_count")
        assert plan[column] == n
    assert plan["checks_failed"] == checks.get("fail", 0)
    assert plan["plan_id"].startswith("sha256:") and len(plan["plan_id"]) == 71
    assert all(r["plan_id"] == plan["plan_id"] for r in tables["infra_plan_changes"])
    # a refresh-only plan is a drift check too, even one that found nothing
    assert len(tables.get("infra_drift_checks", [])) == (1 if refresh_only else 0)
    assert len(tables.get("infra_drift_observations", [])) == (drift if refresh_only else 0)


def test_replace_keeps_order_reason_and_paths():
    _, tables = parse_fixture("opentofu-showjson-requires-replace__output.json")
    [row] = tables["infra_plan_changes"]
    assert row["actions"] == "replace"
    assert row["replace_order"] == "delete_before_create"
    assert json.loads(row["raw_actions"]) == ["delete", "create"]
    assert row["action_reason"] == "replace_because_cannot_update"
    assert json.loads(row["replace_paths"]) == [["ami"]]
    assert json.loads(row["changed_attributes"]) == ["ami", "id"]


def test_tainted_replace_and_plan_timestamp_sets_expiry():
    _, tables = parse_fixture("tfjson-action_reason__plan.json")
    [plan] = tables["infra_plans"]
    assert plan["planned_at"] == datetime(2026, 6, 16, 10, 21, 47, tzinfo=UTC)
    assert plan["expires_at"] == plan["planned_at"] + timedelta(days=30)
    assert plan["retention_basis"] == "planned_at"
    [row] = tables["infra_plan_changes"]
    assert row["action_reason"] == "replace_because_tainted"


def test_moved_block_keeps_previous_address():
    _, tables = parse_fixture("tfjson-moved_block__plan.json")
    [row] = tables["infra_plan_changes"]
    assert (row["address"], row["previous_address"]) == ("random_id.test2", "random_id.test")
    assert row["actions"] == "no-op"
    assert json.loads(row["changed_attributes"]) == []


def test_module_address_index_and_provider():
    _, tables = parse_fixture("tfjson-120_basic__plan.json")
    rows = {r["address"]: r for r in tables["infra_plan_changes"]}
    assert rows["module.foo.null_resource.aliased"]["module_address"] == "module.foo"
    assert rows["null_resource.baz[1]"]["index_key"] == "1"
    assert rows["null_resource.baz[1]"]["provider_name"] == "registry.terraform.io/hashicorp/null"
    assert rows["null_resource.foo"]["mode"] == "managed"


def test_sensitive_flags_and_values_never_copied():
    _, tables = parse_fixture("tfjson-has_checks__plan.json")
    assert [r["sensitive"] for r in tables["infra_plan_changes"]] == [True, True]
    _, basic = parse_fixture("tfjson-110_sensitive_values__plan.json")
    assert not any(r["sensitive"] for r in basic["infra_plan_changes"])
    # the update changes the project's name; only the attribute name is kept, not "My New Project"
    _, update = parse_fixture("tfvalidator__example_project_update.tfplan.json")
    [row] = update["infra_plan_changes"]
    assert json.loads(row["changed_attributes"]) == ["name"]
    assert "My New Project" not in json.dumps(row, default=str)


def test_check_blocks_and_condition_results():
    _, tables = parse_fixture("tfjson-has_checks__plan.json")
    [check] = tables["infra_plan_checks"]
    assert (check["address"], check["kind"], check["status"], check["instances"]) == (
        "module.files.local_file.foo",
        "resource",
        "pass",
        2,
    )
    _, cond = parse_fixture("opentofu-showjson-conditions__output-refresh-only.json")
    by_address = {c["address"]: c for c in cond["infra_plan_checks"]}
    assert by_address["test_instance.foo"]["kind"] == "ResourcePrecondition"
    assert json.loads(by_address["test_instance.foo"]["problems"]) == [
        'Invalid AMI ID: must start with "ami-".'
    ]
    assert by_address["output.foo_id"]["status"] == "pass"


def test_refresh_only_drift_becomes_a_drift_observation():
    _, tables = parse_fixture("opentofu-eqtest-drift_refresh_only__plan.json", "staging")
    [drift_row] = tables["infra_plan_changes"]
    assert drift_row["is_drift"] and drift_row["actions"] == "update"
    assert json.loads(drift_row["changed_attributes"]) == ["string"]
    [check] = tables["infra_drift_checks"]
    [obs] = tables["infra_drift_observations"]
    assert check["environment"] == obs["environment"] == "staging"
    assert check["drifted_resources"] == 1
    assert obs["address"] == "tfcoremock_simple_resource.drift"
    assert obs["provider"] == "registry.opentofu.org/hashicorp/tfcoremock"
    assert json.loads(obs["changed_attributes"]) == ["string"]


def test_empty_plan_is_one_plan_with_no_changes():
    _, tables = parse_fixture("tgc__empty-0.13.7.tfplan.json")
    [plan] = tables["infra_plans"]
    assert plan["terraform_version"] == "0.13.7"
    assert plan["resource_changes"] == 0 and tables["infra_plan_changes"] == []
    assert plan["retention_basis"] == "ingested_at"


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (["create"], ("create", None)),
        (["delete", "create"], ("replace", "delete_before_create")),
        (["create", "delete"], ("replace", "create_before_destroy")),
        (["no-op"], ("no-op", None)),
        (["read"], ("read", None)),
        (["create", "forget"], ("create+forget", None)),
    ],
)
def test_normalise_actions(actions, expected):
    assert normalise_actions(actions) == expected


def test_changed_attributes_counts_unknown_after_apply():
    change = {
        "before": {"a": 1, "b": 2, "c": None},
        "after": {"a": 1, "b": 3, "c": None},
        "after_unknown": {"d": True, "e": {"x": False}},
    }
    assert changed_attributes(change) == ["b", "d"]
    assert changed_attributes({"before": {"a": 1, "b": None}, "after": None}) == ["a"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"format_version": "1.2", "planned_values": {', "invalid JSON"),
        (b'{"format_version": "1.2", "resource_changes": {"a": 1}}', "must be a list"),
        (
            b'{"format_version": "1.2", "resource_changes": [{"address": "x.y"}]}',
            "resource_changes[0] (x.y): missing or malformed 'change.actions'",
        ),
        (b'{"format_version": "1.2", "resource_changes": [7]}', "resource_changes[0]"),
        (
            b'{"format_version": "1.2", "planned_values": {}, "timestamp": "yesterday"}',
            "timestamp",
        ),
    ],
)
def test_broken_plans_raise_actionable_errors(data, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_infra(data, "infra/dev/plan.json")


def test_binary_plan_is_refused_with_advice():
    data = b"PK\x03\x04" + b"\x00" * 26 + b"tfplan" + b"\x00" * 40
    with pytest.raises(ParseError, match="tofu show -json"):
        parse_infra(data, "infra/dev/tfplan")


def test_key_sorted_plan_with_a_large_configuration_is_still_recognised():
    resources = [{"address": f"null_resource.r{i}", "mode": "managed"} for i in range(2000)]
    doc = {
        "configuration": {"root_module": {"resources": resources}},
        "format_version": "1.2",
        "planned_values": {"root_module": {}},
        "resource_changes": [
            {"address": "null_resource.r1", "change": {"actions": ["delete"], "before": {"a": 1}}}
        ],
    }
    data = json.dumps(doc, sort_keys=True).encode()
    assert data.index(b'"format_version"') > 65536
    fmt, tables = parse_infra(data, "infra/dev/plan.json")
    assert fmt == "tofu-show-json-plan"
    assert [r["actions"] for r in tables["infra_plan_changes"]] == ["delete"]
