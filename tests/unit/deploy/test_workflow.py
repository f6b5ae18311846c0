"""The GitHub workflow validates offline against the workflow schema check-jsonschema ships, has
the seed's CI stages, tests every Python version requires-python admits, and calls Make targets
that exist."""

import re
import tomllib

import pytest
import yaml

from tests.unit.deploy.tools import ROOT, run, venv_tool

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def check(path) -> tuple[int, str]:
    result = run(
        [venv_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)]
    )
    return result.returncode, result.stdout + result.stderr


def test_the_workflow_validates():
    code, output = check(WORKFLOW)
    assert code == 0, output


def test_a_misspelt_key_fails_validation(tmp_path):
    bad = tmp_path / "ci.yml"
    bad.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "run-on: ubuntu-24.04", 1))
    code, output = check(bad)
    assert code == 1
    assert "run-on" in output


def test_the_seed_stages_are_jobs_in_order(workflow):
    jobs = workflow["jobs"]
    assert list(jobs) == [
        "lint",
        "unit",
        "integration",
        "sast",
        "dependency-audit",
        "sbom",
        "build",
        "container-scan",
        "sign",
        "promote-dev",
        "promote",
    ]
    assert jobs["build"]["needs"] == ["unit", "integration", "sast", "dependency-audit"]
    assert jobs["sign"]["needs"] == ["build", "container-scan"]
    assert jobs["promote-dev"]["needs"] == ["build", "sign"]
    assert jobs["sign"]["permissions"]["id-token"] == "write"


def test_the_matrix_is_every_version_requires_python_admits(workflow):
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", spec).groups()
    admitted = [f"3.{minor}" for minor in range(int(low), int(high))]
    assert admitted == ["3.11", "3.12", "3.13"]
    for job in ("unit", "integration"):
        assert workflow["jobs"][job]["strategy"]["matrix"]["python"] == admitted


def test_every_make_target_called_exists(workflow):
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    called = {
        m
        for job in workflow["jobs"].values()
        for step in job["steps"]
        for m in re.findall(r"\bmake (?:-s )?([a-z][a-z-]*)", step.get("run", ""))
    }
    assert called == {"lint", "kubectl", "venv", "test", "sast", "audit", "sbom", "promote"}
    assert called <= targets
