"""The demo's own traffic plan (every workflow run of the four days, and which fail) as
workflow.run spans: the breach hour pages exactly the breached workflow's SLO, nothing else
alerts, and the breach decision launches exactly one CL evaluation for it."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cicl_assets.learning.breach import decide_breaches
from cicl_assets.slo.specs import load_spec_dir
from cicl_assets.slo.status import load_slo_counts, status_records
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo import story
from demo.traffic_plan import plan_traffic
from tests.unit.slo.spans import span, write_spans

SPECS = load_spec_dir(Path(__file__).parents[2] / "config" / "slos")
WORKFLOW_SLOS = [s for s in SPECS.slos if s.name.startswith("workflow-")]
INVOICE = f"workflow-{story.BREACH_WORKFLOW}-availability"


@pytest.fixture(scope="module")
def demo_status(tmp_path_factory):
    warehouse = DuckDBWarehouse(path=str(tmp_path_factory.mktemp("demo") / "w.duckdb"))
    rows = [
        span(
            datetime.fromtimestamp(run.start_ns / 1e9, tz=UTC),
            workflow=run.workflow,
            error=bool(run.failure),
            trace_id=f"{hour.hour_index:08x}{run.index:024x}",
        )
        for hour in plan_traffic()
        for run in hour.runs
    ]
    write_spans(warehouse, rows)
    counts = load_slo_counts(warehouse, WORKFLOW_SLOS)
    return status_records(counts, WORKFLOW_SLOS)


def test_the_breach_hour_pages_only_the_breached_workflow(demo_status):
    alerting = [r for r in demo_status if r["alert"] in ("page", "ticket")]
    assert {r["slo_name"] for r in alerting} == {INVOICE}
    pages = sorted(
        (r["evaluation_time"], r["alert_window"]) for r in alerting if r["alert"] == "page"
    )
    # The fast rule pages from 14:30 (none of the six runs in the 5m window to 14:45 failed), then
    # 6h/30m rule until the breach leaves its 30m window.
    assert pages == [
        (story.BREACH_START + timedelta(minutes=m), "1h/5m") for m in (30, 35, 40, 50, 55, 60)
    ] + [(story.BREACH_START + timedelta(minutes=m), "6h/30m") for m in range(65, 90, 5)]
    # Afterwards the 3-day budget burns slightly over 1 while the 6h window holds the breach.
    tickets = sorted(
        (r["evaluation_time"], r["alert_window"]) for r in alerting if r["alert"] == "ticket"
    )
    assert tickets == [
        (story.BREACH_START + timedelta(minutes=m), "3d/6h") for m in range(90, 415, 5)
    ]


def test_the_day_before_is_judged_healthy(demo_status):
    day_before = [
        r
        for r in demo_status
        if story.BREACH_START - timedelta(days=1)
        < r["evaluation_time"]
        <= story.BREACH_END - timedelta(days=1)
    ]
    assert len(day_before) == len(WORKFLOW_SLOS) * 12
    assert {r["alert"] for r in day_before} == {"none"}


def test_one_cl_evaluation_for_the_breach(demo_status):
    # A cooldown as long as the ticket tail: one run for the incident, the page.
    runs, _ = decide_breaches(demo_status, [], None, datetime.now(UTC), timedelta(hours=12))
    assert [r.key for r in runs] == [f"slo-breach:{INVOICE}:page:2026-11-05T14"]
    assert runs[0].alert_window == "1h/5m"
