"""OTLP attributes held column-wise, rendered to JSON text and promoted to columns with Arrow.

Both OTLP parsers (protobuf and JSON) flatten every attribute list of a batch into one
`AttrColumns`: which owner (span, event, link, resource) each key/value belongs to, the key, the
AnyValue kind and the value in a typed column. JSON text is then assembled by Arrow kernels over
whole columns, never by a per-span ``json.dumps``; only strings that need escaping and values
nested deeper than one level go through Python. Sharing this step is also what makes a request
give identical rows whichever encoding it arrived in.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EMPTY, STR, BOOL, INT, DOUBLE, BYTES, ARRAY, KVLIST, RAW_JSON = range(9)
_SPECIAL = r'[\x00-\x1f"\\]'


@dataclass
class AttrColumns:
    """Key/values of many owners, owners in non-decreasing order.

    ``s`` (one entry per row) holds STR values, BYTES as base64 and RAW_JSON (rendered text of
    a value nested deeper than one level), null otherwise. INT, DOUBLE and BOOL values are
    stored compactly with the rows they belong to. ARRAY and KVLIST rows own rows of
    ``children`` (whose keys are null for array elements).
    """

    owner: np.ndarray
    keys: pa.Array
    kind: np.ndarray
    s: pa.Array
    i_rows: np.ndarray
    i: pa.Array
    d_rows: np.ndarray
    d: pa.Array
    b_rows: np.ndarray
    b: pa.Array
    children: AttrColumns | None = None
    _keys_encoded: pa.DictionaryArray | None = None

    def __len__(self) -> int:
        return len(self.kind)

    def keys_encoded(self) -> pa.DictionaryArray:
        """Keys dictionary-encoded (few distinct keys, many rows), computed once."""
        if self._keys_encoded is None:
            self._keys_encoded = pc.dictionary_encode(self.keys)
        return self._keys_encoded


def quote(strings: pa.Array) -> pa.Array:
    """JSON string literals; Python escapes only the rare strings that need it."""
    quoted = pc.binary_join_element_wise('"', strings, '"', "")
    data = strings.buffers()[2] if len(strings) else None
    if data is None or not _has_special(np.frombuffer(data, np.uint8)):
        return quoted
    special = pc.fill_null(pc.match_substring_regex(strings, _SPECIAL), False)
    if pc.any(special).as_py():
        escaped = [
            json.dumps(v, ensure_ascii=False) for v in pc.filter(strings, special).to_pylist()
        ]
        quoted = pc.replace_with_mask(quoted, special, pa.array(escaped, pa.string()))
    return quoted


def _has_special(raw: np.ndarray) -> bool:
    return bool((raw < 0x20).any() or (raw == 0x22).any() or (raw == 0x5C).any())


def quote_repeated(strings: pa.Array) -> pa.Array:
    """`quote` for columns with few distinct values (keys, names): quote each value once."""
    encoded = pc.dictionary_encode(strings)
    return pc.take(quote(encoded.dictionary), encoded.indices)


def _group_join(texts: pa.Array, owner: np.ndarray, n: int) -> pa.Array:
    """Comma-join ``texts`` per owner (0..n-1); owners without rows give an empty string."""
    if len(owner) > 1 and (np.diff(owner) < 0).any():
        order = np.argsort(owner, kind="stable")
        texts, owner = texts.take(pa.array(order)), owner[order]
    counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, np.int64)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), texts), ",")


def _double_texts(d: pa.Array) -> pa.Array:
    texts = d.cast(pa.string())
    if len(d) and not pc.all(pc.is_finite(d)).as_py():
        texts = pc.if_else(
            pc.is_nan(d),
            '"NaN"',
            pc.if_else(
                pc.is_inf(d), pc.if_else(pc.greater(d, 0.0), '"Infinity"', '"-Infinity"'), texts
            ),
        )
    return texts


def value_texts(cols: AttrColumns) -> pa.Array:
    """JSON text of every value (natural JSON: strings, numbers, booleans, arrays, objects)."""
    m = len(cols)
    kind = cols.kind
    texts = quote(cols.s)
    raw = kind == RAW_JSON
    if raw.any():
        texts = pc.if_else(pa.array(raw), cols.s, texts)
    pieces: list[tuple[np.ndarray, pa.Array]] = [
        (cols.i_rows, cols.i.cast(pa.string())),
        (cols.d_rows, _double_texts(cols.d)),
        (cols.b_rows, pc.if_else(cols.b, "true", "false")),
    ]
    nested_rows = np.flatnonzero((kind == ARRAY) | (kind == KVLIST))
    if len(nested_rows):
        if cols.children is not None and len(cols.children):
            joined = _group_join(fragments(cols.children), cols.children.owner, m)
            joined = pc.take(joined, pa.array(nested_rows))
        else:
            joined = pa.array([""] * len(nested_rows), pa.string())
        is_array = pa.array(kind[nested_rows] == ARRAY)
        pieces.append(
            (
                nested_rows,
                pc.binary_join_element_wise(
                    pc.if_else(is_array, "[", "{"), joined, pc.if_else(is_array, "]", "}"), ""
                ),
            )
        )
    empty_rows = np.flatnonzero(kind == EMPTY)
    pieces.append((empty_rows, pa.array(["null"] * len(empty_rows), pa.string())))
    pieces = [(rows, text) for rows, text in pieces if len(rows)]
    if not pieces:
        return texts
    index = np.arange(m, dtype=np.int64)
    position = m
    for rows, _ in pieces:
        index[rows] = np.arange(position, position + len(rows))
        position += len(rows)
    return pa.concat_arrays([texts, *(text for _, text in pieces)]).take(pa.array(index))


def fragments(cols: AttrColumns) -> pa.Array:
    """`"key":value` per row, or just the value for array elements (null key)."""
    texts = value_texts(cols)
    if not len(cols):
        return texts
    encoded = cols.keys_encoded()
    quoted_keys = pc.take(quote(encoded.dictionary), encoded.indices)
    keyed = pc.binary_join_element_wise(quoted_keys, texts, ":")
    return pc.coalesce(keyed, texts) if cols.keys.null_count else keyed


def render_objects(cols: AttrColumns, n: int) -> pa.Array:
    """One JSON object per owner 0..n-1 (``{}`` for owners without attributes)."""
    joined = _group_join(fragments(cols), cols.owner, n)
    return pc.binary_join_element_wise("{", joined, "}", "")


def promote(cols: AttrColumns, n: int, keys: Sequence[str], kind: int) -> pa.Array:
    """Per owner, the value of the first of ``keys`` present with the given kind, else null."""
    target = pa.string() if kind == STR else pa.int64()
    if not len(cols):
        return pa.nulls(n, target)
    encoded = cols.keys_encoded()
    positions = {k: p for p, k in enumerate(encoded.dictionary.to_pylist())}
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    if kind == STR:
        source, slot = cols.s, np.arange(len(cols))
    else:
        source, slot = cols.i, np.full(len(cols), -1, np.int64)
        slot[cols.i_rows] = np.arange(len(cols.i_rows))
    pick = np.full(n, -1, np.int64)
    for key in reversed(keys):  # the first key is assigned last, so it wins
        if key not in positions:
            continue
        rows = np.flatnonzero((indices == positions[key]) & (cols.kind == kind))
        pick[cols.owner[rows]] = slot[rows]
    return pc.take(source, pa.array(pick, mask=pick < 0)).cast(target)


def natural_json(value: Any) -> str:
    """JSON text of a natural Python value (non-finite floats as OTLP/JSON spells them)."""
    return json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
