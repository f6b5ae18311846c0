"""Signatures and attestations -> ci_attestations, with honest offline verification."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from cicl_assets.ci.attestations.formats import parse_attestations
from cicl_assets.ci.attestations.signing import (
    CHAIN_NOT_CHECKED,
    MISMATCH,
    NO_KEY,
    NO_TRUST,
    AttestationTrust,
    attestation_trust,
    pae,
)
from cicl_assets.ci.stream import ci_stream
from cicl_assets.deployments.summary import match_subjects
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format
from tests.unit.ci.test_findings import FIXTURES, manifest, parse, parse_fixture

GHA = "https://token.actions.githubusercontent.com"
GENERATOR = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
EXAMPLE_REPO = "https://github.com/slsa-framework/example-package"

# (file, format, bundle_format, predicate type, subject name, digest prefix, signer, issuer,
#  rekor log index) — read from each file (payloads and certificates decoded by hand).
SIGNED = [
    (
        "sigstorepy__bundle.txt.sigstore",
        "sigstore-bundle",
        "sigstore-bundle-v0.1",
        None,
        None,
        "sha256:802dd60f",
        "a@tny.town",
        "https://github.com/login/oauth",
        7390977,
    ),
    (
        "sigstorepy__bundle_v3.txt.sigstore",
        "sigstore-bundle",
        "sigstore-bundle-v0.3",
        None,
        None,
        "sha256:5e6ae9de",
        "william@yossarian.net",
        "https://github.com/login/oauth",
        25915956,
    ),
    (
        "sigstorepy__a.dsse.staging-rekor-v2.txt.sigstore.json",
        "sigstore-bundle",
        "sigstore-bundle-v0.3",
        "https://slsa.dev/provenance/v1",
        "a.txt",
        "sha256:a0cfc712",
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
        ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
        GHA,
        4026478,
    ),
    (
        "slsaverifier-containerbased__binary-linux-amd64-push-v14.intoto.build.slsa",
        "sigstore-bundle",
        "sigstore-bundle-v0.2",
        "https://slsa.dev/provenance/v1",
        "gha_container-based-binary-linux-amd64-v14",
        "sha256:e3b0c442",
        GENERATOR + "builder_container-based_slsa3.yml@refs/tags/v2.1.0",
        GHA,
        174298109,
    ),
    (
        "slsaverifier-ghagenericv122__binary-linux-amd64-workflow_dispatch.intoto.jsonl",
        "dsse-envelope",
        "intoto-jsonl",
        "https://slsa.dev/provenance/v0.2",
        "binary-linux-amd64-workflow_dispatch",
        "sha256:ec8ff1bb",
        GENERATOR + "generator_generic_slsa3.yml@refs/tags/v1.2.2",
        GHA,
        None,
    ),
    (
        "slsaverifier-ghagenericv210__binary-linux-amd64-workflow_dispatch.intoto.jsonl",
        "sigstore-bundle",
        "sigstore-bundle-v0.3",
        "https://slsa.dev/provenance/v0.2",
        "gha_generic-binary-linux-amd64-workflow_dispatch",
        "sha256:376e7e01",
        GENERATOR + "generator_generic_slsa3.yml@refs/tags/v2.1.0",
        GHA,
        174304204,
    ),
]


def test_every_signature_fixture_is_covered():
    # the cosign vuln predicate is a scan result: see test_findings.test_cosign_vuln_predicates
    names = [s[0] for s in SIGNED] + ["cosign__vuln-predicate.json"]
    assert sorted(names) == sorted(manifest("signatures"))


@pytest.mark.parametrize(
    ("name", "fmt", "bundle", "predicate", "subject", "digest", "signer", "issuer", "log"), SIGNED
)
def test_signed_fixture(name, fmt, bundle, predicate, subject, digest, signer, issuer, log):
    detected, tables = parse_fixture("signatures", name)
    assert detected == fmt
    (row,) = tables["ci_attestations"]
    assert row["bundle_format"] == bundle
    assert row["predicate_type"] == predicate
    assert row["subject_digest"].startswith(digest) and len(row["subject_digest"]) == 71
    assert (row["signer_identity"], row["signer_issuer"]) == (signer, issuer)
    assert row["rekor_log_index"] == log
    assert row["signature_count"] == 1
    assert row["pipeline_run_id"] == "run-1"
    assert row["cert_not_before"] < row["cert_not_after"]
    # Every real signature matches its certificate's key; without the Fulcio root the row
    # must still not claim more than that.
    assert row["verification"] == CHAIN_NOT_CHECKED
    assert row["verified_against"].endswith("(signature matches)")
    if subject is not None:
        assert row["subject_name"] == subject


def test_message_signature_bundles_name_the_artifact_after_the_bundle():
    _, tables = parse(
        (FIXTURES / "signatures/sigstorepy__bundle.txt.sigstore").read_bytes(),
        "ci/run-1/bundle.txt.sigstore",
    )
    (row,) = tables["ci_attestations"]
    assert row["subject_name"] == "bundle.txt"
    assert row["rekor_integrated_time"].isoformat() == "2023-04-26T00:21:09+00:00"
    assert row["statement_type"] is None


def test_slsa_provenance_fields():
    _, tables = parse_fixture(
        "signatures",
        "slsaverifier-ghagenericv122__binary-linux-amd64-workflow_dispatch.intoto.jsonl",
    )
    (v02,) = tables["ci_attestations"]
    assert v02["statement_type"] == "in-toto v0.1"
    assert v02["builder_id"] == GENERATOR + "generator_generic_slsa3.yml@refs/tags/v1.2.2"
    assert v02["build_type"] == "https://github.com/slsa-framework/slsa-github-generator/generic@v1"
    assert (v02["source_repo"], v02["source_commit"]) == (
        EXAMPLE_REPO,
        "5a2e2926e30c40a35e0102cebe293987fb1922b0",
    )
    assert v02["invocation_ref"] == (
        ".github/workflows/verifier-e2e.generic.workflow_dispatch.main.all.slsa3.yml"
        "@refs/heads/main"
    )
    _, tables = parse_fixture(
        "signatures", "slsaverifier-containerbased__binary-linux-amd64-push-v14.intoto.build.slsa"
    )
    (v1,) = tables["ci_attestations"]
    assert v1["build_type"] == "https://slsa.dev/container-based-build/v0.1?draft"
    assert v1["source_commit"] == "4d329c75e7ec1725f7c9ce917a8799d408d06be3"
    assert v1["invocation_ref"] == ".github/configs-docker/config-tag-v14.toml@refs/tags/v14"
    _, tables = parse_fixture("signatures", "sigstorepy__a.dsse.staging-rekor-v2.txt.sigstore.json")
    (rekor_v2,) = tables["ci_attestations"]
    assert rekor_v2["statement_type"] == "in-toto v1"
    assert rekor_v2["rekor_integrated_time"] is None  # Rekor v2 entries carry no integrated time
    # no source in the predicate: taken from the certificate's Fulcio extensions
    assert rekor_v2["source_commit"] == "977e8d08554ca9bda279c96e91be2119fb67c730"


# --- signatures made here ----------------------------------------------------------------------


def _keypair(kind: str):
    if kind == "ec":
        private = ec.generate_private_key(ec.SECP256R1())
        sign = lambda data: private.sign(data, ec.ECDSA(hashes.SHA256()))  # noqa: E731
    elif kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sign = lambda data: private.sign(data, padding.PKCS1v15(), hashes.SHA256())  # noqa: E731
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        sign = private.sign
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sign, pem.decode()


def _statement(digest: str = "ab" * 32) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "us-docker.pkg.dev/coditect/flow/runtime", "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/heads/main",
                        "repository": "https://github.com/coditect/flow",
                        "path": ".github/workflows/release.yml",
                    }
                },
                "resolvedDependencies": [
                    {"uri": "git+https://github.com/coditect/flow@refs/heads/main",
                     "digest": {"gitCommit": "c" * 40}}
                ],
            },
            "runDetails": {
                "builder": {"id": "https://github.com/actions/runner/github-hosted"},
                "metadata": {"startedOn": "2026-11-03T04:12:00Z", "finishedOn": "2026-11-03T04:20:00Z"},
            },
        },
    }  # fmt: skip


def _envelope(sign, statement: dict[str, Any], tamper: bool = False) -> dict[str, Any]:
    payload = json.dumps(statement).encode()
    sig = sign(pae("application/vnd.in-toto+json", payload))
    if tamper:
        payload = payload.replace(b"runtime", b"runtimf", 1)
    return {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }


def _rows(
    doc: Any, name: str = "ci/wr-9/provenance.intoto.json", trust: AttestationTrust = NO_TRUST
) -> list[dict[str, Any]]:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return dict(parse_attestations(data, name, trust))["ci_attestations"]


def _trusting(pem: str) -> AttestationTrust:
    """The trust the ci asset gets when CICL_ATTESTATION_PUBLIC_KEY holds ``pem``."""
    return attestation_trust(pem, Path("no-config"))


@pytest.mark.parametrize("kind", ["ec", "rsa", "ed25519"])
def test_a_dsse_envelope_signed_with_the_configured_key_is_verified(kind):
    sign, pem = _keypair(kind)
    trust = _trusting(pem)
    (row,) = _rows(_envelope(sign, _statement()), trust=trust)
    assert row["verification"] == "verified"
    assert row["verified_against"].startswith("public key sha256:")
    assert row["bundle_format"] == "dsse"
    assert row["subject_digest"] == "sha256:" + "ab" * 32
    assert row["builder_id"] == "https://github.com/actions/runner/github-hosted"
    assert (row["source_repo"], row["source_commit"]) == (
        "https://github.com/coditect/flow",
        "c" * 40,
    )
    assert row["invocation_ref"] == ".github/workflows/release.yml@refs/heads/main"
    assert row["build_finished_at"].isoformat() == "2026-11-03T04:20:00+00:00"
    assert row["pipeline_run_id"] == "wr-9"

    (tampered,) = _rows(_envelope(sign, _statement(), tamper=True), trust=trust)
    assert tampered["verification"] == MISMATCH == "unverified: signature does not match"


def test_without_a_key_nothing_is_verified(tmp_path):
    sign, pem = _keypair("ec")
    envelope = _envelope(sign, _statement())
    (row,) = _rows(envelope)
    assert row["verification"] == NO_KEY == "unverified: no trusted key configured"
    assert attestation_trust(None, tmp_path / "no-config") == NO_TRUST
    _, other_pem = _keypair("ec")
    assert _rows(envelope, trust=_trusting(other_pem))[0]["verification"] == MISMATCH
    # the key may also come from config/policies/attestation.yaml
    policies = tmp_path / "config" / "policies"
    policies.mkdir(parents=True)
    (policies / "signer.pub").write_text(pem)
    (policies / "attestation.yaml").write_text("public_key_path: signer.pub\n")
    from_policy = attestation_trust(None, tmp_path / "config")
    assert _rows(envelope, trust=from_policy)[0]["verification"] == "verified"
    # a key given by the settings wins over the policy's
    assert (
        _rows(envelope, trust=attestation_trust(other_pem, tmp_path / "config"))[0]["verification"]
        == MISMATCH
    )


def test_a_configured_key_never_verifies_someone_elses_bundle():
    _, pem = _keypair("ec")
    name = "slsaverifier-containerbased__binary-linux-amd64-push-v14.intoto.build.slsa"
    data = (FIXTURES / "signatures" / name).read_bytes()
    # through the ci stream bound to the key, as the ci asset parses
    fmt = detect_format(ci_stream(_trusting(pem)).formats, Sniff.of(data))
    assert fmt is not None and fmt.name == "sigstore-bundle"
    tables = dict(fmt.parse(data, f"ci/run-1/{name}"))
    assert tables["ci_attestations"][0]["verification"] == CHAIN_NOT_CHECKED


def test_a_tampered_sigstore_bundle_does_not_match_its_certificate():
    path = (
        FIXTURES
        / "signatures/slsaverifier-containerbased__binary-linux-amd64-push-v14.intoto.build.slsa"
    )
    bundle = json.loads(path.read_text())
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    payload = payload.replace(b"e3b0c442", b"e3b0c443", 1)
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    (row,) = _rows(bundle, "ci/r/bundle.sigstore.json")
    assert row["verification"] == MISMATCH
    assert row["subject_digest"].startswith("sha256:e3b0c443")


def test_intoto_jsonl_with_several_envelopes():
    sign, pem = _keypair("ec")
    lines = [
        json.dumps(_envelope(sign, _statement("aa" * 32))),
        "",
        json.dumps(_envelope(sign, _statement("bb" * 32), tamper=True)),
    ]
    rows = _rows("\n".join(lines).encode(), "ci/r/multiple.intoto.jsonl", _trusting(pem))
    assert [r["envelope_index"] for r in rows] == [1, 3]
    assert {r["bundle_format"] for r in rows} == {"intoto-jsonl"}
    assert [r["verification"] for r in rows] == ["verified", MISMATCH]


def test_unsigned_statements_and_several_subjects():
    statement = _statement()
    statement["subject"].append({"name": "runtime.tar", "digest": {"sha512": "ff" * 64}})
    fmt, tables = parse(json.dumps(statement).encode(), "ci/r/statement.json")
    assert fmt == "in-toto-statement"
    rows = tables["ci_attestations"]
    assert [r["subject_digest"] for r in rows] == ["sha256:" + "ab" * 32, "sha512:" + "ff" * 64]
    assert {r["verification"] for r in rows} == {"unverified: unsigned statement"}
    assert {r["signature_count"] for r in rows} == {0}


def test_cloud_build_provenance():
    sign, pem = _keypair("ec")
    digest = "12" * 32
    image = f"https://us-docker.pkg.dev/coditect/flow/runtime@sha256:{digest}"
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.1",
        "subject": [{"name": image.split("@")[0], "digest": {"sha256": digest}}],
        "slsaProvenance": {
            "builder": {"id": "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3"},
            "recipe": {"type": "https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1",
                       "entryPoint": "cloudbuild.yaml"},
            "materials": [{"uri": "git+https://github.com/coditect/flow", "digest": {"sha1": "d" * 40}}],
            "metadata": {"buildStartedOn": "2026-11-03T04:12:00.123456789Z"},
        },
    }  # fmt: skip
    envelope = _envelope(sign, statement)
    envelope["signatures"][0]["keyid"] = "projects/verified-builder/.../cryptoKeyVersions/1"
    doc = {
        "image_summary": {"digest": f"sha256:{digest}", "fully_qualified_digest": image},
        "provenance_summary": {
            "provenance": [
                {"build": {"intotoStatement": statement}, "envelope": envelope, "kind": "BUILD",
                 "resourceUri": image},
                {"build": {"intotoStatement": statement}, "kind": "BUILD"},
            ]
        },
    }  # fmt: skip
    fmt, tables = parse(json.dumps(doc).encode(), "ci/r/provenance.json")
    assert fmt == "cloudbuild-provenance"
    signed, unsigned = tables["ci_attestations"]
    assert signed["verification"] == NO_KEY
    assert unsigned["verification"] == "unverified: no signature"
    for row in (signed, unsigned):
        assert row["bundle_format"] == "cloudbuild-provenance"
        assert row["subject_digest"] == f"sha256:{digest}"
        assert row["builder_id"] == "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3"
        assert row["build_type"] == "https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1"
        assert (row["source_repo"], row["source_commit"]) == (
            "https://github.com/coditect/flow",
            "d" * 40,
        )
        assert row["build_started_at"].isoformat() == "2026-11-03T04:12:00.123456+00:00"
    assert _rows(doc, trust=_trusting(pem))[0]["verification"] == "verified"

    build_provenance = {
        "id": "b-1",
        "projectId": "coditect",
        "builtArtifacts": [{"id": image, "names": ["us-docker.pkg.dev/coditect/flow/runtime:1.8.0"]}],
        "sourceProvenance": {"context": {"git": {"url": "https://github.com/coditect/flow",
                                                 "revisionId": "e" * 40}}},
        "startTime": "2026-11-03T04:12:00Z",
        "endTime": "2026-11-03T04:19:00Z",
        "builderVersion": "cloudbuild-v1",
    }  # fmt: skip
    fmt, tables = parse(json.dumps(build_provenance).encode(), "ci/r/build-provenance.json")
    assert fmt == "cloudbuild-provenance"
    (row,) = tables["ci_attestations"]
    assert row["subject_name"] == "us-docker.pkg.dev/coditect/flow/runtime:1.8.0"
    assert (row["subject_digest"], row["source_commit"]) == (f"sha256:{digest}", "e" * 40)


def test_cosign_vuln_attestations_also_give_findings():
    predicate = json.loads((FIXTURES / "signatures/cosign__vuln-predicate.json").read_text())
    predicate["scanner"]["result"] = json.loads(
        (FIXTURES / "vuln-scans/trivy__alpine-310.json.golden").read_text()
    )
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "subject": [{"name": "runtime", "digest": {"sha256": "34" * 32}}],
        "predicate": predicate,
    }
    tables = dict(parse_attestations(json.dumps(statement).encode(), "ci/r/vuln.att.json"))
    assert tables["ci_attestations"][0]["predicate_type"].endswith("/vuln/v1")
    assert len(tables["ci_findings"]) == 4
    assert tables["ci_scans"][0]["target"] == "testdata/fixtures/images/alpine-310.tar.gz"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verif', "invalid JSON"),
        (b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}', "neither dsseEnvelope"),
        (b'{"payloadType": "application/vnd.in-toto+json", "payload": "!!!", "signatures": []}',
         "not a JSON statement"),
        (b'{"payloadType": "text/plain", "payload": "aGk=", "signatures": []}', "not an in-toto"),
        (b'{"_type": "https://in-toto.io/Statement/v1", "subject": []}', "has no subject"),
        (b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", '
         b'"verificationMaterial": {"certificate": {"rawBytes": "AAAA"}}, '
         b'"messageSignature": {"messageDigest": {"digest": "AAAA"}, "signature": "AAAA"}}',
         "certificate cannot be read"),
        (b'{"hello": 1}\n{"world": 2}', "line 1: not a Sigstore bundle"),
    ],
)  # fmt: skip
def test_broken_attestations_are_parse_errors(data, message):
    with pytest.raises(ParseError, match=message):
        list(parse_attestations(data, "ci/r/x.json"))


def test_match_subjects_pairs_deployed_digests_with_attestations():
    verified = {"subject_digest": "sha256:" + "ab" * 32, "verification": "verified",
                "predicate_type": "https://slsa.dev/provenance/v1"}  # fmt: skip
    unverified = {"subject_digest": "sha256:" + "cd" * 32, "verification": NO_KEY}
    deployments = [
        {"deployment_id": "dep-1", "image_digest": "sha256:" + "AB" * 32},
        {"deployment_id": "dep-2", "image": "us-docker.pkg.dev/x/runtime@sha256:" + "cd" * 32},
        {"deployment_id": "dep-3", "image_digest": "sha256:" + "ef" * 32},
        {"deployment_id": "dep-4", "image_digest": None},
    ]
    result = match_subjects([verified, unverified, verified], deployments)
    assert [r["status"] for r in result] == [
        "verified",
        "attested-unverified",
        "no-attestation",
        "no-digest",
    ]
    assert result[0]["verified_attestations"] == 2
    assert result[0]["predicate_types"] == ["https://slsa.dev/provenance/v1"]
    assert result[1]["attestations"] == [unverified]
    assert result[2]["attestations"] == [] and result[3]["image_digest"] is None
    assert result[0]["deployment"]["deployment_id"] == "dep-1"
