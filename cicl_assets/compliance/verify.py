"""Offline verification of an evidence bundle: every envelope's signature against a public key,
every statement's shape, and the statements' agreement with each other (one subject, the
content digest cicl recorded), optionally against the warehouse's deployment_evidence."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from cicl_assets.compliance.bundles import (
    CONTEXT_PREDICATE,
    EVIDENCE_PREDICATE,
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    TEST_RESULT_PREDICATE,
    VSA_PREDICATE,
    content_digest,
    pae,
)
from cicl_assets.signer import key_id

_REQUIRED = {
    EVIDENCE_PREDICATE: ("version", "deployment", "checks", "verdict", "bundle"),
    TEST_RESULT_PREDICATE: ("result", "configuration", "passedTests", "failedTests"),
    VSA_PREDICATE: ("verifier", "timeVerified", "resourceUri", "policy", "verificationResult"),
    CONTEXT_PREDICATE: ("version", "window", "slos", "openFindings"),
}


def _statement(line: str, n: int, key: ed25519.Ed25519PublicKey, problems: list[str]):
    where = f"envelope {n}"
    try:
        env = json.loads(line)
        payload = base64.b64decode(env["payload"], validate=True)
    except (ValueError, KeyError, TypeError):
        problems.append(f"{where}: not a DSSE envelope")
        return None
    if env.get("payloadType") != PAYLOAD_TYPE:
        problems.append(f"{where}: payloadType {env.get('payloadType')!r} is not {PAYLOAD_TYPE}")
    wanted = key_id(key)
    signatures = [s for s in env.get("signatures") or [] if isinstance(s, dict)]
    mine = [s for s in signatures if s.get("keyid") == wanted]
    if not mine:
        named = ", ".join(str(s.get("keyid")) for s in signatures) or "no key"
        problems.append(f"{where}: signed by {named}, not by the given key {wanted}")
        return None
    try:
        key.verify(
            base64.b64decode(mine[0].get("sig", ""), validate=True), pae(PAYLOAD_TYPE, payload)
        )
    except (InvalidSignature, ValueError):
        problems.append(f"{where}: signature does not match its payload")
        return None
    try:
        doc = json.loads(payload)
    except ValueError:
        problems.append(f"{where}: payload is not JSON")
        return None
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        problems.append(f"{where}: not an in-toto Statement v1")
        return None
    subjects = doc.get("subject")
    if (
        not isinstance(subjects, list)
        or not subjects
        or not all(
            isinstance(s, dict) and isinstance(s.get("digest"), dict) and s["digest"]
            for s in subjects
        )
    ):
        problems.append(f"{where}: subject is not a list of named digests")
        return None
    required = _REQUIRED.get(doc.get("predicateType"))
    predicate = doc.get("predicate")
    if required is None:
        problems.append(f"{where}: unknown predicateType {doc.get('predicateType')!r}")
    elif not isinstance(predicate, dict) or [k for k in required if k not in predicate]:
        missing = [k for k in required if not isinstance(predicate, dict) or k not in predicate]
        problems.append(f"{where}: {doc['predicateType']} predicate lacks {', '.join(missing)}")
    return doc


def verify_bundle(
    data: bytes,
    key: ed25519.Ed25519PublicKey,
    evidence_row: Callable[[str], dict[str, Any] | None] | None = None,
) -> list[str]:
    """What is wrong with the bundle (empty: it verifies). ``evidence_row`` looks a deployment
    up in the warehouse's deployment_evidence."""
    problems: list[str] = []
    lines = [ln for ln in data.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    if not lines:
        return ["the bundle holds no envelope"]
    docs = [_statement(line, n, key, problems) for n, line in enumerate(lines, 1)]
    if problems:
        return problems
    subjects = {json.dumps(d["subject"], sort_keys=True) for d in docs}
    if len(subjects) != 1:
        problems.append("the statements are about different subjects (an envelope was swapped)")
    first = docs[0]
    if first["predicateType"] != EVIDENCE_PREDICATE:
        return [*problems, f"the first statement is not {EVIDENCE_PREDICATE}"]
    recorded = first["predicate"]["bundle"].get("contentDigest")
    unbundled = copy.deepcopy(docs)
    unbundled[0]["predicate"].pop("bundle")
    if content_digest(unbundled) != recorded:
        problems.append(
            "the statements do not hash to the content digest the bundle recorded "
            "(an envelope was swapped, added or removed)"
        )
    verdicts = {
        d["predicate"]["verificationResult"] for d in docs if d["predicateType"] == VSA_PREDICATE
    }
    expected = "PASSED" if first["predicate"]["verdict"] == "pass" else "FAILED"
    if verdicts != {expected}:
        problems.append(f"the VSA result {sorted(verdicts)} disagrees with the verdict {expected}")
    if evidence_row is not None:
        deployment_id = first["predicate"]["deployment"]["deployment_id"]
        row = evidence_row(deployment_id)
        if row is None:
            problems.append(f"the warehouse has no deployment_evidence row for {deployment_id}")
        else:
            algorithm, value = next(iter(docs[0]["subject"][0]["digest"].items()))
            if row.get("image_digest") != f"{algorithm}:{value}":
                problems.append(f"{deployment_id}: the warehouse records another image digest")
            if row.get("verdict") != first["predicate"]["verdict"]:
                problems.append(
                    f"{deployment_id}: the warehouse's verdict is {row.get('verdict')}, the "
                    f"bundle's {first['predicate']['verdict']} (a newer bundle may supersede it)"
                )
    return problems
