"""The ci assets on a real landing folder and a real warehouse."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.ci.assets import (
    TEST_STATUS_CHECK,
    case_status_figures,
    check_test_statuses,
    ci_artifacts,
    coverage_figures,
    findings_figures,
    run_figures,
)
from cicl_assets.ci.junit.reports import CI_TEST_CASES
from cicl_assets.ci.stream import CI_STREAM, CI_TABLES
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

RUN_JSON = {
    "kind": "cicl.ci_run/v1",
    "pipeline_run_id": "wr-0001",
    "pipeline": "workflow-runtime",
    "repo": "github.com/coditect/flow",
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "branch": "main",
    "trigger": "push",
    "status": "failed",
    "started_at": "2026-11-03T04:12:00Z",
    "finished_at": "2026-11-03T04:20:00Z",
    "stages": [{"name": "unit", "status": "failed"}],
    "image": {"name": "us-docker.pkg.dev/coditect/flow/runtime", "tag": "1.8.0",
              "digest": "sha256:" + "e" * 64},
}  # fmt: skip

LAYOUT = {
    "wr-0001": [
        ("junit", "enricomi-pytest__junit.fail.xml"),
        ("coverage", "reportgen-jacoco__JaCoCo0.8.3.xml"),
        ("junit", "enricomi-edge__corrupt-xml.xml"),
        ("ci-events", "octokit-push__with-new-branch.payload.json"),
    ],
    "wr-0002": [
        ("junit", "mikepenz-surefire__surefire-report.xml"),
        ("coverage", "coveragepy7__coverage.json"),
        ("ci-events", "octokit-workflow_run__completed.payload.json"),
        ("junit", "enricomi-nunit3__NUnit-simple.xml"),
    ],
}


@pytest.fixture
def landing(tmp_path) -> LandingZone:
    root = tmp_path / "landing" / "ci"
    for run, files in LAYOUT.items():
        (root / run).mkdir(parents=True)
        for category, name in files:
            shutil.copy(FIXTURES / category / name, root / run / name)
    (root / "wr-0001" / "run.json").write_text(json.dumps(RUN_JSON))
    return LandingZone(uri=str(tmp_path / "landing"))


def _materialize(landing, warehouse):
    resources = {"warehouse": warehouse, "landing": landing, "cicl_config": CiclConfig()}
    result = dg.materialize([ci_artifacts], resources=resources)
    assert result.success
    metadata = {
        m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
        for m in result.asset_materializations_for_node("ci_artifacts")
    }
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    return metadata, checks


def test_one_pass_fills_every_ci_table_and_reruns_add_nothing(tmp_path, landing):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    meta, checks = _materialize(landing, warehouse)

    assert set(meta) == {t.name for t in CI_TABLES}  # the other ci tables get assets too
    tests = meta["ci_test_cases"]
    assert tests["dagster/row_count"] == 6
    assert (tests["tests/passed"], tests["tests/failed"], tests["tests/skipped"]) == (3, 1, 1)
    assert (tests["tests/flaky"], tests["tests/error"]) == (1, 0)
    assert tests["pass_rate"] == pytest.approx(3 / 5)
    assert tests["files_rejected"] == 3
    assert meta["ci_runs"]["dagster/row_count"] == 2
    assert (meta["ci_runs"]["runs/failed"], meta["ci_runs"]["runs/success"]) == (1, 1)
    coverage = meta["ci_coverage"]
    assert coverage["dagster/row_count"] == 8 + 4
    assert coverage["coverage/line_rate"] == pytest.approx(13 / 20)  # coverage.py report, 2026
    assert coverage["coverage/reports"] == 2
    assert checks[TEST_STATUS_CHECK].passed

    by_run = warehouse.query(
        "SELECT pipeline_run_id, status, COUNT(*) AS n FROM ci_test_cases "
        "GROUP BY pipeline_run_id, status ORDER BY pipeline_run_id, status"
    ).to_pylist()
    assert by_run == [
        {"pipeline_run_id": "wr-0001", "status": "failed", "n": 1},
        {"pipeline_run_id": "wr-0001", "status": "passed", "n": 3},
        {"pipeline_run_id": "wr-0001", "status": "skipped", "n": 1},
        {"pipeline_run_id": "wr-0002", "status": "flaky", "n": 1},
    ]
    rejects = {
        r["source_file"]: r["error"]
        for r in warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert rejects == {
        "ci/wr-0001/enricomi-edge__corrupt-xml.xml": "ci/wr-0001/enricomi-edge__corrupt-xml.xml: "
        "junit-xml: XML is not well-formed: no element found at line 11, column 21",
        "ci/wr-0001/octokit-push__with-new-branch.payload.json": "ci/wr-0001/"
        "octokit-push__with-new-branch.payload.json: github-webhook: GitHub push webhook: not a CI "
        "run record (ci_runs takes workflow_run and workflow_job events); nothing ingested from it",
        "ci/wr-0002/enricomi-nunit3__NUnit-simple.xml": "ci/wr-0002/enricomi-nunit3__NUnit-simple"
        ".xml: nunit-xml: NUnit 2 XML (test-results), not JUnit; convert with the "
        "nunit3-junit.xslt transform of nunit/nunit-transforms (nunit3-console "
        "--result=junit.xml;transform=nunit3-junit.xslt) or have the runner write JUnit XML",
    }

    again, _ = _materialize(landing, warehouse)
    assert again["ci_test_cases"]["dagster/row_count"] == 6
    assert again["ci_test_cases"]["rows_written_this_run"] == 0
    assert again["ci_test_cases"]["files_skipped_already_ingested"] == 9
    assert warehouse.row_count("ci_coverage") == 12
    assert warehouse.row_count("ingest_rejects") == 3


def test_figures_and_status_check_on_every_warehouse(any_warehouse, landing):
    report = ingest_stream(CI_STREAM, landing, any_warehouse)
    assert report.rows_by_table == {"ci_runs": 2, "ci_test_cases": 6, "ci_coverage": 12}

    assert case_status_figures(any_warehouse) == {
        "tests/passed": 3,
        "tests/failed": 1,
        "tests/error": 0,
        "tests/skipped": 1,
        "tests/flaky": 1,
        "pass_rate": 3 / 5,
        "flaky_rate": 1 / 5,
    }
    assert run_figures(any_warehouse) == {
        "runs/success": 1,
        "runs/failed": 1,
        "runs/cancelled": 0,
        "runs/running": 0,
        "runs/queued": 0,
        "runs/unknown_status": 0,
    }
    assert coverage_figures(any_warehouse) == {
        "coverage/reports": 2,
        "coverage/line_rate": pytest.approx(13 / 20),
        "coverage/branch_rate": pytest.approx(2 / 8),
        "coverage/latest_report": "ci/wr-0002/coveragepy7__coverage.json",
    }
    # The stream creates every table it writes, ci_findings too, even with no scan landed.
    assert findings_figures(any_warehouse) == dict.fromkeys(
        (f"findings/{s}" for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")), 0
    )
    assert check_test_statuses(any_warehouse).passed

    any_warehouse.append(
        CI_TEST_CASES,
        CI_TEST_CASES.from_records(
            [{"name": "odd", "status": "exploded", "source_file": "ci/x/manual.xml"}]
        ),
    )
    check = check_test_statuses(any_warehouse)
    assert not check.passed
    assert check.description == "statuses outside the five allowed: {'exploded': 1}"
    assert check.metadata["rows_with_unknown_status"] == 1

    flaky = any_warehouse.query(
        "SELECT name, attempts, framework FROM ci_test_cases WHERE status = @status",
        {"status": "flaky"},
    ).to_pylist()
    assert flaky == [{"name": "createWebhook", "attempts": 2, "framework": "surefire"}]
    stages = any_warehouse.query(
        "SELECT pipeline_run_id, stages FROM ci_runs ORDER BY pipeline_run_id"
    ).to_pylist()
    assert stages == [
        {
            "pipeline_run_id": "wr-0001",
            "stages": '[{"finished_at": null, "name": "unit", "started_at": null, '
            '"status": "failed"}]',
        },
        {"pipeline_run_id": "wr-0002", "stages": None},
    ]
