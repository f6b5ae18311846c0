from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest

from demo import story
from demo.audit_files import PLANTED_SECRET
from demo.ci_security import verify_bundle


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def runs(demo_landing: Path) -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_bytes()) for p in (demo_landing / "ci").glob("*/run.json")
    }


@pytest.fixture(scope="module")
def deployments(demo_landing: Path) -> dict[str, dict[str, Any]]:
    records = [json.loads(p.read_bytes()) for p in (demo_landing / "deployments").glob("*/*.json")]
    return {r["deployment_id"]: r for r in records if r.get("kind") == "cicl.deployment/v1"}


@pytest.fixture(scope="module")
def all_steps(demo_landing: Path) -> list[dict[str, Any]]:
    return [
        e for p in sorted((demo_landing / "audit" / "cicd").glob("*.jsonl")) for e in _json_lines(p)
    ]


@pytest.fixture(scope="module")
def steps(all_steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of CI runs and deployments (not the infrastructure applies' verifications)."""
    return [e for e in all_steps if e["step"] != "post-apply-verify"]


def test_completed_applies_are_verified(all_steps: list[dict[str, Any]]) -> None:
    from demo.infra_files import SCHEDULE, apply_log_path

    verified = Counter(
        (e["environment"], e["details"]["apply_log"], e["details"]["target"], e["outcome"])
        for e in all_steps
        if e["step"] == "post-apply-verify"
    )
    completed = [
        (env, apply_log_path(env, at)) for env, _, at, outcome in SCHEDULE if outcome == "ok"
    ]
    assert len(completed) == 8
    assert verified == Counter(
        {
            (env, log, target, "success"): 1
            for env, log in completed
            for target in ("gke-cluster", "cloud-sql-instance", "redis-instance")
        }
    )


def test_every_run_folder_has_a_consistent_run_json(demo_landing: Path, runs: dict) -> None:
    folders = [p for p in (demo_landing / "ci").iterdir() if p.is_dir()]
    assert len(folders) == len(runs) == 124
    for run_id, run in runs.items():
        assert run["kind"] == "cicl.ci_run/v1" and run["pipeline_run_id"] == run_id
        assert run["status"] in ("success", "failed")
        assert run["image"]["digest"].startswith("sha256:") and len(run["image"]["digest"]) == 71
        assert len(run["commit"]) == 40
    per_day = Counter(_time(r["started_at"]).date() for r in runs.values())
    assert all(4 <= n <= 8 for n in per_day.values()), per_day
    assert min(per_day) >= story.HISTORY_START.date()
    assert max(per_day) < story.TRAFFIC_END.date()


def test_xml_reports_are_well_formed(demo_landing: Path) -> None:
    roots = Counter()
    for path in (demo_landing / "ci").rglob("*.xml"):
        roots[SafeET.fromstring(path.read_bytes()).tag] += 1
    assert set(roots) == {"testsuites", "testsuite", "coverage"}
    lcov = list((demo_landing / "ci").rglob("lcov.info"))
    assert len(lcov) == 47
    assert all(p.read_text().rstrip().endswith("end_of_record") for p in lcov)


def test_flaky_and_repeatedly_failing_tests(demo_landing: Path, runs: dict) -> None:
    surefire = list((demo_landing / "ci").rglob("surefire-reports/TEST-*.xml"))
    flaky = [
        p for p in surefire if SafeET.parse(p).getroot().find("testcase/flakyFailure") is not None
    ]
    assert (len(flaky), len(surefire)) == (13, 41)
    path, name = story.FAILING_TEST.split("::")
    classname = path.removesuffix(".py").replace("/", ".")
    failing_runs = []
    for report in (demo_landing / "ci").rglob("junit-unit.xml"):
        for case in SafeET.parse(report).getroot().iter("testcase"):
            if (case.get("classname"), case.get("name")) == (classname, name):
                if case.find("failure") is not None:
                    failing_runs.append(report.parent.name)
    assert len(failing_runs) == 3
    assert all(runs[r]["status"] == "failed" for r in failing_runs)


def test_artifacts_name_the_image_digest_of_their_run(
    demo_landing: Path, runs: dict, pipeline_key
) -> None:
    signed = 0
    for run_id, run in runs.items():
        folder = demo_landing / "ci" / run_id
        stages = {s["name"]: s["status"] for s in run["stages"]}
        assert (folder / "sbom.cdx.json").is_file() == (stages["build"] != "skipped")
        if stages["build"] == "skipped":
            continue
        sbom = json.loads((folder / "sbom.cdx.json").read_bytes())
        assert sbom["specVersion"] == "1.6"
        assert sbom["metadata"]["component"]["version"] == run["image"]["digest"]
        trivy = json.loads((folder / "trivy-image.json").read_bytes())
        digest = f"{run['image']['name']}@{run['image']['digest']}"
        assert trivy["Metadata"]["RepoDigests"] == [digest]
        bundle_path = folder / "attestation.sigstore.json"
        assert bundle_path.is_file() == (stages.get("sign") == "success")
        if bundle_path.is_file():
            signed += 1
            statement = verify_bundle(
                json.loads(bundle_path.read_bytes()), pipeline_key.public_key()
            )
            assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
            assert "sha256:" + statement["subject"][0]["digest"]["sha256"] == run["image"]["digest"]
            dependency = statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]
            assert dependency["digest"]["gitCommit"] == run["commit"]
    assert signed == 80


def test_failed_scan_story(demo_landing: Path, runs: dict, deployments: dict, steps: list) -> None:
    run = runs[story.FAILED_SCAN_RUN_ID]
    assert run["status"] == "failed"
    stages = {s["name"]: s["status"] for s in run["stages"]}
    assert stages["container-scan"] == "failed" and stages["promote"] == "skipped"
    trivy = json.loads(
        (demo_landing / "ci" / story.FAILED_SCAN_RUN_ID / "trivy-image.json").read_bytes()
    )
    critical = [
        v["VulnerabilityID"]
        for result in trivy["Results"]
        for v in result["Vulnerabilities"]
        if v["Severity"] == "CRITICAL"
    ]
    assert critical == [story.FAILED_SCAN_CVE]
    assert all(d["pipeline_run_id"] != story.FAILED_SCAN_RUN_ID for d in deployments.values())
    scan_steps = [
        s
        for s in steps
        if s["pipeline_run_id"] == story.FAILED_SCAN_RUN_ID and s["step"] == "container-scan"
    ]
    assert [s["outcome"] for s in scan_steps] == ["failure"]
    # no other run has a CRITICAL finding but tool-worker 0.9.3's release, under a waiver
    waived = [
        d["pipeline_run_id"]
        for d in deployments.values()
        if d["deployment_id"] == story.EXPIRED_WAIVER_DEPLOYMENT_ID
    ]
    for path in (demo_landing / "ci").glob("*/trivy-image.json"):
        if path.parent.name == story.FAILED_SCAN_RUN_ID:
            continue
        critical = [
            v["VulnerabilityID"]
            for result in json.loads(path.read_bytes())["Results"]
            for v in result["Vulnerabilities"]
            if v["Severity"] == "CRITICAL"
        ]
        assert critical == ([story.EXPIRED_WAIVER_CVE] if path.parent.name in waived else [])
    assert runs[waived[0]]["status"] == "success"


def test_unsigned_image_reached_staging(demo_landing: Path, runs: dict, deployments: dict) -> None:
    run = runs[story.UNSIGNED_RUN_ID]
    assert run["image"]["digest"] == story.UNSIGNED_IMAGE_DIGEST
    assert not (demo_landing / "ci" / story.UNSIGNED_RUN_ID / "attestation.sigstore.json").exists()
    staged = [d for d in deployments.values() if d["image_digest"] == story.UNSIGNED_IMAGE_DIGEST]
    assert {d["environment"] for d in staged} == {"dev", "staging"}


def test_deployments_match_their_ci_runs(demo_landing: Path, runs: dict, deployments: dict) -> None:
    assert len(deployments) == 79
    for d in deployments.values():
        run = runs[d["pipeline_run_id"]]
        assert (d["image_digest"], d["commit"], d["service"]) == (
            run["image"]["digest"],
            run["commit"],
            run["pipeline"],
        )
        assert run["status"] == "success"
        if d["environment"] == "production":
            window = d["change_window"]
            assert d["approver"] and _time(d["approved_at"]) <= _time(d["started_at"])
            assert _time(window["start"]) <= _time(d["started_at"]) < _time(window["end"])
            assert (
                demo_landing / "ci" / run["pipeline_run_id"] / "attestation.sigstore.json"
            ).is_file()
    github = list((demo_landing / "deployments" / "github").glob("*.json"))
    assert len(github) == 46  # a deployment and a deployment_status event for 23 deployments
    for path in github:
        payload = json.loads(path.read_bytes())
        run = runs[payload["deployment"]["payload"]["pipeline_run_id"]]
        assert payload["deployment"]["sha"] == run["commit"]
        assert payload["deployment"]["payload"]["image"].endswith(run["image"]["digest"])


def test_slow_deploy_and_rollback_stories(runs: dict, deployments: dict) -> None:
    slow = deployments[story.SLOW_DEPLOY_DEPLOYMENT_ID]
    assert (slow["environment"], slow["service"], slow["version"]) == (
        "production",
        story.SLOW_DEPLOY_SERVICE,
        story.SLOW_DEPLOY_VERSION_AFTER,
    )
    assert _time(slow["started_at"]) == story.SLOW_DEPLOY_AT
    assert slow["image_digest"] == runs[slow["pipeline_run_id"]]["image"]["digest"]
    rolled, back = (
        deployments[story.ROLLED_BACK_DEPLOYMENT_ID],
        deployments[story.ROLLBACK_DEPLOYMENT_ID],
    )
    assert rolled["status"] == "rolled_back" and back["rollback_of"] == rolled["deployment_id"]
    assert rolled["service"] == back["service"] == "tool-worker"
    earlier = [
        d
        for d in deployments.values()
        if d["environment"] == "production"
        and d["service"] == "tool-worker"
        and d["started_at"] < rolled["started_at"]
    ]
    assert back["image_digest"] == max(earlier, key=lambda d: d["started_at"])["image_digest"]
    assert sorted(d["deployment_id"] for d in deployments.values() if d["rollback_of"]) == [
        back["deployment_id"],
        story.NOT_KNOWN_GOOD_ROLLBACK_ID,
    ]
    # The 0.9.4 hotfix ships on a Friday and goes back to 0.9.3 before the traffic starts.
    hotfix = deployments[story.OUT_OF_WINDOW_DEPLOYMENT_ID]
    second = deployments[story.NOT_KNOWN_GOOD_ROLLBACK_ID]
    assert (hotfix["service"], hotfix["version"], hotfix["status"]) == (
        "tool-worker",
        "0.9.4",
        "rolled_back",
    )
    assert _time(hotfix["started_at"]).weekday() == 4
    assert (second["rollback_of"], second["version"], second["image_digest"]) == (
        hotfix["deployment_id"],
        "0.9.3",
        deployments[story.EXPIRED_WAIVER_DEPLOYMENT_ID]["image_digest"],
    )
    # the versions running during the traffic window are the ones the spans report
    current = {}
    for d in sorted(deployments.values(), key=lambda d: d["started_at"]):
        if d["environment"] == "production" and _time(d["started_at"]) <= story.TRAFFIC_START:
            current[d["service"]] = d["version"]
    assert current == {
        "flow-gateway": story.GATEWAY_VERSION,
        "tool-worker": story.TOOL_WORKER_VERSION,
        "workflow-runtime": story.SLOW_DEPLOY_VERSION_BEFORE,
    }


def test_audit_steps_cover_every_stage_and_deploy(
    runs: dict, deployments: dict, steps: list
) -> None:
    stage_steps = [s for s in steps if s["environment"] is None]
    assert len(stage_steps) == sum(len(r["stages"]) for r in runs.values())
    for s in steps:
        run = runs[s["pipeline_run_id"]]
        assert (s["commit"], s["image_digest"]) == (run["commit"], run["image"]["digest"])
    deploy_steps = Counter(s["details"]["deployment_id"] for s in steps if s["environment"])
    # Every native deployment record and the 23 deployments GitHub reported have a deploy step.
    assert set(deploy_steps) >= set(deployments)
    assert len(deploy_steps) == 79 + 23
    assert len({s["event_id"] for s in steps}) == len(steps)


def test_cluster_and_cloud_audit_logs(demo_landing: Path) -> None:
    k8s = [e for p in (demo_landing / "audit" / "k8s").rglob("*.jsonl") for e in _json_lines(p)]
    secrets = [e for e in k8s if e["objectRef"]["resource"] == "secrets"]
    assert len(secrets) == 1
    value = secrets[0]["requestObject"]["data"]["openai-api-key"]
    assert base64.b64decode(value).decode() == PLANTED_SECRET
    gcp = [e for p in (demo_landing / "audit" / "gcp").rglob("*.json") for e in _json_lines(p)]
    methods = {e["protoPayload"]["methodName"] for e in gcp}
    assert methods == {
        "google.container.v1.ClusterManager.SetNodePoolSize",
        "google.cloud.secretmanager.v1.SecretManagerService.CreateSecret",
    }


def test_infra_plans_apply_logs_and_drift(demo_landing: Path) -> None:
    infra = demo_landing / "infra"
    actions = Counter()
    for plan in infra.rglob("plan-*.json"):
        document = json.loads(plan.read_bytes())
        assert document["format_version"] == "1.2"
        for change in document["resource_changes"]:
            actions[tuple(change["change"]["actions"])] += 1
    assert actions == {
        ("no-op",): 87,
        ("create",): 7,
        ("update",): 5,
        ("delete",): 2,
        ("create", "delete"): 4,
    }
    readable = list(infra.rglob("plan-readable-*.txt"))
    assert len(readable) == 9
    assert all(p.read_text().startswith("OpenTofu used the selected providers") for p in readable)
    logs = {p.relative_to(infra).as_posix(): p.read_text() for p in infra.rglob("apply-*.log")}
    failed = [name for name, text in logs.items() if "│ Error: " in text]
    assert len(failed) == 1 and failed[0].startswith(story.FAILED_APPLY_ENVIRONMENT + "/")
    assert all(
        text.rstrip().splitlines()[-1].startswith("Apply complete! Resources: ")
        for name, text in logs.items()
        if name not in failed
    )
    drifted = {}
    for path in infra.rglob("drift-*.json"):
        record = json.loads(path.read_bytes())
        if record["drifted"]:
            drifted[(record["environment"], record["checked_at"][:10])] = [
                d["address"] for d in record["drifted"]
            ]
    assert {env for env, _ in drifted} == {story.DRIFTED_ENVIRONMENT}
    assert {a for addresses in drifted.values() for a in addresses} == {story.DRIFTED_RESOURCE}
    assert min(day for _, day in drifted) == "2026-10-30"
