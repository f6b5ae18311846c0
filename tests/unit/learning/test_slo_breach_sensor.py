import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.learning.assets import slo_breach_report
from cicl_assets.learning.breach import Breach, record_review
from cicl_assets.resources import CiclConfig
from cicl_assets.settings import Settings, SettingsError
from cicl_assets.slo.status import SLO_STATUS
from jobs.learning import cl_evaluation_job
from sensors.slo_breach import slo_breach_sensor

T = datetime(2026, 11, 5, 14, 25, tzinfo=UTC)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
INVOICE = "workflow-invoice-triage-availability"
CONFIG_DIR = str(Path(__file__).parents[3] / "config")


def status(minutes: int, alert: str, slo: str = INVOICE) -> dict:
    return {
        "slo_name": slo,
        "evaluation_time": T + timedelta(minutes=minutes),
        "alert": alert,
        "alert_window": "1h/5m" if alert == "page" else None,
        "alert_burn_rate": 20.0 if alert == "page" else None,
        "burn_rate_1h": 20.0,
        "error_budget_remaining": 0.6,
    }


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def append_status(warehouse, instance, rows):
    """Rows written to slo_status by a materialization of their days, as the asset does."""
    warehouse.append(SLO_STATUS, SLO_STATUS.from_records(rows))
    for day in sorted({r["evaluation_time"].date().isoformat() for r in rows}):
        instance.report_runless_asset_event(dg.AssetMaterialization("slo_status", partition=day))


def tick(warehouse, instance, cursor=None, cooldown_minutes=720):
    config = CiclConfig(
        config_dir=CONFIG_DIR,
        slo_breach_cooldown_minutes=cooldown_minutes,
        outbox_uri=str(Path(warehouse.path).parent / "outbox"),
    )
    defs = dg.Definitions(
        assets=[slo_breach_report],
        jobs=[cl_evaluation_job],
        sensors=[slo_breach_sensor],
        resources={"warehouse": warehouse, "cicl_config": config},
    )
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
    )
    return slo_breach_sensor(context)


def audit_rows(warehouse):
    if not warehouse.table_exists("audit_events"):
        return []
    return warehouse.query(
        "SELECT event_id, action, actor, resource, details FROM audit_events "
        "WHERE action = 'cl_review_triggered' ORDER BY seq"
    ).to_pylist()


def test_a_page_fires_once_with_run_config_and_cursor(duckdb_warehouse, instance):
    append_status(
        duckdb_warehouse, instance, [status(-5, "none"), status(0, "page"), status(5, "page")]
    )
    first = tick(duckdb_warehouse, instance, cooldown_minutes=60)
    [request] = first.run_requests
    assert request.run_key == f"slo-breach:{INVOICE}:page:2026-11-05T14"
    assert slo_breach_sensor.job_name == "cl_evaluation"
    assert request.run_config["ops"]["slo_breach_report"]["config"]["slo_name"] == INVOICE
    assert request.tags["cicl/alert_window"] == "1h/5m"
    assert request.tags["cicl/decided_by"] == "slo_breach_sensor"
    # One run over the days of the breach window (the hour before 14:25: one day).
    assert (request.partition_key, request.tags[RANGE_START], request.tags[RANGE_END]) == (
        None,
        "2026-11-05",
        "2026-11-05",
    )
    assert json.loads(first.cursor)["last_evaluation_time"] == "2026-11-05T14:30:00+00:00"
    # The review's run chains the audit event once its report is written; the sensor writes none.
    assert audit_rows(duckdb_warehouse) == []

    # Next tick with the cursor: nothing new, nothing launched.
    second = tick(duckdb_warehouse, instance, first.cursor, cooldown_minutes=60)
    assert not second.run_requests
    assert second.skip_reason

    # New rows 30 minutes on (the day re-materialized): within the cooldown.
    append_status(duckdb_warehouse, instance, [status(30, "page")])
    third = tick(duckdb_warehouse, instance, first.cursor, cooldown_minutes=60)
    assert third.run_requests == []
    # 65 minutes after the first run, the still-burning SLO gets a new run (next hour's key).
    append_status(duckdb_warehouse, instance, [status(65, "page")])
    fourth = tick(duckdb_warehouse, instance, third.cursor, cooldown_minutes=60)
    assert [r.run_key for r in fourth.run_requests] == [f"slo-breach:{INVOICE}:page:2026-11-05T15"]


