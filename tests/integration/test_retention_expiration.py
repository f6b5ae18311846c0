"""On BigQuery the retained evidence tables expire as the retention policy says: the table options
cicl sends when it creates them (the emulator accepts but does not enforce expiration)."""

from pathlib import Path

import pytest

from cicl_assets.infra.retention_policy import RETENTION_ALLOW_LIST, load_policy
from cicl_assets.infra.tables import (
    INFRA_APPLY_LOGS,
    INFRA_DRIFT,
    INFRA_DRIFT_CHECKS,
    INFRA_DRIFT_ISSUES,
    INFRA_DRIFT_OBSERVATIONS,
    INFRA_PLAN_ARTIFACTS,
    INFRA_PLAN_CHANGES,
    INFRA_PLAN_CHECKS,
    INFRA_PLANS,
)

REPO = Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000


@pytest.fixture
def sent(bigquery_warehouse, monkeypatch):
    """The table resources cicl asks BigQuery to create, by table name."""
    client = bigquery_warehouse.client
    create = client.create_table
    seen = {}

    def recording(table, *args, **kwargs):
        seen[table.table_id] = table.to_api_repr()
        return create(table, *args, **kwargs)

    monkeypatch.setattr(client, "create_table", recording)
    return seen


@pytest.mark.parametrize(
    ("spec", "expiration_ms"),
    [
        (INFRA_PLANS, str(30 * DAY_MS)),
        (INFRA_PLAN_CHANGES, str(30 * DAY_MS)),
        (INFRA_PLAN_CHECKS, str(30 * DAY_MS)),
        (INFRA_PLAN_ARTIFACTS, str(30 * DAY_MS)),
        (INFRA_APPLY_LOGS, str(90 * DAY_MS)),
        # drift evidence is kept forever
        (INFRA_DRIFT, None),
        (INFRA_DRIFT_ISSUES, None),
        (INFRA_DRIFT_CHECKS, None),
        (INFRA_DRIFT_OBSERVATIONS, None),
    ],
)
def test_retained_tables_get_partition_expiration(bigquery_warehouse, sent, spec, expiration_ms):
    bigquery_warehouse.ensure_table(spec)
    partitioning = sent[spec.name]["timePartitioning"]
    assert partitioning["field"] == spec.time_column
    assert partitioning.get("expirationMs") == expiration_ms
    assert bigquery_warehouse.table_exists(spec.name)


def test_expiration_matches_the_shipped_policy():
    policy = load_policy(REPO / "config" / "policies" / "retention.yaml")
    assert policy.clock == "wall" and policy.as_of is None
    specs = (INFRA_PLANS, INFRA_PLAN_CHANGES, INFRA_PLAN_CHECKS, INFRA_PLAN_ARTIFACTS)
    expiring = {s.name: s.partition_expiration_days for s in (*specs, INFRA_APPLY_LOGS)}
    assert expiring == dict(policy.keep_days) == dict(RETENTION_ALLOW_LIST)
