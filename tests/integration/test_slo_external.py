"""Imported specs whose indicators are Prometheus and Cloud Monitoring queries, evaluated from
counts landed under slo/ (cicl-native JSON lines and slo-generator's exported rows): slo_specs
lists them, the slo/ stream ingests the counts once, and slo_status and slo_breach_sensor treat
them like span-based SLOs - on both warehouses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from cicl_assets.landing import LandingZone
from cicl_assets.learning.assets import slo_breach_report
from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.assets import slo_minute_counts, slo_reports, slo_specs, slo_status
from cicl_assets.slo.minute_counts import source_starts
from jobs.learning import cl_evaluation_job
from sensors.in_process import run_sensor_once
from sensors.slo_breach import slo_breach_sensor
from sensors.slo_partitions import touched_days

DAY = datetime(2026, 11, 5, tzinfo=UTC)
BURST = (DAY + timedelta(hours=14), DAY + timedelta(hours=15))

SLOTH = """
version: prometheus/v1
service: checkout
slos:
  - name: availability
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
"""
GENERATOR = """
apiVersion: sre.google.com/v2
kind: ServiceLevelObjective
metadata:
  name: gae-app-availability
  labels: {service_name: gae, feature_name: app, slo_name: availability}
spec:
  backend: cloud_monitoring
  method: good_bad_ratio
  service_level_indicator: {filter_good: 'metric.type="x"', filter_valid: 'metric.type="y"'}
  goal: 0.95
"""
MAPPING = """
apiVersion: cicl.io/v1
kind: SliMapping
spec:
  mappings:
    - {slo: checkout-availability, external: true}
    - {slo: gae-app-availability, external: true}
    - {slo: unmapped-latency, external: false, spans: {service: nothing-here}}
"""
UNMAPPED = """
version: prometheus/v1
service: unmapped
slos:
  - name: latency
    objective: 99.5
    sli: {raw: {error_ratio_query: 'x'}}
  - name: errors
    objective: 99.5
    sli: {raw: {error_ratio_query: 'y'}}
