"""Writes `ci/<pipeline_run_id>/`: run.json plus the reports and artifacts each stage left."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from demo.ci_reports import test_reports
from demo.ci_security import (
    cyclonedx_sbom,
    pip_audit_report,
    semgrep_sarif,
    sigstore_bundle,
    trivy_report,
)
from demo.history_plan import REPO, CiRun
from demo.landing_writer import WrittenFile, write_file


def iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_record(run: CiRun) -> dict[str, Any]:
    """The cicl.ci_run/v1 record of a run."""
    return {
        "kind": "cicl.ci_run/v1",
        "pipeline_run_id": run.run_id,
        "pipeline": run.service,
        "repo": REPO,
        "commit": run.commit,
        "branch": run.branch,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": iso(run.started),
        "finished_at": iso(run.finished),
        "actor": run.actor,
        "stages": [
            {
                "name": s.name,
                "status": s.status,
                "started_at": iso(s.started),
                "finished_at": iso(s.finished),
            }
            for s in run.stages
        ],
        "image": {"name": run.image, "tag": run.version, "digest": run.digest},
    }


def _ran(run: CiRun, stage: str) -> bool:
    found = run.stage(stage)
    return found is not None and found.status != "skipped"


def run_files(run: CiRun, seed: int, key: ec.EllipticCurvePrivateKey) -> dict[str, bytes]:
    rng = random.Random(f"{seed}:ci:{run.run_id}")
    files = {"run.json": orjson.dumps(run_record(run), option=orjson.OPT_INDENT_2) + b"\n"}
    files.update(test_reports(run, rng))
    if _ran(run, "sast"):
        files["semgrep.sarif"] = semgrep_sarif(run, rng)
    if _ran(run, "dependency-audit") and run.service != "workflow-runtime":
        files["pip-audit.json"] = pip_audit_report(run)
    if _ran(run, "build"):
        files["sbom.cdx.json"] = cyclonedx_sbom(run)
    if _ran(run, "container-scan"):
        files["trivy-image.json"] = trivy_report(run)
    if run.signed:
        files["attestation.sigstore.json"] = sigstore_bundle(run, key)
    return files


def write_ci(
    root: Path, runs: list[CiRun], seed: int, key: ec.EllipticCurvePrivateKey
) -> list[WrittenFile]:
    """Every run's folder; attestations signed with the pipeline's ``key``."""
    written = []
    for run in runs:
        for name, data in run_files(run, seed, key).items():
            written.append(write_file(root, f"ci/{run.run_id}/{name}", data))
    return written
