"""OTLP/JSON traces (one document, or JSON lines as the Collector's file exporter writes) ->
`otel_spans` Arrow tables.

The fast path hands chunks of lines to Arrow's JSON reader with an explicit schema of the
fields we keep, in their canonical OTLP/JSON types (64-bit integers as strings, enums as
integers), and flattens the nested lists with Arrow kernels. Input the fast path cannot take as
is (numbers where strings are expected, enum names, values nested deeper than one level,
malformed lines) goes through `otlp_json_normalize`, which rewrites each request into the
canonical shape in Python (or says precisely which line is wrong) and feeds the same reader.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.json_documents import load_json
from cicl_assets.ingest.redact import redact_text
from cicl_assets.telemetry.attributes import (
    ARRAY,
    BOOL,
    BYTES,
    DOUBLE,
    EMPTY,
    INT,
    KVLIST,
    RAW_JSON,
    STR,
    AttrColumns,
    b64,
)
from cicl_assets.telemetry.otlp_json_normalize import normalize_request
from cicl_assets.telemetry.otlp_proto import gc_paused
from cicl_assets.telemetry.span_batch import (
    EventColumns,
    LinkColumns,
    SpanColumns,
    build_table,
    check_hex_ids,
    check_times,
)
from cicl_assets.telemetry.spans_table import OTEL_SPANS

CHUNK_BYTES = 4 * 1024 * 1024  # of JSON lines read at once: bounds a worker's memory

_LEAF = [
    ("stringValue", pa.string()),
    ("boolValue", pa.bool_()),
    ("intValue", pa.string()),
    ("doubleValue", pa.float64()),
    ("bytesValue", pa.string()),
    ("doubleText", pa.string()),  # NaN/Infinity, written only by the normalizer
    ("jsonText", pa.string()),  # deeper nesting rendered by the normalizer
]
_LEAF_TYPE = pa.struct(_LEAF)
_VALUE = pa.struct(
    [
        *_LEAF,
        ("arrayValue", pa.struct([("values", pa.list_(_LEAF_TYPE))])),
        (
            "kvlistValue",
            pa.struct(
                [("values", pa.list_(pa.struct([("key", pa.string()), ("value", _LEAF_TYPE)])))]
            ),
        ),
    ]
)
_ATTRS = pa.list_(pa.struct([("key", pa.string()), ("value", _VALUE)]))
_SPAN = pa.struct(
    [
        ("traceId", pa.string()),
        ("spanId", pa.string()),
        ("parentSpanId", pa.string()),
        ("traceState", pa.string()),
        ("name", pa.string()),
        ("kind", pa.int64()),
        ("startTimeUnixNano", pa.string()),
        ("endTimeUnixNano", pa.string()),
        ("attributes", _ATTRS),
        (
            "events",
            pa.list_(
                pa.struct(
                    [
                        ("timeUnixNano", pa.string()),
                        ("name", pa.string()),
                        ("attributes", _ATTRS),
                    ]
                )
            ),
        ),
        (
            "links",
            pa.list_(
                pa.struct(
                    [
                        ("traceId", pa.string()),
                        ("spanId", pa.string()),
                        ("traceState", pa.string()),
                        ("attributes", _ATTRS),
                    ]
                )
            ),
        ),
        ("status", pa.struct([("message", pa.string()), ("code", pa.int64())])),
    ]
)
REQUEST_SCHEMA = pa.schema(
    [
        (
            "resourceSpans",
            pa.list_(
                pa.struct(
                    [
                        ("resource", pa.struct([("attributes", _ATTRS)])),
                        (
                            "scopeSpans",
                            pa.list_(
                                pa.struct(
                                    [
                                        (
                                            "scope",
                                            pa.struct(
                                                [
                                                    ("name", pa.string()),
                                                    ("version", pa.string()),
                                                    ("attributes", _ATTRS),
                                                ]
                                            ),
                                        ),
                                        ("spans", pa.list_(_SPAN)),
                                    ]
                                )
                            ),
                        ),
                    ]
                )
            ),
        )
    ]
)
_REQUEST_TYPE = pa.struct(list(REQUEST_SCHEMA))
_INTEGER_OR_TEXT = frozenset({"intValue", "startTimeUnixNano", "endTimeUnixNano", "timeUnixNano"})
# (the list leading to spans, the other members the reader knows) per level, from the request
_SPAN_LEVELS = (
    ("resourceSpans", ()),
    ("scopeSpans", ("resource", "schemaUrl")),
    ("spans", ("scope", "schemaUrl")),
)
_PARSE = pj.ParseOptions(explicit_schema=REQUEST_SCHEMA, unexpected_field_behavior="infer")
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class _NotCanonical(Exception):
    """The fast path cannot read this chunk as is; the normalizer will."""


def one_request_per_line(data: bytes) -> bool:
    """Whether ``data`` is OTLP/JSON lines rather than one document (told by its first line)."""
    first_line = data.lstrip().split(b"\n", 1)[0].strip()
    # A pretty-printed document's first line is "{" or opens an object it does not close.
    return len(first_line) > 1 and first_line.endswith(b"}")


def parse_json(data: bytes, source_file: str) -> Iterator[tuple[str, pa.Table]]:
    """An OTLP/JSON document or OTLP/JSON lines file."""
    with gc_paused():
        if one_request_per_line(data):
            yield from parse_lines(data)
        else:
            yield from _parse_document(data)


def _parse_document(data: bytes) -> Iterator[tuple[str, pa.Table]]:
    doc = load_json(data, strict_numbers=True)
    compact = orjson.dumps(doc)
    try:
        yield OTEL_SPANS.name, _fast(compact, None)
    except _NotCanonical:
        line = orjson.dumps(normalize_request(doc, ""))
        yield OTEL_SPANS.name, _read(line, lambda _row: "")


def parse_lines(data: bytes, first_line_no: int = 1) -> Iterator[tuple[str, pa.Table]]:
    """OTLP/JSON lines; ``first_line_no``: the number of data's first line in its file."""
    start, line_no = 0, first_line_no
    while start < len(data):
        end = data.find(b"\n", start + CHUNK_BYTES)
        end = len(data) if end < 0 else end + 1
        chunk = data[start:end]
        try:
            table = _fast(chunk, line_no)
        except _NotCanonical:
            table = _normalized_lines(chunk, line_no)
        if table.num_rows:
            yield OTEL_SPANS.name, table
        line_no += chunk.count(b"\n")
        start = end


