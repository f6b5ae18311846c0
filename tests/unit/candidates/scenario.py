"""The demo's stories as the rows candidate generation reads: the findings, routing proposal,
failure mode and flaky tests the evaluations write for them (demo/story.py), on 2026-11-05.

Story 1: workflow-runtime 1.8.0 (dep-prod-0009, 2026-11-04 09:00) makes anthropic's calls 2.5x
slower; routing proposes moving drafting traffic to openai. Story 3: the same release ships
support-reply's draft-reply template v8; relevance falls 0.86 -> 0.52 and a new ERROR starts.
The pipeline history's two flaky tests. A resolved gemini error burst (the rate-limited hour)
must not become a candidate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cicl_assets.learning.failure_modes.assets import FAILURE_MODES
from cicl_assets.learning.failure_modes.signature import mode_id
from cicl_assets.learning.findings import finding_id, finding_row, merge_findings
from cicl_assets.learning.flaky.assets import FLAKY_TESTS
from cicl_assets.learning.routing.proposals import ROUTING_PROPOSALS
from cicl_assets.warehouse.base import Warehouse
from demo import story

DEPLOY = story.SLOW_DEPLOY_DEPLOYMENT_ID
AT = story.SLOW_DEPLOY_AT
THROUGH = datetime(2026, 11, 6, tzinfo=UTC)
DETECTED = datetime(2026, 11, 6, 0, 5, tzinfo=UTC)
ANTHROPIC = "gen_ai_provider=anthropic, gen_ai_model=claude-sonnet-4, operation=chat"
GEMINI = "gen_ai_provider=gcp.gemini, gen_ai_model=gemini-2.5-pro, operation=chat"
FLAKY = (
    "com.coditect.tools.erp.VendorLookupClientTest::retriesOnTimeout",
    "providers::pool::tests::reuses_connections",
)


def _deployed(anchor: str) -> dict:
    return dict(
        deployment_id=DEPLOY,
        service_version=story.SLOW_DEPLOY_VERSION_AFTER,
        deployed_service=story.SLOW_DEPLOY_SERVICE,
        commit_sha="5f0c2d1e9a8b",
        group_key=anchor,
    )


def regression_findings() -> list[dict]:
    slow = finding_row(
        finding_id=finding_id("latency_regression", ANTHROPIC, "latency_ms", f"deploy:{DEPLOY}"),
        kind="latency_regression",
        status="open",
        severity="high",
        title="anthropic claude-sonnet-4 chat latency 2,200 -> 5,500 ms (2.5x) since 1.8.0",
        series_key=ANTHROPIC,
        operation="chat",
        gen_ai_provider="anthropic",
        gen_ai_model="claude-sonnet-4",
        metric="latency_ms",
        baseline_value=2200.0,
        current_value=5500.0,
        effect_ratio=2.5,
        p_value=1e-12,
        n_baseline=900,
        n_current=700,
        method="mann_whitney_u",
        change_at=AT,
        first_detectable_at=AT + timedelta(hours=1),
        data_through=THROUGH,
        detected_at=DETECTED,
        evidence={"example_trace_ids": ["4bf92f3577b34da6a3ce929d0e0e4736"]},
        partition_day="2026-11-05",
        **_deployed("g1"),
    )
    quality = finding_row(
        finding_id=finding_id(
            "quality_regression",
            "workflow=support-reply",
            "eval_score:relevance",
            f"deploy:{DEPLOY}",
        ),
        kind="quality_regression",
        status="open",
        severity="high",
        title="support-reply relevance 0.86 -> 0.52 since 1.8.0",
        series_key="workflow=support-reply",
        workflow="support-reply",
        metric="eval_score:relevance",
        baseline_value=0.86,
        current_value=0.52,
        effect_ratio=0.6047,
        p_value=1e-9,
        n_baseline=400,
        n_current=300,
        method="mann_whitney_u",
        change_at=AT,
        first_detectable_at=AT + timedelta(hours=2),
        data_through=THROUGH,
        detected_at=DETECTED,
        evidence={},
        partition_day="2026-11-05",
        **_deployed("g1"),
    )
    burst = finding_row(
        finding_id=finding_id("error_regression", GEMINI, "error_rate", "hour:2026-11-05T14"),
        kind="error_regression",
        status="resolved",
        severity="high",
        title="gcp.gemini gemini-2.5-pro chat error rate 1.5% -> 35% for an hour",
        series_key=GEMINI,
        operation="chat",
        gen_ai_provider="gcp.gemini",
        gen_ai_model="gemini-2.5-pro",
        metric="error_rate",
        baseline_value=0.015,
        current_value=0.35,
        effect_ratio=23.3,
        method="fisher_exact_hourly",
        change_at=story.BREACH_START,
        first_detectable_at=story.BREACH_START,
        data_through=THROUGH,
        detected_at=DETECTED,
        resolved_at=story.BREACH_END,
        evidence={},
        partition_day="2026-11-05",
        group_key="g2",
    )
    return [slow, quality, burst]


def failure_mode_rows() -> tuple[list[dict], list[dict]]:
    signature = story.TEMPLATE_ERROR_SIGNATURE
    first = AT + timedelta(minutes=3, seconds=12)
    mode = {
        "day": datetime(2026, 11, 4, tzinfo=UTC),
        "mode_id": mode_id(signature),
        "signature": signature,
        "sources": "log",
        "count": 41,
        "baseline_daily_mean": 0.0,
        "first_seen_at": first,
        "last_seen_at": datetime(2026, 11, 4, 23, 51, tzinfo=UTC),
        "services": json.dumps(["workflow-runtime"]),
        "workflows": json.dumps(["support-reply"]),
        "providers": json.dumps(["anthropic", "openai"]),
        "versions": json.dumps(["1.8.0"]),
        "example_trace_ids": json.dumps(
            ["0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331b7ad6b7169203331"]
        ),
        "example_tests": json.dumps([]),
        "new": True,
        "jumped": False,
        "deployment_id": DEPLOY,
        "service_version": story.SLOW_DEPLOY_VERSION_AFTER,
        "commit_sha": "5f0c2d1e9a8b",
        "service_name": "workflow-runtime",
    }
    key = f"signature={signature}"
    finding = finding_row(
        finding_id=finding_id("failure_mode", key, "count", f"deploy:{DEPLOY}"),
        group_key="g1",
        series_key=key,
        kind="failure_mode",
        status="open",
        severity="high",
        title=f"new failure mode in workflow-runtime: {signature}",
        service_name="workflow-runtime",
        metric="count",
        baseline_value=0.0,
        current_value=41.0,
        n_current=41,
        method="new signature",
        change_at=first,
        deployment_id=DEPLOY,
        service_version=story.SLOW_DEPLOY_VERSION_AFTER,
        commit_sha="5f0c2d1e9a8b",
        first_detectable_at=first,
        data_through=datetime(2026, 11, 5, tzinfo=UTC),
        detected_at=DETECTED,
        partition_day="2026-11-04",
        evidence={
            "anchor": f"deploy:{DEPLOY}",
            "signature": signature,
            "trace_ids": json.loads(mode["example_trace_ids"]),
            "test_names": [],
        },
    )
    return [mode], [finding]


def flaky_rows() -> tuple[list[dict], list[dict]]:
    rows, findings = [], []
    for i, test in enumerate(FLAKY):
        first = datetime(2026, 10, 12 + 7 * i, 10, 40, tzinfo=UTC)
        rows.append(
            {
                "as_of": THROUGH,
                "rank": i + 1,
                "test_key": test,
                "framework": "surefire" if i == 0 else "nextest",
                "runs": 20,
                "passes": 17,
                "fails": 1,
                "passed_on_retry": 2,
                "same_commit_conflicts": 0,
                "failed_runs_caused": 3 - i,
                "default_branch_runs": 20,
                "flip_rate": 0.2,
                "history": "PPRPPFPPRPP",
                "first_flake_at": first,
                "last_flake_at": first + timedelta(days=9),
                "passes_since_last_flake": 3,
                "status": "open",
                "evidence": "{}",
            }
        )
        findings.append(
            finding_row(
                finding_id=finding_id("flaky_test", f"test={test}", "flip_rate", f"test:{test}"),
                group_key=f"t{i}",
                series_key=f"test={test}",
                kind="flaky_test",
                status="open",
                severity="high" if i == 0 else "medium",
                title=f"{test} is flaky: 2 passes on retry, {3 - i} failed runs in 30 days",
                metric="flip_rate",
                current_value=0.2,
                n_current=20,
                method="same code, pass and fail (retry in report or same commit and job)",
                change_at=first,
                first_detectable_at=first,
                data_through=THROUGH,
                detected_at=DETECTED,
                partition_day="2026-11-05",
                evidence={"test_names": [test]},
            )
        )
    return rows, findings


def routing_proposal() -> dict:
    current = [
        {"model_name": "drafting", "litellm_params": {"model": m, "weight": w}}
        for m, w in (("anthropic/claude-sonnet-4", 7.0), ("openai/gpt-4.1", 3.0))
    ]
    proposed = [
        {"model_name": "drafting", "litellm_params": {"model": m, "weight": w}}
        for m, w in (("anthropic/claude-sonnet-4", 5.0), ("openai/gpt-4.1", 5.0))
    ]
    return {
        "as_of": datetime(2026, 11, 5, tzinfo=UTC),
        "proposal_id": "7c1d0a9e5b3f4e21a0c6d8b2f4e1a9c7",
        "model_group": "drafting",
        "status": "open",
        "severity": "high",
        "title": "drafting: shift traffic from anthropic/claude-sonnet-4 to openai/gpt-4.1",
        "current_weights": json.dumps(current),
        "proposed_weights": json.dumps(proposed),
        "expected_latency_p50_ms_current": 4390.0,
        "expected_latency_p50_ms_proposed": 3650.0,
        "expected_error_rate_current": 0.0072,
        "expected_error_rate_proposed": 0.008,
        "expected_cost_per_1k_calls_current": 15.2,
        "expected_cost_per_1k_calls_proposed": 13.9,
        "expected_quality_current": 0.55,
        "expected_quality_proposed": 0.55,
        "reasons": (
            "anthropic/claude-sonnet-4: p50 latency 5,500 ms is 2.5x its 7-day baseline "
            "(2,200 ms); share 70% -> 50%.\n"
            "openai/gpt-4.1: within its constraints; share 30% -> 50%."
        ),
        "method": "m",
        "evidence": json.dumps(
            {
                "anthropic/claude-sonnet-4": {"violation_ratio": 2.5},
                "openai/gpt-4.1": {"violation_ratio": 1.0},
            }
        ),
    }


def write_stories(warehouse: Warehouse) -> None:
    """Every story's rows, as the evaluations would have written them."""
    modes, mode_findings = failure_mode_rows()
    flaky, flaky_findings = flaky_rows()
    merge_findings(warehouse, "regressions", regression_findings())
    merge_findings(warehouse, "failure_modes", mode_findings)
    merge_findings(warehouse, "flaky_tests", flaky_findings)
    warehouse.append(FAILURE_MODES, FAILURE_MODES.from_records(modes))
    warehouse.append(FLAKY_TESTS, FLAKY_TESTS.from_records(flaky))
    warehouse.append(ROUTING_PROPOSALS, ROUTING_PROPOSALS.from_records([routing_proposal()]))
