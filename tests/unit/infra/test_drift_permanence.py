from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from cicl_assets.infra.assets import evidence_retention, infra_drift_derive
from cicl_assets.infra.tables import INFRA_DRIFT_ISSUES
from cicl_assets.resources import CiclConfig
from tests.unit.infra.test_retention import POLICY_FILE


def test_drift_issues_outlive_their_source_rows_and_retention(duckdb_warehouse):
    old = {
        "drift_issue_id": "f" * 64,
        "environment": "production",
        "address": "google_sql_database_instance.main",
        "status": "resolved",
        "opened_at": datetime(2024, 1, 2, tzinfo=UTC),
        "resolved_at": datetime(2024, 1, 3, tzinfo=UTC),
        "occurrences": 1,
    }
    duckdb_warehouse.append(INFRA_DRIFT_ISSUES, INFRA_DRIFT_ISSUES.from_records([old]))
    result = dg.materialize(
        [infra_drift_derive, evidence_retention],
        resources={
            "warehouse": duckdb_warehouse,
            "cicl_config": CiclConfig(
                config_dir=str(POLICY_FILE.parents[1]),
                outbox_uri=str(Path(duckdb_warehouse.path).parent / "outbox"),
            ),
        },
        run_config={"ops": {"evidence_retention": {"config": {"as_of": "2030-01-01T00:00:00Z"}}}},
    )
    assert result.success
    rows = duckdb_warehouse.read_table("infra_drift_issues").to_pylist()
    assert [(r["drift_issue_id"], r["status"], r["opened_at"]) for r in rows] == [
        ("f" * 64, "resolved", datetime(2024, 1, 2, tzinfo=UTC))
    ]
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "no_open_drift" and check.passed
