"""A synthetic story breach, end to end: slo_status -> breach decision -> cl_evaluation run ->
slo_breach_report naming the breach provider and error."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.learning.assets import slo_breach_report
from cicl_assets.learning.breach import FIRING, decide_breaches, read_status_rows, reviews_since
from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.assets import slo_minute_counts, slo_status
from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo import story
from jobs.learning import cl_evaluation_job
from sensors.in_process import evaluate_sensor, run_sensor_once
from sensors.slo_breach import slo_breach_sensor
from tests.conftest import EMULATOR_PROJECT, WAREHOUSE_KINDS
from tests.signing_keys import signed_config
from tests.unit.slo.spans import story_spans, write_spans

CONFIG_DIR = str(Path(__file__).parents[2] / "config")
INVOICE = f"workflow-{story.BREACH_WORKFLOW}-availability"
BREACH_DAY = story.BREACH_START.date().isoformat()
START = story.BREACH_START - timedelta(hours=28)
END = story.BREACH_END + timedelta(hours=1)


@pytest.fixture
def repo_config(cicl_config) -> CiclConfig:
    """The repository's config, and an outbox of the test's own for the audit chain's heads."""
    return cicl_config.model_copy(update={"config_dir": CONFIG_DIR})


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _breach(warehouse, config, instance):
    """The story's spans, their minute counts and slo_status, one run for the range of days."""
    write_spans(warehouse, story_spans(START, END, runs_per_minute=2))
    result = dg.materialize(
        [slo_minute_counts, slo_status],
        resources={"warehouse": warehouse, "cicl_config": config},
        instance=instance,
        tags=range_tags(START.date(), END.date()),
    )
    assert result.success
    return warehouse


@pytest.fixture
def breached(any_warehouse, repo_config, instance):
    """A breach of the test's own, for the tests that write reports and reviews."""
    return _breach(any_warehouse, repo_config, instance)


@pytest.fixture(scope="module", params=WAREHOUSE_KINDS)
def breached_once(request, tmp_path_factory):
    """One breach per engine for the module, shared by the tests that only read it or are
    refused before writing."""
    folder = tmp_path_factory.mktemp("breached")
    if request.param == "duckdb":
        warehouse = DuckDBWarehouse(path=str(folder / "warehouse.duckdb"))
    else:
        request.getfixturevalue("bigquery_emulator")
        warehouse = BigQueryWarehouse(
            project=EMULATOR_PROJECT, dataset=f"test_{uuid.uuid4().hex[:12]}", location="US"
        )
    config = signed_config(folder / "chain").model_copy(update={"config_dir": CONFIG_DIR})
    try:
        with dg.instance_for_test() as instance:
            yield _breach(warehouse, config, instance), config
    finally:
        if request.param == "bigquery":
            warehouse.client.delete_dataset(
                f"{EMULATOR_PROJECT}.{warehouse.dataset}", delete_contents=True, not_found_ok=True
            )


def _defs(warehouse, config):
    return dg.Definitions(
        assets=[slo_status, slo_breach_report],
        jobs=[cl_evaluation_job],
        sensors=[slo_breach_sensor],
        resources={"warehouse": warehouse, "cicl_config": config},
    )


def _reviews(warehouse):
    return warehouse.query(
        "SELECT actor, resource, details FROM audit_events "
        "WHERE action = 'cl_review_triggered' ORDER BY resource"
    ).to_pylist()


