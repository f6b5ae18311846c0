"""Cut a large ExportTraceServiceRequest into pieces that upb parses one at a time.

A request of hundreds of megabytes parsed whole holds several times its size in memory. Only
the framing (tags and lengths) of the three outer levels is read here: the request's
resource_spans, a ResourceSpans' scope_spans, a ScopeSpans' spans. A piece is a serialized
ResourceSpans: the resource (and schema_url) followed by some of its scope_spans, or by one
ScopeSpans cut down to some of its spans. Every field inside a span is left to upb.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.text_guards import invalid_utf8_at

PIECE_BYTES = 8 * 1024 * 1024
_SCOPE_SPANS = 2  # field number of ResourceSpans.scope_spans
_SPANS = 2  # field number of ScopeSpans.spans


@dataclass(frozen=True)
class Piece:
    data: bytes  # a serialized ResourceSpans
    resource_index: int  # position of its ResourceSpans in the request
    scope_index: int  # position of its first ScopeSpans in that ResourceSpans
    span_offset: int  # position of the first span of its first ScopeSpans


def _truncated(where: str) -> ParseError:
    return ParseError(
        f"not a readable protobuf ExportTraceServiceRequest: the {where} framing ends early or "
        "is not protobuf (a truncated upload, or not OTLP)"
    )


def _varint(data: memoryview, pos: int, where: str) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _truncated(where)
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data: memoryview, where: str) -> Iterator[tuple[int, int, int, int]]:
    """(field number, field start, content start, end) of each top-level field."""
    pos = 0
    while pos < len(data):
        tag, content = _varint(data, pos, where)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, end = _varint(data, content, where)
        elif wire == 1:
            end = content + 8
        elif wire == 2:
            length, content = _varint(data, content, where)
            end = content + length
        elif wire == 5:
            end = content + 4
        else:
            raise _truncated(f"{where}: unsupported wire type {wire}")
        if end > len(data) or number == 0:
            raise _truncated(where)
        yield number, pos, content, end
        pos = end


def _len_field(number: int, payload: bytes) -> bytes:
    out = bytearray([number << 3 | 2])
    length = len(payload)
    while length >= 0x80:
        out.append(length & 0x7F | 0x80)
        length >>= 7
    out.append(length)
    return bytes(out) + payload


def pieces(data: bytes, limit: int | None = None) -> Iterator[Piece]:
    """Pieces of at most ``limit`` bytes (PIECE_BYTES), except single spans larger than that."""
    limit = limit or PIECE_BYTES
    view = memoryview(data)
    index = 0
    for number, _, content, end in _fields(view, "request"):
        if number != 1:
            continue  # not resource_spans: unknown to this schema version, ignored as upb would
        where = f"resourceSpans[{index}]"
        if end - content <= limit:
            yield Piece(bytes(view[content:end]), index, 0, 0)
        else:
            yield from _split_resource(view[content:end], index, limit, where)
        index += 1


def _split_resource(rs: memoryview, index: int, limit: int, where: str) -> Iterator[Piece]:
    header = b""
    scopes: list[tuple[int, int, int]] = []
    for number, start, content, end in _fields(rs, where):
        if number == _SCOPE_SPANS:
            scopes.append((start, content, end))
        else:
            header += bytes(rs[start:end])
    group: list[bytes] = []
    group_first = size = 0
    for si, (start, content, end) in enumerate(scopes):
        if end - start > limit:
            if group:
                yield Piece(header + b"".join(group), index, group_first, 0)
                group, size = [], 0
            for offset, scope in _split_scope(rs[content:end], limit, f"{where}.scopeSpans[{si}]"):
                yield Piece(header + _len_field(_SCOPE_SPANS, scope), index, si, offset)
            continue
        if group and size + end - start > limit:
            yield Piece(header + b"".join(group), index, group_first, 0)
            group, size = [], 0
        if not group:
            group_first = si
        group.append(bytes(rs[start:end]))
        size += end - start
    if group or not scopes:
        yield Piece(header + b"".join(group), index, group_first, 0)


def _split_scope(ss: memoryview, limit: int, where: str) -> Iterator[tuple[int, bytes]]:
    """(index of the first span, a serialized ScopeSpans holding a run of the spans)."""
    header = b""
    spans: list[tuple[int, int]] = []
    for number, start, _, end in _fields(ss, where):
        if number == _SPANS:
            spans.append((start, end))
        else:
            header += bytes(ss[start:end])
    first = 0
    while first < len(spans):
        last, size = first, 0
        while last < len(spans) and (
            last == first or size + spans[last][1] - spans[last][0] <= limit
        ):
            size += spans[last][1] - spans[last][0]
            last += 1
        yield first, header + bytes(ss[spans[first][0] : spans[last - 1][1]])
        first = last


_STRING, _MESSAGE = 9, 11  # FieldDescriptor.TYPE_STRING, TYPE_MESSAGE
_MAX_DEPTH = 64


def invalid_string(piece: Piece, descriptor: Any) -> str | None:
    """Where a string field of ``piece`` (a ResourceSpans) holds invalid UTF-8, e.g.
    ``resourceSpans[0].scopeSpans[1].spans[7].name: bytes 0xff``; None when every string is
    valid. upb refuses the whole message then, saying only that it cannot parse it."""
    where = f"resourceSpans[{piece.resource_index}]"
    # a piece may start at a later scope, and its first scope at a later span
    shifts = ((_SCOPE_SPANS, piece.scope_index), (_SPANS, piece.span_offset))
    found = _invalid_string(memoryview(piece.data), descriptor, where, 0, shifts)
    return None if found is None else f"{found[0]}: bytes {found[1]}"


def _invalid_string(
    data: memoryview,
    descriptor: Any,
    where: str,
    depth: int,
    shifts: tuple[tuple[int, int], ...] = (),
) -> tuple[str, str] | None:
    seen: dict[int, int] = {}
    try:
        fields = list(_fields(data, where))
    except ParseError:
        return None
    shift_field, shift = shifts[0] if shifts else (0, 0)
    for number, start, content, end in fields:
        field = descriptor.fields_by_number.get(number)
        tag, _ = _varint(data, start, where)
        if field is None or tag & 7 != 2 or field.type not in (_STRING, _MESSAGE):
            continue
        seen[number] = seen.get(number, -1) + 1
        index = seen[number] + (shift if number == shift_field else 0)
        label = f"{where}.{field.json_name}" + (f"[{index}]" if field.is_repeated else "")
        if field.type == _STRING:
            value = bytes(data[content:end])
            offset = invalid_utf8_at(value)
            if offset is not None:
                return label, " ".join(f"0x{b:02x}" for b in value[offset : offset + 2])
        elif depth < _MAX_DEPTH:
            inner = shifts[1:] if number == shift_field and seen[number] == 0 else ()
            found = _invalid_string(data[content:end], field.message_type, label, depth + 1, inner)
            if found is not None:
                return found
    return None
