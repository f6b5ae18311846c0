"""The auditor's report on every warehouse, from a small warehouse of our own
(tests/integration/report_scenario.py): what November 2026 and October 2026 state, exactly; the
reads it sends; its publication in the outbox; and the page itself in headless Chromium, its
numbers read back and checked against the warehouse queried here."""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.compliance.report_assets import compliance_report, render_period
from cicl_assets.deployments.summary import EXECUTED
from cicl_assets.infra.retention import EVIDENCE_RETENTION
from cicl_assets.warehouse.base import IN_ARRAY
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.browser import launch
from tests.conftest import EMULATOR_PROJECT
from tests.integration.report_scenario import HOSTILE_SERVICE, HOSTILE_VERSION, at, build
from tests.integration.test_compliance_evidence import digest

STATEMENTS: list[str] = []
# Time-series tables the report reads, with their time column; audit_events is read whole
# only by the chain's verification (read_chain), which must re-hash every link.
TIME_SERIES = {
    "deployment_evidence": "started_at",
    "rollback_checks": "started_at",
    "evidence_retention": "run_at",
    "infra_drift_issues": "opened_at",
    "slo_status": "evaluation_time",
    "dora_metrics": "period_end",
}
NOVEMBER = (at(11, 1), at(12, 1))
OCTOBER = (at(10, 1), at(11, 1))


class RecordingDuckDB(DuckDBWarehouse):
    def query(self, sql, params=None):
        STATEMENTS.append(" ".join(sql.split()))
        return super().query(sql, params)


def _recording_bigquery():
    from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse

    class RecordingBigQuery(BigQueryWarehouse):
        def query(self, sql, params=None):
            STATEMENTS.append(" ".join(sql.split()))
            return super().query(sql, params)

    return RecordingBigQuery(
        project=EMULATOR_PROJECT, dataset=f"test_{uuid.uuid4().hex[:12]}", location="US"
    )


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("bigquery", marks=pytest.mark.bigquery)]
)
def scenario(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"report-{request.param}")
    if request.param == "duckdb":
        warehouse = RecordingDuckDB(path=str(root / "w.duckdb"))
    else:
        request.getfixturevalue("bigquery_emulator")
        warehouse = _recording_bigquery()
    config = build(warehouse, root)
    yield warehouse, config, root
    if request.param == "bigquery":
        warehouse.client.delete_dataset(
            f"{EMULATOR_PROJECT}.{warehouse.dataset}", delete_contents=True, not_found_ok=True
        )


def unbounded(statements: list[str]) -> list[str]:
    bad = []
    for sql in statements:
        for table, column in TIME_SERIES.items():
            if re.search(rf"\bFROM\s+{table}\b", sql, re.I) and not re.search(
                rf"\b{column}\s*(>=|>|<|<=)\s*@", sql
            ):
                bad.append(sql)
    return bad


