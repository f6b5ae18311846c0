"""The context an evidence bundle states (SLO status and open findings around the deploy) and when
a deployment's first bundle is cut (complete evidence at once, else after the grace period), on
every warehouse, from rows of our own."""

import base64
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cicl_assets.ci.findings.model import CI_FINDINGS
from cicl_assets.compliance.bundle_assets import cut_bundles
from cicl_assets.compliance.bundles import CONTEXT_PREDICATE
from cicl_assets.compliance.context import findings_of, open_findings, slo_context
from cicl_assets.compliance.policy import BundlePolicy, PolicyError, load_bundles, parse_bundles
from cicl_assets.compliance.tables import DEPLOYMENT_EVIDENCE
from cicl_assets.compliance.verify import verify_bundle
from cicl_assets.signer import Ed25519Signer
from cicl_assets.slo.status import SLO_STATUS
from cicl_assets.warehouse.tables import utcnow
from tests.signing_keys import signed_config

REPO = Path(__file__).resolve().parents[2]


def t(hour: int, minute: int = 0, day: int = 4) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def status(slo: str, at: datetime, sli: float, alert: str = "none", service: str = "rt") -> dict:
    return {
        "slo_name": slo,
        "service": service,
        "evaluation_time": at,
        "sli": sli,
        "error_budget_remaining": 1 - (1 - sli) * 10,
        "alert": alert,
    }


SLO_ROWS = [
    status("latency", t(7, 30), 0.995),  # older than the hour before the start: not the status
    status("latency", t(8, 40), 0.999),
    status("latency", t(8, 55), 0.998),  # the status at the start (09:00)
    status("latency", t(9, 30), 0.97, "page"),
    status("latency", t(9, 45), 0.96, "page"),
    status("latency", t(12), 0.98, "ticket"),
    status("latency", t(9, 0, day=5), 0.985),  # the window ends 09:10 on the 5th
    # neither evaluated at the start nor at the window's end, and never alerting: not stated
    status("errors", t(10), 0.999),
    status("latency", t(9, 5), 0.5, "page", service="other"),  # another service
]
FINDINGS = [
    {"pipeline_run_id": "r1", "tool": "trivy", "rule_id": "CVE-1", "severity": "HIGH",
     "status": "open", "package_name": "perl-base", "installed_version": "5.36"},
    {"pipeline_run_id": "r1", "tool": "trivy", "rule_id": "CVE-2", "severity": "CRITICAL",
     "status": "open", "package_name": "libexpat1", "installed_version": "2.5.0-1"},
    {"pipeline_run_id": "r2", "tool": "trivy", "rule_id": "CVE-1", "severity": "HIGH",
     "status": "open", "package_name": "perl-base", "installed_version": "5.36"},
    {"pipeline_run_id": "r2", "tool": "trivy", "rule_id": "CVE-3", "severity": "LOW",
     "status": "fixed", "package_name": "apt", "installed_version": "2.6.1"},
]  # fmt: skip


def test_slo_status_and_open_findings_around_a_deploy(any_warehouse):
    any_warehouse.append(SLO_STATUS, SLO_STATUS.from_records(SLO_ROWS))
    any_warehouse.append(CI_FINDINGS, CI_FINDINGS.from_records(FINDINGS))
    deployment = {"service": "rt", "started_at": t(9), "finished_at": t(9, 10)}
    assert slo_context(any_warehouse, deployment, BundlePolicy()) == {
        "window": {"from": "2026-11-04T08:00:00Z", "to": "2026-11-05T09:10:00Z"},
        "slos": [
            {
                "slo": "latency",
                "atStart": {
                    "evaluatedAt": "2026-11-04T08:55:00Z",
                    "sli": 0.998,
                    "errorBudgetRemaining": 0.98,
                    "alert": "none",
                },
                "atWindowEnd": {
                    "evaluatedAt": "2026-11-05T09:00:00Z",
                    "sli": 0.985,
                    "errorBudgetRemaining": 0.85,
                    "alert": "none",
                },
                "alertEvaluations": {"page": 2, "ticket": 1},
            },
        ],
    }
    # A shorter watch: the page evaluations only, and no status yet at its end (11:10).
    short = slo_context(any_warehouse, deployment, BundlePolicy(slo_after=timedelta(hours=2)))
    [latency] = [s for s in short["slos"] if s["slo"] == "latency"]
    assert (latency["atWindowEnd"], latency["alertEvaluations"]) == (None, {"page": 2})
    by_run = open_findings(any_warehouse, ["r1", "r2", "r9"])
    assert [(f["ruleId"], f["severity"]) for f in findings_of(by_run, ["r1", "r2"])] == [
        ("CVE-2", "CRITICAL"),
        ("CVE-1", "HIGH"),
    ]
    assert findings_of(by_run, ["r2"]) == [
        {"tool": "trivy", "ruleId": "CVE-1", "severity": "HIGH", "package": "perl-base",
         "installedVersion": "5.36"}
    ]  # fmt: skip


