"""Evidence bundles verify offline, and tampering is caught: a changed byte, a swapped envelope,
an unknown key."""

import base64
import json
from datetime import UTC, datetime

from cicl_assets.compliance.bundles import (
    EVIDENCE_PREDICATE,
    TEST_RESULT_PREDICATE,
    VSA_PREDICATE,
    BundleInput,
    bundle_bytes,
    pae,
    statements,
)
from cicl_assets.compliance.verify import verify_bundle
from cicl_assets.signer import Ed25519Signer

SIGNER = Ed25519Signer.generate()


def row(digest: str = "sha256:" + "a" * 64, verdict: str = "pass") -> dict:
    return {
        "deployment_id": "d1", "environment": "production", "service": "tool-worker",
        "version": "0.9.1", "commit_sha": "c" * 40, "image_digest": digest,
        "status": "succeeded", "started_at": datetime(2026, 10, 13, 9, tzinfo=UTC),
        "finished_at": datetime(2026, 10, 13, 9, 9, tzinfo=UTC), "actor": "deploy-bot",
        "approver": "sre", "approved_at": datetime(2026, 10, 13, 8, tzinfo=UTC),
        "rollback_of": None, "ci_runs": '["r1"]', "tests_total": 3, "tests_failed": 0,
        "tests_skipped": 1, "sbom_present": True, "attestation_status": "verified",
        "checks": '{"scan": []}', "waived": "[]", "verdict": verdict,
        "evaluated_at": datetime(2026, 11, 1, tzinfo=UTC),
    }  # fmt: skip


def bundle(r: dict, signer=SIGNER) -> bytes:
    docs = statements(BundleInput(r, {"r1": {"passed": 2, "skipped": 1}}, "f" * 64))
    return bundle_bytes(docs, signer, 1, None)


def test_pae_is_dsse_v1():
    assert pae("application/vnd.in-toto+json", b"{}") == (
        b"DSSEv1 28 application/vnd.in-toto+json 2 {}"
    )


def test_a_bundle_holds_the_three_statement_kinds_and_verifies():
    data = bundle(row())
    lines = data.splitlines()
    docs = [json.loads(base64.b64decode(json.loads(line)["payload"])) for line in lines]
    assert [d["predicateType"] for d in docs] == [
        EVIDENCE_PREDICATE,
        TEST_RESULT_PREDICATE,
        VSA_PREDICATE,
    ]
    assert {json.dumps(d["subject"], sort_keys=True) for d in docs} == {
        json.dumps([{"digest": {"sha256": "a" * 64}, "name": "tool-worker"}])
    }
    assert docs[1]["predicate"]["result"] == "PASSED"
    assert docs[2]["predicate"]["verificationResult"] == "PASSED"
    assert docs[2]["predicate"]["policy"]["digest"] == {"sha256": "f" * 64}
    assert docs[0]["predicate"]["bundle"]["number"] == 1
    assert verify_bundle(data, SIGNER.public_key()) == []


def test_a_changed_byte_is_caught():
    data = bytearray(bundle(row()))
    line = data.index(b'"payload":"') + len('"payload":"') + 10
    data[line] = ord("A") if data[line] != ord("A") else ord("B")
    problems = verify_bundle(bytes(data), SIGNER.public_key())
    assert problems and problems[0].startswith("envelope 1:")


def test_a_swapped_envelope_is_caught():
    ours = bundle(row()).splitlines()
    other = bundle(row(digest="sha256:" + "b" * 64)).splitlines()
    swapped = b"\n".join([ours[0], other[1], ours[2]]) + b"\n"
    assert verify_bundle(swapped, SIGNER.public_key()) == [
        "the statements are about different subjects (an envelope was swapped)",
        "the statements do not hash to the content digest the bundle recorded "
        "(an envelope was swapped, added or removed)",
    ]
    # The VSA of a failing verdict in a passing bundle: same subject, still caught.
    failing = bundle(row(verdict="fail")).splitlines()
    mixed = b"\n".join([ours[0], ours[1], failing[2]]) + b"\n"
    assert verify_bundle(mixed, SIGNER.public_key()) == [
        "the statements do not hash to the content digest the bundle recorded "
        "(an envelope was swapped, added or removed)",
        "the VSA result ['FAILED'] disagrees with the verdict PASSED",
    ]


def test_an_unknown_key_is_refused():
    stranger = Ed25519Signer.generate()
    problems = verify_bundle(bundle(row(), stranger), SIGNER.public_key())
    assert problems[0] == (
        f"envelope 1: signed by {stranger.key_id}, not by the given key {SIGNER.key_id}"
    )
    assert len(problems) == 3


def test_checked_against_the_warehouse():
    data = bundle(row())
    assert verify_bundle(data, SIGNER.public_key(), lambda _: None) == [
        "the warehouse has no deployment_evidence row for d1"
    ]
    newer = {"image_digest": "sha256:" + "a" * 64, "verdict": "fail"}
    assert verify_bundle(data, SIGNER.public_key(), lambda _: newer) == [
        "d1: the warehouse's verdict is fail, the bundle's pass (a newer bundle may supersede it)"
    ]
