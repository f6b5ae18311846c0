"""Field helpers shared by the ci parsers: run id from the path, elapsed time, bounded text,
JSON columns. Values (times, numbers, digests) are read by ``cicl_assets.ingest.values``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cicl_assets.ingest.redact import redact_text

DETAILS_CAP = 8 * 1024


def pipeline_run_id_from_path(source_file: str) -> str | None:
    """``ci/<id>/...`` -> ``<id>``; None for a file lying directly under ``ci/``."""
    parts = [p for p in source_file.replace("\\", "/").split("/") if p]
    if len(parts) >= 3 and parts[0] == "ci":
        return parts[1]
    return None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    delta = (end - start).total_seconds()
    return delta if delta >= 0 else None


def cap_text(text: str | None, limit: int = DETAILS_CAP) -> str | None:
    """Keep at most ``limit`` UTF-8 bytes, marking the cut."""
    if text is None:
        return None
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    # redacted before the cut: a secret cut in half no longer matches its pattern
    text = redact_text(text)
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    kept = raw[:limit].decode("utf-8", "ignore")
    return f"{kept}\n… [truncated {len(raw) - len(kept.encode('utf-8')):,} bytes]"


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