def _normalized_lines(chunk: bytes, first_line_no: int) -> pa.Table:
    lines: list[bytes] = []
    numbers: list[int] = []
    for offset, raw in enumerate(chunk.split(b"\n")):
        if not raw.strip():
            continue
        line_no = first_line_no + offset
        doc = load_json(raw, first_line=line_no, strict_numbers=True)
        lines.append(orjson.dumps(normalize_request(doc, f"line {line_no}: ")))
        numbers.append(line_no)
    if not lines:
        return pa.table({})
    return _read(b"\n".join(lines), lambda row: f"line {numbers[row]}")


def _fast(text: bytes, first_line_no: int | None) -> pa.Table:
    if b'"jsonText"' in text or b'"doubleText"' in text:
        raise _NotCanonical  # our private field names in the input: never trust them
    try:
        # Reading with inferred types and casting to the schema by field name is ~1.6x faster
        # than reading with the explicit schema; numbers given for 64-bit integers cast too.
        table = pj.read_json(
            io.BytesIO(text),
            read_options=pj.ReadOptions(block_size=max(len(text) + 1, 1 << 20), use_threads=False),
        )
        if not _reads_as_is(pa.struct(list(table.schema)), _REQUEST_TYPE) or _loses_spans(table):
            raise _NotCanonical
        table = table.select(["resourceSpans"]).cast(REQUEST_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, KeyError):
        raise _NotCanonical from None
    nested = text.count(b'"arrayValue"') + text.count(b'"kvlistValue"')
    try:
        return _flatten(table, lambda _row: "", expected_nested=nested)
    except (ParseError, pa.ArrowInvalid):
        raise _NotCanonical from None


