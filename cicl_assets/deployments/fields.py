"""Field helpers shared by the deployment parsers: ids, digests, times."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from cicl_assets.deployments.tables import DEPLOYMENT_EVENTS
from cicl_assets.infra.naming import normalise_environment, parse_time
from cicl_assets.ingest.content import ParseError

STATUSES = ("pending", "in_progress", "succeeded", "failed", "rolled_back", "error", "inactive")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_IMAGE_DIGEST = re.compile(r"@(sha256:[0-9a-fA-F]{64})")
_COMMIT = re.compile(r"[0-9a-f]{40}")

__all__ = ["STATUSES", "normalise_environment"]


def event_row(**values: Any) -> dict[str, Any]:
    """A deployment_events row: every column present, unknown ones None."""
    unknown = set(values) - set(DEPLOYMENT_EVENTS.schema.names)
    if unknown:
        raise KeyError(f"not deployment_events columns: {sorted(unknown)}")
    return {**dict.fromkeys(DEPLOYMENT_EVENTS.schema.names), **values}


def digest_from_image(image: object) -> str | None:
    """The `sha256:` digest pinned in an image reference (`repo/name@sha256:...`), if any."""
    if not isinstance(image, str):
        return None
    m = _IMAGE_DIGEST.search(image)
    return m[1].lower() if m else None


def checked_digest(value: object, where: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    if not _DIGEST.fullmatch(text):
        raise ParseError(f"{where}: image_digest {str(value)[:80]!r} is not sha256:<64 hex>")
    return text


def checked_commit(value: object, where: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    if not _COMMIT.fullmatch(text):
        raise ParseError(f"{where}: commit {str(value)[:60]!r} is not a 40-hex SHA-1")
    return text


def time_field(doc: dict[str, Any], key: str, where: str) -> datetime | None:
    try:
        return parse_time(doc.get(key))
    except ValueError as exc:
        raise ParseError(f"{where}: {key}: {exc}") from None


def load_object(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ParseError(f"invalid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ParseError(f"expected a JSON object, found a JSON {type(doc).__name__}")
    return doc


def login(user: object) -> str | None:
    if isinstance(user, dict):
        return user.get("login") or user.get("username") or user.get("email") or user.get("name")
    return user if isinstance(user, str) else None
