"""Field helpers shared by the deployment parsers: rows, commits, logins. Times, digests and
JSON are read by ``cicl_assets.ingest``."""

from __future__ import annotations

import re
from typing import Any

from cicl_assets.deployments.tables import DEPLOYMENT_EVENTS
from cicl_assets.infra.naming import normalise_environment
from cicl_assets.ingest.content import ParseError

STATUSES = ("pending", "in_progress", "succeeded", "failed", "rolled_back", "error", "inactive")
_COMMIT = re.compile(r"[0-9a-f]{40}")

__all__ = ["STATUSES", "normalise_environment"]


def event_row(**values: Any) -> dict[str, Any]:
    """A deployment_events row: every column present, unknown ones None."""
    unknown = set(values) - set(DEPLOYMENT_EVENTS.schema.names)
    if unknown:
        raise KeyError(f"not deployment_events columns: {sorted(unknown)}")
    return {**dict.fromkeys(DEPLOYMENT_EVENTS.schema.names), **values}


def checked_commit(value: object, where: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    if not _COMMIT.fullmatch(text):
        raise ParseError(f"{where}: commit {str(value)[:60]!r} is not a 40-hex SHA-1")
    return text


def login(user: object) -> str | None:
    if isinstance(user, dict):
        return user.get("login") or user.get("username") or user.get("email") or user.get("name")
    return user if isinstance(user, str) else None
