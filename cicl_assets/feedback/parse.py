"""Feedback files -> `user_feedback` rows: cicl-native records and Langfuse score exports.

cicl-native records (docs/feedback.md) are JSON lines, a JSON array or one object, each with
``rating`` and ``at`` and whatever of trace_id, span_id, session_id, workflow, user, comment is
known. Langfuse score exports are the public API's score objects (``GET /api/public/scores``):
one object, an array, JSON lines, or the paginated ``{"data": [...], "meta": {...}}`` page.

Users are stored only as keyed pseudonyms and comments are redacted before anything is written.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from typing import Any

from cicl_assets.feedback.ratings import (
    RatingError,
    category_score,
    native_rating,
    numeric_score,
)
from cicl_assets.feedback.table import USER_FEEDBACK
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import JsonDocument, json_documents
from cicl_assets.ingest.redact import pseudonymise, redact_text
from cicl_assets.ingest.values import require_time, shown

NATIVE_KIND = "cicl.feedback/v1"
LANGFUSE_DATA_TYPES = ("NUMERIC", "CATEGORICAL", "BOOLEAN")
_HEX = frozenset("0123456789abcdef")


def looks_langfuse(sniff: Sniff) -> bool:
    return sniff.looks_json and (
        sniff.contains(b'"dataType"') or sniff.contains(b'"traceId"', b'"name"', b'"value"')
    )


def looks_native(sniff: Sniff) -> bool:
    return sniff.looks_json and (
        sniff.contains(NATIVE_KIND.encode()) or sniff.contains(b'"rating"', b'"at"')
    )


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _hex_id(value: Any, digits: int, field: str, where: str, strict: bool) -> str | None:
    text = _text(value)
    if text is None:
        return None
    lowered = text.lower()
    if len(lowered) == digits and set(lowered) <= _HEX:
        return lowered
    if strict:
        raise ParseError(f"{where}: {field} {shown(value)} is not {digits} hex digits")
    return text  # Langfuse's own ids (UUIDs) name its traces; kept as they are


def _user(value: Any, where: str) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return pseudonymise(text)
    except ValueError as exc:
        raise ParseError(f"{where}: {exc}") from None


def _comment(value: Any) -> str | None:
    text = _text(value)
    return redact_text(text) if text else None


def _identity(*parts: Any) -> str:
    return hashlib.sha256("|".join(str(p or "") for p in parts).encode()).hexdigest()[:32]


def _where(doc: JsonDocument) -> str:
    return doc.where


# --- cicl-native ------------------------------------------------------------------------------


def parse_native(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    rows = [_native_row(doc) for doc in json_documents(data, NATIVE_KIND)]
    if not rows:
        raise ParseError(f"no {NATIVE_KIND} records in the file")
    yield USER_FEEDBACK.name, rows


def _native_row(doc: JsonDocument) -> dict[str, Any]:
    where = _where(doc)
    record = doc.value
    if not isinstance(record, dict):
        raise ParseError(f"{where}: expected a feedback record (a JSON object)")
    kind = record.get("kind")
    if kind is not None and kind != NATIVE_KIND:
        raise ParseError(f"{where}: kind {shown(kind)} is not {NATIVE_KIND}")
    if "rating" not in record:
        raise ParseError(f"{where}: missing rating (up, down, or 1 to 5)")
    try:
        raw, scale, value, score = native_rating(record["rating"])
    except RatingError as exc:
        raise ParseError(f"{where}: {exc}") from None
    at = require_time(record.get("at"), f"{where}: at")
    trace_id = _hex_id(record.get("trace_id"), 32, "trace_id", where, strict=True)
    span_id = _hex_id(record.get("span_id"), 16, "span_id", where, strict=True)
    session_id = _text(record.get("session_id"))
    user = _user(record.get("user"), where)
    return {
        "feedback_id": _text(record.get("id"))
        # the workflow too: anonymous ratings of two workflows in one second are two ratings
        or _identity(
            NATIVE_KIND, trace_id, span_id, session_id, user, at.isoformat(), record.get("workflow")
        ),
        "rated_at": at,
        "source": "cicl",
        "source_kind": "USER",
        "name": _text(record.get("name")) or "user_rating",
        "trace_id": trace_id,
        "span_id": span_id,
        "session_id": session_id,
        "workflow": _text(record.get("workflow")),
        "user_pseudonym": user,
        "rating_raw": raw,
        "rating_scale": scale,
        "value": value,
        "score": score,
        "comment": _comment(record.get("comment")),
    }


# --- Langfuse ---------------------------------------------------------------------------------


def _scores(data: bytes) -> Iterator[tuple[str, Any]]:
    for doc in json_documents(data, "Langfuse scores"):
        value = doc.value
        if isinstance(value, dict) and isinstance(value.get("data"), list) and "meta" in value:
            for i, item in enumerate(value["data"], 1):
                yield f"{doc.where}: data[{i}]", item
        else:
            yield doc.where, value


def parse_langfuse(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    rows = [_langfuse_row(score, where) for where, score in _scores(data)]
    if not rows:
        raise ParseError("no Langfuse score objects in the file (an empty page?)")
    yield USER_FEEDBACK.name, rows


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _langfuse_row(score: Any, where: str) -> dict[str, Any]:
    if not isinstance(score, dict):
        raise ParseError(f"{where}: expected a Langfuse score object")
    name = _text(score.get("name"))
    if name is None:
        raise ParseError(f"{where}: missing name (every Langfuse score has one)")
    data_type = score.get("dataType") or "NUMERIC"
    if data_type not in LANGFUSE_DATA_TYPES:
        raise ParseError(
            f"{where}: dataType {shown(data_type)} is not one of {', '.join(LANGFUSE_DATA_TYPES)}"
        )
    value = _number(score.get("value"))
    label = _text(score.get("stringValue"))
    scale: str | None
    if data_type == "NUMERIC":
        if value is None:
            raise ParseError(
                f"{where}: NUMERIC score value {shown(score.get('value'))} is no number"
            )
        raw = label or f"{value:g}"
        scale, normalised = numeric_score(value)
    elif data_type == "BOOLEAN":
        truth = (
            value if value is not None else {"true": 1.0, "false": 0.0}.get((label or "").lower())
        )
        if truth not in (0.0, 1.0):
            raise ParseError(f"{where}: BOOLEAN score is neither 1/0 nor True/False")
        raw, scale, value, normalised = label or str(bool(truth)), "boolean", truth, truth
    else:
        if label is None:
            raise ParseError(f"{where}: CATEGORICAL score without stringValue (its category)")
        raw, scale, normalised = label, "categorical", category_score(label)
    at = require_time(score.get("timestamp") or score.get("createdAt"), f"{where}: timestamp")
    metadata = score.get("metadata") if isinstance(score.get("metadata"), dict) else {}
    trace_id = _hex_id(score.get("traceId"), 32, "traceId", where, strict=False)
    span_id = _hex_id(score.get("observationId"), 16, "observationId", where, strict=False)
    user = _user(score.get("authorUserId") or metadata.get("userId"), where)
    return {
        "feedback_id": _text(score.get("id"))
        or _identity("langfuse", trace_id, span_id, name, user, at.isoformat()),
        "rated_at": at,
        "source": "langfuse",
        "source_kind": _text(score.get("source")),
        "name": name,
        "trace_id": trace_id,
        "span_id": span_id,
        "session_id": _text(score.get("sessionId")),
        "workflow": _text(metadata.get("workflow")),
        "user_pseudonym": user,
        "rating_raw": raw,
        "rating_scale": scale,
        "value": value,
        "score": normalised,
        "comment": _comment(score.get("comment")),
    }
