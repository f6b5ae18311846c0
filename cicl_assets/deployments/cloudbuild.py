"""Cloud Build results: a Build resource, the CloudEvent carrying it, or a Pub/Sub push of it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from cicl_assets.deployments.fields import (
    event_row,
    normalise_environment,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import load_base64_json, load_json_object
from cicl_assets.ingest.values import checked_time, image_digest

BUILD_STATES = {
    "STATUS_UNKNOWN": None,
    "PENDING": "pending",
    "QUEUED": "pending",
    "WORKING": "in_progress",
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "INTERNAL_ERROR": "error",
    "TIMEOUT": "failed",
    "CANCELLED": "inactive",
    "EXPIRED": "inactive",
}
_TERMINAL = {"succeeded", "failed", "error", "inactive"}
_ENV_KEYS = ("_ENV", "_ENVIRONMENT", "_DEPLOY_ENV", "_TARGET_ENV")
_SERVICE_KEYS = ("_SERVICE", "_SERVICE_NAME", "_APP")
_ENV_TAG = re.compile(r"^(?:env[-_:])?(prod|production|prd|staging|stg|stage|dev|development)$")
_BUILD_KEYS = (b'"buildTriggerId"', b'"logUrl"', b'"logsBucket"', b'"steps"')


def detect_cloudbuild(sniff: Sniff) -> bool:
    if not sniff.looks_json:
        return False
    head = sniff.head
    if b"google.cloud.cloudbuild" in head:
        return True
    if b'"message"' in head and b'"buildId"' in head:
        return True
    return b'"projectId"' in head and any(k in head for k in _BUILD_KEYS)


def _build_of(doc: dict[str, Any]) -> dict[str, Any]:
    if isinstance(doc.get("data"), dict):  # CloudEvent (structured mode)
        return doc["data"]
    message = doc.get("message")
    if isinstance(message, dict) and "data" in message:  # Pub/Sub push envelope
        inner = load_base64_json(message["data"], "message.data")
        if not isinstance(inner, dict):
            raise ParseError("message.data does not hold a Build object")
        return inner
    return doc


def _service_from_image(image: str | None) -> str | None:
    if not image or "://" in image or "/" not in image:
        return None
    return re.split(r"[:@]", image.rsplit("/", 1)[-1])[0] or None


def parse_cloudbuild(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    build = _build_of(load_json_object(data))
    subs = build.get("substitutions") if isinstance(build.get("substitutions"), dict) else {}
    results = build.get("results") if isinstance(build.get("results"), dict) else {}
    built = [i for i in results.get("images") or [] if isinstance(i, dict)]
    images = [i for i in build.get("images") or [] if isinstance(i, str)]
    image = (built[0].get("name") if built else None) or (images[0] if images else None)
    digest = next((i["digest"] for i in built if i.get("digest")), None) or next(
        (d for d in map(image_digest, images) if d), None
    )
    raw = build.get("status")
    if isinstance(raw, int):  # proto enum as a number
        raw = list(BUILD_STATES)[raw] if 0 <= raw < len(BUILD_STATES) else str(raw)
    if raw is not None and raw not in BUILD_STATES:
        raise ParseError(f"status {raw!r} is not a Cloud Build status")
    status = BUILD_STATES.get(raw) if raw else None
    environment = next((subs[k] for k in _ENV_KEYS if subs.get(k)), None)
    if environment is None:
        tags = [t for t in build.get("tags") or [] if isinstance(t, str)]
        environment = next((m[1] for t in tags if (m := _ENV_TAG.match(t.lower()))), None)
    provenance = build.get("sourceProvenance") or {}
    resolved = provenance.get("resolvedRepoSource") if isinstance(provenance, dict) else None
    commit = subs.get("COMMIT_SHA") or (resolved or {}).get("commitSha")
    started = checked_time(build.get("startTime"), "startTime")
    finished = checked_time(build.get("finishTime"), "finishTime")
    created = checked_time(build.get("createTime"), "createTime")
    build_id = build.get("id")
    file_digest = hashlib.sha256(data).hexdigest()
    yield (
        "deployment_events",
        [
            event_row(
                **{
                    "event_id": f"sha256:{file_digest}:0",
                    "deployment_id": f"cloudbuild:{build_id or 'sha256:' + file_digest}",
                    "environment": normalise_environment(environment),
                    "service": next((subs[k] for k in _SERVICE_KEYS if subs.get(k)), None)
                    or _service_from_image(image),
                    "version": subs.get("TAG_NAME") or subs.get("_VERSION"),
                    "commit_sha": commit.lower()
                    if isinstance(commit, str) and re.fullmatch(r"[0-9a-fA-F]{40}", commit)
                    else None,
                    "image_digest": digest.lower() if isinstance(digest, str) else None,
                    "image": image,
                    "status": status,
                    "status_raw": raw,
                    "provider": "cloudbuild",
                    "started_at": started or created,
                    "finished_at": finished if status in _TERMINAL else None,
                    "actor": subs.get("_ACTOR") or build.get("serviceAccount"),
                    "approver": ((build.get("approval") or {}).get("result") or {}).get(
                        "approverAccount"
                    ),
                    "approved_at": checked_time(
                        ((build.get("approval") or {}).get("result") or {}).get("approvalTime"),
                        "approval.result.approvalTime",
                    ),
                    "pipeline_run_id": build_id,
                    "repo": subs.get("REPO_NAME") or subs.get("REPO_FULL_NAME"),
                    "ref": subs.get("BRANCH_NAME") or subs.get("TAG_NAME"),
                    "url": build.get("logUrl"),
                    "event_at": finished or started or created,
                }
            )
        ],
    )
