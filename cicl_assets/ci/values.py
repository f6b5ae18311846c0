"""Field helpers shared by the ci parsers: run id from the path, lenient numbers and times,
secret redaction, bounded text."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

DETAILS_CAP = 8 * 1024


def pipeline_run_id_from_path(source_file: str) -> str | None:
    """``ci/<id>/...`` -> ``<id>``; None for a file lying directly under ``ci/``."""
    parts = [p for p in source_file.replace("\\", "/").split("/") if p]
    if len(parts) >= 3 and parts[0] == "ci":
        return parts[1]
    return None


def to_float(value: Any) -> float | None:
    """Numbers as report writers spell them: ``"1,234.5"``, ``" 0.5 "``, ``"NaN"`` (-> None)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace(",", "").replace("_", "")
        if text.endswith("s") and text[:-1]:  # "660s", Go-style durations in seconds
            text = text[:-1]
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def to_int(value: Any) -> int | None:
    number = to_float(value)
    if number is None:
        return None
    return int(number)


def duration_s(value: Any) -> float | None:
    """Seconds, refusing negatives (a clock glitch, not a duration)."""
    number = to_float(value)
    return None if number is None or number < 0 else number


_ZONE_WORD = re.compile(r"\s*(UTC|GMT|Z)$", re.IGNORECASE)


def to_time(value: Any) -> datetime | None:
    """RFC 3339 / ISO 8601 (with or without zone; naive means UTC), ``2016-08-12 15:23:28 UTC``,
    or epoch seconds/milliseconds. Unreadable values become None rather than failing a file."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, int | float):
        seconds = float(value) / 1000 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if text.isdigit():
        return to_time(int(text))
    zoned = _ZONE_WORD.search(text)
    if zoned:
        text = text[: zoned.start()] + "+00:00"
    text = text.replace(" +", "+").replace(" -", "-")
    # Python < 3.12 reads at most 6 fractional digits; Go and Cloud Build write 9.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    delta = (end - start).total_seconds()
    return delta if delta >= 0 else None


_SECRET_NAME = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|credential|private[_-]?key)", re.I
)
_SECRET_VALUE = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|xox[baprs]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$))"
)
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b((?:pass(?:word|wd)?|secret|token|api[_-]?key)\s*[=:]\s*)([^\s'\"&,;]{4,})"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}")
REDACTED = "[REDACTED]"


def redact(text: str | None) -> str | None:
    """Blank out values that look like credentials (tokens, keys, ``password=...``)."""
    if not text:
        return text
    text = _SECRET_VALUE.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, text)


def redact_named(name: str, value: str | None) -> str | None:
    """A value whose name says it is a secret is dropped whole; others are scanned."""
    if value and _SECRET_NAME.search(name):
        return REDACTED
    return redact(value)


def cap_text(text: str | None, limit: int = DETAILS_CAP) -> str | None:
    """Keep at most ``limit`` UTF-8 bytes, marking the cut."""
    if text is None:
        return None
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    kept = raw[:limit].decode("utf-8", "ignore")
    return f"{kept}\n… [truncated {len(raw) - len(kept.encode('utf-8')):,} bytes]"


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
