"""Landing file names as text that any warehouse stores, and back, without losing a byte.

A local file name is bytes and need not be UTF-8; any name may hold control characters or
backslashes. The landing zone hands out and accepts names in one escaped form: ``\\`` stands for
a backslash and ``\\xNN`` for the byte NN where the name's bytes are not valid UTF-8 or encode a
control character (U+0000-U+001F, U+007F-U+009F). Every other character is itself, so ordinary
names are unchanged. ``escape`` and ``unescape`` are exact inverses.
"""

from __future__ import annotations

import re

_NEEDS_ESCAPE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\udc80-\udcff]")
_ESCAPED = re.compile(r"\\(?:\\|x([0-9a-fA-F]{2}))|\\")


def escape(raw: bytes) -> str:
    """The escaped text form of a name's bytes."""
    text = raw.decode("utf-8", "surrogateescape")
    if not _NEEDS_ESCAPE.search(text):
        return text
    return _NEEDS_ESCAPE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    raw = char.encode("utf-8", "surrogateescape")
    return "".join(f"\\x{b:02x}" for b in raw)


def unescape(text: str) -> bytes:
    """The bytes of an escaped name; ValueError for a backslash that starts no escape."""
    if "\\" not in text:
        return text.encode("utf-8", "surrogateescape")
    out = bytearray()
    pos = 0
    for match in _ESCAPED.finditer(text):
        out += text[pos : match.start()].encode("utf-8", "surrogateescape")
        if match.group() == "\\":
            raise ValueError(f"{text!r}: a backslash must be written \\\\ or start \\xNN")
        out += b"\\" if match.group(1) is None else bytes([int(match.group(1), 16)])
        pos = match.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)