def test_the_november_report_states_exactly_what_happened(scenario):
    warehouse, config, _ = scenario
    STATEMENTS.clear()
    data, _ = render_period(warehouse, config, *NOVEMBER, "November")
    assert data.figures() == {
        "deployments": 4,
        "deployments/production/fail": 2,
        "deployments/production/pass": 1,
        "deployments/staging/fail": 1,
        "production_deploys_failing_gate": 2,
        "failed_gate_reasons": 6,
        "waivers_used": 1,
        "waivers_expired_blocking": 1,
        "rollbacks": 2,
        "rollbacks_not_known_good": 1,
        "retention_rows_deleted": 5,
        "drift_issues_open_at_end": 2,
        "drift_issues_opened": 1,
        "drift_issues_closed": 1,
        "audit_events_in_period": 14,
        "audit_chain_verified": True,
        "slo_page_evaluations": 2,
    }
    expired = (
        "CRITICAL CVE-2024-45491 in libexpat1 2.5.0-1 (trivy) blocks: its waiver by "
        "security-lead@coditect.example expired 2026-10-31 00:00 UTC"
    )
    assert [(g["deployment_id"], g["check"], g["reason"]) for g in data.failed_gates] == [
        ("d3", "post_deploy", "post-deploy step health-check failed"),
        ("d3", "scan", expired),
        ("d5", "scan", expired),
        ("s-hostile", "audit", "the deployment itself has no audit event"),
        ("s-hostile", "ci_stages", "no CI run built this image digest"),
        ("s-hostile", "sbom", "no SBOM describes this image digest"),
    ]
    assert [(w["rule_id"], w["state"], w["waived"], w["blocked"]) for w in data.waivers] == [
        ("CVE-2023-31484", "valid", ["d3", "d4", "d5"], []),
        ("CVE-2024-45491", "expired", [], ["d3", "d5"]),
        ("CVE-2024-45492", "expired", [], []),
    ]
    assert [
        (a["deployment_id"], a["actor"], a["approver"], a["approval"]) for a in data.approvals
    ] == [(d, "deploy-bot", "sre-lead", "holds") for d in ("d3", "d4", "d5")]
    assert [(r["deployment_id"], r["to_digest"], r["ok"]) for r in data.rollbacks] == [
        ("d4", digest(1), True),
        ("d5", digest(3), False),
    ]
    assert [(r["table_name"], r["rows_deleted"]) for r in data.retention] == [
        ("infra_apply_logs", 1),
        ("infra_plans", 4),
    ]
    assert [
        (d["drift_issue_id"], d["open_at_end"], d["opened_in_period"], d["closed_in_period"])
        for d in data.drift
    ] == [
        ("open_since_sep", True, False, False),
        ("closed_in_nov", False, False, True),
        ("opened_in_nov", True, True, False),
    ]
    assert [
        (s["slo_name"], s["sli"], s["error_budget_remaining"], s["worst_budget_remaining"],
         s["alert"], s["page_evaluations"], s["ticket_evaluations"])
        for s in data.slos
    ] == [
        ("worker-availability", 0.9935, 0.35, 0.3, "ticket", 2, 1),
        ("worker-latency", 0.9995, 0.95, 0.95, "none", 0, 0),
    ]  # fmt: skip
    assert [(r["period_end"], r["deployments"], r["change_failure_rate"]) for r in data.dora] == [
        (at(11, 4), 5, 0.4)
    ]
    assert data.chain.passed and data.chain.events_in_period == {"cicl": 2, "cicl_ci": 12}
    # Every read of a time-series table was bounded by its time column.
    assert any("FROM slo_status" in s for s in STATEMENTS)
    assert unbounded(STATEMENTS) == []


def test_the_october_report_holds_only_october(scenario):
    warehouse, config, _ = scenario
    data, _ = render_period(warehouse, config, *OCTOBER, "October")
    assert [(d["environment"], d["deployment_id"], d["verdict"]) for d in data.deployments] == [
        ("production", "d1", "pass"),
        ("production", "d2", "fail"),
        ("staging", "s-r1", "pass"),
        ("staging", "s-r2", "pass"),
        ("staging", "s-r3", "pass"),
    ]
    assert [(g["deployment_id"], g["check"]) for g in data.failed_gates] == [
        ("d2", "change_window"),
        ("d2", "change_window"),
    ]
    assert (data.rollbacks, data.retention, data.dora) == ([], [], [])
    assert [
        (s["slo_name"], s["error_budget_remaining"], s["page_evaluations"]) for s in data.slos
    ] == [("worker-availability", -0.5, 1)]
    assert [d["drift_issue_id"] for d in data.drift] == ["open_since_sep", "closed_in_nov"]


def _published(result: dg.ExecuteInProcessResult) -> dict:
    [materialization] = result.asset_materializations_for_node("compliance_report")
    return {k: v.value for k, v in materialization.metadata.items()}


def test_the_asset_publishes_a_new_numbered_report_only_when_it_changes(scenario):
    warehouse, config, root = scenario
    resources = {"warehouse": warehouse, "cicl_config": config}
    folder = root / "outbox" / "reports" / "compliance" / "2026-10"
    shutil.rmtree(folder, ignore_errors=True)
    first = _published(
        dg.materialize([compliance_report], resources=resources, partition_key="2026-10-01")
    )
    again = _published(
        dg.materialize([compliance_report], resources=resources, partition_key="2026-10-01")
    )
    assert first["path"] == again["path"] == str(folder / "1.html")
    assert (first["published_new_file"], again["published_new_file"]) == (True, False)
    assert first["sha256"] == hashlib.sha256((folder / "1.html").read_bytes()).hexdigest()
    assert first["figures/deployments/production/fail"] == 1
    assert "deployments per day" in first["preview"]
    late = {"run_at": at(10, 30, 6), "run_id": "r-late", "as_of": at(10, 30, 6),
            "as_of_basis": "wall clock", "table_name": "infra_plans", "keep_days": 30,
            "rows_deleted": 2}  # fmt: skip
    warehouse.append(EVIDENCE_RETENTION, EVIDENCE_RETENTION.from_records([late]))
    try:
        changed = _published(
            dg.materialize([compliance_report], resources=resources, partition_key="2026-10-01")
        )
    finally:
        warehouse.execute(
            "DELETE FROM evidence_retention WHERE run_at >= @t AND run_at < @u AND run_id = 'r-late'",
            {"t": at(10, 30), "u": at(10, 31)},
        )
    assert changed["path"] == str(folder / "2.html")
    assert changed["figures/retention_rows_deleted"] == 2
    assert sorted(p.name for p in folder.iterdir()) == ["1.html", "2.html"]


