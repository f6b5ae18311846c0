"""OTLP protobuf traces through the compiled decoder, with the pure-Python one as the fallback.

The C extension (`_otlp_decode.c`, built by the package's install) reads the wire format
straight into the column buffers `otlp_proto._Batch` builds from upb messages, and renders the
JSON text columns (attributes, events, links) as `span_batch.render_json` does, and finds the
values of the promoted columns as `attributes.promote` does; the rest is the same
`span_batch.build_table` step. A batch holding a value nested two levels deep is rendered by
`render_json`. Redaction runs later, on the table (`ingest.redact_table`).
It first checks the whole request; a request it does not pass (malformed: the fallback words
the reject; or valid in a spelling only the protobuf runtime interprets) goes to the fallback.
Without the extension, or with CICL_COMPILED_DECODERS=off, every request does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from cicl_assets.settings import compiled_decoders
from cicl_assets.telemetry.attributes import RAW_JSON, AttrColumns, natural_json
from cicl_assets.telemetry.otlp_proto import gc_paused, natural, parse_protobuf
from cicl_assets.telemetry.span_batch import (
    BATCH_SPANS,
    JSON_COLUMNS,
    PROMOTED,
    EventColumns,
    LinkColumns,
    SpanColumns,
    build_table,
)
from cicl_assets.telemetry.spans_table import OTEL_SPANS

log = logging.getLogger(__name__)

try:
    from cicl_assets.telemetry import _otlp_decode
except ImportError as exc:  # built without a compiler, or not built yet
    _otlp_decode: Any = None
    _MISSING = f"{type(exc).__name__}: {exc}"
_told = False


def available() -> bool:
    """Whether the compiled decoder is built and may be used (CICL_COMPILED_DECODERS)."""
    global _told
    if not compiled_decoders():
        return False
    if _otlp_decode is None:
        if not _told:
            _told = True
            log.warning(
                "the compiled OTLP decoder is not built (%s): OTLP protobuf is parsed in pure "
                "Python, about 4x slower; reinstall the package with a C compiler present",
                _MISSING,
            )
        return False
    return True


def check(data: bytes) -> tuple[str, str | None, int]:
    """The compiled decoder's verdict on a request: ("ok" | "reject" | "unusual", why, offset)."""
    status, why, offset = _otlp_decode.check(data)
    return ("ok", "reject", "unusual")[status], why, offset


def parse_protobuf_spans(data: bytes, source_file: str) -> Iterator[tuple[str, pa.Table]]:
    """`otel_spans` batches of a request: compiled when possible, else the fallback's."""
    if available() and check(data)[0] == "ok":
        return decode_compiled(data)
    return parse_protobuf(data, source_file)


def decode_compiled(data: bytes) -> Iterator[tuple[str, pa.Table]]:
    """Batches of a request `check` passed (ValueError if it did not)."""
    decoder = _otlp_decode.Decoder(data, _PROMOTE)
    while True:
        with gc_paused():
            batch = decoder.next(BATCH_SPANS)
            if batch is None:
                return
            table = build_table(span_columns(batch), rendered_json(batch), picks(batch))
        yield OTEL_SPANS.name, table


_PROMOTE = tuple(PROMOTED.values())


def picks(d: dict[str, Any]) -> dict[str, np.ndarray]:
    """The slots of the promoted columns' values, which the decoder found (span_batch.PROMOTED)."""
    return {
        name: np.frombuffer(b, np.int64) for name, b in zip(PROMOTED, d["promoted"], strict=True)
    }


def _strings(
    d: dict[str, Any], name: str, n: int, valid: np.ndarray | None = None, typ: Any = None
) -> pa.Array:
    """Arrow strings from the decoder's offsets and bytes (UTF-8 already checked in C)."""
    typ = typ or pa.string()
    buffers = [None, pa.py_buffer(d[f"{name}.off"]), pa.py_buffer(d[f"{name}.data"])]
    if valid is None or valid.all():
        return pa.Array.from_buffers(typ, n, buffers)
    buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(typ, n, buffers, null_count=int(n - valid.sum()))


def _nonblank(d: dict[str, Any], name: str, n: int) -> pa.Array:
    """The strings `name`, null where empty."""
    return _strings(d, name, n, np.diff(np.frombuffer(d[f"{name}.off"], np.int32)) != 0)


def _ints(d: dict[str, Any], name: str, dtype: Any = np.int64) -> np.ndarray:
    return np.frombuffer(d[name], dtype)


