"""Reading JSON from landing files: one document, or every document of a file (a JSON array of
them, JSON lines, or documents one after another), with errors a person can act on.

Every syntax error names its place the same way, ``invalid JSON at line L, column C: <what>``,
lines counted in the whole file, and says so when the failing document started on an earlier
line or the text ends inside a value (``the file looks truncated``). A UTF-8 byte-order mark is skipped; UTF-16 and UTF-32 files (PowerShell's
``>`` writes UTF-16) are read by their byte-order mark. The ``NaN`` and ``Infinity`` literals
some scanners write are read as floats; ``strict_numbers`` refuses them where a format forbids
them (OTLP/JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import orjson

from cicl_assets.ingest.content import ParseError

_UTF8_BOM = b"\xef\xbb\xbf"
_DECODER = json.JSONDecoder()
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type (``object``, ``array``, ``number``...)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _prefix(what: str | None) -> str:
    return f"{what}: " if what else ""


def _invalid(
    exc: json.JSONDecodeError,
    text: str,
    what: str | None,
    first_line: int,
    document_line: int | None = None,
) -> ParseError:
    end = len(text.rstrip())
    pos = min(exc.pos, end)  # a file that ends early fails where its text ends, not after it
    line = text.count("\n", 0, pos) + first_line
    column = pos - text.rfind("\n", 0, pos)
    hints = []
    if document_line is not None and document_line != line:
        hints.append(f"in the document that starts on line {document_line}")
    if exc.pos >= end or exc.msg.startswith("Unterminated string"):
        hints.append("the file looks truncated")
    hint = f" ({'; '.join(hints)})" if hints else ""
    return ParseError(
        f"{_prefix(what)}invalid JSON at line {line}, column {column}: {exc.msg}{hint}"
    )


def _decode(data: bytes, what: str | None) -> str:
    encoding = json.detect_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding.startswith("utf-8") else encoding.upper()
        raise ParseError(
            f"{_prefix(what)}not {name} text ({exc.reason} at byte {exc.start})"
        ) from None


class _NonFinite(Exception):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _without_bom(data: bytes | str) -> bytes | str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    return bytes(data).removeprefix(_UTF8_BOM)


def load_json(
    data: bytes | str, what: str | None = None, *, first_line: int = 1, strict_numbers: bool = False
) -> Any:
    """One JSON document. ``what`` starts error messages (``"CycloneDX"``); ``first_line`` is
    the line of the file ``data`` starts on, when it is one line of a bigger file."""
    body = _without_bom(data)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as fast_exc:
        fast_error = fast_exc
    text = body if isinstance(body, str) else _decode(body, what)
    try:
        return json.loads(text, parse_constant=_refuse_constant if strict_numbers else None)
    except json.JSONDecodeError as exc:
        raise _invalid(exc, text, what, first_line) from None
    except _NonFinite:
        raise _invalid(fast_error, text, what, first_line) from None


def load_json_object(data: bytes | str, what: str | None = None) -> dict[str, Any]:
    """One JSON document that must be an object."""
    doc = load_json(data, what)
    if not isinstance(doc, dict):
        raise ParseError(f"{_prefix(what)}expected a JSON object, found a JSON {json_type(doc)}")
    return doc


def load_base64_json(encoded: Any, what: str) -> Any:
    """The JSON document inside a base64 string (a Pub/Sub message's ``data``)."""
    try:
        return load_json(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ParseError(f"{what} is not base64 JSON ({exc})") from None


@dataclass(frozen=True, slots=True)
class JsonDocument:
    """One document of a file: the line it starts on, its place in a top-level array (from 1),
    and its value."""

    line: int
    item: int | None
    value: Any

    @property
    def where(self) -> str:
        """``line 7``, or ``line 1, item 3`` for the third element of an array."""
        return f"line {self.line}" if self.item is None else f"line {self.line}, item {self.item}"


def _placed(value: Any, line: int) -> list[JsonDocument]:
    if isinstance(value, list):
        return [JsonDocument(line, i, item) for i, item in enumerate(value, 1)]
    return [JsonDocument(line, None, value)]


def json_documents(data: bytes | str, what: str | None = None) -> list[JsonDocument]:
    """Every document of a file: one document, a JSON array (its elements), JSON lines, or
    documents one after another. An empty file has none."""
    body = _without_bom(data)
    try:
        whole = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        lead = len(body) - len(body.lstrip())
        newline = "\n" if isinstance(body, str) else b"\n"
        return _placed(whole, 1 + body[:lead].count(newline))  # type: ignore[arg-type]
    text = body if isinstance(body, str) else _decode(body, what)
    docs: list[JsonDocument] = []
    pos, end, line, counted = 0, len(text), 1, 0
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            return docs
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _invalid(exc, text, what, 1, line) from None
        docs.extend(_placed(value, line))
