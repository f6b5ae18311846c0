"""The `audit` ingest stream: audit events under audit/, recognised by content.

All formats share one parser that recognises each record on its own, so a file may mix sources;
the format names only say what the file's first bytes looked like.
"""

from __future__ import annotations

from collections.abc import Iterator

from cicl_assets.audit.records import unwrap
from cicl_assets.audit.sources import normalise
from cicl_assets.audit.tables import AUDIT_EVENTS_STAGING
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.json_documents import json_documents
from cicl_assets.ingest.runner import StreamSpec


def parse_audit_file(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict]]]:
    rows = []
    for doc in json_documents(data):
        for place, record in unwrap(doc.where, doc.value):
            rows.append(normalise(place, record))
    if not rows:
        raise ParseError("no audit events in the file (an empty JSON array or container)")
    yield AUDIT_EVENTS_STAGING.name, rows


def detect_cicl_step(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b"cicl.audit_step/v1")


def detect_gcp_audit(sniff: Sniff) -> bool:
    return sniff.looks_json and (
        sniff.contains(b"google.cloud.audit.AuditLog")
        or sniff.contains(b"cloudaudit.googleapis.com")
    )


def detect_k8s_audit(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b"auditID")


def detect_github_audit(sniff: Sniff) -> bool:
    return (
        sniff.looks_json
        and sniff.contains(b'"action"')
        and (sniff.contains(b'"_document_id"') or sniff.contains(b'"@timestamp"'))
    )


def detect_json(sniff: Sniff) -> bool:
    return sniff.looks_json


AUDIT_FORMATS = (
    FileFormat("cicl-audit-step", detect_cicl_step, parse_audit_file),
    FileFormat("gcp-audit-log", detect_gcp_audit, parse_audit_file),
    FileFormat("k8s-audit", detect_k8s_audit, parse_audit_file),
    FileFormat("github-audit-log", detect_github_audit, parse_audit_file),
    # Anything else that is JSON gets a per-record message naming what is wrong.
    FileFormat("audit-json", detect_json, parse_audit_file),
)

AUDIT_STREAM = StreamSpec(
    name="audit", prefix="audit", formats=AUDIT_FORMATS, tables=(AUDIT_EVENTS_STAGING,)
)