def independent_figures(warehouse, start, end) -> dict:
    """The figures the page must show, asked of the warehouse here, not through the report."""
    rows = warehouse.query(
        "SELECT environment, verdict, COUNT(*) AS n FROM deployment_evidence "
        "WHERE started_at >= @s AND started_at < @e GROUP BY environment, verdict",
        {"s": start, "e": end},
    ).to_pylist()
    failing = warehouse.query(
        "SELECT deployment_id FROM deployment_evidence WHERE started_at >= @s AND started_at < @e "
        "AND environment = 'production' AND verdict = 'fail' "
        f"AND status IN {IN_ARRAY.format(param='ran')} ORDER BY started_at",
        {"s": start, "e": end, "ran": list(EXECUTED)},
    ).to_pylist()
    rollbacks = warehouse.query(
        "SELECT deployment_id, ok FROM rollback_checks WHERE started_at >= @s AND started_at < @e "
        "ORDER BY deployment_id",
        {"s": start, "e": end},
    ).to_pylist()
    return {
        "verdicts": {f"deployments/{r['environment']}/{r['verdict']}": str(r["n"]) for r in rows},
        "failing": [r["deployment_id"] for r in failing],
        "rollbacks": [(r["deployment_id"], "true" if r["ok"] else "false") for r in rollbacks],
    }


def read_page(path: Path) -> dict:
    """Open the report in headless Chromium and read what it shows."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            figures = {
                el.get_attribute("data-figure"): el.get_attribute("data-value")
                for el in page.locator("[data-figure]").all()
            }
            shown = {
                el.get_attribute("data-figure"): el.inner_text()
                for el in page.locator("[data-figure]").all()
            }

            def column(table: str, col: str) -> list[str]:
                return page.locator(f"#{table} td[data-col='{col}']").all_inner_texts()

            return {
                "figures": figures,
                "shown": shown,
                "production": column("deployments-production-table", "deployment_id"),
                "production_verdicts": column("deployments-production-table", "verdict"),
                "failing_rows": page.locator("#deployments-production-table tr.fail").evaluate_all(
                    "rows => rows.map(r => r.dataset.row)"
                ),
                "rollbacks": list(
                    zip(
                        column("rollbacks-table", "deployment_id"),
                        page.locator("#rollbacks-table td[data-col='ok']").evaluate_all(
                            "cells => cells.map(c => c.dataset.value)"
                        ),
                        strict=True,
                    )
                ),
                "staging_services": column("deployments-staging-table", "service"),
                "staging_versions": column("deployments-staging-table", "version"),
                "scripts": page.locator("script").count(),
                "images": page.locator("img").evaluate_all("imgs => imgs.map(i => i.src)"),
                "requests": [u for u in requests if u != path.as_uri()],
                "chain": page.locator("#chain-verdict").get_attribute("data-passed"),
            }
        finally:
            browser.close()


@pytest.mark.ui
def test_the_page_shows_the_warehouse_numbers_and_no_markup_from_the_data(scenario):
    warehouse, config, _ = scenario
    resources = {"warehouse": warehouse, "cicl_config": config}
    result = dg.materialize([compliance_report], resources=resources, partition_key="2026-11-01")
    shown = read_page(Path(_published(result)["path"]))
    expected = independent_figures(warehouse, *NOVEMBER)
    assert {k: v for k, v in shown["figures"].items() if k.count("/") == 2} == expected["verdicts"]
    assert shown["failing_rows"] == expected["failing"] == ["d3", "d5"]
    assert shown["rollbacks"] == expected["rollbacks"] == [("d4", "true"), ("d5", "false")]
    assert shown["production"] == ["d3", "d4", "d5"]
    assert shown["production_verdicts"] == ["fail", "pass", "fail"]
    assert shown["shown"]["production_deploys_failing_gate"] == "2"
    assert shown["shown"]["rollbacks_not_known_good"] == "1"
    assert shown["shown"]["audit_chain_verified"] == "yes" and shown["chain"] == "true"
    # The hostile values are text on the page, never markup; nothing is fetched from elsewhere.
    assert shown["staging_services"] == [HOSTILE_SERVICE]
    assert shown["staging_versions"] == [HOSTILE_VERSION]
    assert shown["scripts"] == 0
    assert len(shown["images"]) == 3
    assert all(src.startswith("data:image/png;base64,") for src in shown["images"])
    assert shown["requests"] == []
