"""OTLP/JSON traces through the compiled reader, with the Python reader (otlp_json) as the fallback.

The C reader (`_otlp_jsonin.h`, the `JsonDecoder` of the compiled decoder's extension) fills the
column buffers the compiled protobuf decoder fills, so the rest (`span_columns`, the JSON text
columns rendered in C, the promoted picks, `span_batch.build_table`) is the protobuf path's.
It reads canonical OTLP/JSON only; a request it is unsure of (enum names, snake_case names,
malformed or invalid UTF-8 text, values nested two levels deep, missing ids or times...) goes
to the Python reader with the whole of its unit (the document, or the Python reader's chunk of
lines that holds it), which the Python reader then reads or rejects exactly as without the C one,
line numbers included.
Without the extension, or with CICL_COMPILED_DECODERS=off, the Python reader reads everything.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from cicl_assets.telemetry import otlp_compiled, otlp_json
from cicl_assets.telemetry.otlp_json import one_request_per_line, parse_json, parse_lines
from cicl_assets.telemetry.otlp_proto import gc_paused
from cicl_assets.telemetry.span_batch import BATCH_SPANS, SCHEMA, build_table
from cicl_assets.telemetry.spans_table import OTEL_SPANS


def parse_json_spans(data: bytes, source_file: str) -> Iterator[tuple[str, pa.Table]]:
    """`otel_spans` batches of an OTLP/JSON document or JSON lines: compiled when possible."""
    if not otlp_compiled.available():
        return parse_json(data, source_file)
    return decode_json_compiled(data, source_file)


def decode_json_compiled(
    data: bytes, source_file: str, limit: int = BATCH_SPANS
) -> Iterator[tuple[str, pa.Table]]:
    """Batches of whole requests of about ``limit`` spans; unsure requests read in Python."""
    lines = one_request_per_line(data)
    decoder = otlp_compiled._otlp_decode.JsonDecoder(
        data, lines, otlp_json.CHUNK_BYTES, otlp_compiled._PROMOTE
    )
    rows = 0
    while True:
        with gc_paused():
            batch = decoder.next(limit)
            if batch is None:
                break
            if isinstance(batch, tuple):
                if not lines:  # the document is one request: the Python reader takes it all
                    yield from parse_json(data, source_file)
                    return
                start, end, line_no = batch
                tables = list(parse_lines(data[start:end], line_no))
            else:
                tables = [
                    (
                        OTEL_SPANS.name,
                        build_table(
                            otlp_compiled.span_columns(batch),
                            otlp_compiled.rendered_json(batch),
                            otlp_compiled.picks(batch),
                        ),
                    )
                ]
        for table in tables:
            rows += table[1].num_rows
            yield table
    if not lines and rows == 0:  # the Python reader gives a document without spans a table too
        yield OTEL_SPANS.name, SCHEMA.empty_table()
