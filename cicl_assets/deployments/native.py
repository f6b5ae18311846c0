"""cicl.deployment/v1 records (docs/native-formats.md), one JSON document or JSON lines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from cicl_assets.deployments.fields import (
    STATUSES,
    checked_commit,
    event_row,
    normalise_environment,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import json_documents
from cicl_assets.ingest.values import checked_digest, checked_time, image_digest

KIND = "cicl.deployment/v1"


def detect_native(sniff: Sniff) -> bool:
    return sniff.looks_json and KIND.encode() in sniff.head


def _text(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ParseError(f"{where}: must be a string (a cicl release's manifest id)")
    return value


def _row(doc: dict[str, Any], where: str) -> dict[str, Any]:
    if not doc.get("deployment_id"):
        raise ParseError(f"{where}: missing deployment_id")
    status = doc.get("status")
    if status not in STATUSES:
        raise ParseError(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}")
    environment = normalise_environment(doc.get("environment"))
    if not environment:
        raise ParseError(f"{where}: missing environment")
    window = doc.get("change_window") or {}
    if not isinstance(window, dict):
        raise ParseError(f"{where}: change_window must be an object with start and end")
    image = doc.get("image")
    image_ref = image.get("name") if isinstance(image, dict) else image
    digest = checked_digest(doc.get("image_digest"), f"{where}: image_digest") or image_digest(
        image_ref
    )
    started_at = checked_time(doc.get("started_at"), f"{where}: started_at")
    finished_at = checked_time(doc.get("finished_at"), f"{where}: finished_at")
    return {
        "deployment_id": str(doc["deployment_id"]),
        "environment": environment,
        "service": doc.get("service"),
        "version": doc.get("version"),
        "commit_sha": checked_commit(doc.get("commit") or doc.get("commit_sha"), where),
        "image_digest": digest,
        "image": image_ref if isinstance(image_ref, str) else None,
        "status": status,
        "status_raw": status,
        "provider": "cicl",
        "started_at": started_at,
        "finished_at": finished_at,
        "actor": doc.get("actor"),
        "approver": doc.get("approver"),
        "approved_at": checked_time(doc.get("approved_at"), f"{where}: approved_at"),
        "change_window_start": checked_time(window.get("start"), f"{where}: change_window.start"),
        "change_window_end": checked_time(window.get("end"), f"{where}: change_window.end"),
        "rollback_of": doc.get("rollback_of"),
        "pipeline_run_id": doc.get("pipeline_run_id"),
        "repo": doc.get("repo"),
        "ref": doc.get("ref"),
        "url": doc.get("url"),
        "release_manifest": _text(doc.get("release_manifest"), f"{where}: release_manifest"),
        "event_at": finished_at or started_at,
    }


def parse_native(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    digest = hashlib.sha256(data).hexdigest()
    rows = []
    for n, doc in enumerate(json_documents(data)):
        if not isinstance(doc.value, dict) or doc.value.get("kind") != KIND:
            raise ParseError(f"{doc.where}: not a {KIND} record")
        rows.append(event_row(event_id=f"sha256:{digest}:{n}", **_row(doc.value, doc.where)))
    if not rows:
        raise ParseError(f"no {KIND} records in the file")
    yield "deployment_events", rows
