"""cicl's own CI stages as they run on a developer's machine, each writing its evidence into one
landing folder ``ci/<run-id>/`` with the ``cicl.ci_run/v1`` record (docs/native-formats.md).

A stage that cannot run here is recorded with its reason and no output: nothing is faked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRODUCT = ["cicl_assets", "jobs", "sensors", "definitions.py", "scripts"]
STAGE_TIMEOUT_S = 1800
NO_IMAGE = "needs a Docker daemon and a registry; the CI workflow's build job runs it"
NO_AUDIT_SERVICE = (
    "not run here: pip-audit asks a vulnerability service about each locked package, which a "
    "development machine's run does not do; the CI workflow's dependency-audit job runs it "
    "(make audit)"
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Stage:
    name: str
    status: str
    started_at: str
    finished_at: str
    reason: str | None = None
    outputs: list[str] = field(default_factory=list)

    def record(self) -> dict:
        out = {
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
        return out | ({"reason": self.reason} if self.reason else {})


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def command_stage(
    name: str,
    args: Sequence[str],
    folder: Path,
    outputs: Sequence[str],
    ok_codes: Sequence[int] = (0,),
    env: dict[str, str] | None = None,
) -> Stage:
    """Run ``args``; the stage succeeded when the exit code is in ``ok_codes``. Output files the
    command did not write are left out (a crashed tool leaves no half report behind)."""
    started = now()
    done = subprocess.run(
        list(args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=STAGE_TIMEOUT_S,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    written = [o for o in outputs if (folder / o).is_file() and (folder / o).stat().st_size]
    status = "success" if done.returncode in ok_codes else "failed"
    reason = None
    if status == "failed":
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        reason = f"exit {done.returncode}: {tail[0][:300]}"
    return Stage(name, status, started, now(), reason, written)


def skipped(name: str, reason: str) -> Stage:
    at = now()
    return Stage(name, "skipped", at, at, reason)


def tests_stage(folder: Path, selection: Sequence[str]) -> Stage:
    return command_stage(
        "unit",
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            f"--junitxml={folder / 'junit.xml'}",
            "--cov=cicl_assets",
            f"--cov-report=xml:{folder / 'coverage.xml'}",
            *selection,
        ],
        folder,
        ["junit.xml", "coverage.xml"],
        # coverage's data file beside the landing zone: a file in it would be ingested
        env={"COVERAGE_FILE": str(folder.parents[2] / ".coverage")},
    )


def sast_stage(folder: Path) -> Stage:
    # bandit exits 1 when it reports findings: the report is the evidence, the gate is in CI.
    return command_stage(
        "sast",
        [
            str(BIN / "bandit"),
            "-q",
            "-r",
            *PRODUCT,
            "-f",
            "sarif",
            "-o",
            str(folder / "bandit.sarif"),
        ],
        folder,
        ["bandit.sarif"],
        ok_codes=(0, 1),
    )


def sbom_stage(folder: Path) -> Stage:
    return command_stage(
        "sbom",
        [
            str(BIN / "cyclonedx-py"),
            "requirements",
            "--of",
            "JSON",
            "-o",
            str(folder / "sbom.cdx.json"),
            "requirements.lock",
        ],
        folder,
        ["sbom.cdx.json"],
    )


def lint_stage(folder: Path) -> Stage:
    # hadolint's report on the image's Dockerfile, as SARIF (ruff's verdict is `make lint`).
    started = now()
    done = subprocess.run(
        [str(BIN / "hadolint"), "--format", "sarif", "deploy/Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    (folder / "hadolint.sarif").write_text(done.stdout)
    status = "success" if done.returncode == 0 else "failed"
    reason = None if status == "success" else f"hadolint exit {done.returncode}"
    return Stage("lint", status, started, now(), reason, ["hadolint.sarif"])


def audit_stage(folder: Path, query_service: bool) -> Stage:
    if not query_service:
        return skipped("dependency-audit", NO_AUDIT_SERVICE)
    return command_stage(
        "dependency-audit",
        [
            str(BIN / "pip-audit"),
            "--requirement",
            "requirements.lock",
            "--no-deps",
            "--disable-pip",
            "--format",
            "json",
            "--output",
            str(folder / "pip-audit.json"),
        ],
        folder,
        ["pip-audit.json"],
    )


def run_id(commit: str, at: datetime) -> str:
    return f"cicl-{at.strftime('%Y%m%dT%H%M%SZ')}-{commit[:12]}"


def pipeline(
    landing: Path, selection: Sequence[str], query_audit_service: bool = False
) -> tuple[Path, dict]:
    """Run the stages into ``landing``/ci/<run-id>/ and write its run.json; returns both."""
    begun = datetime.now(UTC)
    commit = git("rev-parse", "HEAD")
    folder = landing / "ci" / run_id(commit, begun)
    folder.mkdir(parents=True)
    steps: list[Callable[[], Stage]] = [
        lambda: lint_stage(folder),
        lambda: tests_stage(folder, selection),
        lambda: sast_stage(folder),
        lambda: audit_stage(folder, query_audit_service),
        lambda: sbom_stage(folder),
        *(lambda n=n: skipped(n, NO_IMAGE) for n in ("build", "container-scan", "sign", "promote")),
    ]
    stages = []
    for step in steps:
        stages.append(step())
    ran = [s for s in stages if s.status != "skipped"]
    record = {
        "kind": "cicl.ci_run/v1",
        "pipeline_run_id": folder.name,
        "pipeline": "cicl",
        "repo": git("config", "--get", "remote.origin.url") or "cicl",
        "commit": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "trigger": "manual",
        "status": "success" if all(s.status == "success" for s in ran) else "failed",
        "started_at": begun.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "finished_at": now(),
        "actor": git("config", "--get", "user.email") or "developer",
        "stages": [s.record() for s in stages],
    }
    (folder / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    return folder, record
