"""Signatures and attestations of a CI run -> `ci_attestations`, one row per attestation subject.

Reads Sigstore bundles v0.1-v0.3 (message signatures or DSSE envelopes, with a certificate
chain or a single certificate), bare DSSE envelopes and `.intoto.jsonl` files (one envelope per
line), unsigned in-toto statements v0.1/v1, SLSA provenance v0.1/v0.2/v1 and Cloud Build
provenance (`gcloud ... --show-provenance` output or BuildProvenance). Signatures are checked
offline; see `signing` for what `verification` can and cannot claim. `match_subjects` pairs
attested digests with deployed image digests for the evidence work downstream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import pyarrow as pa
from cryptography.exceptions import UnsupportedAlgorithm

from cicl_assets.ci import signing
from cicl_assets.ci.findings_model import emit
from cicl_assets.ci.findings_native import read_cosign_vuln
from cicl_assets.ci.security_json import (
    as_dict,
    as_list,
    head_shape,
    iter_dicts,
    load_json_documents,
    pipeline_run_id,
    sha256_digest,
    text_of,
    to_time,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

CI_ATTESTATIONS = TableSpec(
    name="ci_attestations",
    description=(
        "One row per subject (artifact name and digest) of a signature or attestation produced "
        "by a CI run: Sigstore bundle, DSSE envelope, in-toto statement, SLSA or Cloud Build "
        "provenance, with builder, source, signer identity, transparency-log entry and the "
        "outcome of an offline signature check."
    ),
    schema=pa.schema(
        [
            ("pipeline_run_id", pa.string()),
            ("envelope_index", pa.int64()),
            ("bundle_format", pa.string()),
            ("media_type", pa.string()),
            ("statement_type", pa.string()),
            ("predicate_type", pa.string()),
            ("subject_name", pa.string()),
            ("subject_digest", pa.string()),
            ("builder_id", pa.string()),
            ("build_type", pa.string()),
            ("source_repo", pa.string()),
            ("source_commit", pa.string()),
            ("invocation_ref", pa.string()),
            ("build_started_at", UTC_TS),
            ("build_finished_at", UTC_TS),
            ("signer_identity", pa.string()),
            ("signer_issuer", pa.string()),
            ("cert_not_before", UTC_TS),
            ("cert_not_after", UTC_TS),
            ("rekor_log_index", pa.int64()),
            ("rekor_integrated_time", UTC_TS),
            ("signature_count", pa.int64()),
            ("verification", pa.string()),
            ("verified_against", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    cluster_by=("pipeline_run_id",),
    column_docs={
        "envelope_index": "line of the envelope in a JSON-lines file (1 for single documents)",
        "subject_digest": "sha256:<hex> (another algorithm as <alg>:<hex> when sha256 is absent)",
        "verification": "`verified` (checked against the configured key) or `unverified: <why>`",
        "invocation_ref": "workflow or build config path @ git ref that ran the build",
    },
)

INTOTO_PAYLOAD = "application/vnd.in-toto+json"
COSIGN_VULN = "https://cosign.sigstore.dev/attestation/vuln/v1"


# --- statements and provenance -----------------------------------------------------------------


def _statement_type(value: Any) -> str | None:
    text = text_of(value) or ""
    match = re.search(r"in-toto\.io/Statement/(v[\d.]+)", text)
    return f"in-toto {match.group(1)}" if match else text or None


def _digest(digests: Any) -> str | None:
    digests = as_dict(digests)
    if digests.get("sha256"):
        return sha256_digest(digests["sha256"]) or f"sha256:{digests['sha256']}"
    for alg, value in digests.items():
        if isinstance(value, str) and value:
            return f"{alg}:{value}"
    return None


def _git_uri(uri: Any) -> tuple[str | None, str | None]:
    """``git+https://github.com/o/r@refs/heads/main`` -> (https://github.com/o/r, refs/...)."""
    text = text_of(uri)
    if not text:
        return None, None
    text = text.removeprefix("git+")
    if "@" in text and not text.startswith("git@"):
        repo, _, ref = text.rpartition("@")
        return repo, ref or None
    return text, None