def test_without_a_cursor_the_warehouse_says_what_was_reviewed(duckdb_warehouse, instance):
    append_status(duckdb_warehouse, instance, [status(0, "page")])
    a = tick(duckdb_warehouse, instance)
    b = tick(duckdb_warehouse, instance)
    assert [r.run_key for r in a.run_requests] == [r.run_key for r in b.run_requests]
    # Once the run that reviewed it chained its event, a fresh sensor (a new daemon, `make run`)
    # asks for nothing.
    [request] = a.run_requests
    breach = Breach(**request.run_config["ops"]["slo_breach_report"]["config"])
    record_review(duckdb_warehouse, breach, "run-1", "slo_breach_sensor")
    assert tick(duckdb_warehouse, instance).run_requests == []
    [event] = audit_rows(duckdb_warehouse)
    assert event["event_id"] == f"cl_review_triggered:{request.run_key}:run-1"
    assert (event["actor"], event["resource"]) == ("slo_breach_sensor", f"slo/{INVOICE}")
    assert json.loads(event["details"]) == {
        "breach": breach.model_dump(),
        "job": "cl_evaluation",
        "run_id": "run-1",
        "run_key": request.run_key,
    }


def test_insufficient_data_never_fires(duckdb_warehouse, instance):
    append_status(
        duckdb_warehouse,
        instance,
        [status(0, "insufficient_data"), status(5, "insufficient_data")],
    )
    result = tick(duckdb_warehouse, instance)
    assert result.run_requests == []
    assert audit_rows(duckdb_warehouse) == []


def test_no_status_materialized_yet_is_quiet(duckdb_warehouse, instance):
    result = tick(duckdb_warehouse, instance)
    assert not result.run_requests
    assert result.skip_reason


def test_a_tick_reads_only_the_days_materialized_since_its_cursor(duckdb_warehouse, instance):
    # A page on the 4th that no materialization announces is not read: only announced days are.
    duckdb_warehouse.append(
        SLO_STATUS, SLO_STATUS.from_records([status(-1440, "page", "gateway-availability")])
    )
    append_status(duckdb_warehouse, instance, [status(0, "page")])
    first = tick(duckdb_warehouse, instance)
    assert [r.run_key for r in first.run_requests] == [f"slo-breach:{INVOICE}:page:2026-11-05T14"]
    # Late data re-materializes the 4th: its page is decided now.
    instance.report_runless_asset_event(
        dg.AssetMaterialization("slo_status", partition="2026-11-04")
    )
    second = tick(duckdb_warehouse, instance, first.cursor)
    assert [(r.run_key, r.tags[RANGE_START], r.tags[RANGE_END]) for r in second.run_requests] == [
        ("slo-breach:gateway-availability:page:2026-11-04T14", "2026-11-04", "2026-11-04")
    ]


@pytest.mark.parametrize(
    ("evaluation_time", "alert_window", "days"),
    [
        ("2026-11-05T14:25:00+00:00", "1h/5m", ("2026-11-05", "2026-11-05")),
        ("2026-11-05T00:30:00+00:00", "1h/5m", ("2026-11-04", "2026-11-05")),
        ("2026-11-05T01:00:00+00:00", "1h/5m", ("2026-11-05", "2026-11-05")),
        ("2026-11-05T05:00:00+00:00", "6h/30m", ("2026-11-04", "2026-11-05")),
        ("2026-11-05T12:00:00+00:00", "3d/6h", ("2026-11-02", "2026-11-05")),
    ],
)
def test_a_breach_run_covers_the_days_of_its_window(evaluation_time, alert_window, days):
    breach = Breach(
        slo_name=INVOICE, alert="page", evaluation_time=evaluation_time, alert_window=alert_window
    )
    tags = breach.tags("slo_breach_sensor")
    assert (tags[RANGE_START], tags[RANGE_END]) == days


def cooldown(env: dict[str, str]) -> timedelta:
    """The cooldown the sensor gets when the settings read ``env``."""
    minutes = Settings.from_env(env).slo_breach_cooldown_minutes
    return CiclConfig(slo_breach_cooldown_minutes=minutes).slo_breach_cooldown


def test_cooldown_setting():
    assert cooldown({}) == timedelta(hours=12)
    assert cooldown({"CICL_SLO_BREACH_COOLDOWN_MINUTES": "240"}) == timedelta(hours=4)
    with pytest.raises(SettingsError, match="CICL_SLO_BREACH_COOLDOWN_MINUTES"):
        cooldown({"CICL_SLO_BREACH_COOLDOWN_MINUTES": "-1"})