def test_breach_report_points_at_the_breach_provider_and_rate_limits(breached, repo_config):
    config = {
        "slo_name": INVOICE,
        "alert": "page",
        "alert_window": "1h/5m",
        "evaluation_time": story.BREACH_END.isoformat(),
        "burn_rate": 30.0,
    }
    result = (
        _defs(breached, repo_config)
        .resolve_job_def("cl_evaluation")
        .execute_in_process(
            run_config={"ops": {"slo_breach_report": {"config": config}}},
            partition_key=BREACH_DAY,
        )
    )
    assert result.success
    rows = breached.query(
        "SELECT dimension, value, bad_events, share_of_bad, events, bad_rate, lift, "
        "baseline_bad_rate, window_bad_events, window_events, window_start FROM "
        "slo_breach_reports ORDER BY dimension, bad_events DESC, value"
    ).to_pylist()
    top = {}
    for row in rows:
        top.setdefault(row["dimension"], row)
    assert top["provider"]["value"] == story.BREACH_PROVIDER
    assert top["provider"]["share_of_bad"] == 1.0
    assert top["error_type"]["value"] == "RateLimitError"
    assert top["workflow"]["value"] == story.BREACH_WORKFLOW
    assert top["model"]["value"] == story.PROVIDERS[story.BREACH_PROVIDER]["model"]
    assert top["operation"]["value"] == f"chat {top['model']['value']}"
    first = rows[0]
    assert first["window_events"] == 120  # two invoice runs a minute over the 1h window
    assert first["window_start"] == story.BREACH_START
    bad = first["window_bad_events"]
    assert bad == 35
    # Before the window 11 of the 3360 runs of the 28 hours failed; the provider's 35 of 120 in
    # the window is 89 times that.
    assert first["baseline_bad_rate"] == pytest.approx(11 / 3360)
    assert top["provider"]["bad_rate"] == pytest.approx(bad / top["provider"]["events"])
    assert top["provider"]["lift"] == pytest.approx((35 / 120) / (11 / 3360))
    meta = result.asset_materializations_for_node("slo_breach_report")[0].metadata
    assert meta["top/provider"].value == story.BREACH_PROVIDER
    assert meta["top/error_type"].value == "RateLimitError"
    assert meta["cause"].value == (
        "35 of 120 events bad; error_type RateLimitError (100% of bad, 305x the usual rate), "
        "provider gcp.gemini (100% of bad, 89x the usual rate), model gemini-2.5-pro (100% of "
        "bad, 89x the usual rate), service_version 1.7.3 (100% of bad, 89x the usual rate)"
    )
    # The run chained its review: launched by hand, with the run's id, like the report's rows.
    [review] = _reviews(breached)
    assert (review["actor"], review["resource"]) == ("launched by hand", f"slo/{INVOICE}")
    assert json.loads(review["details"])["run_id"] == result.run_id
    assert {
        r["run_id"] for r in breached.query("SELECT run_id FROM slo_breach_reports").to_pylist()
    } == {result.run_id}
    assert meta["summary"].value == (
        f"**{INVOICE}** page on 1h/5m at 2026-11-05T15:00:00+00:00: 35 bad of 120 events from "
        "2026-11-05T14:00:00+00:00 (bad share before the window: 0.33%).\n\n"
        "| dimension | top value | bad events | share of bad | bad rate | lift |\n"
        "|---|---|---|---|---|---|\n"
        "| operation | `chat gemini-2.5-pro` | 35 | 100% | 29% | 89.1x |\n"
        "| provider | `gcp.gemini` | 35 | 100% | 29% | 89.1x |\n"
        "| model | `gemini-2.5-pro` | 35 | 100% | 29% | 89.1x |\n"
        "| error_type | `RateLimitError` | 35 | 100% | 100% | 305.5x |\n"
        "| service_version | `1.7.3` | 35 | 100% | 29% | 89.1x |\n"
        "| workflow | `invoice-triage` | 35 | 100% | 29% | 89.1x |"
    )