def _commit(digests: Any) -> str | None:
    digests = as_dict(digests)
    return text_of(digests.get("sha1")) or text_of(digests.get("gitCommit"))


def _provenance(predicate_type: str | None, predicate: dict[str, Any]) -> dict[str, Any]:
    """Builder, build type, source and invocation from SLSA v0.1, v0.2 or v1 provenance."""
    out: dict[str, Any] = {}
    if "buildDefinition" in predicate or "runDetails" in predicate:
        definition = as_dict(predicate.get("buildDefinition"))
        run = as_dict(predicate.get("runDetails"))
        meta = as_dict(run.get("metadata"))
        params = as_dict(definition.get("externalParameters"))
        workflow = as_dict(params.get("workflow"))
        source = as_dict(params.get("source"))
        deps = list(iter_dicts(definition.get("resolvedDependencies")))
        repo, ref = _git_uri(source.get("uri"))
        if workflow:
            repo = text_of(workflow.get("repository")) or repo
            ref = text_of(workflow.get("ref")) or ref
        first_dep = deps[0] if deps else {}
        dep_repo, dep_ref = _git_uri(first_dep.get("uri"))
        path = text_of(workflow.get("path")) or text_of(params.get("configPath"))
        ref = ref or dep_ref
        out = {
            "builder_id": text_of(as_dict(run.get("builder")).get("id")),
            "build_type": text_of(definition.get("buildType")),
            "source_repo": repo or dep_repo,
            "source_commit": _commit(source.get("digest")) or _commit(first_dep.get("digest")),
            "invocation_ref": f"{path}@{ref}" if path and ref else path or ref,
            "build_started_at": to_time(meta.get("startedOn")),
            "build_finished_at": to_time(meta.get("finishedOn")),
        }
    elif "builder" in predicate:
        invocation = as_dict(predicate.get("invocation"))
        config = as_dict(invocation.get("configSource"))
        recipe = as_dict(predicate.get("recipe"))
        materials = list(iter_dicts(predicate.get("materials")))
        meta = as_dict(predicate.get("metadata"))
        repo, ref = _git_uri(config.get("uri"))
        mat_repo, mat_ref = _git_uri(materials[0].get("uri")) if materials else (None, None)
        entry = text_of(config.get("entryPoint")) or text_of(recipe.get("entryPoint"))
        ref = ref or mat_ref
        out = {
            "builder_id": text_of(as_dict(predicate.get("builder")).get("id")),
            "build_type": text_of(predicate.get("buildType")) or text_of(recipe.get("type")),
            "source_repo": repo or mat_repo,
            "source_commit": _commit(config.get("digest"))
            or (_commit(materials[0].get("digest")) if materials else None),
            "invocation_ref": f"{entry}@{ref}" if entry and ref else entry or ref,
            "build_started_at": to_time(meta.get("buildStartedOn")),
            "build_finished_at": to_time(meta.get("buildFinishedOn")),
        }
    elif predicate_type == COSIGN_VULN:
        scanner = as_dict(predicate.get("scanner"))
        out = {"builder_id": text_of(scanner.get("uri"))}
    return out


def _predicate(statement: dict[str, Any]) -> dict[str, Any]:
    for key in ("predicate", "slsaProvenance", "slsaProvenanceZeroTwo"):
        if isinstance(statement.get(key), dict):
            return statement[key]
    return {}