_TEXT_KINDS = np.array([1, 5, RAW_JSON], np.int8)  # STR, BYTES, RAW_JSON


def _level(d: dict[str, Any], prefix: str, child: AttrColumns | None) -> AttrColumns:
    m = d[f"{prefix}m"]
    kind = _ints(d, f"{prefix}kind", np.int8)
    keys = _strings(d, f"{prefix}keys", m, _ints(d, f"{prefix}key_valid", np.uint8).astype(bool))
    # null where the value is not text (the decoder wrote "" there)
    s = _strings(d, f"{prefix}s", m, np.isin(kind, _TEXT_KINDS))
    raw_rows = _ints(d, f"{prefix}raw_rows")
    if len(raw_rows):
        raw = _strings(d, f"{prefix}raw", len(raw_rows), typ=pa.binary()).to_pylist()
        texts = [natural_json(natural(AnyValue.FromString(v))) for v in raw]
        mask = np.zeros(m, bool)
        mask[raw_rows] = True
        s = pc.replace_with_mask(s, pa.array(mask), pa.array(texts, pa.string()))
    return AttrColumns(
        _ints(d, f"{prefix}owner"),
        keys,
        kind,
        s,
        _ints(d, f"{prefix}i_rows"),
        pa.array(_ints(d, f"{prefix}i")),
        _ints(d, f"{prefix}d_rows"),
        pa.array(_ints(d, f"{prefix}d", np.float64)),
        _ints(d, f"{prefix}b_rows"),
        pa.array(_ints(d, f"{prefix}b", np.uint8).astype(bool)),
        child,
    )


def _attrs(d: dict[str, Any], name: str) -> AttrColumns:
    return _level(d, f"{name}.", _level(d, f"{name}.child.", None))


def _hex(data: bytes, n: int, digits: int) -> pa.Array:
    offsets = np.arange(0, digits * (n + 1), digits, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def rendered_json(d: dict[str, Any]) -> dict[str, pa.Array] | None:
    """The JSON text columns the decoder rendered, or None when the batch is left to Python
    (a value nested two levels deep)."""
    if not d["rendered"]:
        return None
    sizes = {"resource_attributes": d["resources"]}
    return {name: _strings(d, f"json.{name}", sizes.get(name, d["n"])) for name in JSON_COLUMNS}


def span_columns(d: dict[str, Any]) -> SpanColumns:
    """The compiled decoder's buffers of one batch as the shared column-wise form."""
    n = d["n"]
    present = _ints(d, "parent_present", np.uint8).astype(bool)
    parent_offsets = np.zeros(n + 1, np.int32)
    np.cumsum(present * 16, out=parent_offsets[1:])
    parent = {"parent.off": parent_offsets.tobytes(), "parent.data": d["parent"]}
    ev_owner = _ints(d, "ev_owner")
    ln_owner = _ints(d, "ln_owner")
    scopes = len(d["scope_name.off"]) // 4 - 1
    return SpanColumns(
        trace_id=_hex(d["trace_id"], n, 32),
        span_id=_hex(d["span_id"], n, 16),
        parent_span_id=_strings(parent, "parent", n, present),
        trace_state=_nonblank(d, "state", n),
        name=_strings(d, "name", n),
        kind=pa.array(_ints(d, "kind")),
        start_ns=pa.array(_ints(d, "start")),
        end_ns=pa.array(_ints(d, "end")),
        status_code=pa.array(_ints(d, "code")),
        status_message=_nonblank(d, "message", n),
        resource_of=_ints(d, "resource_of"),
        scope_of=_ints(d, "scope_of"),
        resource_attrs=_attrs(d, "resource_attrs"),
        resource_count=d["resources"],
        scope_name=_nonblank(d, "scope_name", scopes),
        scope_version=_nonblank(d, "scope_version", scopes),
        attrs=_attrs(d, "attrs"),
        events=EventColumns(
            ev_owner,
            _strings(d, "ev_name", len(ev_owner)),
            pa.array(_ints(d, "ev_time")),
            _attrs(d, "ev_attrs"),
        ),
        links=LinkColumns(
            ln_owner,
            _hex(d["ln_trace"], len(ln_owner), 32),
            _hex(d["ln_span"], len(ln_owner), 16),
            _nonblank(d, "ln_state", len(ln_owner)),
            _attrs(d, "ln_attrs"),
        ),
    )
