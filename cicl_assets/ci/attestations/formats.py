"""Signatures and attestations of a CI run -> `ci_attestations`, one row per attestation subject.

Reads Sigstore bundles v0.1-v0.3 (message signatures or DSSE envelopes, with a certificate
chain or a single certificate), bare DSSE envelopes and `.intoto.jsonl` files (one envelope per
line), unsigned in-toto statements v0.1/v1, SLSA provenance v0.1/v0.2/v1 and Cloud Build
provenance (`gcloud ... --show-provenance` output or BuildProvenance). Signatures are checked
offline; see `signing` for what `verification` can and cannot claim. The deployments domain
pairs attested digests with deployed image digests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cicl_assets.ci.attestations import signing
from cicl_assets.ci.attestations.envelopes import (
    AttestationRows,
    read_bundle,
    read_cloudbuild,
    read_envelope,
)
from cicl_assets.ci.findings.model import emit
from cicl_assets.ci.security_json import head_shape, text_of
from cicl_assets.ci.values import pipeline_run_id_from_path
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.json_documents import json_documents
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


# --- files -------------------------------------------------------------------------------------


def _document(
    acc: AttestationRows,
    doc: Any,
    key: signing.TrustedKey | None,
    line: int,
    where: str,
    many: bool,
) -> None:
    if not isinstance(doc, dict):
        raise ParseError(f"{where}: not a JSON object")
    media_type = text_of(doc.get("mediaType")) or ""
    if "sigstore.bundle" in media_type:
        read_bundle(acc, doc, key, line, where)
    elif "payloadType" in doc and "payload" in doc:
        jsonl = many or acc.source_file.endswith(".jsonl")
        fmt = "intoto-jsonl" if jsonl else "dsse"
        read_envelope(acc, doc, {"envelope_index": line, "bundle_format": fmt}, None, key, where)
    elif "provenance_summary" in doc or "builtArtifacts" in doc or doc.get("kind") == "BUILD":
        read_cloudbuild(acc, doc, key, line, where)
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


def parse_attestations(
    data: bytes, source_file: str, trust: signing.AttestationTrust = signing.NO_TRUST
) -> Iterable[tuple[str, list[dict]]]:
    """Rows of ``ci_attestations`` (and of the scan tables, for vulnerability predicates); a
    signature counts as verified only against ``trust``'s key."""
    try:
        key = trust.key()
    except ValueError as exc:
        raise ParseError(f"attestation key configuration: {exc}") from None
    docs = json_documents(data, "attestation")
    if not docs:
        raise ParseError("attestation: no JSON document found")
    acc = AttestationRows(source_file)
    for doc in docs:
        where = doc.where if len(docs) > 1 else "attestation"
        _document(acc, doc.value, key, doc.line, where, len(docs) > 1)
    run_id = pipeline_run_id_from_path(source_file)
    columns = [c for c in CI_ATTESTATIONS.schema.names if c != "source_file"]
    rows = [{c: row.get(c) for c in columns} | {"pipeline_run_id": run_id} for row in acc.rows]
    out: list[tuple[str, list[dict]]] = [(CI_ATTESTATIONS.name, rows)]
    if acc.scans:
        out += emit(acc.scans)
    return out


def _attestation_format_of(sniff: Sniff) -> str | None:
    shape = head_shape(sniff)
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
    return _attestation_format_of(sniff) == "sigstore-bundle"


def detect_dsse(sniff: Sniff) -> bool:
    return _attestation_format_of(sniff) == "dsse-envelope"


def detect_statement(sniff: Sniff) -> bool:
    return _attestation_format_of(sniff) == "in-toto-statement"


def detect_cloudbuild_provenance(sniff: Sniff) -> bool:
    return _attestation_format_of(sniff) == "cloudbuild-provenance"


@dataclass(frozen=True)
class TrustedParser:
    """``parse_attestations`` bound to a trust. A picklable callable of this module (not a
    functools.partial) so the runner preloads this module in its worker processes."""

    trust: signing.AttestationTrust

    def __call__(self, data: bytes, source_file: str) -> Iterable[tuple[str, list[dict]]]:
        return parse_attestations(data, source_file, self.trust)


def attestation_formats(trust: signing.AttestationTrust) -> tuple[FileFormat, ...]:
    """The attestation formats, their signatures checked against ``trust``."""
    parse = TrustedParser(trust)
    return (
        FileFormat("sigstore-bundle", detect_sigstore_bundle, parse),
        FileFormat("dsse-envelope", detect_dsse, parse),
        FileFormat("in-toto-statement", detect_statement, parse),
        FileFormat("cloudbuild-provenance", detect_cloudbuild_provenance, parse),
    )


# Without a configured key nothing verifies; ci_stream(trust) binds the configured one.
FORMATS = attestation_formats(signing.NO_TRUST)
TABLES = (CI_ATTESTATIONS,)


# --- deployed digests --------------------------------------------------------------------------