"""


def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def native_counts() -> str:
    """5-minute intervals from midnight to 16:00: 0.2% bad, 20% bad from 14:00 to 15:00."""
    lines = []
    at = DAY
    while at < DAY + timedelta(hours=16):
        bad = 100 if BURST[0] <= at < BURST[1] else 1
        row = {"slo": "checkout-availability", "window_start": _ts(at)}
        row |= {"window_end": _ts(at + timedelta(minutes=5)), "good": 500 - bad, "total": 500}
        lines.append(json.dumps(row))
        at += timedelta(minutes=5)
    return "\n".join(lines) + "\n"


def generator_reports() -> str:
    """Hourly slo-generator rows: the 1 hour step (1% bad, 90% in the hour to 15:00) and a
    12 hours step whose counts overlap it and must not be counted again."""
    lines = []
    for hour in range(1, 17):
        at = DAY + timedelta(hours=hour)
        bad = 900 if at == BURST[1] else 10
        for step, window, good, n_bad in (
            ("1 hour", 3600, 1000 - bad, bad),
            ("12 hours", 43200, 5, 5000),
        ):
            lines.append(
                json.dumps(
                    {
                        "service_name": "gae",
                        "feature_name": "app",
                        "slo_name": "availability",
                        "error_budget_policy_step_name": step,
                        "window": window,
                        "timestamp_human": at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                        "good_events_count": good,
                        "bad_events_count": n_bad,
                        "error_budget_burn_rate": 1.0,
                    }
                )
            )
    return "\n".join(lines) + "\n"


@pytest.fixture
def setup(tmp_path, cicl_config, any_warehouse):
    slos = tmp_path / "config" / "slos"
    slos.mkdir(parents=True)
    (slos / "checkout.yaml").write_text(SLOTH)
    (slos / "gae.yaml").write_text(GENERATOR)
    (slos / "unmapped.yaml").write_text(UNMAPPED)
    (slos / "mappings.yaml").write_text(
        MAPPING.replace(
            "    - {slo: unmapped-latency, external: false, spans: {service: nothing-here}}\n", ""
        )
    )
    landing = tmp_path / "landing" / "slo"
    landing.mkdir(parents=True)
    (landing / "checkout-counts.jsonl").write_text(native_counts())
    (landing / "gae-reports.jsonl").write_text(generator_reports())
    bad = {"slo": "checkout-availability", "window_start": _ts(DAY)}
    bad |= {"window_end": _ts(DAY + timedelta(minutes=5)), "good": 600, "total": 500}
    (landing / "broken.jsonl").write_text(json.dumps(bad) + "\n")
    # A new resource: model_copy would not reach the config Dagster builds the resource from.
    config = CiclConfig(**{**cicl_config.model_dump(), "config_dir": str(tmp_path / "config")})
    resources = {
        "warehouse": any_warehouse,
        "cicl_config": config,
        "landing": LandingZone(uri=str(tmp_path / "landing")),
    }
    with dg.instance_for_test() as instance:
        yield resources, instance


def test_external_counts_drive_slo_status_and_the_breach_sensor(setup):
    resources, instance = setup
    warehouse = resources["warehouse"]
    ingest = dg.materialize([slo_reports, slo_specs], resources=resources, instance=instance)
    assert ingest.success
    [landed] = [
        m
        for m in ingest.asset_materializations_for_node("slo_reports")
        if m.asset_key == dg.AssetKey("slo_reports")
    ]
    assert landed.metadata["data_days"].value == "2026-11-05"
    assert touched_days(instance, None)[0] == [DAY.date()]
    [reject] = warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    assert reject["source_file"] == "slo/broken.jsonl"
    assert "need 0 <= good <= total, found good=600 total=500" in reject["error"]

    specs = warehouse.query(
        "SELECT evaluation_name, format, target, budget_window, sli_source, evaluable, reason "
        "FROM slo_specs ORDER BY evaluation_name"
    ).to_pylist()
    assert [(r["evaluation_name"], r["sli_source"], r["evaluable"]) for r in specs] == [
        ("checkout-availability", "external", True),
        ("gae-app-availability", "external", True),
        ("unmapped-errors", None, False),
        ("unmapped-latency", None, False),
    ]
    assert "a raw Prometheus ratio (sli.raw)" in specs[3]["reason"]
    assert (specs[1]["format"], specs[1]["target"], specs[1]["budget_window"]) == (
        "sre.google.com/v2",
        0.95,
        "28d",
    )

    derived = dg.materialize(
        [slo_minute_counts, slo_status],
        resources=resources,
        instance=instance,
        tags=range_tags(DAY.date(), DAY.date()),
    )
    assert derived.success
    # Windows of external SLOs are covered from their own first minute, not the spans'.
    assert source_starts(warehouse) == {"external": DAY}
    sums = {
        r["slo_name"]: (r["good"], r["total"])
        for r in warehouse.query(
            "SELECT slo_name, SUM(good) AS good, SUM(total) AS total FROM slo_minute_counts "
            "WHERE minute >= @since AND minute < @until GROUP BY slo_name",
            {"since": DAY, "until": DAY + timedelta(days=1)},
        ).to_pylist()
    }
    # 192 intervals of 500 (12 of them 100 bad, the rest 1); 16 hourly reports of 1000 (one
    # 900 bad, the rest 10) - the 12 hours step is not counted again.
    assert sums == {
        "checkout-availability": (192 * 500 - 12 * 100 - 180, 192 * 500),
        "gae-app-availability": (16 * 1000 - 900 - 15 * 10, 16 * 1000),
    }
    at_burst_end = {
        r["slo_name"]: r
        for r in warehouse.query(
            "SELECT slo_name, alert, alert_window, burn_rate_1h, span_filter FROM slo_status "
            "WHERE evaluation_time >= @at AND evaluation_time <= @at",
            {"at": BURST[1]},
        ).to_pylist()
    }
    checkout, gae = at_burst_end["checkout-availability"], at_burst_end["gae-app-availability"]
    assert (checkout["alert"], checkout["alert_window"]) == ("page", "1h/5m")
    assert checkout["burn_rate_1h"] == pytest.approx(20.0)
    assert (gae["alert"], gae["alert_window"]) == ("page", "1h")
    assert gae["burn_rate_1h"] == pytest.approx(18.0)
    assert checkout["span_filter"] == "external counts (landing slo/)"

    defs = dg.Definitions(
        assets=[slo_status, slo_breach_report],
        jobs=[cl_evaluation_job],
        sensors=[slo_breach_sensor],
        resources=resources,
    )
    launched = run_sensor_once(defs, instance, "slo_breach_sensor")
    assert sorted(run.run_key for run in launched) == [
        "slo-breach:checkout-availability:page:2026-11-05T14",
        "slo-breach:gae-app-availability:page:2026-11-05T14",
    ]
    assert all(run.success for run in launched)
    causes = {
        run.result.asset_materializations_for_node("slo_breach_report")[0].metadata["cause"].value
        for run in launched
    }
    assert causes == {"events counted outside cicl (external SLI counts): no spans to attribute"}

    again = dg.materialize([slo_reports], resources=resources, instance=instance)
    assert again.success
    counted = warehouse.query(
        "SELECT COUNT(*) AS n FROM slo_sli_counts WHERE window_start >= @since",
        {"since": DAY - timedelta(days=1)},
    ).to_pylist()[0]["n"]
    assert counted == 192  # a re-run ingests nothing again
    assert touched_days(instance, None)[0] == [DAY.date()]


def test_a_mapping_to_spans_replaces_external_counts_and_an_unknown_slo_is_refused(setup):
    resources, instance = setup
    slos = resources["cicl_config"].path / "slos"
    (slos / "mappings.yaml").write_text(
        MAPPING.replace(
            "{slo: gae-app-availability, external: true}", "{slo: gae-nope, external: true}"
        )
    )
    result = dg.materialize([slo_specs], resources=resources, instance=instance)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    meta = result.asset_materializations_for_node("slo_specs")[0].metadata
    assert "mappings.yaml mapping 2 (gae-nope): names no objective" in meta["refused"].value
    assert "mapping 3 (unmapped-latency)" not in meta["refused"].value
    rows = (
        resources["warehouse"]
        .query(
            "SELECT evaluation_name, sli_source, span_filter, evaluable FROM slo_specs "
            "WHERE evaluable ORDER BY evaluation_name"
        )
        .to_pylist()
    )
    assert rows == [
        {
            "evaluation_name": "checkout-availability",
            "sli_source": "external",
            "span_filter": None,
            "evaluable": True,
        },
        {
            "evaluation_name": "unmapped-latency",
            "sli_source": "spans",
            "span_filter": "service_name=nothing-here",
            "evaluable": True,
        },
    ]
