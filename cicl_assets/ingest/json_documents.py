"""Split a landing file into JSON documents: one document, a JSON array of them, or JSON lines."""

from __future__ import annotations

import json
from typing import Any

from cicl_assets.ingest.content import ParseError


def json_documents(data: bytes) -> list[tuple[str, Any]]:
    """(where, document) pairs; ``where`` ("document", "item 3", "line 7") locates errors."""
    try:
        doc = json.loads(data)
    except ValueError:
        pass
    else:
        if isinstance(doc, list):
            return [(f"item {i}", d) for i, d in enumerate(doc)]
        return [("document", doc)]
    docs = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            docs.append((f"line {n}", json.loads(line)))
        except ValueError as exc:
            raise ParseError(f"line {n}: invalid JSON ({exc})") from None
    return docs
