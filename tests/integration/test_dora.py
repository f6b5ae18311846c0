"""DORA over real warehouse tables: the dora asset's day partition on both warehouses."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from cicl_assets.delivery.assets import dora
from cicl_assets.delivery.tables import COMMITS
from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.status import SLO_STATUS


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def deploy(dep_id, start, commit, status="succeeded", rollback_of=None):
    return {
        "deployment_id": dep_id,
        "environment": "production",
        "service": "api",
        "commit_sha": commit,
        "status": status,
        "started_at": start,
        "finished_at": start + timedelta(minutes=10),
        "rollback_of": rollback_of,
        "source_file": f"deployments/{dep_id}.json",
    }


A0, A, B, C = ("0" * 39 + "a", "a" * 40, "b" * 40, "c" * 40)
DEPLOYS = [
    deploy("d1", t(2, 9), A),
    deploy("d2", t(3, 9), B, status="rolled_back"),
    deploy("d3", t(3, 9, 40), A, rollback_of="d2"),
    deploy("d4", t(4, 9), C),
]
COMMIT_ROWS = [
    {"sha": A0, "repo": "o/api", "branch": "main", "committed_at": t(1, 7)},
    {"sha": A, "repo": "o/api", "branch": "main", "committed_at": t(1, 8)},
    {"sha": B, "repo": "o/api", "branch": "main", "committed_at": t(2, 15)},
    {"sha": C, "repo": "o/api", "branch": "main", "committed_at": None, "first_seen_at": t(3, 16)},
]
PAGES = [
    ("api-latency", t(4, 10, m)) for m in (0, 5, 10, 30)
] + [("api-availability", t(6, 2, 0))]  # fmt: skip


@pytest.mark.parametrize("any_warehouse", ["duckdb", "bigquery"], indirect=True)
def test_a_day_of_dora(any_warehouse, tmp_path):
    warehouse = any_warehouse
    warehouse.append(DEPLOYMENTS, DEPLOYMENTS.from_records(DEPLOYS))
    warehouse.append(
        COMMITS,
        COMMITS.from_records(
            [
                {**c, "first_seen_at": c.get("first_seen_at") or c["committed_at"]}
                for c in COMMIT_ROWS
            ]
        ),
    )
    warehouse.append(
        SLO_STATUS,
        SLO_STATUS.from_records(
            [
                {"slo_name": slo, "service": "api", "evaluation_time": at, "alert": "page"}
                for slo, at in PAGES
            ]
        ),
    )
    resources = {"warehouse": warehouse, "cicl_config": CiclConfig(config_dir="config")}
    for day in ("2026-11-03", "2026-11-06"):
        assert dg.materialize([dora], resources=resources, partition_key=day).success

    deploys = warehouse.query(
        "SELECT deployment_id, lead_time_h, lead_time_from, change_failed, failure_causes, "
        "recovery_h FROM dora_deployments WHERE started_at >= @s ORDER BY deployment_id",
        {"s": t(1, 0)},
    ).to_pylist()
    # Only the partitions run hold rows: the 3rd's two deploys.
    assert [tuple(d.values()) for d in deploys] == [
        ("d2", 18.1667, "first_commit", True, "rollback", 0.6667),
        ("d3", 49.8333, "first_commit", False, None, None),
    ]
    weeks = warehouse.query(
        "SELECT period, deployments, failed_deployments, change_failure_rate, "
        "change_failure_rate_band, lead_time_median_h, lead_time_from_deployed_commit, "
        "recovery_median_h, incidents_without_deploy FROM dora_metrics "
        "WHERE period_end >= @s AND period_end <= @e ORDER BY period_end, period",
        {"s": t(1, 0), "e": t(8, 0)},
    ).to_pylist()
    assert [tuple(w.values()) for w in weeks] == [
        # as of the 3rd: d1 ok, d2 rolled back (recovered by d3), d3 ok
        ("30d", 3, 1, 0.3333, "low", 26.1667, 0, 0.6667, 0),
        ("90d", 3, 1, 0.3333, "low", 26.1667, 0, 0.6667, 0),
        # as of the 6th: d4 paged 1h after it (alert over at 10:30), the 6th's page is nobody's
        ("30d", 4, 2, 0.5, "low", 22.1667, 1, 0.5834, 1),
        ("90d", 4, 2, 0.5, "low", 22.1667, 1, 0.5834, 1),
        ("week", 4, 2, 0.5, "low", 22.1667, 1, 0.5834, 1),
    ]
