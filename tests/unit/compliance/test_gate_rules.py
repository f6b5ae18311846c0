"""Every gate rule, one table each, with inputs of our own and the exact reasons expected."""

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cicl_assets.compliance import rules
from cicl_assets.compliance.policy import (
    ChangeWindows,
    EnvironmentGate,
    Freeze,
    GatePolicy,
    PolicyError,
    Waiver,
    WeeklyWindow,
    load_gates,
    load_windows,
    parse_gates,
    parse_windows,
)


def t(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


STAGES = {"unit tests": ("unit",), "container build": ("build", "container-build")}


def run(run_id: str, **stages: str) -> dict:
    return {
        "pipeline_run_id": run_id,
        "stages": json.dumps(
            [{"name": n.replace("_", "-"), "status": s} for n, s in stages.items()]
        ),
    }


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ([], ["no CI run built this image digest"]),
        ([run("r1", unit="success", build="success")], []),
        ([run("r1", unit="success", container_build="success")], []),
        ([run("r1", unit="success")], ["CI stage container build is missing"]),
        (
            [run("r1", unit="failed", build="skipped")],
            [
                "CI stage unit tests did not pass (failed)",
                "CI stage container build did not pass (skipped)",
            ],
        ),
        # A rerun that passed counts.
        ([run("r1", unit="failed", build="success"), run("r2", unit="success")], []),
        (
            [{"pipeline_run_id": "r1", "stages": "not json"}],
            ["CI stage unit tests is missing", "CI stage container build is missing"],
        ),
    ],
)
def test_ci_stages(runs, expected):
    assert rules.ci_stage_reasons(runs, STAGES) == expected


GATE = EnvironmentGate(block=("CRITICAL", "HIGH"))
WAIVERS = (
    Waiver("CVE-1", "sec@x", "not reachable", t(31, 0), ("tool-worker",)),
    Waiver("CVE-2", "sec@x", "base image", datetime(2027, 1, 1, tzinfo=UTC)),
)


def finding(rule: str, severity: str, status: str = "open") -> dict:
    return {
        "rule_id": rule,
        "severity": severity,
        "status": status,
        "package_name": "libexpat1",
        "installed_version": "2.5.0-1",
        "tool": "trivy",
    }


@pytest.mark.parametrize(
    ("findings", "service", "at", "reasons", "waived"),
    [
        ([finding("CVE-9", "MEDIUM")], "tool-worker", t(20, 9), [], []),
        ([finding("CVE-9", "CRITICAL", "suppressed")], "tool-worker", t(20, 9), [], []),
        (
            [finding("CVE-9", "CRITICAL")],
            "tool-worker",
            t(20, 9),
            ["CRITICAL CVE-9 in libexpat1 2.5.0-1 (trivy) blocks and has no waiver"],
            [],
        ),
        (
            [finding("CVE-1", "CRITICAL")],
            "tool-worker",
            t(20, 9),
            [],
            [
                "CRITICAL CVE-1 in libexpat1 2.5.0-1 (trivy) waived by sec@x until 2026-10-31 00:00 UTC"
            ],
        ),
        # The waiver expired before the deploy started: the finding blocks again.
        (
            [finding("CVE-1", "CRITICAL")],
            "tool-worker",
            t(31, 0),
            [
                "CRITICAL CVE-1 in libexpat1 2.5.0-1 (trivy) blocks: its waiver by sec@x expired "
                "2026-10-31 00:00 UTC"
            ],
            [],
        ),
        # A waiver for other services does not cover this one.
        (
            [finding("CVE-1", "HIGH")],
            "flow-gateway",
            t(20, 9),
            ["HIGH CVE-1 in libexpat1 2.5.0-1 (trivy) blocks and has no waiver"],
            [],
        ),
        # The same finding reported twice (two runs) is one reason.
        (
            [finding("CVE-9", "HIGH"), finding("CVE-9", "HIGH")],
            "x",
            t(20, 9),
            ["HIGH CVE-9 in libexpat1 2.5.0-1 (trivy) blocks and has no waiver"],
            [],
        ),
        (
            [finding("CVE-2", "HIGH")],
            "x",
            t(20, 9),
            [],
            ["HIGH CVE-2 in libexpat1 2.5.0-1 (trivy) waived by sec@x until 2027-01-01 00:00 UTC"],
        ),
    ],
)
def test_scan(findings, service, at, reasons, waived):
    assert rules.scan_reasons(findings, GATE, WAIVERS, service, at) == (reasons, waived)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("verified", []),
        ("attested-unverified", ["its attestation did not verify against a trusted key"]),
        ("no-attestation", ["no attestation names this image digest"]),
        ("no-digest", ["the deployment names no image digest"]),
        (None, ["attestation status None"]),
    ],
)
def test_attestation(status, expected):
    assert rules.attestation_reasons(status) == expected


