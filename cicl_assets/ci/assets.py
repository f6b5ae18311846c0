"""Assets of the ci group: every table the ci/<pipeline_run_id>/ folders feed, from one pass."""

from typing import Any

from cicl_assets.ci.coverage.formats import CI_COVERAGE
from cicl_assets.ci.junit.reports import CI_TEST_CASES, TEST_STATUSES
from cicl_assets.ci.runs.formats import CI_RUNS, RUN_STATUSES
from cicl_assets.ci.stream import CI_STREAM, CI_TABLES, ci_stream
from cicl_assets.metadata import counts_by
from cicl_assets.stream_assets import (
    AssetView,
    CheckOutcome,
    DeclaredStream,
    StreamCheck,
    StreamRun,
    build_stream_asset,
)
from cicl_assets.warehouse.base import Warehouse

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
FINDINGS_TABLE = "ci_findings"

PREVIEW_COLUMNS = {
    CI_RUNS.name: ("pipeline_run_id", "provider", "pipeline", "status", "started_at", "commit_sha"),
    CI_TEST_CASES.name: ("pipeline_run_id", "framework", "classname", "name", "status", "attempts"),
    CI_COVERAGE.name: ("pipeline_run_id", "format", "file", "lines_valid", "line_rate"),
}

TEST_STATUS_CHECK = "test_case_status_is_known"


def case_status_figures(warehouse: Warehouse) -> dict[str, Any]:
    """Test results by status over the table, pass and flaky rates of the executed ones."""
    counts = counts_by(warehouse, CI_TEST_CASES.name, "status")
    figures: dict[str, Any] = {f"tests/{s}": counts.get(s, 0) for s in TEST_STATUSES}
    executed = sum(counts.get(s, 0) for s in TEST_STATUSES if s != "skipped")
    if executed:
        figures["pass_rate"] = counts.get("passed", 0) / executed
        figures["flaky_rate"] = counts.get("flaky", 0) / executed
    return figures


def coverage_figures(warehouse: Warehouse) -> dict[str, Any]:
    """The newest report's totals (by report time; reports without one count as oldest)."""
    totals = warehouse.query(
        f"SELECT pipeline_run_id, format, line_rate, branch_rate, report_timestamp, source_file "
        f"FROM {CI_COVERAGE.name} WHERE is_total"
    ).to_pylist()
    if not totals:
        return {}
    latest = max(
        totals,
        key=lambda r: (
            r["report_timestamp"] is not None,
            r["report_timestamp"] or 0,
            r["source_file"],
        ),
    )
    figures: dict[str, Any] = {"coverage/reports": len(totals)}
    if latest["line_rate"] is not None:
        figures["coverage/line_rate"] = latest["line_rate"]
    if latest["branch_rate"] is not None:
        figures["coverage/branch_rate"] = latest["branch_rate"]
    figures["coverage/latest_report"] = latest["source_file"]
    return figures


def run_figures(warehouse: Warehouse) -> dict[str, Any]:
    counts = counts_by(warehouse, CI_RUNS.name, "status")
    figures: dict[str, Any] = {f"runs/{s}": counts.get(s, 0) for s in RUN_STATUSES}
    figures["runs/unknown_status"] = counts.get(None, 0)
    return figures


def findings_figures(warehouse: Warehouse) -> dict[str, Any]:
    """Findings by severity, when the findings table carries a severity column."""
    schema = warehouse.table_schema(FINDINGS_TABLE)
    if schema is None or "severity" not in schema.names:
        return {}
    counts = counts_by(warehouse, FINDINGS_TABLE, "severity")
    figures: dict[str, Any] = {f"findings/{s}": counts.get(s, 0) for s in SEVERITIES}
    other = sum(n for k, n in counts.items() if k not in SEVERITIES)
    if other:
        figures["findings/other"] = other
    return figures


FIGURES = {
    CI_RUNS.name: (run_figures,),
    CI_TEST_CASES.name: (case_status_figures,),
    CI_COVERAGE.name: (coverage_figures,),
    FINDINGS_TABLE: (findings_figures,),
}


def check_test_statuses(warehouse: Warehouse, run: StreamRun | None = None) -> CheckOutcome:
    counts = counts_by(warehouse, CI_TEST_CASES.name, "status")
    unknown = {str(k): n for k, n in counts.items() if k not in TEST_STATUSES}
    return CheckOutcome(
        passed=not unknown,
        description=(
            "every test case has one of: " + ", ".join(TEST_STATUSES)
            if not unknown
            else f"statuses outside the five allowed: {unknown}"
        ),
        metadata={"rows_with_unknown_status": sum(unknown.values())},
    )


CI = DeclaredStream(
    spec=CI_STREAM,
    group="ci",
    owners=("team:platform-ci",),
    kinds=frozenset({"python", "xml", "json"}),
    views=tuple(
        AssetView(spec, PREVIEW_COLUMNS.get(spec.name, ()), FIGURES.get(spec.name, ()))
        for spec in CI_TABLES
    ),
    op_name="ci_artifacts",
    checks=(
        StreamCheck(
            TEST_STATUS_CHECK,
            CI_TEST_CASES.name,
            "No ci_test_cases row has a status outside passed, failed, error, skipped, flaky.",
            check_test_statuses,
        ),
    ),
    reads="one folder per pipeline run: run records, JUnit test reports, coverage, SBOMs, "
    "scan results and attestations, recognised by content",
    configure=lambda cicl_config: ci_stream(cicl_config.attestation_trust()),
)

ci_artifacts = build_stream_asset(CI)

ASSETS: list = [ci_artifacts]
CHECKS: list = []
