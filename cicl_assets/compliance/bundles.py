"""Evidence bundles: in-toto Statements v1 about a deployed image digest, each in a DSSE
envelope signed with cicl's signing key, one envelope per line (docs/compliance.md).

A bundle holds, for one production deployment: cicl's deployment-evidence predicate
(``EVIDENCE_PREDICATE``, versioned), a test-result v0.1 statement per CI run that built the
digest, a SLSA Verification Summary Attestation v1 carrying the gate's policy and verdict, and
cicl's deployment-context predicate: the SLO status and the open findings around the deploy.

Signing is ed25519 over DSSE's pre-authentication encoding, through the ``Signer`` the audit
chain already uses: one key and one trust file for everything cicl signs, so an auditor needs
one public key and the verification is a few lines of ``cryptography`` (no second crypto stack).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cicl_assets.signer import Signer

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
EVIDENCE_PREDICATE = "https://cicl.dev/deployment-evidence/v1"
TEST_RESULT_PREDICATE = "https://in-toto.io/attestation/test-result/v0.1"
VSA_PREDICATE = "https://slsa.dev/verification_summary/v1"
CONTEXT_PREDICATE = "https://cicl.dev/deployment-context/v1"
VERIFIER_ID = "https://cicl.dev/gate"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def statement(digest: str, name: str, predicate_type: str, predicate: dict) -> dict[str, Any]:
    algorithm, _, value = digest.partition(":")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {algorithm: value}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def envelope(doc: dict[str, Any], signer: Signer) -> dict[str, Any]:
    payload = canonical(doc)
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {
                "keyid": signer.key_id,
                "sig": base64.b64encode(signer.sign(pae(PAYLOAD_TYPE, payload))).decode(),
            }
        ],
    }


def _time(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


@dataclass(frozen=True)
class BundleInput:
    """One production deployment's evidence row, its runs' test totals and the policy digest."""

    evidence: Mapping[str, Any]
    tests: Mapping[str, Mapping[str, int]]  # pipeline_run_id -> status -> count
    policy_digest: str
    open_findings: tuple[Mapping[str, Any], ...] = ()
    # The SLO status around the deploy (compliance.context.slo_context); None: no such statement.
    slo: Mapping[str, Any] | None = None


def statements(data: BundleInput) -> list[dict[str, Any]]:
    e = data.evidence
    digest, name = str(e["image_digest"]), f"{e['service']}"
    evidence = {
        "version": 1,
        "deployment": {
            k: _time(e.get(k)) if k.endswith("_at") else e.get(k)
            for k in (
                "deployment_id",
                "environment",
                "service",
                "version",
                "commit_sha",
                "status",
                "started_at",
                "finished_at",
                "actor",
                "approver",
                "approved_at",
                "rollback_of",
            )
        },
        "ciRuns": json.loads(e.get("ci_runs") or "[]"),
        "tests": {
            "total": e.get("tests_total"),
            "failed": e.get("tests_failed"),
            "skipped": e.get("tests_skipped"),
        },
        "sbomPresent": bool(e.get("sbom_present")),
        "attestation": e.get("attestation_status"),
        "checks": json.loads(e.get("checks") or "{}"),
        "waived": json.loads(e.get("waived") or "[]"),
        "verdict": e.get("verdict"),
        "openFindings": [dict(f) for f in data.open_findings],
    }
    out = [statement(digest, name, EVIDENCE_PREDICATE, evidence)]
    for run_id in evidence["ciRuns"]:
        counts = data.tests.get(run_id, {})
        failed = counts.get("failed", 0) + counts.get("error", 0)
        out.append(
            statement(
                digest,
                name,
                TEST_RESULT_PREDICATE,
                {
                    "result": "FAILED" if failed else "PASSED",
                    "configuration": [{"name": f"ci/{run_id}"}],
                    "passedTests": [f"{counts.get('passed', 0)} passed"],
                    "warnedTests": [f"{counts.get('flaky', 0)} flaky"]
                    if counts.get("flaky")
                    else [],
                    "failedTests": [f"{failed} failed"] if failed else [],
                },
            )
        )
    out.append(
        statement(
            digest,
            name,
            VSA_PREDICATE,
            {
                "verifier": {"id": VERIFIER_ID},
                "timeVerified": _time(e.get("evaluated_at")),
                "resourceUri": f"{e['service']}@{digest}",
                "policy": {
                    "uri": "config/policies/gates.yaml",
                    "digest": {"sha256": data.policy_digest},
                },
                "verificationResult": "PASSED" if e.get("verdict") == "pass" else "FAILED",
                "verifiedLevels": [],
            },
        )
    )
    if data.slo is not None:
        out.append(
            statement(
                digest,
                name,
                CONTEXT_PREDICATE,
                {
                    "version": 1,
                    "window": data.slo.get("window"),
                    "slos": list(data.slo.get("slos") or []),
                    "openFindings": evidence["openFindings"],
                },
            )
        )
    return out


def content_digest(docs: list[dict[str, Any]]) -> str:
    """What decides whether evidence changed: the statements without the time they were made."""
    stable = [
        {**d, "predicate": {k: v for k, v in d["predicate"].items() if k != "timeVerified"}}
        for d in docs
    ]
    return hashlib.sha256(canonical(stable)).hexdigest()


def bundle_bytes(
    docs: list[dict[str, Any]], signer: Signer, number: int, supersedes: str | None
) -> bytes:
    """The bundle: one DSSE envelope per line; cicl's statement names the bundle number, the
    content digest, and the sha256 of the bundle it supersedes."""
    first = docs[0]
    first["predicate"]["bundle"] = {
        "number": number,
        "contentDigest": content_digest(docs),
        "supersedes": supersedes,
    }
    return b"".join(canonical(envelope(d, signer)) + b"\n" for d in docs)
