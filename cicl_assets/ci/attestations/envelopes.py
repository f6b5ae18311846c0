"""Reading signed attestations into rows: DSSE envelopes, Sigstore bundles (DSSE or message
signatures) and Cloud Build provenance, each signature checked offline with `signing`."""

from __future__ import annotations

import re
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from cicl_assets.ci.attestations import signing
from cicl_assets.ci.attestations.provenance import (
    COSIGN_VULN,
    INTOTO_PAYLOAD,
    predicate_of,
    provenance_fields,
    statement_type,
    subject_digest,
)
from cicl_assets.ci.findings.readers import read_cosign_vuln
from cicl_assets.ci.security_json import as_dict, as_list, iter_dicts, text_of
from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.json_documents import load_json
from cicl_assets.ingest.values import parse_time, sha256_digest


class AttestationRows:
    """Accumulates attestation rows and any findings carried by vuln-scan predicates."""

    def __init__(self, source_file: str):
        self.source_file = source_file
        self.rows: list[dict[str, Any]] = []
        self.scans: list[Any] = []

    def statement(self, statement: Any, common: dict[str, Any], where: str) -> None:
        if not isinstance(statement, dict):
            raise ParseError(f"{where}: the statement is not a JSON object")
        predicate_type = text_of(statement.get("predicateType"))
        predicate = predicate_of(statement)
        base = {
            **common,
            "statement_type": statement_type(statement.get("_type")),
            "predicate_type": predicate_type,
            **{
                k: v
                for k, v in provenance_fields(predicate_type, predicate).items()
                if v is not None
            },
        }
        subjects = list(iter_dicts(statement.get("subject")))
        if not subjects:
            raise ParseError(f"{where}: the in-toto statement has no subject")
        for subject in subjects:
            self.rows.append(
                base
                | {
                    "subject_name": text_of(subject.get("name")),
                    "subject_digest": subject_digest(subject.get("digest")),
                }
            )
        if predicate_type == COSIGN_VULN and predicate:
            for scan in read_cosign_vuln(predicate, self.source_file, len(self.scans)):
                scan.target = scan.target or next(
                    (r["subject_digest"] for r in self.rows[-len(subjects) :]), None
                )
                for finding in scan.findings:
                    finding["target"] = finding["target"] or scan.target
                self.scans.append(scan)


def _decode_payload(envelope: dict[str, Any], where: str) -> tuple[str, bytes]:
    payload_type = text_of(envelope.get("payloadType"))
    if not payload_type:
        raise ParseError(f"{where}: DSSE envelope has no payloadType")
    try:
        payload = signing.b64decode(envelope.get("payload"), "payload")
    except ValueError as exc:
        raise ParseError(f"{where}: DSSE {exc}") from None
    return payload_type, payload


def _signatures(envelope: dict[str, Any], where: str) -> list[bytes]:
    try:
        return [
            signing.b64decode(s.get("sig"), "sig") for s in iter_dicts(envelope.get("signatures"))
        ]
    except ValueError as exc:
        raise ParseError(f"{where}: DSSE signature {exc}") from None


def _certificate(value: Any, where: str) -> signing.CertInfo | None:
    if not value:
        return None
    try:
        return signing.certificate_info(signing.load_certificate(value))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ParseError(f"{where}: the certificate cannot be read ({exc})") from None


def _cert_fields(cert: signing.CertInfo | None) -> dict[str, Any]:
    if cert is None:
        return {}
    return {
        "signer_identity": cert.identity,
        "signer_issuer": cert.issuer,
        "cert_not_before": cert.not_before,
        "cert_not_after": cert.not_after,
        "source_repo": cert.source_repo,
        "source_commit": cert.source_commit,
        "invocation_ref": cert.build_config,
    }


def _statement_json(payload: bytes, where: str) -> Any:
    try:
        return load_json(payload)
    except ParseError as exc:
        raise ParseError(f"{where}: the DSSE payload is not a JSON statement ({exc})") from None


def read_envelope(
    acc: AttestationRows,
    envelope: dict[str, Any],
    common: dict[str, Any],
    cert_value: Any,
    key: signing.TrustedKey | None,
    where: str,
) -> None:
    payload_type, payload = _decode_payload(envelope, where)
    sigs = _signatures(envelope, where)
    # Old slsa-github-generator envelopes carry the certificate inside each signature.
    cert_value = cert_value or next(
        (s.get("cert") for s in iter_dicts(envelope.get("signatures")) if s.get("cert")), None
    )
    cert = _certificate(cert_value, where)
    verification, against = signing.check_signatures(
        sigs, signing.pae(payload_type, payload), key, cert
    )
    fields = {
        **_cert_fields(cert),
        **common,
        "media_type": common.get("media_type") or payload_type,
        "signature_count": len(sigs),
        "verification": verification,
        "verified_against": against,
    }
    if payload_type != INTOTO_PAYLOAD and "in-toto" not in payload_type:
        raise ParseError(f"{where}: DSSE payloadType {payload_type!r} is not an in-toto statement")
    acc.statement(_statement_json(payload, where), fields, where)


def _bundle_version(media_type: str) -> str:
    match = re.search(r"version=(\d+\.\d+)|bundle\.v(\d+\.\d+)", media_type)
    return f"sigstore-bundle-v{(match.group(1) or match.group(2))}" if match else "sigstore-bundle"


def _tlog(material: dict[str, Any]) -> dict[str, Any]:
    entry = next(iter_dicts(material.get("tlogEntries")), {})
    index = entry.get("logIndex")
    return {
        "rekor_log_index": int(index) if str(index or "").isdigit() else None,
        "rekor_integrated_time": parse_time(entry.get("integratedTime"))
        if str(entry.get("integratedTime") or "0") != "0"
        else None,
    }


