"""Comparing redacted output: markers carry a keyed hash that depends on the key in use, so
expected values write every marker as ``[REDACTED]`` and ``masked`` reads output that way."""

import re
from typing import Any

MASK = "[REDACTED]"
MARKER = re.compile(r"\[REDACTED:[0-9a-f]{12}\]")


def masked(value: Any) -> Any:
    """``value`` with every redaction marker written as ``[REDACTED]``, however nested."""
    if isinstance(value, str):
        return MARKER.sub(MASK, value)
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, tuple):
        return tuple(masked(v) for v in value)
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    return value
