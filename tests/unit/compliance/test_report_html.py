"""The report renderer alone: every value escaped, in text and attributes; figures with their
exact values; nothing external; the same data gives the same bytes."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

from cicl_assets.compliance.report_data import ChainSummary, ReportData
from cicl_assets.compliance.report_html import exact, render_report, shown

HOSTILE = "<script>alert('x')</script>"
ATTRIBUTE_BREAK = '" onmouseover="alert(1)'


def t(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def deployment(dep_id: str, env: str, service: str, verdict: str, checks: dict) -> dict:
    return {
        "deployment_id": dep_id,
        "environment": env,
        "service": service,
        "version": ATTRIBUTE_BREAK,
        "status": "succeeded",
        "started_at": t(3),
        "actor": "deploy-bot",
        "approver": "sre-lead",
        "approved_at": t(3, 8),
        "rollback_of": None,
        "image_digest": "sha256:" + "a" * 64,
        "verdict": verdict,
        "reasons": "; ".join(f"{c}: {r}" for c, rs in checks.items() for r in rs),
        "checks": json.dumps(checks),
        "waived": "[]",
    }


def data(**changes) -> ReportData:
    base = {
        "start": t(1, 0),
        "end": datetime(2026, 12, 1, tzinfo=UTC),
        "title": f"Report {HOSTILE}",
        "deployments": [
            deployment("p1", "production", HOSTILE, "fail", {"approval": [], "scan": [HOSTILE]}),
            deployment("p2", "production", "gateway", "pass", {"approval": []}),
            deployment("s1", "staging", "gateway", "pass", {}),
        ],
        "waivers": [],
        "rollbacks": [],
        "retention": [],
        "drift": [],
        "chain": ChainSummary(True, "chain intact", 10, {"cicl": 3}, 2, "c" * 32, "key-1"),
        "slos": [],
        "slo_days": [],
        "dora": [],
    }
    return ReportData(**{**base, **changes})


def test_every_value_from_the_data_is_escaped():
    page = render_report(data())
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert 'onmouseover="alert' not in page
    assert "&quot; onmouseover=&quot;alert(1)" in page


def test_nothing_is_fetched_from_elsewhere_and_pictures_are_inline():
    page = render_report(data())
    assert re.findall(r'(?:src|href)="(?!data:image/png;base64,)', page) == []
    assert page.count('src="data:image/png;base64,') == 1  # deployments per day only
    assert "<link" not in page


def test_the_figures_carry_their_exact_values():
    page = render_report(data())
    figures = dict(re.findall(r'data-figure="([^"]+)" data-value="([^"]*)"', page))
    assert figures == {
        "deployments": "3",
        "deployments/production/fail": "1",
        "deployments/production/pass": "1",
        "deployments/staging/pass": "1",
        "production_deploys_failing_gate": "1",
        "failed_gate_reasons": "1",
        "waivers_used": "0",
        "waivers_expired_blocking": "0",
        "rollbacks": "0",
        "rollbacks_not_known_good": "0",
        "retention_rows_deleted": "0",
        "drift_issues_open_at_end": "0",
        "drift_issues_opened": "0",
        "drift_issues_closed": "0",
        "audit_events_in_period": "3",
        "audit_chain_verified": "true",
        "slo_page_evaluations": "0",
    }
    # A failing deployment's row is marked; a digest is shown short, kept whole in data-value.
    assert '<tr data-row="p1" class="fail">' in page
    assert '<tr data-row="p2">' in page


def test_the_same_data_renders_the_same_bytes():
    assert render_report(data()) == render_report(data())


def test_an_empty_period_says_so_in_every_section():
    page = render_report(
        data(deployments=[], chain=ChainSummary(False, "not verified: no key", 0, {}, 0, "", ""))
    )
    assert page.count("none in this period") == 9
    assert 'data-passed="false"' in page and "not verified: no key" in page
    assert "<img" not in page


@pytest.mark.parametrize(
    ("value", "as_exact", "as_shown"),
    [
        (None, "", "—"),
        (True, "true", "yes"),
        (3, "3", "3"),
        (0.123456, "0.123456", "0.1235"),
        (t(3), "2026-11-03T09:00:00+00:00", "2026-11-03 09:00 UTC"),
        (date(2026, 11, 3), "2026-11-03", "2026-11-03"),
        (["d3", "d5"], "d3 d5", "d3, d5"),
        ([], "", "—"),
    ],
)
def test_values_are_written_one_way_for_machines_and_one_for_people(value, as_exact, as_shown):
    assert (exact(value), shown(value)) == (as_exact, as_shown)
