"""Split an audit landing file into JSON records, each with a place a person can find.

A file is one JSON document, a JSON array, JSON lines, or several documents one after another.
Containers are opened (``items`` of a Kubernetes ``EventList``, ``entries`` of a Cloud Logging
list response, ``records`` of an Azure diagnostics export, the ``data`` of a CloudEvent) and
records that carry an event as a JSON string (``{"properties": {"log": "<json>"}}``,
``{"log": "<json>"}``, ``{"message": "<json>"}``) are unwrapped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.json_documents import load_json

_CONTAINER_KEYS = ("items", "entries", "records")
_STRING_WRAPPERS = (("properties", "log"), ("log",), ("message",), ("properties", "message"))
_MAX_DEPTH = 4


def _wrapped_string(record: dict[str, Any]) -> tuple[str, str] | None:
    for path in _STRING_WRAPPERS:
        node: Any = record
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node.lstrip()[:1] == "{":
            return ".".join(path), node
    return None


def unwrap(where: str, record: Any, depth: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """The event records inside one JSON value (see the module doc)."""
    if depth > _MAX_DEPTH:
        raise ParseError(f"{where}: events nested more than {_MAX_DEPTH} levels deep")
    if isinstance(record, list):
        for i, item in enumerate(record, 1):
            yield from unwrap(f"{where}, item {i}", item, depth + 1)
        return
    if not isinstance(record, dict):
        raise ParseError(f"{where}: expected a JSON object, found {type(record).__name__}")
    for key in _CONTAINER_KEYS:
        items = record.get(key)
        if isinstance(items, list) and (record.get("kind") == "EventList" or not _is_event(record)):
            for i, item in enumerate(items, 1):
                yield from unwrap(f"{where}, {key}[{i}]", item, depth + 1)
            return
    if "specversion" in record and isinstance(record.get("data"), dict):
        yield from unwrap(f"{where}, data", record["data"], depth + 1)
        return
    wrapped = None if _is_event(record) else _wrapped_string(record)
    if wrapped:
        path, text = wrapped
        try:
            inner = load_json(text)
        except ParseError as exc:
            raise ParseError(f"{where}: {path} holds {exc}") from None
        yield from unwrap(f"{where}, {path}", inner, depth + 1)
        return
    yield where, record


def _is_event(record: dict[str, Any]) -> bool:
    if record.get("kind") in ("Event", "cicl.audit_step/v1"):
        return True
    return any(k in record for k in ("auditID", "protoPayload", "_document_id", "action"))