def _reads_as_is(inferred: pa.DataType, expected: pa.DataType, name: str = "") -> bool:
    """Whether casting what Arrow inferred to the schema keeps each value as the normalizer would
    read it: the cast would turn a number into text ({"key": 5}) or an ISO date it inferred as a
    timestamp into other text, but only in a chunk where no other row has text there."""
    if pa.types.is_null(inferred):
        return True
    if pa.types.is_struct(expected):
        return pa.types.is_struct(inferred) and all(
            inferred.get_field_index(field.name) < 0
            or _reads_as_is(inferred.field(field.name).type, field.type, field.name)
            for field in expected
        )
    if pa.types.is_list(expected):
        return pa.types.is_list(inferred) and _reads_as_is(
            inferred.value_type, expected.value_type, name
        )
    if pa.types.is_string(expected):
        return pa.types.is_string(inferred) or (
            name in _INTEGER_OR_TEXT and pa.types.is_int64(inferred)
        )
    if pa.types.is_float64(expected):  # doubles as text ("NaN", "1.5") are OTLP/JSON too
        return inferred in (pa.float64(), pa.int64(), pa.string())
    return inferred == expected


def _loses_spans(table: pa.Table) -> bool:
    """Whether an object of a level that leads to spans lacks its list but holds members the
    reader does not know (the normalizer words the reject). Arrow's inferred types say whether
    the chunk holds unknown members at a level at all; only then are its rows looked at."""
    objects: pa.Array = table.to_struct_array().combine_chunks()
    for list_name, known in _SPAN_LEVELS:
        names = [objects.type.field(i).name for i in range(objects.type.num_fields)]
        unknown = [name for name in names if name != list_name and name not in known]
        if unknown:
            held = objects.field(unknown[0]).is_valid()
            for name in unknown[1:]:
                held = pc.or_(held, objects.field(name).is_valid())
            if list_name in names:
                held = pc.and_(held, objects.field(list_name).is_null())
            if pc.any(pc.and_(held, objects.is_valid())).as_py():
                return True
        if list_name not in names or list_name == "spans":
            return False
        lists = objects.field(list_name)
        if not pa.types.is_list(lists.type) or not pa.types.is_struct(lists.type.value_type):
            return False  # _reads_as_is has refused this chunk already
        objects = lists.flatten()
    return False


