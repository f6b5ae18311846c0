import json
from datetime import UTC, datetime

import pytest

from cicl_assets.infra.drift import derive_drift, drift_issue_id
from cicl_assets.ingest.content import ParseError
from tests.unit.infra.fixtures import parse_fixture, parse_infra

DAYS = ("2026-11-03", "2026-11-04", "2026-11-05")


def _three_days():
    checks, observations = [], []
    for day in DAYS:
        name = f"cicl-drift-{day}.json"
        fmt, tables = parse_fixture(name)
        assert fmt == "cicl.drift_check/v1"
        for row in tables["infra_drift_checks"]:
            checks.append({**row, "source_file": f"infra/production/{name}"})
        for row in tables.get("infra_drift_observations", []):
            observations.append({**row, "source_file": f"infra/production/{name}"})
    return checks, observations


def test_drift_check_rows():
    _, tables = parse_fixture("cicl-drift-2026-11-03.json")
    [check] = tables["infra_drift_checks"]
    assert check["checked_at"] == datetime(2026, 11, 3, 6, tzinfo=UTC)
    assert (check["environment"], check["workspace"], check["drifted_resources"]) == (
        "production",
        "gke-prod",
        2,
    )
    obs = {o["address"]: o for o in tables["infra_drift_observations"]}
    pool = obs["google_container_node_pool.primary"]
    assert json.loads(pool["changed_attributes"]) == ["node_count"]
    assert pool["drift_issue_id"] == drift_issue_id("production", pool["address"])


def test_same_drift_on_several_days_is_one_issue_and_later_checks_resolve():
    checks, observations = _three_days()
    drift, issues = derive_drift(checks, observations)
    assert len(drift) == 3  # two resources on day 1, one on day 2, none on day 3
    by_address = {i["address"]: i for i in issues}
    assert len(issues) == 2
    pool = by_address["google_container_node_pool.primary"]
    bucket = by_address["google_storage_bucket.evidence"]
    assert pool["occurrences"] == 2
    assert pool["opened_at"] == datetime(2026, 11, 3, 6, tzinfo=UTC)
    assert pool["last_seen_at"] == datetime(2026, 11, 4, 6, tzinfo=UTC)
    assert (pool["status"], pool["resolved_at"]) == (
        "resolved",
        datetime(2026, 11, 5, 6, tzinfo=UTC),
    )
    assert (bucket["status"], bucket["resolved_at"]) == (
        "resolved",
        datetime(2026, 11, 4, 6, tzinfo=UTC),
    )
    pool_rows = [d for d in drift if d["address"] == pool["address"]]
    assert {d["drift_issue_id"] for d in pool_rows} == {pool["drift_issue_id"]}
    assert {d["first_seen_at"] for d in pool_rows} == {pool["opened_at"]}


def test_issue_ids_are_stable_across_days_and_derivations():
    checks, observations = _three_days()
    _, first = derive_drift(checks[:1], observations[:2])
    _, later = derive_drift(checks, observations)
    assert {i["drift_issue_id"] for i in first} == {i["drift_issue_id"] for i in later}
    assert drift_issue_id("production", "a.b") == drift_issue_id("production", "a.b")
    assert drift_issue_id("production", "a.b") != drift_issue_id("staging", "a.b")


def test_without_a_later_check_the_issue_stays_open():
    checks, observations = _three_days()
    _, issues = derive_drift(checks[:2], observations)
    by_address = {i["address"]: i for i in issues}
    assert by_address["google_container_node_pool.primary"]["status"] == "open"
    assert by_address["google_storage_bucket.evidence"]["status"] == "resolved"


def test_a_check_of_another_environment_resolves_nothing():
    checks, observations = _three_days()
    staging_check = {**checks[2], "environment": "staging", "check_id": "s"}
    _, issues = derive_drift([checks[0], checks[1], staging_check], observations)
    assert {i["status"] for i in issues if i["address"].startswith("google_container")} == {"open"}


def test_drift_check_json_lines_and_path_environment():
    lines = (
        b'{"kind": "cicl.drift_check/v1", "checked_at": "2026-11-03T06:00:00Z", "drifted": []}\n'
        b'{"kind": "cicl.drift_check/v1", "checked_at": "2026-11-04T06:00:00Z", "drifted": '
        b'[{"address": "x.y", "actions": ["delete"]}]}\n'
    )
    _, tables = parse_infra(lines, "infra/stg/drift.jsonl")
    assert [c["environment"] for c in tables["infra_drift_checks"]] == ["staging", "staging"]
    assert [o["address"] for o in tables["infra_drift_observations"]] == ["x.y"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"kind": "cicl.drift_check/v1", "drifted": {"a": 1}}', "'drifted' must be a list"),
        (b'{"kind": "cicl.drift_check/v1", "drifted": [{"type": "t"}]}', "drifted[0] has no"),
        (b'{"kind": "cicl.drift_check/v1", "checked_at": "never"}', "checked_at"),
        (b'{"kind": "cicl.drift_check/v1"}\n{"kind": "other"}\n', "line 2: not a cicl"),
        (b'{"kind": "cicl.drift_check/v1", "drifted": [\n', "invalid JSON"),
    ],
)
def test_broken_drift_checks(data, message):
    with pytest.raises(ParseError, match=message.replace("[", r"\[")):
        parse_infra(data, "infra/production/drift.json")
