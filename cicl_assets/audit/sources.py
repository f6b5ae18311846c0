"""Normalise one audit record of each known source into an ``audit_events`` row.

Every record is redacted (``cicl_assets.ingest.redact``) before any field is read, so the row
and its ``details`` (source-specific fields plus the redacted original record) hold no secret.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.redact import redact
from cicl_assets.ingest.values import parse_time

NATIVE_KIND = "cicl.audit_step/v1"
GCP_AUDIT_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"
K8S_FINAL_STAGES = ("ResponseComplete", "Panic")

_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_GRPC_DENIED = (7, 16)  # PERMISSION_DENIED, UNAUTHENTICATED
_NATIVE_OUTCOMES = {"success": "success", "failure": "failure", "skipped": "unknown"}
_GITHUB_CONCLUSIONS = {
    "success": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "action_required": "unknown",
    "cancelled": "unknown",
    "skipped": "unknown",
    "neutral": "success",
}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _dig(record: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def derived_event_id(record: dict[str, Any]) -> str:
    """A stable id for a record that carries none: the digest of its (redacted) content."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def details_json(details: dict[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in details.items() if v is not None},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def _require_time(where: str, *candidates: tuple[str, Any]) -> datetime:
    for _, value in candidates:
        moment = parse_time(value)
        if moment is not None:
            return moment
    names = " or ".join(name for name, _ in candidates)
    shown = ", ".join(f"{name}={value!r}" for name, value in candidates if value is not None)
    raise ParseError(f"{where}: no valid event time in {names}" + (f" ({shown})" if shown else ""))


def classify(record: dict[str, Any]) -> str | None:
    """Which source a record comes from, by its keys; None when it is not an audit event."""
    if record.get("kind") == NATIVE_KIND:
        return "cicl_ci"
    payload = record.get("protoPayload")
    if isinstance(payload, dict) and (
        payload.get("@type") == GCP_AUDIT_TYPE
        or "cloudaudit.googleapis.com" in unquote(str(record.get("logName", "")))
    ):
        return "gcp_audit"
    api_version = str(record.get("apiVersion", ""))
    if "auditID" in record and (
        api_version.startswith("audit.k8s.io/") or record.get("kind") == "Event" or "verb" in record
    ):
        return "k8s_audit"
    if "action" in record and any(
        k in record for k in ("@timestamp", "_document_id", "created_at")
    ):
        return "github_audit"
    return None


