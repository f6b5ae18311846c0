"""Checks on untrusted text before and after a parser: UTF-8 validity, bounded JSON nesting.

Both run at C speed over the whole file: a rejected file costs one pass, an accepted one about
a tenth of what parsing it costs. Only the error path looks at individual bytes.
"""

from __future__ import annotations

import codecs

import numpy as np
import pyarrow as pa

from cicl_assets.ingest.content import ParseError
from cicl_assets.settings import compiled_decoders

try:
    from cicl_assets.telemetry._otlp_decode import json_depth as _compiled_json_depth
except ImportError:  # built without a compiler: the numpy form below
    _compiled_json_depth = None

# Real documents nest a few dozen levels at most (OTLP/JSON: ~10, plus 4 per nested attribute
# value); pyarrow's JSON reader overflows its stack somewhere past ten thousand.
MAX_JSON_DEPTH = 512
_DEPTH_CHUNK = 4 * 1024 * 1024

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = bytearray(256)
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = 0xFF  # -1 as int8
_STEP_TABLE = bytes(_STEP)
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


def json_depth(data: bytes, give_up_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in JSON text, brackets inside strings not
    counted; past ``give_up_above`` only known to be above it. The compiled single pass
    (telemetry/_json_depth.h) when built and CICL_COMPILED_DECODERS is not off, else
    ``json_depth_numpy``: both give the same answer on any bytes."""
    if _compiled_json_depth is not None and compiled_decoders():
        return _compiled_json_depth(data, give_up_above)
    return json_depth_numpy(data, give_up_above)


def json_depth_numpy(data: bytes, give_up_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in JSON text (documents or lines), brackets
    inside strings not counted; stops early once past ``give_up_above``.

    Exact on any prefix a JSON parser accepts, which is all a parser ever recurses into. Each
    chunk is cut down to its quotes and brackets, escaped backslashes and quotes having been
    removed first; two adjacent quotes (a string without brackets) go too, which leaves the
    parity of every other quote, and so what is inside a string, unchanged.
    """
    deepest = level = 0
    in_string = False
    escapes = b"\\" in data
    start = 0
    while start < len(data):
        end = min(start + _DEPTH_CHUNK, len(data))
        while end < len(data) and data[end - 1] == _BACKSLASH:
            end += 1  # never cut between a backslash and what it escapes
        piece = data[start:end]
        if escapes:
            piece = piece.replace(b"\\\\", b"").replace(b'\\"', b"")
        structure = piece.translate(None, _NOT_STRUCTURE)
        if in_string:
            structure = b'"' + structure
        structure = structure.replace(b'""', b"")
        steps = np.frombuffer(structure.translate(_STEP_TABLE), np.int8)
        in_string = False
        if b'"' in structure:
            quotes = np.frombuffer(structure, np.uint8) == _QUOTE
            inside = (np.cumsum(quotes, dtype=np.uint8) & 1).view(bool)
            steps = np.where(inside, np.int8(0), steps)
            in_string = bool(inside[-1])
        if len(steps):
            running = np.cumsum(steps, dtype=np.int64)
            deepest = max(deepest, level + int(running.max()))
            level += int(running[-1])
        if give_up_above is not None and deepest > give_up_above:
            break
        start = end
    return deepest


def invalid_utf8_at(data: bytes) -> int | None:
    """Byte offset of the first byte that is not valid UTF-8, or None when all of it is."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        pass
    else:
        return None
    try:
        codecs.decode(data, "utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None  # pragma: no cover - Arrow and Python agree on UTF-8


def where_in_text(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column} (byte {offset:,})"


def _bad_bytes(data: bytes, offset: int) -> str:
    """The offending byte and the non-ASCII bytes right after it, in hex."""
    run = data[offset : offset + 4]
    ascii_at = next((i for i, b in enumerate(run) if i and b < 0x80), len(run))
    return " ".join(f"0x{b:02x}" for b in run[:ascii_at])


def utf8_problem(data: bytes, offset: int) -> str:
    return (
        f"invalid UTF-8 at {where_in_text(data, offset)}: bytes {_bad_bytes(data, offset)}; "
        "text must be UTF-8 "
        "(re-encode the file, e.g. iconv -f latin1 -t utf-8, or fix what wrote it)"
    )


def check_json_text(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise ParseError unless ``data`` is UTF-8 and nests at most ``max_depth`` levels."""
    offset = invalid_utf8_at(data)
    if offset is not None:
        raise ParseError(utf8_problem(data, offset))
    depth = json_depth(data, give_up_above=max_depth)
    if depth > max_depth:
        raise ParseError(
            f"JSON nested more than {max_depth} levels deep (arrays and objects inside each "
            "other); refused before parsing, as nesting that deep crashes JSON parsers: "
            "flatten the document or fix what wrote it"
        )


def decode_text(data: bytes) -> str:
    """UTF-8 text (a byte-order mark dropped); invalid bytes raise ParseError saying where."""
    offset = invalid_utf8_at(data)
    if offset is not None:
        raise ParseError(utf8_problem(data, offset))
    return data.decode("utf-8-sig")


def check_strings(table: pa.Table, table_name: str) -> None:
    """Raise ParseError naming the column and row of the first string that is not UTF-8."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        try:
            column.validate(full=True)
        except pa.ArrowInvalid:
            raise ParseError(_bad_string(table_name, name, column)) from None


def _bad_string(table_name: str, name: str, column: pa.ChunkedArray) -> str:
    what = f"invalid UTF-8 in {table_name}.{name}"
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        binary = pa.binary() if pa.types.is_string(column.type) else pa.large_binary()
        for chunk in column.chunks:
            for value in chunk.view(binary).to_pylist():
                offset = None if value is None else invalid_utf8_at(value)
                if offset is not None:
                    what += f" (bytes {_bad_bytes(value, offset)} at byte {offset:,} of a value)"
                    break
            else:
                continue
            break
    return f"{what}; text must be UTF-8 (re-encode the file or fix what wrote it)"
