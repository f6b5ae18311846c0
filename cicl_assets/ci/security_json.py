"""Shared reading helpers for the JSON security artifacts of a CI run (SBOMs, scan results,
attestations): sniffing top-level keys from a file's head, bounded text and small JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from cicl_assets.ingest.content import Sniff
from cicl_assets.ingest.redact import redact_text

DESCRIPTION_CAP = 2000
RAW_STRING_CAP = 300
RAW_LIST_CAP = 20
RAW_DEPTH_CAP = 6


def _skip_string(text: str, i: int) -> int:
    """Index just past the closing quote of the string starting at ``text[i] == '"'``."""
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    return n


@dataclass(frozen=True)
class Shape:
    """What a JSON document looks like at the top: ``container`` is object, list, empty-list
    or other; ``keys`` maps each top-level key (for a list, its first element's keys) to the
    first 200 characters of its value as written."""

    container: str
    keys: dict[str, str]
    # False when the head ended inside the top-level value: keys written later are unknown.
    complete: bool = True

    def has(self, *names: str) -> bool:
        return all(n in self.keys for n in names)

    def value_has(self, key: str, needle: str) -> bool:
        return needle in self.keys.get(key, "")


def head_shape(sniff: Sniff) -> Shape:
    """The shape of the first JSON value in a file's head (for JSON lines, the first line).

    Tools that write their keys sorted put ``version`` or ``bomFormat`` after megabytes of
    results; when the head ends inside the top-level value, the whole file is parsed once (it
    is already in memory and within the size caps) and its real top-level keys are used.
    """
    shape = _shape_of_head(sniff.head)
    if shape.complete or len(sniff.data) <= len(sniff.head):
        return shape
    if "json_shape" not in sniff.memo:
        try:
            sniff.memo["json_shape"] = doc_shape(orjson.loads(sniff.data))
        except orjson.JSONDecodeError:  # JSON lines, or broken: the head is all we know
            sniff.memo["json_shape"] = shape
    return sniff.memo["json_shape"]


@lru_cache(maxsize=8)  # every detector of the ci stream asks about the same head in turn
def _shape_of_head(head: bytes) -> Shape:
    text = head.decode("utf-8", "replace")
    i = len(text) - len(text.lstrip())
    if i >= len(text) or text[i] not in "[{":
        return Shape("other", {})
    container = "object"
    if text[i] == "[":
        j = i + 1
        while j < len(text) and text[j].isspace():
            j += 1
        if j < len(text) and text[j] == "]":
            return Shape("empty-list", {})
        if j >= len(text) or text[j] != "{":
            return Shape("list", {})
        container, i = "list", j
    keys: dict[str, str] = {}
    depth = 0
    n = len(text)
    expect_key = False
    while i < n:
        c = text[i]
        if c == '"':
            end = _skip_string(text, i)
            if depth == 1 and expect_key:
                k = end
                while k < n and text[k] in " \t\r\n:":
                    k += 1
                keys[text[i + 1 : end - 1]] = text[k : k + 200]
                expect_key = False
            i = end
            continue
        if c in "{[":
            depth += 1
            if depth == 1:
                expect_key = True
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return Shape(container, keys)
        elif c == "," and depth == 1:
            expect_key = True
        i += 1
    return Shape(container, keys, complete=False)


def doc_shape(doc: Any) -> Shape:
    """The same view of an already parsed document (for documents nested in others)."""
    if isinstance(doc, list):
        if not doc:
            return Shape("empty-list", {})
        first = doc[0]
        if not isinstance(first, dict):
            return Shape("list", {})
        return Shape("list", {k: json.dumps(v)[:200] for k, v in first.items()})
    if isinstance(doc, dict):
        return Shape("object", {k: json.dumps(v)[:200] for k, v in doc.items()})
    return Shape("other", {})


def text_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def clip(value: Any, cap: int = DESCRIPTION_CAP) -> str | None:
    text = text_of(value)
    if text is None:
        return None
    return text if len(text) <= cap else redact_text(text)[: cap - 1] + "…"


def small(value: Any, depth: int = 0) -> Any:
    """A bounded copy of a native record: long strings clipped, long lists cut, deep nests
    summarised, so ``raw`` stays small whatever the tool wrote."""
    if isinstance(value, dict):
        if depth >= RAW_DEPTH_CAP:
            return f"{{{len(value)} keys}}"
        return {str(k): small(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= RAW_DEPTH_CAP:
            return f"[{len(value)} items]"
        items = [small(v, depth + 1) for v in value[:RAW_LIST_CAP]]
        if len(value) > RAW_LIST_CAP:
            items.append(f"... {len(value) - RAW_LIST_CAP} more")
        return items
    if isinstance(value, str) and len(value) > RAW_STRING_CAP:
        return redact_text(value)[:RAW_STRING_CAP] + f"... ({len(value)} chars)"
    return value


def dumps(value: Any) -> str | None:
    if value is None or value == [] or value == {}:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except TypeError:  # integers beyond 64 bits, non-string keys
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def iter_dicts(value: Any) -> Iterator[dict[str, Any]]:
    for item in as_list(value):
        if isinstance(item, dict):
            yield item