def test_sbom():
    assert rules.sbom_reasons(True) == []
    assert rules.sbom_reasons(False) == ["no SBOM describes this image digest"]


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        (
            {"approver": "sre@x", "approved_at": t(20, 8), "started_at": t(20, 9), "actor": "bot"},
            [],
        ),
        (
            {"approver": None, "approved_at": None, "started_at": t(20, 9), "actor": "bot"},
            ["no approver", "no approval time"],
        ),
        (
            {"approver": "sre@x", "approved_at": t(20, 10), "started_at": t(20, 9), "actor": "bot"},
            ["approved at 2026-10-20 10:00 UTC, after it started at 2026-10-20 09:00 UTC"],
        ),
        (
            {
                "approver": "Ana@x",
                "approved_at": t(20, 8),
                "started_at": t(20, 9),
                "actor": "ana@x",
            },
            ["approved by Ana@x, who also triggered it"],
        ),
    ],
)
def test_approval(deployment, expected):
    assert rules.approval_reasons(deployment) == expected


BERLIN = ChangeWindows(
    ZoneInfo("Europe/Berlin"),
    (WeeklyWindow((0, 1, 2, 3), time(9), time(17)),),
    (Freeze(date(2026, 12, 21), date(2027, 1, 4), "year-end"),),
)


@pytest.mark.parametrize(
    ("started", "claim", "expected"),
    [
        # Tuesday 09:00 UTC is 11:00 in Berlin (summer time): inside.
        (t(13, 9), None, []),
        # Monday 07:30 UTC is 09:30 CEST in October ...
        (t(12, 7, 30), None, []),
        # ... but 08:30 CET once the clocks went back (2026-10-25): outside.
        (
            t(26, 7, 30),
            None,
            ["started Mon 2026-10-26 08:30 Europe/Berlin, outside every weekly change window"],
        ),
        # Friday is no change day; the record's own window does not make it one.
        (
            t(30, 10),
            (t(30, 9), t(30, 12)),
            [
                "started Fri 2026-10-30 11:00 Europe/Berlin, outside every weekly change window",
                "its record claims the window 2026-10-30 09:00 UTC to 2026-10-30 12:00 UTC, "
                "which the policy does not grant",
            ],
        ),
        # The end of a window is outside it.
        (
            t(13, 15),
            None,
            ["started Tue 2026-10-13 17:00 Europe/Berlin, outside every weekly change window"],
        ),
        (
            datetime(2026, 12, 22, 10, tzinfo=UTC),
            None,
            [
                "started Tue 2026-12-22 11:00 Europe/Berlin, inside the freeze 2026-12-21 to 2027-01-04"
            ],
        ),
        (None, None, ["no start time to check against the change windows"]),
    ],
)
def test_change_window(started, claim, expected):
    deployment = {
        "started_at": started,
        "change_window_start": claim[0] if claim else None,
        "change_window_end": claim[1] if claim else None,
    }
    assert rules.window_reasons(deployment, BERLIN) == expected


