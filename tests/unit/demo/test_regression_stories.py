"""The demo's stories as regression findings, and nothing else: the demo zone (reduced scale)
through the real streams into DuckDB, then cl_regressions and cl_findings materialized for each
day partition of the traffic window, 2026-11-02 to 2026-11-05.

Every finding is listed with the reason it is there. The stories (demo/story.py): workflow-runtime
1.8.0 (dep-prod-0009, 2026-11-04 09:00) makes anthropic's calls 2.5x slower and ships
support-reply's new prompt template; gcp.gemini is rate limited 2026-11-05 14:00-15:00.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.deployments.summary import merge_deployments
from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.feedback.stream import FEEDBACK_STREAM
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.learning.assets import slo_breach_report
from cicl_assets.learning.breach import Breach
from cicl_assets.learning.findings import finding_id
from cicl_assets.learning.regressions.assets import cl_findings, cl_regressions
from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.assets import slo_minute_counts, slo_status
from cicl_assets.telemetry.evaluation_join import join_evaluated_spans
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo import story

CONFIG = str(Path(__file__).parents[3] / "config")
DAYS = ("2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05")
DEPLOY = story.SLOW_DEPLOY_DEPLOYMENT_ID
SLOW = "gen_ai_provider=anthropic, gen_ai_model=claude-sonnet-4, operation=chat"
GEMINI = "gen_ai_provider=gcp.gemini, gen_ai_model=gemini-2.5-pro, operation=chat"
GATEWAY = "service_name=flow-gateway, span_name=POST /v1/workflows/{name}/runs"
MW, CP, BURST = "mann_whitney_u", "e_divisive_means", "fisher_exact_hourly"

RUNTIME = "service_name=workflow-runtime, span_name="
LAT, QUAL, ERR = "latency_regression", "quality_regression", "error_regression"
RELEVANCE, AT = "eval_score:relevance", "11-04 09"

# (kind, series, metric, method, attributed deploy, change hour, status)
EXPECTED = [
    # Story 1, the slowdown itself: anthropic's calls, and per output token (same tokens).
    (LAT, SLOW, "latency_ms", MW, DEPLOY, AT, "open"),
    (LAT, SLOW, "latency_per_output_token_ms", MW, DEPLOY, AT, "open"),
    # Story 1 seen from the callers: the steps whose LLM call goes to anthropic (draft-reply 70%,
    # review 100%, contract-summary's summarize 100%), the run span and the three workflows that
    # call anthropic; invoice-triage, which never does, is not among them.
    (LAT, RUNTIME + "step draft-reply", "duration_ms", MW, DEPLOY, AT, "open"),
    (LAT, RUNTIME + "step review", "duration_ms", MW, DEPLOY, AT, "open"),
    (LAT, RUNTIME + "step summarize", "duration_ms", MW, DEPLOY, AT, "open"),
    (LAT, RUNTIME + "workflow.run", "duration_ms", MW, DEPLOY, AT, "open"),
    (LAT, "workflow=code-review", "duration_ms", MW, DEPLOY, AT, "open"),
    (LAT, "workflow=contract-summary", "duration_ms", MW, DEPLOY, AT, "open"),
    (LAT, "workflow=support-reply", "duration_ms", MW, DEPLOY, AT, "open"),
    # Story 1 at the gateway: flow-gateway was not deployed, so no per-deploy comparison; its
    # request spans wrap the runtime's, the change point at 09:00 is attributed to the deploy.
    (LAT, GATEWAY, "duration_ms", CP, DEPLOY, AT, "open"),
    # Story 3, the template change: support-reply's relevance scores fall 0.86 -> 0.52 ...
    (QUAL, "workflow=support-reply", RELEVANCE, MW, DEPLOY, AT, "open"),
    # ... and so do those of the two models serving it: openai (draft-reply 30%, check-tone
    # 100%, two thirds of openai's scored calls) and anthropic (draft-reply 70%, about 40%).
    (
        QUAL,
        "gen_ai_provider=anthropic, gen_ai_model=claude-sonnet-4",
        RELEVANCE,
        MW,
        DEPLOY,
        AT,
        "open",
    ),
    (QUAL, "gen_ai_provider=openai, gen_ai_model=gpt-4.1", RELEVANCE, MW, DEPLOY, AT, "open"),
    # Story 2, the rate-limited hour: gcp.gemini's calls fail, no deploy before it; it recovers.
    (ERR, GEMINI, "error_rate", BURST, None, "11-05 14", "resolved"),
]


@pytest.fixture(scope="module")
def demo_findings(demo_landing: Path, tmp_path_factory) -> Iterator[DuckDBWarehouse]:
    warehouse = DuckDBWarehouse(path=str(tmp_path_factory.mktemp("stories") / "w.duckdb"))
    landing = LandingZone(
        uri=str(demo_landing), state_dir=str(tmp_path_factory.mktemp("stories-state"))
    )
    # Parsed in this process: isolation guards against crashing parsers, which costs a process
    # per file and nothing these files need.
    ingest_stream(dataclasses.replace(OTEL_STREAM, isolated=False), landing, warehouse)
    ingest_stream(FEEDBACK_STREAM, landing, warehouse)
    ingest_stream(DEPLOYMENTS_STREAM, landing, warehouse)
    events = warehouse.read_table("deployment_events").to_pylist()
    warehouse.replace_table(DEPLOYMENTS, DEPLOYMENTS.from_records(merge_deployments(events)))
    join_evaluated_spans(warehouse)
    resources = {"warehouse": warehouse, "cicl_config": CiclConfig(config_dir=CONFIG)}
    for day in DAYS:
        assert dg.materialize([cl_regressions, cl_findings], partition_key=day, resources=resources)
    yield warehouse


def _findings(warehouse: DuckDBWarehouse) -> list[dict]:
    return warehouse.query("SELECT * FROM cl_findings").to_pylist()


def test_the_demo_stories_are_the_only_findings(demo_findings):
    found = [
        (
            r["kind"],
            r["series_key"],
            r["metric"],
            r["method"],
            r["deployment_id"],
            f"{r['change_at']:%m-%d %H}",
            r["status"],
        )
        for r in _findings(demo_findings)
    ]
    assert sorted(found, key=str) == sorted(EXPECTED, key=str)


def test_the_stories_read_as_sentences_grouped_by_their_cause(demo_findings):
    rows = {(r["series_key"], r["metric"]): r for r in _findings(demo_findings)}
    slow = rows[(SLOW, "latency_ms")]
    assert slow["title"] == (
        "anthropic claude-sonnet-4 chat: p50 latency 2.2 s → 5.4 s (2.5×, p < 1e-12) "  # noqa: RUF001
        "since workflow-runtime 1.8.0 deployed 2026-11-04 09:00"
    )
    # Two hours of post-deploy data were enough.
    assert f"{slow['first_detectable_at']:%m-%d %H:%M}" == "11-04 11:00"
    template = rows[("workflow=support-reply", "eval_score:relevance")]
    assert template["title"] == (
        "workflow support-reply: median relevance score 0.86 → 0.53 (0.6×, p < 1e-12) "  # noqa: RUF001
        "since workflow-runtime 1.8.0 deployed 2026-11-04 09:00"
    )
    burst = rows[(GEMINI, "error_rate")]
    assert (burst["resolved_at"], burst["first_detectable_at"]) == (
        story.BREACH_END,
        story.BREACH_END,
    )
    groups = {r["group_key"] for r in rows.values() if r["deployment_id"] == DEPLOY}
    assert len(groups) == 1 and burst["group_key"] not in groups
    assert demo_findings.row_count("cl_finding_pictures") == len(EXPECTED)


def test_ratings_are_too_few_at_this_scale_to_be_a_finding(demo_findings):
    """support-reply's ratings fall too (negative 1 in 16 -> 8 in 16 in the 24 h either side of
    the deploy), but 8% of runs rated gives 16 a side here: under min_samples (20) and far from
    p <= 1e-4. At the demo's full scale (200k spans) the same comparison is a finding."""
    rows = demo_findings.query(
        "SELECT partition_day, n_baseline, n_current, baseline_value, current_value, passed "
        "FROM cl_regressions WHERE series_key = 'workflow=support-reply' "
        "AND metric = 'negative_feedback_rate' AND deployment_id = @d ORDER BY partition_day",
        {"d": DEPLOY},
    ).to_pylist()
    # The 11-04 partition holds the 15 hours after the deploy its day has; 11-05 all 24.
    assert [
        (
            r["partition_day"],
            round(r["baseline_value"] * r["n_baseline"]),
            r["n_baseline"],
            round(r["current_value"] * r["n_current"]),
            r["n_current"],
            r["passed"],
        )
        for r in rows
    ] == [("2026-11-04", 1, 16, 6, 11, False), ("2026-11-05", 1, 16, 8, 16, False)]


