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

from cicl_assets.ingest.content import ParseError

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
