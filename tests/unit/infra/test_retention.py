from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from cicl_assets.infra.retention import apply_retention, delete_expired
from cicl_assets.infra.retention_policy import (
    APPLY_LOG_DAYS,
    PERMANENT_TABLES,
    PLAN_ARTIFACT_DAYS,
    RETENTION_ALLOW_LIST,
    RetentionPolicy,
    RetentionRefused,
    checked_table,
    choose_as_of,
    load_policy,
    policy_from_mapping,
    retention_audit_events,
)
from cicl_assets.infra.tables import INFRA_APPLY_LOGS, INFRA_DRIFT_ISSUES, INFRA_PLANS

POLICY_FILE = Path(__file__).resolve().parents[3] / "config" / "policies" / "retention.yaml"
AS_OF = datetime(2026, 11, 6, tzinfo=UTC)


def test_shipped_policy_matches_the_periods_rows_are_stamped_with():
    policy = load_policy(POLICY_FILE)
    assert policy.keep_days == dict(RETENTION_ALLOW_LIST)
    assert policy.keep_days["infra_plans"] == PLAN_ARTIFACT_DAYS == 30
    assert policy.keep_days["infra_apply_logs"] == APPLY_LOG_DAYS == 90
    assert policy.as_of is None


@pytest.mark.parametrize("table", sorted(PERMANENT_TABLES))
def test_retention_refuses_every_drift_table(table, duckdb_warehouse):
    with pytest.raises(RetentionRefused, match="permanent"):
        checked_table(table)
    with pytest.raises(RetentionRefused, match=f"{table} is permanent evidence"):
        delete_expired(duckdb_warehouse, table, AS_OF)
    with pytest.raises(RetentionRefused, match=f"{table} is permanent evidence"):
        RetentionPolicy(keep_days={table: 1}).days_for(table)


def test_policy_giving_drift_a_period_is_refused():
    with pytest.raises(RetentionRefused, match="forever"):
        policy_from_mapping({"tables": {"infra_drift_issues": {"keep_days": 365}}})
    with pytest.raises(RetentionRefused, match="allow-list"):
        policy_from_mapping({"tables": {"audit_events": {"keep_days": 30}}})
    with pytest.raises(ValueError, match="change both"):
        policy_from_mapping({"tables": {"infra_plans": {"keep_days": 7}}})


WALL = datetime(2026, 11, 27, tzinfo=UTC)
NEWEST = datetime(2026, 11, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("configured", "newest", "clock", "expected"),
    [
        (AS_OF, NEWEST, "wall", (AS_OF, "configured")),
        (AS_OF, NEWEST, "data", (AS_OF, "configured")),
        # the wall clock by default, however old the data
        (None, NEWEST, "wall", (WALL, "wall_clock")),
        (None, None, "wall", (WALL, "wall_clock")),
        # the data clock only when configured, and never later than the wall clock
        (None, NEWEST, "data", (NEWEST, "newest_data")),
        (None, WALL + timedelta(days=400), "data", (WALL, "wall_clock")),
        (None, None, "data", (WALL, "wall_clock")),
    ],
)
def test_choose_as_of(configured, newest, clock, expected):
    assert choose_as_of(configured, newest, WALL, clock) == expected


@pytest.mark.parametrize(
    ("doc", "clock"),
    [
        ({}, "wall"),
        ({"clock": "wall"}, "wall"),
        ({"clock": "data"}, "data"),
        ({"clock": "x"}, None),
    ],
)
def test_policy_clock(doc, clock):
    doc = {"tables": {"infra_plans": {"keep_days": 30}}, **doc}
    if clock is None:
        with pytest.raises(ValueError, match="clock 'x' is not one of wall, data"):
            policy_from_mapping(doc)
    else:
        assert policy_from_mapping(doc).clock == clock


def _seed(warehouse):
    plans = [
        {"plan_id": f"p{i}", "planned_at": AS_OF - timedelta(days=d)}
        for i, d in enumerate((45, 31, 29, 1))
    ]
    for p in plans:
        p["expires_at"] = p["planned_at"] + timedelta(days=30)
    warehouse.append(INFRA_PLANS, INFRA_PLANS.from_records(plans))
    logs = [
        {"apply_id": f"a{i}", "applied_at": AS_OF - timedelta(days=d)}
        for i, d in enumerate((91, 60))
    ]
    for r in logs:
        r["expires_at"] = r["applied_at"] + timedelta(days=90)
    warehouse.append(INFRA_APPLY_LOGS, INFRA_APPLY_LOGS.from_records(logs))
    issue = {"drift_issue_id": "x", "opened_at": AS_OF - timedelta(days=900), "status": "resolved"}
    warehouse.append(INFRA_DRIFT_ISSUES, INFRA_DRIFT_ISSUES.from_records([issue]))


def test_retention_with_fixed_as_of_deletes_only_expired_rows(duckdb_warehouse):
    _seed(duckdb_warehouse)
    policy = RetentionPolicy(keep_days=dict(RETENTION_ALLOW_LIST), as_of=AS_OF)
    outcome = apply_retention(duckdb_warehouse, policy, datetime(2030, 1, 1, tzinfo=UTC))
    assert (outcome.as_of, outcome.as_of_basis) == (AS_OF, "configured")
    assert outcome.deleted == {
        "infra_plans": 2,
        "infra_plan_changes": 0,
        "infra_plan_checks": 0,
        "infra_plan_artifacts": 0,
        "infra_apply_logs": 1,
    }
    left = duckdb_warehouse.query("SELECT plan_id FROM infra_plans ORDER BY plan_id")
    assert left.column("plan_id").to_pylist() == ["p2", "p3"]
    assert duckdb_warehouse.query("SELECT apply_id FROM infra_apply_logs").column(
        0
    ).to_pylist() == ["a1"]
    assert duckdb_warehouse.row_count("infra_drift_issues") == 1
    again = apply_retention(duckdb_warehouse, policy, datetime(2030, 1, 1, tzinfo=UTC))
    assert sum(again.deleted.values()) == 0


def test_retention_measured_from_newest_data_keeps_a_stale_demo(duckdb_warehouse):
    _seed(duckdb_warehouse)
    policy = RetentionPolicy(keep_days=dict(RETENTION_ALLOW_LIST), clock="data")
    outcome = apply_retention(duckdb_warehouse, policy, datetime(2027, 6, 1, tzinfo=UTC))
    # the newest plan is a day before AS_OF: "now" is that plan, not June 2027
    assert outcome.as_of_basis == "newest_data"
    assert outcome.as_of == AS_OF - timedelta(days=1)
    # the plan of 31 days before AS_OF expires exactly at as_of: not yet past it
    assert outcome.deleted["infra_plans"] == 1
    assert outcome.deleted["infra_apply_logs"] == 0


def test_audit_events_describe_deletions():
    events = retention_audit_events({"infra_plans": 2, "infra_apply_logs": 0}, AS_OF)
    assert events == [
        {
            "kind": "cicl.retention_deletion/v1",
            "table": "infra_plans",
            "rows_deleted": 2,
            "as_of": "2026-11-06T00:00:00+00:00",
            "keep_days": 30,
        }
    ]


def test_expires_at_exists_on_every_allow_listed_table():
    from cicl_assets.infra.stream import INFRA_STREAM

    specs = {t.name: t for t in INFRA_STREAM.tables}
    for table in RETENTION_ALLOW_LIST:
        assert specs[table].schema.field("expires_at").type == pa.timestamp("us", tz="UTC")