DIGEST = "sha256:" + "a" * 64
PROD = {
    "deployment_id": "p1",
    "environment": "production",
    "image_digest": DIGEST,
    "started_at": t(20, 9),
}


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        (
            [
                {
                    "environment": "staging",
                    "status": "succeeded",
                    "image_digest": DIGEST,
                    "started_at": t(19, 9),
                }
            ],
            [],
        ),
        ([], ["the image digest was not deployed successfully to staging first"]),
        (
            [
                {
                    "environment": "staging",
                    "status": "failed",
                    "image_digest": DIGEST,
                    "started_at": t(19, 9),
                }
            ],
            ["the image digest was not deployed successfully to staging first"],
        ),
        (
            [
                {
                    "environment": "staging",
                    "status": "succeeded",
                    "image_digest": DIGEST,
                    "started_at": t(21, 9),
                }
            ],
            ["the image digest was not deployed successfully to staging first"],
        ),
        (
            [
                {
                    "environment": "dev",
                    "status": "succeeded",
                    "image_digest": DIGEST,
                    "started_at": t(19, 9),
                }
            ],
            ["the image digest was not deployed successfully to staging first"],
        ),
        (
            [
                {
                    "environment": "staging",
                    "status": "succeeded",
                    "image_digest": "sha256:" + "b" * 64,
                    "started_at": t(19, 9),
                }
            ],
            ["the image digest was not deployed successfully to staging first"],
        ),
    ],
)
def test_promotion(earlier, expected):
    assert rules.promotion_reasons(PROD, earlier, "staging") == expected


def step(
    action: str, outcome: str = "success", run_id: str = "r1", deployment_id: str | None = "p1"
):
    details = {"details": {"deployment_id": deployment_id}} if deployment_id else {}
    return {
        "action": action,
        "outcome": outcome,
        "pipeline_run_id": run_id,
        "details": json.dumps(details),
    }


@pytest.mark.parametrize(
    ("audit", "expected"),
    [
        ([step("health-check")], []),
        ([], ["post-deploy step health-check is missing"]),
        ([step("health-check", deployment_id="p2")], ["post-deploy step health-check is missing"]),
        ([step("health-check", "failure")], ["post-deploy step health-check failed"]),
    ],
)
def test_post_deploy(audit, expected):
    assert rules.post_deploy_reasons(PROD, audit, ["health-check"]) == expected


@pytest.mark.parametrize(
    ("audit", "expected"),
    [
        ([step("unit", deployment_id=None), step("build", deployment_id=None), step("deploy")], []),
        (
            [step("unit", deployment_id=None), step("rollback")],
            ["run r1 has no audit event for stage(s) build"],
        ),
        (
            [step("unit", deployment_id=None), step("build", deployment_id=None)],
            ["the deployment itself has no audit event"],
        ),
        (
            [step("unit", run_id="r2", deployment_id=None), step("deploy")],
            ["run r1 has no audit event for stage(s) unit, build"],
        ),
    ],
)
def test_audit_coverage(audit, expected):
    runs = [run("r1", unit="success", build="success")]
    assert rules.audit_reasons(PROD, runs, audit) == expected


def test_judge_applies_only_the_checks_the_environment_requires():
    policy = GatePolicy(
        environments={
            "production": EnvironmentGate(("CRITICAL",), ("approval", "sbom", "scan")),
            "dev": EnvironmentGate((), ("sbom",)),
        },
        waivers=WAIVERS,
    )
    facts = rules.DeployFacts(
        deployment={
            **PROD,
            "approver": "sre@x",
            "approved_at": t(20, 8),
            "actor": "bot",
            "service": "tool-worker",
        },
        findings=[finding("CVE-1", "CRITICAL"), finding("CVE-9", "CRITICAL")],
        sbom=True,
    )
    verdict = rules.judge(facts, policy, BERLIN)
    assert verdict.verdict == "fail"
    assert verdict.reasons == [
        "scan: CRITICAL CVE-9 in libexpat1 2.5.0-1 (trivy) blocks and has no waiver"
    ]
    assert verdict.waived == [
        "CRITICAL CVE-1 in libexpat1 2.5.0-1 (trivy) waived by sec@x until 2026-10-31 00:00 UTC"
    ]
    dev = rules.judge(
        rules.DeployFacts(deployment={**facts.deployment, "environment": "dev"}, sbom=True),
        policy,
        BERLIN,
    )
    assert (dev.verdict, dev.checks, dev.waived) == ("pass", {"sbom": []}, [])
    unknown = rules.judge(
        rules.DeployFacts(deployment={**PROD, "environment": "qa"}), policy, BERLIN
    )
    assert (unknown.verdict, unknown.reasons) == ("fail", ["policy: no gate for environment qa"])