class _Rows:
    """Accumulates attestation rows and any findings carried by vuln-scan predicates."""

    def __init__(self, source_file: str):
        self.source_file = source_file
        self.rows: list[dict[str, Any]] = []
        self.scans: list[Any] = []

    def statement(self, statement: Any, common: dict[str, Any], where: str) -> None:
        if not isinstance(statement, dict):
            raise ParseError(f"{where}: the statement is not a JSON object")
        predicate_type = text_of(statement.get("predicateType"))
        predicate = _predicate(statement)
        base = {
            **common,
            "statement_type": _statement_type(statement.get("_type")),
            "predicate_type": predicate_type,
            **{k: v for k, v in _provenance(predicate_type, predicate).items() if v is not None},
        }
        subjects = list(iter_dicts(statement.get("subject")))
        if not subjects:
            raise ParseError(f"{where}: the in-toto statement has no subject")
        for subject in subjects:
            self.rows.append(
                base
                | {
                    "subject_name": text_of(subject.get("name")),
                    "subject_digest": _digest(subject.get("digest")),
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
        return json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"{where}: the DSSE payload is not a JSON statement ({exc})") from None


def _envelope(
    acc: _Rows,
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
        "rekor_integrated_time": to_time(entry.get("integratedTime"))
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


def _bundle(
    acc: _Rows, bundle: dict[str, Any], key: signing.TrustedKey | None, index: int, where: str
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
        _envelope(acc, bundle["dsseEnvelope"], common, cert_value, key, where)
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


def _build_provenance(acc: _Rows, prov: dict[str, Any], common: dict[str, Any]) -> None:
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
        "build_started_at": to_time(prov.get("startTime")),
        "build_finished_at": to_time(prov.get("endTime")),
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


def _cloudbuild(
    acc: _Rows, doc: dict[str, Any], key: signing.TrustedKey | None, index: int, where: str
) -> None:
    occurrences = list(iter_dicts(as_dict(doc.get("provenance_summary")).get("provenance")))
    if not occurrences and isinstance(doc.get("build"), dict):
        occurrences = [doc]
    common = {"envelope_index": index, "bundle_format": "cloudbuild-provenance"}
    if not occurrences and "builtArtifacts" in doc:
        _build_provenance(acc, doc, common | {"verification": "unverified: no signature"})
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
            _envelope(acc, envelope, common, None, key, where)
        elif statement is not None:
            acc.statement(statement, common | {"verification": "unverified: no signature"}, where)
        elif isinstance(build.get("provenance"), dict):
            _build_provenance(
                acc, build["provenance"], common | {"verification": "unverified: no signature"}
            )
        else:
            raise ParseError(f"{where}: Cloud Build occurrence has no envelope or statement")


# --- files -------------------------------------------------------------------------------------


def _document(acc: _Rows, doc: Any, key: signing.TrustedKey | None, line: int, many: bool) -> None:
    where = f"line {line}" if many else "attestation"
    if not isinstance(doc, dict):
        raise ParseError(f"{where}: not a JSON object")
    media_type = text_of(doc.get("mediaType")) or ""
    if "sigstore.bundle" in media_type:
        _bundle(acc, doc, key, line, where)
    elif "payloadType" in doc and "payload" in doc:
        jsonl = many or acc.source_file.endswith(".jsonl")
        fmt = "intoto-jsonl" if jsonl else "dsse"
        _envelope(acc, doc, {"envelope_index": line, "bundle_format": fmt}, None, key, where)
    elif "provenance_summary" in doc or "builtArtifacts" in doc or doc.get("kind") == "BUILD":
        _cloudbuild(acc, doc, key, line, where)
    elif "_type" in doc or ("predicateType" in doc and "subject" in doc):
        fields = {
            "envelope_index": line,
            "bundle_format": "in-toto-statement",
            "signature_count": 0,
            "verification": "unverified: unsigned statement",
        }
        acc.statement(doc, fields, where)
    else:
        raise ParseError(
            f"{where}: not a Sigstore bundle, DSSE envelope, in-toto statement or Cloud Build "
            f"provenance (keys: {', '.join(list(doc)[:8])})"
        )


def parse_attestations(data: bytes, source_file: str) -> Iterable[tuple[str, list[dict]]]:
    try:
        key = signing.configured_key()
    except (OSError, ValueError) as exc:
        raise ParseError(f"attestation key configuration: {exc}") from None
    docs = load_json_documents(data, "attestation")
    acc = _Rows(source_file)
    for line, doc in docs:
        _document(acc, doc, key, line, len(docs) > 1)
    run_id = pipeline_run_id(source_file)
    columns = [c for c in CI_ATTESTATIONS.schema.names if c != "source_file"]
    rows = [{c: row.get(c) for c in columns} | {"pipeline_run_id": run_id} for row in acc.rows]
    out: list[tuple[str, list[dict]]] = [(CI_ATTESTATIONS.name, rows)]
    if acc.scans:
        out += emit(acc.scans)
    return out


@lru_cache(maxsize=16)
def _attestation_format_of(head: bytes) -> str | None:
    shape = head_shape(Sniff(head))
    if shape.container != "object":
        return None
    if shape.value_has("mediaType", "sigstore.bundle"):
        return "sigstore-bundle"
    if shape.has("payloadType", "payload"):
        return "dsse-envelope"
    if shape.value_has("_type", "in-toto.io/Statement") or shape.has("predicateType", "subject"):
        return "in-toto-statement"
    if shape.has("provenance_summary") or shape.has("builtArtifacts"):
        return "cloudbuild-provenance"
    if shape.value_has("kind", '"BUILD"') and shape.has("build"):
        return "cloudbuild-provenance"
    return None


def detect_sigstore_bundle(sniff: Sniff) -> bool:
    return _attestation_format_of(sniff.head) == "sigstore-bundle"


def detect_dsse(sniff: Sniff) -> bool:
    return _attestation_format_of(sniff.head) == "dsse-envelope"


def detect_statement(sniff: Sniff) -> bool:
    return _attestation_format_of(sniff.head) == "in-toto-statement"


def detect_cloudbuild_provenance(sniff: Sniff) -> bool:
    return _attestation_format_of(sniff.head) == "cloudbuild-provenance"


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("sigstore-bundle", detect_sigstore_bundle, parse_attestations),
    FileFormat("dsse-envelope", detect_dsse, parse_attestations),
    FileFormat("in-toto-statement", detect_statement, parse_attestations),
    FileFormat("cloudbuild-provenance", detect_cloudbuild_provenance, parse_attestations),
)
TABLES = (CI_ATTESTATIONS,)


# --- deployed digests --------------------------------------------------------------------------


def match_subjects(
    attestations: Sequence[Mapping[str, Any]], deployments: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """For each deployment (a mapping with ``image_digest``, or an image reference ending in
    ``@sha256:...``), the attestations whose subject digest is that image's digest.

    ``status`` is ``verified`` when at least one matching attestation was verified,
    ``attested-unverified`` when some match but none verified, ``no-attestation`` when none
    match, ``no-digest`` when the deployment names no digest.
    """
    by_digest: dict[str, list[Mapping[str, Any]]] = {}
    for att in attestations:
        digest = sha256_digest(att.get("subject_digest"))
        if digest:
            by_digest.setdefault(digest, []).append(att)
    out = []
    for dep in deployments:
        digest = sha256_digest(dep.get("image_digest")) or sha256_digest(dep.get("image"))
        matches = by_digest.get(digest, []) if digest else []
        verified = [m for m in matches if m.get("verification") == "verified"]
        if not digest:
            status = "no-digest"
        elif verified:
            status = "verified"
        elif matches:
            status = "attested-unverified"
        else:
            status = "no-attestation"
        out.append(
            {
                "deployment": dict(dep),
                "image_digest": digest,
                "status": status,
                "attestations": list(matches),
                "verified_attestations": len(verified),
                "predicate_types": sorted(
                    {str(m["predicate_type"]) for m in matches if m.get("predicate_type")}
                ),
            }
        )
    return out