def gcp_event(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    payload = rec.get("protoPayload") or {}
    auth = payload.get("authenticationInfo") or {}
    meta = payload.get("requestMetadata") or {}
    status = payload.get("status") or {}
    authz = payload.get("authorizationInfo") or []
    code = status.get("code")
    try:
        code = int(code) if code is not None else 0
    except (TypeError, ValueError):
        code = -1
    if code in _GRPC_DENIED or any(
        isinstance(a, dict) and a.get("granted") is False for a in authz
    ):
        outcome = "denied"
    else:
        outcome = "success" if code == 0 else "failure"
    log_name = unquote(str(rec.get("logName", "")))
    log_type = (
        log_name.rpartition("cloudaudit.googleapis.com/")[2] if "cloudaudit" in log_name else None
    )
    resource = rec.get("resource") or {}
    return {
        "event_id": _text(rec.get("insertId")) or derived_event_id(rec),
        "event_time": _require_time(
            where,
            ("timestamp", rec.get("timestamp")),
            ("receiveTimestamp", rec.get("receiveTimestamp")),
        ),
        "source": "gcp_audit",
        "actor": _text(auth.get("principalEmail")) or _text(auth.get("principalSubject")),
        "action": _text(payload.get("methodName")),
        "resource": _text(payload.get("resourceName")),
        "outcome": outcome,
        "source_ip": _text(meta.get("callerIp")),
        "user_agent": _text(meta.get("callerSuppliedUserAgent")),
        "details": details_json(
            {
                "log_type": log_type,
                "service_name": payload.get("serviceName"),
                "status_code": code,
                "status_message": status.get("message"),
                "severity": rec.get("severity"),
                "resource_type": resource.get("type"),
                "resource_labels": resource.get("labels"),
                "authorization_info": authz or None,
                "record": rec,
            }
        ),
    }


def _k8s_resource(ref: dict[str, Any]) -> str | None:
    if not ref:
        return None
    parts = [ref.get("apiGroup")]
    if ref.get("namespace"):
        parts += ["namespaces", ref["namespace"]]
    parts += [ref.get("resource"), ref.get("name"), ref.get("subresource")]
    return "/".join(str(p) for p in parts if p) or None


def k8s_event(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    audit_id = _text(rec.get("auditID"))
    if not audit_id:
        raise ParseError(f"{where}: Kubernetes audit event without auditID")
    stage = _text(rec.get("stage"))
    status = rec.get("responseStatus") or {}
    code = status.get("code")
    decision = _dig(rec, "annotations", "authorization.k8s.io/decision")
    if decision == "forbid" or code in (401, 403):
        outcome = "denied"
    elif isinstance(code, int):
        outcome = "success" if code < 400 else "failure"
    else:
        outcome = "unknown"
    ips = rec.get("sourceIPs") or []
    user = rec.get("user") or {}
    return {
        # One request yields an event per stage, all sharing the auditID.
        "event_id": f"{audit_id}/{stage}" if stage else audit_id,
        "event_time": _require_time(
            where,
            ("stageTimestamp", rec.get("stageTimestamp")),
            ("requestReceivedTimestamp", rec.get("requestReceivedTimestamp")),
            ("timestamp", rec.get("timestamp")),
        ),
        "source": "k8s_audit",
        "actor": _text(user.get("username")),
        "action": _text(rec.get("verb")),
        "resource": _k8s_resource(rec.get("objectRef") or {}),
        "outcome": outcome,
        "source_ip": _text(ips[0]) if isinstance(ips, list) and ips else None,
        "user_agent": _text(rec.get("userAgent")),
        "details": details_json(
            {
                "audit_id": audit_id,
                "stage": stage,
                "final_stage": stage in K8S_FINAL_STAGES if stage else None,
                "level": rec.get("level"),
                "api_version": rec.get("apiVersion"),
                "request_uri": rec.get("requestURI"),
                "status_code": code,
                "user_groups": user.get("groups"),
                "impersonated_user": _dig(rec, "impersonatedUser", "username"),
                "source_ips": ips or None,
                "object_ref": rec.get("objectRef"),
                "record": rec,
            }
        ),
    }


def github_event(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    conclusion = rec.get("conclusion")
    outcome = _GITHUB_CONCLUSIONS.get(conclusion, "unknown") if conclusion else "success"
    head_sha = _text(rec.get("head_sha"))
    return {
        "event_id": _text(rec.get("_document_id")) or derived_event_id(rec),
        "event_time": _require_time(
            where, ("@timestamp", rec.get("@timestamp")), ("created_at", rec.get("created_at"))
        ),
        "source": "github_audit",
        "actor": _text(rec.get("actor")),
        "action": _text(rec.get("action")),
        "resource": _text(rec.get("repo")) or _text(rec.get("org")) or _text(rec.get("user")),
        "outcome": outcome,
        "environment": _text(rec.get("environment_name")),
        "commit_sha": head_sha if head_sha and _SHA1.match(head_sha) else None,
        "pipeline_run_id": _text(rec.get("workflow_run_id")),
        "source_ip": _text(rec.get("actor_ip")),
        "user_agent": _text(rec.get("user_agent")),
        "details": details_json(
            {"org": rec.get("org"), "repo": rec.get("repo"), "user": rec.get("user"), "record": rec}
        ),
    }


def native_event(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    raw_outcome = rec.get("outcome")
    if raw_outcome not in _NATIVE_OUTCOMES:
        raise ParseError(
            f"{where}: outcome {raw_outcome!r} is not one of {', '.join(_NATIVE_OUTCOMES)}"
        )
    if not rec.get("step"):
        raise ParseError(f"{where}: {NATIVE_KIND} record without 'step'")
    extra = rec.get("details")
    return {
        "event_id": _text(rec.get("event_id")) or derived_event_id(rec),
        "event_time": _require_time(where, ("time", rec.get("time"))),
        "source": "cicl_ci",
        "actor": _text(rec.get("actor")),
        "action": _text(rec.get("step")),
        "resource": _text(rec.get("pipeline_run_id")),
        "outcome": _NATIVE_OUTCOMES[raw_outcome],
        "environment": _text(rec.get("environment")),
        "commit_sha": _text(rec.get("commit")),
        "image_digest": _text(rec.get("image_digest")),
        "pipeline_run_id": _text(rec.get("pipeline_run_id")),
        "details": details_json(
            {"step": rec.get("step"), "step_outcome": raw_outcome, "details": extra or None}
        ),
    }


NORMALISERS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "gcp_audit": gcp_event,
    "k8s_audit": k8s_event,
    "github_audit": github_event,
    "cicl_ci": native_event,
}


def normalise(where: str, record: dict[str, Any]) -> dict[str, Any]:
    """The ``audit_events`` row of one raw record; ParseError when it is not an audit event."""
    source = classify(record)
    if source is None:
        keys = ", ".join(sorted(str(k) for k in record)[:8])
        raise ParseError(
            f"{where}: not a recognised audit event (expected a GCP audit LogEntry, a Kubernetes "
            f"audit Event, a GitHub audit-log entry or {NATIVE_KIND}); its keys: {keys}"
        )
    return NORMALISERS[source](where, redact(record))