def test_the_shipped_policies_load():
    gates = load_gates(Path("config"))
    assert gates.environments["production"].block == ("CRITICAL", "HIGH")
    assert gates.environments["production"].promoted_from == "staging"
    # the last one is the demo's: it expires the day before tool-worker 0.9.3 ships
    assert [w.rule_id for w in gates.waivers] == [
        "CVE-2023-31484",
        "CVE-2024-45491",
        "CVE-2024-45492",
    ]
    assert gates.waivers[-1].expires == datetime(2026, 10, 26, tzinfo=UTC)
    assert gates.waivers[1].expires == datetime(2026, 10, 31, tzinfo=UTC)
    windows = load_windows(Path("config"))
    assert windows.time_zone.key == "Europe/Berlin"
    assert windows.weekly == (WeeklyWindow((0, 1, 2, 3), time(9), time(17)),)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"environments": {"production": {"block": ["SEVERE"]}}},
            "x: environments.production.block: SEVERE is not one of CRITICAL, HIGH, MEDIUM, LOW, INFO",
        ),
        (
            {"environments": {"production": {"requires": ["vibes"]}}},
            "x: environments.production.requires: vibes is not one of ci_stages, scan, sbom, "
            "attestation, approval, change_window, promotion, post_deploy, audit",
        ),
        (
            {"environments": {"production": {"requires": ["promotion"]}}},
            "x: environments.production: requires promotion but names no promoted_from",
        ),
        (
            {"waivers": [{"rule_id": "CVE-1", "owner": "a", "reason": "b"}]},
            "x: waivers[0]: a waiver needs expires",
        ),
        (
            {"waivers": [{"rule_id": "CVE-1", "owner": "a", "reason": "b", "expires": "soon"}]},
            "x: waivers[0]: expires 'soon' is not a timestamp (expected RFC 3339 text such as "
            "2026-11-03T09:12:00Z, or epoch seconds or milliseconds)",
        ),
    ],
)
def test_gate_policy_errors(doc, message):
    with pytest.raises(PolicyError) as caught:
        parse_gates(doc, "x")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"time_zone": "Mars/Olympus"},
            "x: time_zone 'Mars/Olympus' is not an IANA time zone name",
        ),
        (
            {
                "time_zone": "UTC",
                "weekly": [{"days": ["funday"], "start": "09:00", "end": "10:00"}],
            },
            "x: weekly[0].days: expected day names among mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            {"time_zone": "UTC", "weekly": [{"days": ["mon"], "start": "10:00", "end": "09:00"}]},
            "x: weekly[0]: end is not after start",
        ),
        (
            {"time_zone": "UTC", "freezes": [{"from": "2026-12-24", "to": "2026-12-20"}]},
            "x: freezes[0]: to is before from",
        ),
    ],
)
def test_window_policy_errors(doc, message):
    with pytest.raises(PolicyError) as caught:
        parse_windows(doc, "x")
    assert str(caught.value) == message


def test_a_deployment_named_by_its_provider_is_matched_by_its_run_and_environment():
    runs = [run("r1", unit="success")]
    deploy_step = {**step("deploy", deployment_id="dep-dev-7"), "environment": "dev"}
    github = {"deployment_id": "github:1800000005", "environment": "dev"}
    audit = [step("unit", deployment_id=None), deploy_step]
    assert rules.audit_reasons(github, runs, audit) == []
    staging = {"deployment_id": "github:1800000006", "environment": "staging"}
    assert rules.audit_reasons(staging, runs, audit) == ["the deployment itself has no audit event"]