def test_the_batch_path_runs_the_sensors_requests_and_nothing_twice(
    breached, repo_config, instance
):
    defs = _defs(breached, repo_config)
    launched = run_sensor_once(defs, instance, "slo_breach_sensor")
    runs = [instance.get_run_by_id(run.run_id) for run in launched]
    assert all(r.is_success for r in runs)
    keys = sorted(r.tags["dagster/run_key"] for r in runs)
    # The breach pages the workflow's SLO and, through its 502s, the gateway's; nothing else.
    assert keys == [
        "slo-breach:gateway-availability:page:2026-11-05T14",
        f"slo-breach:{INVOICE}:page:2026-11-05T14",
    ]
    assert {r.tags["cicl/decided_by"] for r in runs} == {"slo_breach_sensor"}
    assert run_sensor_once(defs, instance, "slo_breach_sensor") == []
    # A fresh instance (a daemon started on this warehouse) that sees the day materialized again
    # asks for nothing either: the warehouse records the reviews.
    with dg.instance_for_test() as fresh:
        fresh.report_runless_asset_event(
            dg.AssetMaterialization("slo_status", partition=BREACH_DAY)
        )
        assert evaluate_sensor(defs, fresh, "slo_breach_sensor") == []
    reported = breached.query(
        "SELECT DISTINCT slo_name FROM slo_breach_reports ORDER BY slo_name"
    ).to_pylist()
    assert [r["slo_name"] for r in reported] == ["gateway-availability", INVOICE]
    gateway_workflow = breached.query(
        "SELECT value, share_of_bad FROM slo_breach_reports WHERE slo_name = "
        "'gateway-availability' AND dimension = 'workflow' ORDER BY bad_events DESC LIMIT 1"
    ).to_pylist()[0]
    assert gateway_workflow["value"] == story.BREACH_WORKFLOW
    triggered = _reviews(breached)
    assert [t["resource"] for t in triggered] == ["slo/gateway-availability", f"slo/{INVOICE}"]
    assert {t["actor"] for t in triggered} == {"slo_breach_sensor"}
    # Each event names the run that wrote the report it describes.
    reported = breached.query(
        "SELECT DISTINCT slo_name, run_id FROM slo_breach_reports ORDER BY slo_name"
    ).to_pylist()
    assert [json.loads(t["details"])["run_id"] for t in triggered] == [
        r["run_id"] for r in reported
    ]
    assert sorted(r["run_id"] for r in reported) == sorted(run.run_id for run in launched)


def test_status_rows_of_the_days_asked_for(breached_once):
    breached, _ = breached_once
    day = read_status_rows(breached, [story.BREACH_START.date()])
    # 10 SLOs (the Workbench one without counts here), every 5 minutes from midnight to 16:00.
    assert len(day) == 10 * (16 * 12 + 1)
    assert min(r["evaluation_time"] for r in day) == datetime(2026, 11, 5, tzinfo=UTC)
    assert max(r["evaluation_time"] for r in day) == END


def test_the_sensor_reads_only_the_rows_a_decision_needs(breached_once):
    """Firing rows and those of the latest evaluation, not every evaluation of the days: the
    same breaches and cursor as from all rows, from a fraction of them."""
    breached, _ = breached_once
    days = [story.BREACH_START.date() - timedelta(days=1), story.BREACH_START.date()]
    every = read_status_rows(breached, days)
    needed = read_status_rows(breached, days, firing_only=True)
    firing = [r for r in every if r["alert"] in FIRING]
    assert firing and len(needed) < len(every) // 4
    key = ("evaluation_time", "slo_name")
    assert sorted(needed, key=lambda r: [r[k] for k in key]) == sorted(
        [r for r in every if r["alert"] in FIRING or r["evaluation_time"] == END],
        key=lambda r: [r[k] for k in key],
    )
    now = datetime(2026, 11, 6, tzinfo=UTC)
    cooldown = timedelta(hours=12)
    decided = [decide_breaches(rows, [], None, now, cooldown) for rows in (every, needed)]
    assert decided[0][0] and decided[0] == decided[1]
    assert reviews_since(needed, cooldown) >= reviews_since(every, cooldown)


def test_without_run_config_no_breach_is_picked_and_the_run_is_refused(breached_once):
    breached, repo_config = breached_once
    # Only slo_breach_sensor's decision picks breaches: a run must name its breach.
    with pytest.raises(dg.DagsterInvalidConfigError) as refused:
        _defs(breached, repo_config).resolve_job_def("cl_evaluation").execute_in_process()
    message = str(refused.value)
    assert 'Missing required config entry "ops" at the root.' in message
    assert (
        "{'ops': {'slo_breach_report': {'config': {'alert': '...', 'evaluation_time': '...', "
        "'slo_name': '...'}}}}"
    ) in message


def test_an_unknown_slo_fails_with_the_known_ones(breached_once):
    breached, repo_config = breached_once
    config = {"slo_name": "nope", "alert": "page", "evaluation_time": story.BREACH_END.isoformat()}
    result = (
        _defs(breached, repo_config)
        .resolve_job_def("cl_evaluation")
        .execute_in_process(
            run_config={"ops": {"slo_breach_report": {"config": config}}},
            partition_key=BREACH_DAY,
            raise_on_error=False,
        )
    )
    assert not result.success
    failure = result.failure_data_for_node("slo_breach_report")
    assert "SLO 'nope' is not among the evaluable specs" in str(failure.error.message)
