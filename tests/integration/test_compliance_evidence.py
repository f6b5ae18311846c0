"""deployment_evidence, rollback_targets and the gate on every warehouse, from tables of our own:
one good production release, one outside its change window, one with a CRITICAL finding under an
expired waiver, a rollback to a known-good digest and one to a digest that was not."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from cicl_assets.audit.chain import append_events, read_chain, verify_chain
from cicl_assets.ci.findings.model import CI_FINDINGS
from cicl_assets.ci.junit.reports import CI_TEST_CASES
from cicl_assets.ci.runs.records import CI_RUNS
from cicl_assets.ci.sbom.formats import CI_SBOM_COMPONENTS
from cicl_assets.compliance.assets import GATE_CHECK, ROLLBACK_CHECK, compliance_evidence
from cicl_assets.compliance.bundle_assets import bundle_folder
from cicl_assets.compliance.verify import verify_bundle
from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.signer import Ed25519Signer

STAGES = ("lint", "unit", "integration", "sast", "dependency-audit", "build", "container-scan")
ALL_STAGES = (*STAGES, "sign", "promote")


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


# (run id, digest, CI start); the release runs of tool-worker
RUNS = [("r1", digest(1), t(5, 10)), ("r2", digest(2), t(6, 10)), ("r3", digest(3), t(7, 10))]
# Production: d1 good (Tue 11:00 Berlin), d2 Fri 11:00 Berlin (outside the weekly windows, though
# its record claims a window), d3 ran 2 Nov with a CRITICAL whose waiver expired 31 Oct and
# failed its health check, d4 rolls d3 back to r1's digest (known good), d5 rolls d2 back
# to r3's (never known good).
PRODUCTION = [
    ("d1", "r1", t(13, 9), None, "success"),
    ("d2", "r2", t(16, 9), None, "success"),
    ("d3", "r3", datetime(2026, 11, 3, 9, tzinfo=UTC), None, "failure"),
    ("d4", "r1", datetime(2026, 11, 3, 9, 40, tzinfo=UTC), "d3", "success"),
    ("d5", "r3", datetime(2026, 11, 3, 10, 40, tzinfo=UTC), "d2", "success"),
]


def seed(warehouse) -> None:
    runs, tests, sbom, events, findings = [], [], [], [], []
    for run_id, image, start in RUNS:
        stages = [
            {"name": s, "status": "success", "started_at": None, "finished_at": None}
            for s in ALL_STAGES
        ]
        runs.append(
            {
                "pipeline_run_id": run_id,
                "provider": "cicl",
                "status": "success",
                "started_at": start,
                "image_digest": image,
                "stages": json.dumps(stages),
            }
        )
        tests += [
            {"pipeline_run_id": run_id, "test_key": f"t{i}", "status": s, "timestamp": start}
            for i, s in enumerate(("passed", "passed", "skipped"))
        ]
        sbom.append({"pipeline_run_id": run_id, "subject_digest": image, "name": "libc6"})
        events += [
            {"event_id": f"{run_id}-{s}", "event_time": start, "source": "cicl_ci",
             "action": s, "outcome": "success", "pipeline_run_id": run_id}
            for s in ALL_STAGES
        ]  # fmt: skip
        findings.append(
            {"pipeline_run_id": run_id, "tool": "trivy", "rule_id": "CVE-2023-31484",
             "severity": "HIGH", "status": "open", "package_name": "perl-base",
             "installed_version": "5.36.0-7+deb12u1"}
        )  # fmt: skip
    findings.append(
        {"pipeline_run_id": "r3", "tool": "trivy", "rule_id": "CVE-2024-45491",
         "severity": "CRITICAL", "status": "open", "package_name": "libexpat1",
         "installed_version": "2.5.0-1"}
    )  # fmt: skip
    deployments = []
    for run_id, image, start in RUNS:
        deployments.append(
            {"deployment_id": f"s-{run_id}", "environment": "staging", "service": "tool-worker",
             "image_digest": image, "status": "succeeded", "started_at": start + timedelta(hours=4),
             "finished_at": start + timedelta(hours=4, minutes=5), "actor": "release-manager",
             "pipeline_run_id": run_id}
        )  # fmt: skip
        events.append(
            {"event_id": f"s-{run_id}-deploy", "event_time": start + timedelta(hours=4),
             "source": "cicl_ci", "action": "deploy", "outcome": "success",
             "pipeline_run_id": run_id, "environment": "staging",
             "details": json.dumps({"details": {"deployment_id": f"s-{run_id}"}})}
        )  # fmt: skip
    for dep_id, run_id, start, rollback_of, health in PRODUCTION:
        image = next(d for r, d, _ in RUNS if r == run_id)
        deployments.append(
            {"deployment_id": dep_id, "environment": "production", "service": "tool-worker",
             "image_digest": image, "pipeline_run_id": run_id,
             "status": "rolled_back" if dep_id in ("d2", "d3") else "succeeded",
             "started_at": start, "finished_at": start + timedelta(minutes=10),
             "actor": "deploy-bot", "approver": "sre-lead", "approved_at": start - timedelta(hours=1),
             "change_window_start": start - timedelta(hours=1),
             "change_window_end": start + timedelta(hours=2), "rollback_of": rollback_of,
             "attestation_status": "verified"}
        )  # fmt: skip
        for step, outcome in (("rollback" if rollback_of else "deploy", "success"),
                              ("health-check", health), ("ingress-check", "success"),
                              ("summary-published", "success")):  # fmt: skip
            events.append(
                {"event_id": f"{dep_id}-{step}", "event_time": start, "source": "cicl_ci",
                 "action": step, "outcome": outcome, "pipeline_run_id": run_id,
                 "environment": "production",
                 "details": json.dumps({"details": {"deployment_id": dep_id}})}
            )  # fmt: skip
    warehouse.append(CI_RUNS, CI_RUNS.from_records(runs))
    warehouse.append(CI_TEST_CASES, CI_TEST_CASES.from_records(tests))
    warehouse.append(CI_SBOM_COMPONENTS, CI_SBOM_COMPONENTS.from_records(sbom))
    warehouse.append(CI_FINDINGS, CI_FINDINGS.from_records(findings))
    warehouse.append(DEPLOYMENTS, DEPLOYMENTS.from_records(deployments))
    append_events(warehouse, events)


def test_evidence_verdicts_the_gate_and_the_rollbacks(any_warehouse, tmp_path):
    from tests.signing_keys import signed_config

    seed(any_warehouse)
    signer = Ed25519Signer.generate()
    config = signed_config(tmp_path, signer)
    result = dg.materialize(
        [compliance_evidence],
        resources={"warehouse": any_warehouse, "cicl_config": config},
        raise_on_error=False,
    )
    # The gate blocks: the run fails after every table was written and every check evaluated.
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks[GATE_CHECK].passed is False
    assert checks[GATE_CHECK].metadata["deployments"].value == ["d2", "d3", "d5"]
    assert checks[ROLLBACK_CHECK].passed is False
    assert checks[ROLLBACK_CHECK].metadata["deployments"].value == ["d5"]

    rows = any_warehouse.query(
        "SELECT deployment_id, verdict, reasons, tests_total, tests_skipped, sbom_present "
        "FROM deployment_evidence WHERE environment = 'production' ORDER BY started_at"
    ).to_pylist()
    assert [(r["deployment_id"], r["verdict"]) for r in rows] == [
        ("d1", "pass"),
        ("d2", "fail"),
        ("d3", "fail"),
        ("d4", "pass"),
        ("d5", "fail"),
    ]
    assert rows[0]["tests_total"] == 3 and rows[0]["tests_skipped"] == 1 and rows[0]["sbom_present"]
    assert rows[1]["reasons"] == (
        "change_window: started Fri 2026-10-16 11:00 Europe/Berlin, outside every weekly change "
        "window; change_window: its record claims the window 2026-10-16 08:00 UTC to 2026-10-16 "
        "11:00 UTC, which the policy does not grant"
    )
    assert rows[2]["reasons"] == (
        "scan: CRITICAL CVE-2024-45491 in libexpat1 2.5.0-1 (trivy) blocks: its waiver by "
        "security-lead@coditect.example expired 2026-10-31 00:00 UTC; "
        "post_deploy: post-deploy step health-check failed"
    )
    assert rows[4]["reasons"] == (
        "scan: CRITICAL CVE-2024-45491 in libexpat1 2.5.0-1 (trivy) blocks: its waiver by "
        "security-lead@coditect.example expired 2026-10-31 00:00 UTC"
    )
    targets = any_warehouse.query(
        "SELECT environment, image_digest, deployment_id FROM rollback_targets ORDER BY environment"
    ).to_pylist()
    assert [tuple(r.values()) for r in targets] == [
        ("production", digest(1), "d4"),
        ("staging", digest(3), "s-r3"),
    ]
    chained = [
        (r["resource"], r["outcome"], json.loads(r["details"]))
        for r in read_chain(any_warehouse)
        if r["source"] == "cicl" and r["action"] == "rollback"
    ]
    assert [(res, out, d["from_digest"], d["to_digest"]) for res, out, d in chained] == [
        ("deployment/d4", "success", digest(3), digest(1)),
        ("deployment/d5", "failure", digest(2), digest(3)),
    ]
    assert verify_chain(read_chain(any_warehouse)).ok
    # A second run appends no rollback twice.
    dg.materialize(
        [compliance_evidence],
        resources={"warehouse": any_warehouse, "cicl_config": config},
        raise_on_error=False,
    )
    assert sum(1 for r in read_chain(any_warehouse) if r["source"] == "cicl") == 7

    # One verifying bundle per production deployment; d1 and d4 share a digest: bundles 1 and 2.
    outbox = tmp_path / "outbox" / "evidence" / "tool-worker"
    names = sorted(p.relative_to(outbox).as_posix() for p in outbox.rglob("*.jsonl"))
    folders = [bundle_folder("tool-worker", digest(n)).rsplit("/", 1)[1] for n in (1, 2, 3)]
    assert names == [
        f"{folders[0]}/1.intoto.jsonl",
        f"{folders[0]}/2.intoto.jsonl",
        f"{folders[1]}/1.intoto.jsonl",
        f"{folders[2]}/1.intoto.jsonl",
        f"{folders[2]}/2.intoto.jsonl",
    ]
    verdicts = {
        r["deployment_id"]: r
        for r in any_warehouse.query("SELECT * FROM deployment_evidence").to_pylist()
    }
    for name in names:
        data = (outbox / name).read_bytes()
        assert verify_bundle(data, signer.public_key(), verdicts.get) == []
    recorded = {
        r["resource"]: json.loads(r["details"])["sha256"]
        for r in read_chain(any_warehouse)
        if r["action"] == "evidence_bundle"
    }
    assert sorted(recorded) == [f"evidence/tool-worker/{n}" for n in names]
    # Evidence that changes later gets a new numbered bundle naming the one it supersedes.
    first = (outbox / names[0]).read_bytes()
    any_warehouse.execute("UPDATE deployments SET approver = NULL WHERE deployment_id = 'd1'")
    dg.materialize(
        [compliance_evidence],
        resources={"warehouse": any_warehouse, "cicl_config": config},
        raise_on_error=False,
    )
    newest = outbox / folders[0] / "3.intoto.jsonl"
    predicate = json.loads(
        base64.b64decode(json.loads(newest.read_bytes().splitlines()[0])["payload"])
    )["predicate"]
    assert predicate["deployment"]["deployment_id"] == "d1"
    assert predicate["verdict"] == "fail"
    assert predicate["bundle"]["supersedes"] == hashlib.sha256(first).hexdigest()
    assert (outbox / names[0]).read_bytes() == first


def test_a_bundle_a_killed_run_cut_without_its_audit_event_is_chained_once_by_the_next(tmp_path):
    """The first warehouse's run publishes the bundles to the outbox; the second warehouse, seeded
    alike, holds what a run killed after writing them holds: the bundles, not their events."""
    from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
    from tests.signing_keys import signed_config

    config = signed_config(tmp_path, Ed25519Signer.generate())
    first, killed = (DuckDBWarehouse(path=str(tmp_path / f"{n}.duckdb")) for n in ("a", "b"))

    def bundle_events(warehouse) -> list[tuple[str, str, str | None]]:
        return sorted(
            (
                r["resource"],
                json.loads(r["details"])["sha256"],
                json.loads(r["details"])["supersedes"],
            )
            for r in read_chain(warehouse)
            if r["action"] == "evidence_bundle"
        )

    outbox = tmp_path / "outbox" / "evidence"
    seed(first)
    seed(killed)
    # The second run on the killed warehouse must find every event chained, once.
    for warehouse in (first, killed, killed):
        dg.materialize(
            [compliance_evidence],
            resources={"warehouse": warehouse, "cicl_config": config},
            raise_on_error=False,
        )
    published = sorted(
        (f"evidence/{p.relative_to(outbox).as_posix()}", hashlib.sha256(p.read_bytes()).hexdigest())
        for p in outbox.rglob("*.jsonl")
    )
    assert len(published) == 5
    assert bundle_events(killed) == bundle_events(first)
    assert [(name, sha) for name, sha, _ in bundle_events(killed)] == published
    assert verify_chain(read_chain(killed)).ok
