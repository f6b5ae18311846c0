"""slo_status over story-shaped spans in a real warehouse (every backend of any_warehouse)."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.assets import slo_minute_counts, slo_status
from cicl_assets.slo.specs import load_spec_dir
from cicl_assets.slo.status import load_slo_counts, minute_counts_query
from demo import story
from tests.unit.slo.spans import story_spans, write_spans

CONFIG_DIR = Path(__file__).parents[2] / "config"
# Enough history before the day-before check for its 1d windows to be covered by data.
START = story.BREACH_START - timedelta(hours=54)
END = story.BREACH_END + timedelta(hours=2)


@pytest.fixture
def spans_warehouse(any_warehouse):
    write_spans(any_warehouse, story_spans(START, END, runs_per_minute=2))
    return any_warehouse


FIRST_DAY, LAST_DAY = START.date(), END.date()


def _materialize(warehouse, first=FIRST_DAY, last=LAST_DAY, **config):
    """The minute counts and slo_status of the days first..last, one run for the range."""
    return dg.materialize(
        [slo_minute_counts, slo_status],
        resources={"warehouse": warehouse, "cicl_config": CiclConfig(config_dir=str(CONFIG_DIR))},
        run_config={"ops": {"slo_status": {"config": config}}} if config else None,
        tags=range_tags(first, last),
    )


def test_breach_hour_pages_on_the_breached_workflow_and_the_day_before_is_clean(spans_warehouse):
    result = _materialize(spans_warehouse)
    assert result.success
    rows = spans_warehouse.query(
        "SELECT slo_name, evaluation_time, alert, alert_window, burn_rate_1h, burn_rate_5m, "
        "events_1h, bad_1h FROM slo_status"
    ).to_pylist()
    slos = {r["slo_name"] for r in rows}
    # The shipped specs: 8 on spans, a Sloth one mapped to spans, a Workbench one without counts.
    assert len(slos) == 10
    # Every 5 minutes from the first minute of data to its end, per SLO.
    per_slo = [r for r in rows if r["slo_name"] == "workflow-invoice-triage-availability"]
    assert len(per_slo) == (END - START) // timedelta(minutes=5)

    in_breach = [
        r
        for r in rows
        if story.BREACH_START + timedelta(minutes=25) <= r["evaluation_time"] <= story.BREACH_END
    ]
    paged = {r["slo_name"] for r in in_breach if r["alert"] == "page"}
    workflow_pages = {s for s in paged if s.startswith("workflow-")}
    assert workflow_pages == {f"workflow-{story.BREACH_WORKFLOW}-availability"}
    # The gateway answers 502 for failed runs, so the same incident burns its budget too.
    assert paged == {"gateway-availability", "workflow-invoice-triage-availability"}
    invoice = [r for r in in_breach if r["slo_name"] == "workflow-invoice-triage-availability"]
    # Once the 1h window holds enough of the breach, the fast rule pages; a 5m window of ten
    # runs can miss (1 failure of 10 burns at 10 < 14.4), so not every evaluation pages.
    pages = [r for r in invoice if r["alert"] == "page"]
    missed = [r["evaluation_time"] for r in invoice if r["alert"] != "page"]
    assert (len(invoice), missed) == (8, [story.BREACH_START + timedelta(minutes=45)])
    assert {r["alert_window"] for r in pages} == {"1h/5m"}
    at_end = next(r for r in invoice if r["evaluation_time"] == story.BREACH_END)
    # 2 runs a minute for an hour; ~35% failed: burn = bad/total/(1-0.99).
    assert at_end["events_1h"] == 120
    assert at_end["bad_1h"] == 43
    assert at_end["burn_rate_1h"] == pytest.approx(43 / 120 / 0.01)

    day_before = [
        r
        for r in rows
        if story.BREACH_START - timedelta(days=1)
        < r["evaluation_time"]
        <= story.BREACH_END - timedelta(days=1)
    ]
    assert len(day_before) == 10 * 12
    # The Workbench SLO counts events landed under slo/, and none landed here.
    workbench = "workbench-ui-workbench-page-availability"
    assert {r["alert"] for r in day_before if r["slo_name"] != workbench} == {"none"}
    assert {r["alert"] for r in day_before if r["slo_name"] == workbench} == {"insufficient_data"}

    # One run for the range: each day's materialization carries the run's metadata.
    materializations = result.asset_materializations_for_node("slo_status")
    assert [m.partition for m in materializations] == ["2026-11-03", "2026-11-04", "2026-11-05"]
    materialization = materializations[-1]
    meta = materialization.metadata
    assert meta["dagster/row_count"].value == len(rows)
    # 62 of the 6840 runs of the 57 hours failed: a budget of 68.4 bad runs, 6.4 of it left.
    assert meta["error_budget_remaining/workflow-invoice-triage-availability"].value == (
        pytest.approx(1 - 62 / 68.4)
    )
    assert meta["burn_rate_1h/workflow-invoice-triage-availability"].value == 0.0  # 2h later
    assert meta["alert_history"].value == (
        "| slo | alert | window | from | to | peak burn rate |\n"
        "|---|---|---|---|---|---|\n"
        "| gateway-availability | page | 1h/5m | 2026-11-05T14:55:00+00:00 "
        "| 2026-11-05T15:00:00+00:00 | 18.33 |\n"
        "| workflow-invoice-triage-availability | page | 1h/5m | 2026-11-05T14:25:00+00:00 "
        "| 2026-11-05T14:40:00+00:00 | 25.83 |\n"
        "| workflow-invoice-triage-availability | page | 1h/5m | 2026-11-05T14:50:00+00:00 "
        "| 2026-11-05T15:25:00+00:00 | 35.83 |"
    )
    [check] = result.get_asset_check_evaluations()
    assert check.passed


def test_counts_query_matches_a_direct_count(spans_warehouse):
    specs = load_spec_dir(CONFIG_DIR / "slos")
    counts = load_slo_counts(spans_warehouse, specs.slos)
    invoice = counts.by_slo["workflow-invoice-triage-availability"]
    direct = spans_warehouse.query(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN status_code = 'ERROR' THEN 1 ELSE 0 END) AS bad "
        "FROM otel_spans WHERE service_name = 'workflow-runtime' AND span_name = 'workflow.run' "
        "AND workflow_name = 'invoice-triage'"
    ).to_pylist()[0]
    assert int(invoice.total.sum()) == direct["n"]
    assert int(invoice.total.sum() - invoice.good.sum()) == direct["bad"]
    latency = counts.by_slo["llm-gcp-gemini-chat-latency"]
    slow = spans_warehouse.query(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN duration_ms <= 3500 THEN 1 ELSE 0 END) AS fast "
        "FROM otel_spans WHERE span_kind = 'CLIENT' AND gen_ai_provider = 'gcp.gemini' "
        "AND span_name LIKE 'chat%'"
    ).to_pylist()[0]
    assert (int(latency.total.sum()), int(latency.good.sum())) == (slow["n"], slow["fast"])


def _rows_by_day(warehouse) -> dict[str, int]:
    rows = warehouse.query(
        "SELECT evaluation_time FROM slo_status WHERE evaluation_time >= @since",
        {"since": START - timedelta(days=1)},
    ).to_pylist()
    days: dict[str, int] = {}
    for row in rows:
        day = row["evaluation_time"].date().isoformat()
        days[day] = days.get(day, 0) + 1
    return days


def test_a_day_rematerialized_replaces_only_its_own_rows(spans_warehouse):
    assert _materialize(spans_warehouse).success
    # START is 08:00 on the 3rd; END 17:00 on the 5th: 5-minute steps after the first minute.
    whole = {"2026-11-03": 10 * 191, "2026-11-04": 10 * 288, "2026-11-05": 10 * 205}
    assert _rows_by_day(spans_warehouse) == whole
    day = story.BREACH_START.date() - timedelta(days=1)
    assert _materialize(spans_warehouse, day, day, step_minutes=10).success
    assert _rows_by_day(spans_warehouse) == {**whole, "2026-11-04": 10 * 144}


def test_no_spans_gives_an_empty_status(any_warehouse):
    result = _materialize(any_warehouse)
    assert result.success
    assert any_warehouse.row_count("slo_status") == 0


@pytest.mark.parametrize(
    ("dialect", "bucket"),
    [
        ("duckdb", "date_trunc('minute', start_time)"),
        ("bigquery", "TIMESTAMP_TRUNC(start_time, MINUTE)"),
    ],
)
def test_minute_bucket_per_dialect(dialect, bucket):
    specs = load_spec_dir(CONFIG_DIR / "slos")
    query = minute_counts_query(specs.slos, dialect)
    assert f"{bucket} AS minute" in query.sql
    assert query.sql.count("SELECT") == 1  # one statement for every SLO
    assert query.thresholds == (3500.0, 4000.0, 5000.0)