def _read(text: bytes, line_of_row: Callable[[int], str]) -> pa.Table:
    try:
        table = pj.read_json(
            io.BytesIO(text),
            read_options=pj.ReadOptions(block_size=max(len(text) + 1, 1 << 20)),
            parse_options=_PARSE,
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ParseError(f"cannot read the OTLP/JSON after normalizing it ({exc})") from None
    return _flatten(table, line_of_row, expected_nested=None)


def _list_info(lists: pa.ListArray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Values, the parent of each value, each value's index inside its list."""
    parents = pc.list_parent_indices(lists).to_numpy()
    offsets = lists.offsets.to_numpy()
    position = np.arange(len(parents)) - (offsets[parents] - offsets[0])
    return lists.flatten(), parents, position


def _flatten(
    table: pa.Table, line_of_row: Callable[[int], str], expected_nested: int | None
) -> pa.Table:
    requests = table.column("resourceSpans").combine_chunks()
    rs, rs_row, rs_pos = _list_info(requests)
    scopes, ss_rs, ss_pos = _list_info(rs.field("scopeSpans"))
    spans, sp_ss, sp_pos = _list_info(scopes.field("spans"))

    def where(k: int) -> str:
        scope = sp_ss[k]
        resource = ss_rs[scope]
        label = line_of_row(int(rs_row[resource]))
        path = f"resourceSpans[{rs_pos[resource]}].scopeSpans[{ss_pos[scope]}].spans[{sp_pos[k]}]"
        return label if label.startswith("line") else path

    counter = _NestedCounter()
    resource_attrs = counter.attrs(rs.field("resource").field("attributes"))
    scope_struct = scopes.field("scope")
    counter.attrs(scope_struct.field("attributes"))
    attrs = counter.attrs(spans.field("attributes"))
    events, ev_span, _ = _list_info(spans.field("events"))
    links, ln_span, _ = _list_info(spans.field("links"))
    event_attrs = counter.attrs(events.field("attributes"))
    link_attrs = counter.attrs(links.field("attributes"))
    if expected_nested is not None and counter.nested != expected_nested:
        raise _NotCanonical  # values nested deeper than the schema reads
    status = spans.field("status")
    span_ids = check_hex_ids(spans.field("spanId"), 16, "spanId", where)
    start_ns = _nanos(spans.field("startTimeUnixNano"), "startTimeUnixNano", where)
    end_ns = _nanos(spans.field("endTimeUnixNano"), "endTimeUnixNano", where)
    check_times(start_ns, end_ns, span_ids, ("startTimeUnixNano", "endTimeUnixNano"), where)
    return build_table(
        SpanColumns(
            trace_id=check_hex_ids(spans.field("traceId"), 32, "traceId", where),
            span_id=span_ids,
            parent_span_id=check_hex_ids(
                spans.field("parentSpanId"), 16, "parentSpanId", where, nullable=True
            ),
            trace_state=_blank_to_null(spans.field("traceState")),
            name=pc.fill_null(spans.field("name"), ""),
            kind=spans.field("kind"),
            start_ns=start_ns,
            end_ns=end_ns,
            status_code=status.field("code"),
            status_message=_blank_to_null(status.field("message")),
            resource_of=ss_rs[sp_ss],
            scope_of=sp_ss,
            resource_attrs=resource_attrs,
            resource_count=len(rs),
            scope_name=_blank_to_null(scope_struct.field("name")),
            scope_version=_blank_to_null(scope_struct.field("version")),
            attrs=attrs,
            events=EventColumns(
                ev_span,
                pc.fill_null(events.field("name"), ""),
                _nanos(events.field("timeUnixNano"), "timeUnixNano", lambda e: where(ev_span[e])),
                event_attrs,
            ),
            links=LinkColumns(
                ln_span,
                check_hex_ids(
                    links.field("traceId"), 32, "link traceId", lambda j: where(ln_span[j])
                ),
                check_hex_ids(
                    links.field("spanId"), 16, "link spanId", lambda j: where(ln_span[j])
                ),
                _blank_to_null(links.field("traceState")),
                link_attrs,
            ),
        )
    )


def _blank_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def _nanos(values: pa.Array, field: str, where: Callable[[int], str]) -> pa.Array:
    filled = pc.fill_null(values, "0")
    try:
        return filled.cast(pa.int64())
    except pa.ArrowInvalid:
        ok = pc.match_substring_regex(filled, r"^[0-9]{1,19}$").to_numpy(zero_copy_only=False)
        bad = int(np.flatnonzero(~ok)[0]) if (~ok).any() else 0
        value = filled[bad].as_py()
        raise ParseError(f"{where(bad)}: {field} {value!r} is not unix nanoseconds") from None


class _NestedCounter:
    """Builds AttrColumns and counts the array/kvlist values it saw at the top level."""

    def __init__(self) -> None:
        self.nested = 0

    def attrs(self, lists: pa.ListArray) -> AttrColumns:
        kvs, owner, _ = _list_info(lists)
        cols = _values(owner, kvs.field("key"), kvs.field("value"), depth=0)
        self.nested += int(np.count_nonzero((cols.kind == ARRAY) | (cols.kind == KVLIST)))
        if cols.children is not None:
            self.nested += int(np.count_nonzero(cols.children.kind == RAW_JSON))
        return cols


def _valid(arr: pa.Array) -> np.ndarray:
    return arr.is_valid().to_numpy(zero_copy_only=False)


def _values(owner: np.ndarray, keys: pa.Array, value: pa.StructArray, depth: int) -> AttrColumns:
    m = len(owner)
    kind = np.full(m, EMPTY, np.int8)
    fields = ["jsonText", "bytesValue", "doubleText", "doubleValue", "intValue", "boolValue"]
    codes = [RAW_JSON, BYTES, DOUBLE, DOUBLE, INT, BOOL]
    if depth == 0:
        fields[:0] = ["kvlistValue", "arrayValue"]
        codes[:0] = [KVLIST, ARRAY]
    fields.append("stringValue")
    codes.append(STR)
    for name, code in zip(fields, codes, strict=True):  # the last assignment wins
        kind[_valid(value.field(name))] = code
    text_rows = np.isin(kind, (STR, BYTES, RAW_JSON))
    s = pc.coalesce(value.field("stringValue"), value.field("bytesValue"), value.field("jsonText"))
    if (kind == BYTES).any():
        s = _canonical_base64(s, kind == BYTES)
    s = pc.if_else(pa.array(text_rows), s, pa.scalar(None, pa.string()))

    i_rows = np.flatnonzero(kind == INT)
    try:
        i = pc.take(value.field("intValue"), pa.array(i_rows)).cast(pa.int64())
    except pa.ArrowInvalid:
        raise ParseError("an intValue is not a 64-bit integer") from None
    d_rows = np.flatnonzero(kind == DOUBLE)
    d = pc.take(value.field("doubleValue"), pa.array(d_rows))
    texts = pc.take(value.field("doubleText"), pa.array(d_rows))
    if texts.null_count < len(texts):
        mapped = [_NON_FINITE.get(t) if t is not None else None for t in texts.to_pylist()]
        d = pc.coalesce(d, pa.array(mapped, pa.float64()))
    b_rows = np.flatnonzero(kind == BOOL)
    b = pc.take(value.field("boolValue"), pa.array(b_rows))

    children = None
    if depth == 0 and ((kind == ARRAY) | (kind == KVLIST)).any():
        elements, el_owner, _ = _list_info(value.field("arrayValue").field("values"))
        entries, en_owner, _ = _list_info(value.field("kvlistValue").field("values"))
        children = _concat(
            _values(el_owner, pa.nulls(len(elements), pa.string()), elements, 1),
            _values(en_owner, entries.field("key"), entries.field("value"), 1),
        )
    return AttrColumns(owner, keys, kind, s, i_rows, i, d_rows, d, b_rows, b, children)


def _canonical_base64(s: pa.Array, mask: np.ndarray) -> pa.Array:
    rows = np.flatnonzero(mask)
    out = []
    for text in pc.take(s, pa.array(rows)).to_pylist():
        try:
            out.append(b64(base64.b64decode(text, validate=True)))
        except (binascii.Error, ValueError):
            raise ParseError(f"bytesValue {redact_text(text)[:40]!r} is not base64") from None
    return pc.replace_with_mask(s, pa.array(mask), pa.array(out, pa.string()))


def _concat(a: AttrColumns, b: AttrColumns) -> AttrColumns:
    n = len(a)
    return AttrColumns(
        np.concatenate([a.owner, b.owner]),
        pa.concat_arrays([a.keys, b.keys]),
        np.concatenate([a.kind, b.kind]),
        pa.concat_arrays([a.s, b.s]),
        np.concatenate([a.i_rows, b.i_rows + n]),
        pa.concat_arrays([a.i, b.i]),
        np.concatenate([a.d_rows, b.d_rows + n]),
        pa.concat_arrays([a.d, b.d]),
        np.concatenate([a.b_rows, b.b_rows + n]),
        pa.concat_arrays([a.b, b.b]),
    )
