import json

import dagster as dg

from cicl_assets.landing.zone import LandingZone
from cicl_assets.slo.assets import slo_reports

# Two rows as slo-generator's BigQuery exporter writes them (field names and types of its table
# schema): metadata as repeated key/value records; the second as BigQuery's JSON export renders
# a row (INT64 as strings, TIMESTAMP with " UTC").
EXPORTER_ROW = {
    "service_name": "flow",
    "feature_name": "gateway",
    "slo_name": "availability",
    "slo_target": 0.995,
    "slo_description": "Gateway availability",
    "error_budget_policy_step_name": "1 hour",
    "error_budget_remaining_minutes": -12.5,
    "consequence_message": "Page to defend the SLO",
    "error_budget_minutes": 0.3,
    "error_minutes": 12.8,
    "error_budget_target": 0.005,
    "timestamp_human": "2026-11-05T14:30:00.000000Z",
    "timestamp": 1793975400.0,
    "cadence": None,
    "window": 3600,
    "bad_events_count": 213,
    "good_events_count": 787,
    "sli_measurement": 0.787,
    "gap": -0.208,
    "error_budget_measurement": 0.213,
    "error_budget_burn_rate": 42.6,
    "alerting_burn_rate_threshold": 9.0,
    "alert": True,
    "metadata": [{"key": "env", "value": "prod"}, {"key": "team", "value": "sre"}],
}
EXPORTED_ROW = {
    **EXPORTER_ROW,
    "error_budget_policy_step_name": "12 hours",
    "timestamp_human": "2026-11-05 14:30:00 UTC",
    "window": "43200",
    "bad_events_count": "300",
    "good_events_count": "11700",
    "error_budget_burn_rate": 5.0,
    "alert": "true",
    "metadata": {"env": "prod"},
}


def _landing(tmp_path, files):
    root = tmp_path / "landing" / "slo"
    root.mkdir(parents=True)
    for name, content in files.items():
        (root / name).write_text(content)
    return LandingZone(uri=str(tmp_path / "landing"))


def test_exporter_rows_land_and_bad_lines_are_rejected(tmp_path, any_warehouse):
    landing = _landing(
        tmp_path,
        {
            "reports.jsonl": json.dumps(EXPORTER_ROW) + "\n\n" + json.dumps(EXPORTED_ROW) + "\n",
            "missing.jsonl": json.dumps({**EXPORTER_ROW, "slo_name": None}) + "\n",
            "badts.jsonl": json.dumps({**EXPORTER_ROW, "timestamp_human": "yesterday"}) + "\n",
        },
    )
    result = dg.materialize(
        [slo_reports], resources={"warehouse": any_warehouse, "landing": landing}
    )
    assert result.success
    rows = any_warehouse.query(
        "SELECT error_budget_policy_step_name AS step, window_seconds, bad_events_count, alert, "
        "error_budget_burn_rate, metadata, timestamp_human, source_file FROM slo_reports "
        "ORDER BY window_seconds"
    ).to_pylist()
    assert [(r["step"], r["window_seconds"], r["bad_events_count"], r["alert"]) for r in rows] == [
        ("1 hour", 3600, 213, True),
        ("12 hours", 43200, 300, True),
    ]
    assert json.loads(rows[0]["metadata"]) == {"env": "prod", "team": "sre"}
    assert rows[0]["timestamp_human"] == rows[1]["timestamp_human"]
    assert rows[0]["timestamp_human"].isoformat() == "2026-11-05T14:30:00+00:00"
    assert rows[0]["source_file"] == "slo/reports.jsonl"
    errors = {
        r["source_file"]: r["error"]
        for r in any_warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert errors["slo/missing.jsonl"] == (
        "slo/missing.jsonl: slo-generator-report: line 1: missing required exporter field(s) "
        "slo_name"
    )
    assert errors["slo/badts.jsonl"] == (
        "slo/badts.jsonl: slo-generator-report: line 1: timestamp_human 'yesterday' is not a "
        "timestamp (expected RFC 3339 text such as 2026-11-03T09:12:00Z, or epoch seconds or "
        "milliseconds)"
    )
    meta = result.asset_materializations_for_node("slo_reports")[0].metadata
    assert meta["reports_alerting"].value == 2
