"""plan-readable.txt (the text `tofu show tfplan` prints) -> infra_plan_artifacts.

The text is an artifact the plan JSON already describes; it is recorded as a reference with the
counts of its `Plan:` line, not parsed resource by resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from cicl_assets.infra.apply_logs import ANSI
from cicl_assets.infra.naming import environment_from_path, folder_of, time_from_name
from cicl_assets.infra.retention_policy import plan_expiry
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.redact import redact_text
from cicl_assets.ingest.text_guards import decode_text

_OPENINGS = (
    "OpenTofu used the selected providers",
    "Terraform used the selected providers",
    "OpenTofu will perform the following actions",
    "Terraform will perform the following actions",
    "No changes.",
    "Note: Objects have changed outside of",
    "Changes to Outputs:",
    "Planning failed.",
)
_FAILED = re.compile(r"^\W*Error: (.*)$", re.M)
_PLAN_LINE = re.compile(
    r"^Plan: (?:(\d+) to import, )?(\d+) to add, (\d+) to change, (\d+) to destroy\.", re.M
)


def _text(data: bytes) -> str:
    return ANSI.sub("", data.decode("utf-8", "replace")).lstrip()


def detect_plan_readable(sniff: Sniff) -> bool:
    if sniff.looks_json or sniff.looks_xml:
        return False
    return _text(sniff.head).startswith(_OPENINGS)


def parse_plan_readable(
    data: bytes, source_file: str
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    text = ANSI.sub("", decode_text(data)).lstrip()
    if not text.startswith(_OPENINGS):
        raise ParseError("does not start like `tofu show` plan text")
    tool = "terraform" if "Terraform" in text[:200] else "opentofu"
    m = _PLAN_LINE.search(text)
    no_changes = "No changes." in text[:400]
    failed = _FAILED.search(text) if text.startswith("Planning failed") else None
    recorded_at = time_from_name(source_file) or datetime.now(UTC)
    expires_at, _ = plan_expiry(recorded_at)
    yield (
        "infra_plan_artifacts",
        [
            {
                "environment": environment_from_path(source_file, "infra"),
                "artifact_path": source_file,
                "artifact_folder": folder_of(source_file),
                "tool": tool,
                "has_changes": bool(m) and not no_changes,
                "to_add": int(m[2]) if m else 0,
                "to_change": int(m[3]) if m else 0,
                "to_destroy": int(m[4]) if m else 0,
                "plan_error": redact_text(failed[1].strip()) if failed else None,
                "size_bytes": len(data),
                "recorded_at": recorded_at,
                "expires_at": expires_at,
            }
        ],
    )