def evidence(dep_id: str, finished_ago: timedelta, verdict: str, digest_char: str) -> dict:
    finished = utcnow() - finished_ago
    return {
        "deployment_id": dep_id, "environment": "production", "service": "rt",
        "version": "1.0", "commit_sha": "c" * 40, "image_digest": "sha256:" + digest_char * 64,
        "status": "succeeded", "started_at": finished - timedelta(minutes=9),
        "finished_at": finished, "actor": "bot", "approver": "sre",
        "approved_at": finished - timedelta(hours=1), "rollback_of": None, "ci_runs": '["r1"]',
        "tests_total": 0, "tests_failed": 0, "tests_skipped": 0, "sbom_present": True,
        "attestation_status": "verified", "checks": "{}", "waived": "[]", "verdict": verdict,
        "reasons": "" if verdict == "pass" else "post_deploy: post-deploy step health-check is "
        "missing", "evaluated_at": utcnow(),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("grace_minutes", "cut"),
    [
        # complete evidence at once; a failing verdict finished 10 min ago waits; 2 h ago does not
        (60, ["passed-now", "failed-earlier"]),
        # no grace: everything finished is cut
        (0, ["passed-now", "failed-now", "failed-earlier"]),
    ],
)
def test_first_bundle_waits_for_complete_evidence_or_the_grace(
    any_warehouse, tmp_path, grace_minutes, cut
):
    config_dir = tmp_path / "config"
    shutil.copytree(REPO / "config" / "policies", config_dir / "policies")
    (config_dir / "policies" / "evidence.yaml").write_text(
        f"bundles:\n  grace_minutes: {grace_minutes}\n"
    )
    signer = Ed25519Signer.generate()
    config = signed_config(tmp_path, signer).model_copy(update={"config_dir": str(config_dir)})
    any_warehouse.append(CI_FINDINGS, CI_FINDINGS.from_records(FINDINGS))
    rows = [
        evidence("passed-now", timedelta(minutes=10), "pass", "a"),
        evidence("failed-now", timedelta(minutes=10), "fail", "b"),
        evidence("failed-earlier", timedelta(hours=2), "fail", "c"),
    ]
    any_warehouse.replace_table(DEPLOYMENT_EVIDENCE, DEPLOYMENT_EVIDENCE.from_records(rows))
    result = cut_bundles(any_warehouse, config)
    assert result.metadata["bundles_cut"] == len(cut)
    bundles = sorted((tmp_path / "outbox" / "evidence").rglob("*.intoto.jsonl"))
    found = {}
    for path in bundles:
        data = path.read_bytes()
        assert verify_bundle(data, signer.public_key()) == []
        docs = [json.loads(base64.b64decode(json.loads(x)["payload"])) for x in data.splitlines()]
        found[docs[0]["predicate"]["deployment"]["deployment_id"]] = docs
    assert sorted(found) == sorted(cut)
    context = [d for d in found["passed-now"] if d["predicateType"] == CONTEXT_PREDICATE]
    assert [(f["ruleId"], f["severity"]) for f in context[0]["predicate"]["openFindings"]] == [
        ("CVE-2", "CRITICAL"),
        ("CVE-1", "HIGH"),
    ]
    assert context[0]["predicate"]["slos"] == []
    # A second cut over the same evidence makes no new bundle.
    assert cut_bundles(any_warehouse, config).metadata["bundles_cut"] == 0


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({}, BundlePolicy()),
        (
            {"bundles": {"grace_minutes": 0, "slo_after_hours": 6}},
            BundlePolicy(grace=timedelta(0), slo_after=timedelta(hours=6)),
        ),
        ({"bundles": {"grace_minutes": -1}}, "evidence.yaml: bundles.grace_minutes: -1 is not"),
        ({"bundles": {"grace_minutes": "1h"}}, "bundles.grace_minutes: '1h' is not a number"),
        ({"bundles": {"grace": 5}}, "evidence.yaml: bundles: unknown setting grace"),
    ],
)
def test_bundle_policy(doc, expected):
    if isinstance(expected, BundlePolicy):
        assert parse_bundles(doc, "evidence.yaml") == expected
    else:
        with pytest.raises(PolicyError, match=expected):
            parse_bundles(doc, "evidence.yaml")


def test_the_shipped_bundle_policy():
    assert load_bundles(REPO / "config") == BundlePolicy(
        grace=timedelta(hours=1), slo_before=timedelta(hours=1), slo_after=timedelta(hours=24)
    )
