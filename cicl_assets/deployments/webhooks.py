"""GitHub `deployment` / `deployment_status` webhooks and GitLab deployment hooks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from cicl_assets.deployments.fields import (
    event_row,
    login,
    normalise_environment,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import load_json_object
from cicl_assets.ingest.values import checked_digest, checked_time, image_digest

GITHUB_STATES = {
    "pending": "pending",
    "queued": "pending",
    "waiting": "pending",
    "in_progress": "in_progress",
    "success": "succeeded",
    "failure": "failed",
    "error": "error",
    "inactive": "inactive",
}
GITLAB_STATES = {
    "created": "pending",
    "blocked": "pending",
    "running": "in_progress",
    "success": "succeeded",
    "failed": "failed",
    "canceled": "inactive",
    "skipped": "inactive",
}
TERMINAL = {"succeeded", "failed", "rolled_back", "error", "inactive"}

_GH_STATUS = re.compile(rb'"deployment_status"\s*:\s*\{')
_GH_DEPLOYMENT = re.compile(rb'"deployment"\s*:\s*\{')
_GL_DEPLOYMENT = re.compile(rb'"object_kind"\s*:\s*"deployment"')
_GH_WORKFLOW_RUN = re.compile(rb'"workflow_run"\s*:\s*\{')
_GL_PIPELINE = re.compile(rb'"object_kind"\s*:\s*"(pipeline|build)"')
_COMMIT_IN_URL = re.compile(r"/commit/([0-9a-f]{40})\b")


def detect_github_deployment_status(sniff: Sniff) -> bool:
    return sniff.looks_json and _GH_STATUS.search(sniff.head) is not None


def detect_github_deployment(sniff: Sniff) -> bool:
    return (
        sniff.looks_json
        and _GH_DEPLOYMENT.search(sniff.head) is not None
        and _GH_STATUS.search(sniff.head) is None
        and b'"statuses_url"' in sniff.head
    )


def detect_gitlab_deployment(sniff: Sniff) -> bool:
    return sniff.looks_json and _GL_DEPLOYMENT.search(sniff.head) is not None


def detect_ci_webhook_without_deployment(sniff: Sniff) -> bool:
    """workflow_run / GitLab pipeline or job hooks: no deployment in them."""
    if not sniff.looks_json or _GH_DEPLOYMENT.search(sniff.head):
        return False
    return bool(_GH_WORKFLOW_RUN.search(sniff.head) or _GL_PIPELINE.search(sniff.head))


def parse_ci_webhook_without_deployment(
    data: bytes, source_file: str
) -> Iterator[tuple[str, list]]:
    load_json_object(data)  # still refuse a broken file
    return iter(())


def _github_row(doc: dict[str, Any], digest: str) -> dict[str, Any]:
    dep = doc.get("deployment")
    if not isinstance(dep, dict) or dep.get("id") is None:
        raise ParseError("'deployment' has no id")
    status_doc = doc.get("deployment_status")
    payload = dep.get("payload") if isinstance(dep.get("payload"), dict) else {}
    repo = doc.get("repository") if isinstance(doc.get("repository"), dict) else {}
    run = doc.get("workflow_run") if isinstance(doc.get("workflow_run"), dict) else None
    if isinstance(status_doc, dict):
        raw = status_doc.get("state")
        if raw not in GITHUB_STATES:
            raise ParseError(f"deployment_status.state {raw!r} is not a GitHub deployment state")
        status = GITHUB_STATES[raw]
        event_at = checked_time(status_doc.get("created_at"), "deployment_status.created_at")
        url = (
            status_doc.get("target_url")
            or status_doc.get("log_url")
            or status_doc.get("environment_url")
            or None
        )
    else:
        raw, status = "created", "pending"
        event_at = checked_time(dep.get("created_at"), "deployment.created_at")
        url = None
    image = payload.get("image")
    window = payload.get("change_window") if isinstance(payload.get("change_window"), dict) else {}
    return event_row(
        **{
            "event_id": f"sha256:{digest}:0",
            "deployment_id": f"github:{dep['id']}",
            "environment": normalise_environment(
                dep.get("environment") or (status_doc or {}).get("environment")
            ),
            "service": payload.get("service") or repo.get("name"),
            "version": payload.get("version"),
            "commit_sha": dep.get("sha"),
            "image_digest": checked_digest(
                payload.get("image_digest"), "deployment.payload.image_digest"
            )
            or image_digest(image),
            "image": image if isinstance(image, str) else None,
            "status": status,
            "status_raw": raw,
            "provider": "github",
            "started_at": checked_time(dep.get("created_at"), "deployment.created_at"),
            "finished_at": event_at if status in TERMINAL else None,
            "actor": login(dep.get("creator")) or login(doc.get("sender")),
            "approver": payload.get("approver"),
            "approved_at": checked_time(
                payload.get("approved_at"), "deployment.payload.approved_at"
            ),
            "change_window_start": checked_time(
                window.get("start"), "deployment.payload.change_window.start"
            ),
            "change_window_end": checked_time(
                window.get("end"), "deployment.payload.change_window.end"
            ),
            "rollback_of": payload.get("rollback_of"),
            "pipeline_run_id": f"github-run:{run['id']}" if run and run.get("id") else None,
            "repo": repo.get("full_name"),
            "ref": dep.get("ref"),
            "url": url or dep.get("url"),
            "event_at": event_at,
        }
    )


def parse_github(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    doc = load_json_object(data)
    yield "deployment_events", [_github_row(doc, hashlib.sha256(data).hexdigest())]


def parse_gitlab_deployment(
    data: bytes, source_file: str
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    doc = load_json_object(data)
    if doc.get("object_kind") != "deployment":
        raise ParseError("object_kind is not 'deployment'")
    if doc.get("deployment_id") is None:
        raise ParseError("GitLab deployment hook without deployment_id")
    raw = doc.get("status")
    if raw not in GITLAB_STATES:
        raise ParseError(f"status {raw!r} is not a GitLab deployment status")
    status = GITLAB_STATES[raw]
    event_at = checked_time(doc.get("status_changed_at"), "status_changed_at")
    project = doc.get("project") if isinstance(doc.get("project"), dict) else {}
    commit = _COMMIT_IN_URL.search(doc.get("commit_url") or "")
    job = doc.get("deployable_id")
    yield (
        "deployment_events",
        [
            event_row(
                event_id=f"sha256:{hashlib.sha256(data).hexdigest()}:0",
                deployment_id=f"gitlab:{project.get('id', '')}:{doc['deployment_id']}",
                environment=normalise_environment(
                    doc.get("environment_tier") or doc.get("environment")
                ),
                service=project.get("name"),
                commit_sha=commit[1] if commit else doc.get("short_sha"),
                status=status,
                status_raw=raw,
                provider="gitlab",
                started_at=event_at if raw in ("running", "created") else None,
                finished_at=event_at if status in TERMINAL else None,
                actor=login(doc.get("user")),
                pipeline_run_id=f"gitlab-job:{job}" if job is not None else None,
                repo=project.get("path_with_namespace"),
                ref=doc.get("ref"),
                url=doc.get("deployable_url") or doc.get("environment_external_url"),
                event_at=event_at,
            )
        ],
    )
