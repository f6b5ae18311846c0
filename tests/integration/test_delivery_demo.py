"""The delivery evaluations on the demo: its landing zone ingested into DuckDB, then DORA, flaky
tests and failure modes for the days of the traffic. The demo's stories are found, and nothing
else: the flaky tests, the rollback, the latency page the 1.8.0 deploy causes, the invoice-triage
page no deploy explains (it starts 29 h after the last runtime deploy, outside the 24 h window),
and the failure mode the template change starts."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

import definitions
from cicl_assets.delivery.assets import commits, dora
from cicl_assets.landing import LandingZone
from cicl_assets.learning.failure_modes.assets import failure_modes
from cicl_assets.learning.flaky.assets import flaky_tests_asset
from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.assets import slo_minute_counts, slo_status
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo import story

DAYS = ("2026-11-04", "2026-11-05")
ROLLBACK_DAY = "2026-10-15"


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory, demo_landing) -> DuckDBWarehouse:
    root = tmp_path_factory.mktemp("delivery-demo")
    warehouse = DuckDBWarehouse(path=str(root / "w.duckdb"))
    resources = {
        "warehouse": warehouse,
        "landing": LandingZone(uri=str(demo_landing)),
        "cicl_config": CiclConfig(config_dir="config", outbox_uri=str(root / "outbox")),
    }
    unpartitioned = [a for a in definitions.defs.assets if not getattr(a, "partitions_def", None)]
    ingest = dg.AssetSelection.groups("telemetry", "ci", "deployments", "slo")
    assert dg.materialize(unpartitioned, resources=resources, selection=ingest).success
    # Incidents are slo_status page alerts: the SLO days of the demo's traffic, one run.
    assert dg.materialize(
        [slo_minute_counts, slo_status],
        resources=resources,
        tags=range_tags(story.TRAFFIC_START.date(), (story.TRAFFIC_END - timedelta(days=1)).date()),
    ).success
    assert dg.materialize([commits], resources=resources).success
    # The rollback's day (dep-prod-0003 rolled back by dep-prod-0004).
    assert dg.materialize([dora], resources=resources, partition_key=ROLLBACK_DAY).success
    for day in DAYS:
        assert dg.materialize(
            [dora, flaky_tests_asset, failure_modes], resources=resources, partition_key=day
        ).success
    return warehouse


def rows(warehouse, sql, **params) -> list[tuple]:
    return [tuple(r.values()) for r in warehouse.query(sql, params).to_pylist()]


def test_the_1_8_0_deploy_lead_time_and_its_latency_page(demo_warehouse):
    found = rows(
        demo_warehouse,
        "SELECT deployment_id, version, lead_time_from, lead_time_h, change_failed, "
        "failure_causes FROM dora_deployments "
        "WHERE environment = 'production' AND service = @s ORDER BY started_at",
        s=story.SLOW_DEPLOY_SERVICE,
    )
    # The change's first commit is the work commit pushed 2026-10-20 10:53, the first after
    # 1.7.3's built commit (10:25); the deploy ended 2026-11-04 09:09: 358 h 16 min.
    assert found == [
        (story.SLOW_DEPLOY_DEPLOYMENT_ID, "1.8.0", "first_commit", 358.2667, True, "incident")
    ]


def test_the_rollback_and_the_latency_page_are_the_failed_changes(demo_warehouse):
    failed = rows(
        demo_warehouse,
        "SELECT deployment_id, failure_causes, recovery_h, incidents FROM dora_deployments "
        "WHERE change_failed ORDER BY deployment_id",
    )
    # dep-prod-0003 ended 09:09, its rollback dep-prod-0004 09:40; the 1.8.0 deploy ended
    # 2026-11-04 09:09 and its last attributed page ended 2026-11-05 20:34.
    assert [f[:3] for f in failed] == [
        (story.ROLLED_BACK_DEPLOYMENT_ID, "rollback", 0.5167),
        (story.SLOW_DEPLOY_DEPLOYMENT_ID, "incident", 35.4167),
    ]
    slos = {i.split("@")[0] for i in json.loads(failed[1][3])}
    assert slos == {"llm-anthropic-chat-latency"}


def test_the_invoice_triage_page_is_an_incident_no_deploy_explains(demo_warehouse):
    # As of 2026-11-05, workflow-runtime's week: the 1.8.0 deploy, and two incidents no deploy
    # explains: the invoice-triage page (14:35, 29 h after the deploy ended) and the latency
    # page's return at 22:40, past the 24 h window.
    found = rows(
        demo_warehouse,
        "SELECT deployments, failed_deployments, change_failure_rate, incidents_without_deploy "
        "FROM dora_metrics WHERE service = @s AND environment = 'production' AND period = 'week' "
        "AND period_end = @e",
        s=story.SLOW_DEPLOY_SERVICE,
        e=t(11, 6, 0),
    )
    assert found == [(1, 1, 1.0, 2)]


def test_the_flaky_tests_are_the_story_s(demo_warehouse):
    found = rows(
        demo_warehouse,
        "SELECT test_key FROM flaky_tests WHERE as_of = @d ORDER BY rank",
        d=t(11, 6, 0),
    )
    assert len(found) == len(story.FLAKY_TESTS)
    # test_key is classname::name; the story names a Surefire test classname.name
    dotted = [key.replace("::", ".") for (key,) in found]
    assert all(
        any(key.endswith(name.replace("::", ".")) for key in dotted) for name in story.FLAKY_TESTS
    )


def test_the_template_change_starts_a_failure_mode(demo_warehouse):
    found = rows(
        demo_warehouse,
        "SELECT day, new, deployment_id FROM failure_modes WHERE signature = @s ORDER BY day",
        s=story.TEMPLATE_ERROR_SIGNATURE,
    )
    assert found == [
        (t(11, 4, 0), True, story.SLOW_DEPLOY_DEPLOYMENT_ID),
        (t(11, 5, 0), False, story.SLOW_DEPLOY_DEPLOYMENT_ID),
    ]


def test_the_only_failure_mode_finding_is_the_template_change_s(demo_warehouse):
    found = rows(
        demo_warehouse,
        "SELECT series_key, deployment_id FROM cl_findings WHERE kind = 'failure_mode' "
        "ORDER BY series_key",
    )
    assert found == [
        (f"signature={story.TEMPLATE_ERROR_SIGNATURE}", story.SLOW_DEPLOY_DEPLOYMENT_ID)
    ]
