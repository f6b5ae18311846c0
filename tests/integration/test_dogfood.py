"""`make dogfood`'s short form: cicl's own CI evidence lands in ci/<run-id>/ and `cicl.py run`
puts it into a warehouse of its own, where it is found by the run's id."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.dogfood.__main__ import counts
from tests.dogfood.stages import NO_AUDIT_SERVICE, NO_IMAGE

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dogfood(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("dogfood")
    done = subprocess.run(
        [sys.executable, "-m", "tests.dogfood", "--short", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    return done, out


@pytest.fixture(scope="module")
def run_folder(dogfood) -> Path:
    done, out = dogfood
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (folder,) = (out / "landing" / "ci").iterdir()
    return folder


def test_the_run_record_names_the_commit_and_every_stage(run_folder):
    record = json.loads((run_folder / "run.json").read_text())
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert record["kind"] == "cicl.ci_run/v1"
    assert record["pipeline_run_id"] == run_folder.name
    assert record["commit"] == head
    assert record["status"] == "success"
    stages = {s["name"]: (s["status"], s.get("reason")) for s in record["stages"]}
    assert stages == {
        "lint": ("success", None),
        "unit": ("success", None),
        "sast": ("success", None),
        "dependency-audit": ("skipped", NO_AUDIT_SERVICE),
        "sbom": ("success", None),
        "build": ("skipped", NO_IMAGE),
        "container-scan": ("skipped", NO_IMAGE),
        "sign": ("skipped", NO_IMAGE),
        "promote": ("skipped", NO_IMAGE),
    }
    assert sorted(p.name for p in run_folder.iterdir()) == [
        "bandit.sarif",
        "coverage.xml",
        "hadolint.sarif",
        "junit.xml",
        "run.json",
        "sbom.cdx.json",
    ]


def test_the_warehouse_holds_the_run_its_tests_and_coverage(dogfood, run_folder):
    _, out = dogfood
    cases = len(ET.parse(run_folder / "junit.xml").getroot().findall(".//testcase"))
    found = counts(out / "warehouse.duckdb", run_folder.name)
    assert found["ci_runs"] == 1
    assert found["ci_test_cases"] == cases > 0
    assert found["ci_coverage"] > 0


def test_the_warehouse_holds_the_runs_findings_and_sbom(dogfood, run_folder):
    _, out = dogfood
    components = len(json.loads((run_folder / "sbom.cdx.json").read_text())["components"])
    found = counts(out / "warehouse.duckdb", run_folder.name)
    assert found["ci_sbom_components"] == components > 0
    assert found["ci_findings"] > 0
