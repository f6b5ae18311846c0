"""Redaction of a parsed Arrow table, column by column, before it is spooled.

Every string column is redacted with ``redact_text``: a table's ``json_columns`` (attribute
maps, events, original records) hold JSON text, which is redacted structurally, so keys such as
``db.password`` or ``http.request.header.cookie`` decide; other string columns are free text
(status messages, error bodies, URLs). ``TableSpec.verbatim_columns`` (identifiers and digests:
trace and span ids, ``source_file``, content digests) are stored as they are.

One vectorised regular-expression match (RE2, inside Arrow) over each column's distinct values
finds those that may hold a secret; only those go through Python, so a batch without secrets
costs one hash and one scan of the distinct values per column.

Where the compiled extension is built and no extra key patterns are configured, a scan in C
(``telemetry/_secret_scan.h``) first clears the values that hold none of the words any rule
needs; only the rest are hashed, matched and redacted as above. Values cleared that way are
ones the path above leaves unchanged (tests/unit/ingest/test_secret_scan.py compares both), so
the output is the same, at a third of the cost or less on span attributes.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from cicl_assets.ingest.redact import current_policy, redact_text
from cicl_assets.ingest.secret_text import HIDDEN_IN_JSON, MAY_HOLD_SECRET
from cicl_assets.settings import compiled_decoders
from cicl_assets.warehouse.tables import TableSpec

try:
    from cicl_assets.telemetry._otlp_decode import scan_strings
except ImportError:  # built without a compiler: every value goes through the RE2 prefilter
    scan_strings = None

# Set by the runner, not the parsers: it must match the path recorded in ingested_files.
ALWAYS_VERBATIM = frozenset({"source_file"})


def prefilter() -> str:
    """The pattern a value must match to be looked at: the built-in one, what JSON text hides
    from it, and the configured extra key patterns."""
    # A key pattern anchored to the key (^x-internal-) is searched unanchored in the text.
    extra = (p.removeprefix("^").removesuffix("$") for p in current_policy().extra_key_patterns)
    return "|".join((MAY_HOLD_SECRET, HIDDEN_IN_JSON, *(f"(?:{p})" for p in extra)))


def redact_table(table: pa.Table, spec: TableSpec) -> pa.Table:
    """``table`` with every secret in its string columns replaced by its marker."""
    if table.num_rows == 0:
        return table
    pattern = prefilter()
    scan = scan_strings is not None and not current_policy().extra_key_patterns
    scan = scan and compiled_decoders()
    for i, field in enumerate(table.schema):
        if not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
            continue
        if field.name in spec.verbatim_columns or field.name in ALWAYS_VERBATIM:
            continue
        column = table.column(i).combine_chunks()
        if scan:
            cleaned = _redact_scanned(column, pattern)
        else:
            cleaned = _redact_column(column, pattern)
        if cleaned is not None:
            table = table.set_column(i, field, cleaned)
    return table


def _redact_column(column: pa.Array, pattern: str) -> pa.Array | None:
    """The column with its secrets replaced, or None when it holds none. Each distinct value is
    matched once: most columns repeat (a resource's attributes on each of its spans)."""
    encoded = pc.dictionary_encode(column)
    values = encoded.dictionary
    hits = pc.fill_null(pc.match_substring_regex(values, pattern, ignore_case=True), False)
    if not pc.any(hits).as_py():
        return None
    suspects = pc.filter(values, hits).to_pylist()
    cleaned = pa.array([redact_text(v) for v in suspects], column.type)
    return pc.take(pc.replace_with_mask(values, hits, cleaned), encoded.indices)


def may_change(column: pa.Array) -> pa.BooleanArray:
    """True for each value of a string column that redaction must look at (see the module
    doc); false for null values. Needs the compiled extension."""
    assert scan_strings is not None
    _, offsets, data = column.buffers()
    wide = pa.types.is_large_string(column.type)
    bits = scan_strings(offsets, data, column.offset, len(column), wide)
    flags = pa.Array.from_buffers(pa.bool_(), len(column), [None, pa.py_buffer(bits)])
    return pc.and_(flags, pc.is_valid(column)) if column.null_count else flags


def _redact_scanned(column: pa.Array, pattern: str) -> pa.Array | None:
    """``_redact_column`` on the values the C scan flags; the others stay as they are."""
    flagged = may_change(column)
    if not pc.any(flagged).as_py():
        return None
    cleaned = _redact_column(pc.filter(column, flagged), pattern)
    if cleaned is None:
        return None
    return pc.replace_with_mask(column, flagged, cleaned)