@pytest.mark.parametrize("slo", ["gateway-availability", "workflow-invoice-triage-availability"])
def test_the_rate_limited_hour_breach_links_the_finding_that_explains_it(
    demo_findings, cicl_config, slo
):
    """The page of the rate-limited hour, as slo_breach_sensor launches it: one cl_evaluation
    run over its window's days (the regressions, then the report), and the report links the
    gcp.gemini error burst, the only finding about what its bad events have in common."""
    resources = {
        "warehouse": demo_findings,
        "cicl_config": cicl_config.model_copy(update={"config_dir": CONFIG}),
    }
    breach = Breach(
        slo_name=slo,
        alert="page",
        evaluation_time=story.BREACH_END.isoformat(),
        alert_window="1h/5m",
    )
    with dg.instance_for_test() as instance:
        first, last = story.BREACH_END.date() - timedelta(days=1), story.BREACH_END.date()
        assert dg.materialize(
            [slo_minute_counts, slo_status],
            resources=resources,
            instance=instance,
            tags=range_tags(first, last),
        ).success
        result = dg.materialize(
            [cl_regressions, cl_findings, slo_breach_report],
            resources=resources,
            instance=instance,
            run_config=breach.run_config(),
            tags=breach.tags("test"),
        )
    assert result.success
    [report] = result.asset_materializations_for_node("slo_breach_report")
    burst = finding_id(ERR, GEMINI, "error_rate", f"hour:{story.BREACH_START:%Y-%m-%dT%H}")
    assert (report.metadata["explained_by"].value, report.metadata["finding_ids"].value) == (
        1,
        burst,
    )
    assert f"`{burst}` (error_regression, resolved): gcp.gemini" in (
        report.metadata["findings"].value
    )