def _artifact_name(source_file: str) -> str | None:
    """Sigstore names a bundle after the artifact it signs: ``<artifact>.sigstore[.json]``."""
    name = source_file.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".sigstore.json", ".sigstore", ".bundle.json", ".bundle"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def read_bundle(
    acc: AttestationRows,
    bundle: dict[str, Any],
    key: signing.TrustedKey | None,
    index: int,
    where: str,
) -> None:
    media_type = text_of(bundle.get("mediaType")) or ""
    material = as_dict(bundle.get("verificationMaterial"))
    chain = list(iter_dicts(as_dict(material.get("x509CertificateChain")).get("certificates")))
    cert_value = as_dict(material.get("certificate")).get("rawBytes") or (
        chain[0].get("rawBytes") if chain else None
    )
    common = {
        "envelope_index": index,
        "bundle_format": _bundle_version(media_type),
        "media_type": media_type,
        **_tlog(material),
    }
    if isinstance(bundle.get("dsseEnvelope"), dict):
        read_envelope(acc, bundle["dsseEnvelope"], common, cert_value, key, where)
        return
    signature = as_dict(bundle.get("messageSignature"))
    if not signature:
        raise ParseError(f"{where}: Sigstore bundle has neither dsseEnvelope nor messageSignature")
    digest = as_dict(signature.get("messageDigest"))
    try:
        raw_digest = signing.b64decode(digest.get("digest"), "messageDigest")
        sig = signing.b64decode(signature.get("signature"), "signature")
    except ValueError as exc:
        raise ParseError(f"{where}: Sigstore message signature: {exc}") from None
    cert = _certificate(cert_value, where)
    algorithm = text_of(digest.get("algorithm")) or "SHA2_256"
    if algorithm == "SHA2_256" and len(raw_digest) == 32:
        verification, against = signing.check_signatures(
            [sig], raw_digest, key, cert, prehashed=True
        )
        subject_digest = "sha256:" + raw_digest.hex()
    else:
        verification = f"unverified: message digest algorithm {algorithm} not supported"
        against, subject_digest = None, f"{algorithm.lower()}:{raw_digest.hex()}"
    acc.rows.append(
        {
            **_cert_fields(cert),
            **common,
            "subject_name": _artifact_name(acc.source_file),
            "subject_digest": subject_digest,
            "signature_count": 1,
            "verification": verification,
            "verified_against": against,
        }
    )


# --- Cloud Build provenance --------------------------------------------------------------------


def _cloudbuild_statement(build: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("intotoStatement", "inTotoSlsaProvenanceV1", "intoto_statement"):
        if isinstance(build.get(key), dict):
            return build[key]
    return None


def _buildprovenance_fields(
    acc: AttestationRows, prov: dict[str, Any], common: dict[str, Any]
) -> None:
    """Container Analysis BuildProvenance: one subject per built artifact."""
    source = as_dict(prov.get("sourceProvenance"))
    context = as_dict(as_dict(source.get("context")).get("git"))
    repo_source = as_dict(as_dict(prov.get("sourceProvenance")).get("resolvedRepoSource"))
    base = {
        **common,
        "builder_id": text_of(prov.get("builderVersion")) or text_of(prov.get("creator")),
        "build_type": "https://cloudbuild.googleapis.com/BuildProvenance",
        "source_repo": text_of(context.get("url")) or text_of(repo_source.get("repoName")),
        "source_commit": text_of(context.get("revisionId"))
        or text_of(repo_source.get("commitSha")),
        "invocation_ref": text_of(prov.get("triggerId")),
        "build_started_at": parse_time(prov.get("startTime")),
        "build_finished_at": parse_time(prov.get("endTime")),
    }
    artifacts = list(iter_dicts(prov.get("builtArtifacts")))
    if not artifacts:
        raise ParseError("Cloud Build provenance: no builtArtifacts")
    for art in artifacts:
        ident = text_of(art.get("id")) or ""
        names = [n for n in as_list(art.get("names")) if isinstance(n, str)]
        acc.rows.append(
            base
            | {
                "subject_name": names[0] if names else ident.split("@", 1)[0] or None,
                "subject_digest": sha256_digest(ident) or sha256_digest(art.get("checksum")),
            }
        )


def read_cloudbuild(
    acc: AttestationRows,
    doc: dict[str, Any],
    key: signing.TrustedKey | None,
    index: int,
    where: str,
) -> None:
    occurrences = list(iter_dicts(as_dict(doc.get("provenance_summary")).get("provenance")))
    if not occurrences and isinstance(doc.get("build"), dict):
        occurrences = [doc]
    common = {"envelope_index": index, "bundle_format": "cloudbuild-provenance"}
    if not occurrences and "builtArtifacts" in doc:
        _buildprovenance_fields(acc, doc, common | {"verification": "unverified: no signature"})
        return
    if not occurrences:
        raise ParseError(f"{where}: Cloud Build provenance has no provenance occurrences")
    for occurrence in occurrences:
        build = as_dict(occurrence.get("build"))
        envelope = as_dict(occurrence.get("envelope"))
        statement = _cloudbuild_statement(build)
        if envelope.get("payload") and envelope.get("signatures"):
            # The signing key is Google's (a KMS key named in keyid); only a configured copy of
            # it can verify the envelope offline.
            read_envelope(acc, envelope, common, None, key, where)
        elif statement is not None:
            acc.statement(statement, common | {"verification": "unverified: no signature"}, where)
        elif isinstance(build.get("provenance"), dict):
            _buildprovenance_fields(
                acc, build["provenance"], common | {"verification": "unverified: no signature"}
            )
        else:
            raise ParseError(f"{where}: Cloud Build occurrence has no envelope or statement")
