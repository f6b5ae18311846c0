"""`tofu apply` / `terraform apply` text logs -> infra_apply_logs.

One row per resource outcome line (Creation / Modifications / Destruction / Import complete),
one `failed` row per error block naming a resource (`with <address>,`), and one summary row per
log: `summary` with the totals of `Apply complete!` / `Destroy complete!`, `failed` when the log
ends in errors, `incomplete` when it ends with neither. Progress lines (`Still creating...`),
refreshes and data-source reads are ignored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from cicl_assets.infra.naming import environment_from_path, time_from_name
from cicl_assets.infra.retention_policy import apply_log_expiry
from cicl_assets.ingest.content import Sniff
from cicl_assets.ingest.redact import redact_text
from cicl_assets.ingest.text_guards import decode_text
from cicl_assets.ingest.values import parse_seconds, parse_time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LEADING_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+")
_ADDR = r"(?P<addr>.+?)(?: \(deposed object (?P<deposed>\w+)\))?"
_START = re.compile(rf"^{_ADDR}: (?P<verb>Creating|Modifying|Destroying|Importing)\.\.\.")
_DONE = re.compile(
    rf"^{_ADDR}: (?P<what>Creation|Modifications|Destruction|Import) complete"
    r"(?: after (?P<elapsed>[0-9hms.]+))?(?: \[id=(?P<id>[^\]]*)\])?"
)
_SUMMARY = re.compile(r"^(Apply|Destroy) complete! Resources: (?P<counts>.*)$")
_COUNT = re.compile(r"(\d+) (imported|added|changed|destroyed)")
_ERROR = re.compile(r"^(?:[│|]\s?)?Error: (?P<msg>.*)$")
_WITH = re.compile(r"^(?:[│|]\s*)?\s*with (?P<addr>.+?),\s*$")
_BOX = re.compile(r"^[│|]\s?")
_SOURCE_LINE = re.compile(r"^\s*(on .+ line \d+|\d+:\s)")
_DETECT_PROGRESS = re.compile(
    r"(?m)^.*?: (Creating|Modifying|Destroying|Importing)\.\.\.|(Apply|Destroy) complete! Resources:"
)
# A plan text that failed also shows boxed errors; without progress lines it is not an apply.
_PLAN_TEXT_START = ("Planning failed", "OpenTofu used", "Terraform used", "No changes.")

_ROW_FIELDS = (
    "address",
    "action",
    "outcome",
    "elapsed_s",
    "resource_id",
    "error",
    "added",
    "changed",
    "destroyed",
)
_VERB_ACTION = {
    "Creating": "create",
    "Modifying": "update",
    "Destroying": "delete",
    "Importing": "import",
}
_DONE_OUTCOME = {
    "Creation": ("create", "created"),
    "Modifications": ("update", "updated"),
    "Destruction": ("delete", "destroyed"),
    "Import": ("import", "imported"),
}


def detect_apply_log(sniff: Sniff) -> bool:
    if sniff.looks_json or sniff.looks_xml:
        return False
    text = ANSI.sub("", sniff.head.decode("utf-8", "replace"))
    if _DETECT_PROGRESS.search(text):
        return True
    return "\u2502 Error: " in text and not text.lstrip().startswith(_PLAN_TEXT_START)


def _clean_lines(data: bytes) -> tuple[list[str], datetime | None]:
    text = ANSI.sub("", decode_text(data)).replace("\r\n", "\n")
    lines, first_ts = [], None
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        m = _LEADING_TS.match(line)
        if m:
            if first_ts is None:
                first_ts = parse_time(m[1])
            line = line[m.end() :]
        lines.append(line)
    return lines, first_ts


def _error_block(lines: list[str], start: int) -> tuple[int, str, str | None]:
    """(index after the block, redacted message, address from `with ...,`)."""
    message = [_ERROR.match(lines[start])["msg"].strip()]  # type: ignore[index]
    address = None
    boxed = lines[start].startswith(("│", "|"))
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if line.startswith("╵") or _ERROR.match(line):
            break
        if not boxed and (_START.match(line) or _DONE.match(line) or _SUMMARY.match(line)):
            break
        body = _BOX.sub("", line)
        w = _WITH.match(line)
        if w:
            address = w["addr"]
        elif body.strip() and not _SOURCE_LINE.match(body):
            message.append(body.strip())
        i += 1
    if i < len(lines) and lines[i].startswith("╵"):
        i += 1
    return i, redact_text(" ".join(m for m in message if m)), address


def parse_apply_log(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    lines, first_ts = _clean_lines(data)
    applied_at = first_ts or time_from_name(source_file)
    expires_at, basis = apply_log_expiry(applied_at)
    common = {
        **dict.fromkeys(_ROW_FIELDS),
        "apply_id": "sha256:" + hashlib.sha256(data).hexdigest(),
        "environment": environment_from_path(source_file, "infra"),
        "applied_at": applied_at,
        "expires_at": expires_at,
        "retention_basis": basis,
    }
    rows: list[dict[str, Any]] = []
    started: dict[str, str] = {}
    errors: list[str] = []
    summary: dict[str, Any] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := _START.match(line):
            started[m["addr"]] = _VERB_ACTION[m["verb"]]
        elif m := _DONE.match(line):
            action, outcome = _DONE_OUTCOME[m["what"]]
            rows.append(
                {
                    **common,
                    "line_no": i + 1,
                    "address": m["addr"],
                    "action": action,
                    "outcome": outcome,
                    "elapsed_s": parse_seconds(m["elapsed"]),
                    "resource_id": m["id"],
                }
            )
        elif m := _SUMMARY.match(line):
            counts = {kind: int(n) for n, kind in _COUNT.findall(m["counts"])}
            summary = {
                **common,
                "line_no": i + 1,
                "action": m[1].lower(),
                "outcome": "summary",
                "added": counts.get("added", 0),
                "changed": counts.get("changed", 0),
                "destroyed": counts.get("destroyed", 0),
            }
        elif _ERROR.match(line):
            end, message, address = _error_block(lines, i)
            errors.append(message)
            if address:
                rows.append(
                    {
                        **common,
                        "line_no": i + 1,
                        "address": address,
                        "action": started.get(address),
                        "outcome": "failed",
                        "error": message,
                    }
                )
            i = end
            continue
        i += 1
    if summary is None or errors:
        done = [r["outcome"] for r in rows]
        summary = {
            **common,
            "line_no": len(lines),
            "action": "apply",
            "outcome": "failed" if errors else "incomplete",
            "error": (
                " | ".join(errors)
                if errors
                else "the log ends before the apply finished (no 'Apply complete!' and no error)"
            ),
            "added": done.count("created"),
            "changed": done.count("updated"),
            "destroyed": done.count("destroyed"),
        }
    yield "infra_apply_logs", [*rows, summary]
