"""OTLP protobuf logs through the compiled decoder, with `otlp_logs.parse_logs_protobuf` as the
fallback.

The C extension (`_otlp_logs.h`) checks the whole request first, as it does a traces request
(`otlp_compiled`): a request it does not pass goes to the fallback, which words the reject or
decodes what only the protobuf runtime interprets. Then it reads the records straight into the
`otel_logs` columns, with attributes, resource attributes and non-string bodies rendered as the
JSON text the fallback's orjson writes. The fallback redacts each record as it builds it; here
the rendered texts are matched at once against the pattern every text holding a secret matches
(`ingest.redact_table.prefilter`), and the records that match, like those the decoder flags as
hard (a repeated key, a non-string event.name, an evaluation result), are decoded again one by
one by the fallback's own code (`otlp_logs.add_proto_record`), from the bytes the decoder says
they span. So every row is the fallback's, byte for byte; most are built without a Python object
per value. Without the extension, or with CICL_COMPILED_DECODERS=off, every request goes to the
fallback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from cicl_assets.ingest.redact_table import prefilter
from cicl_assets.telemetry import otlp_compiled
from cicl_assets.telemetry.logs_table import EVAL_SCORES, OTEL_LOGS
from cicl_assets.telemetry.otlp_logs import (
    BATCH_RECORDS,
    Records,
    add_proto_record,
    parse_logs_protobuf,
    proto_attributes,
)
from cicl_assets.telemetry.otlp_proto import gc_paused
from cicl_assets.warehouse.tables import UTC_TS


def available() -> bool:
    """Whether the compiled logs decoder is built and may be used (CICL_COMPILED_DECODERS)."""
    return otlp_compiled.available() and hasattr(otlp_compiled._otlp_decode, "LogDecoder")


def check(data: bytes) -> tuple[str, str | None, int]:
    """The compiled check's verdict on a logs request: ("ok" | "reject" | "unusual", why, offset)."""
    status, why, offset = otlp_compiled._otlp_decode.check_logs(data)
    return ("ok", "reject", "unusual")[status], why, offset


def parse_logs_protobuf_compiled(
    data: bytes, source_file: str
) -> Iterator[tuple[str, pa.Table | list[dict[str, Any]]]]:
    """`otel_logs` and `eval_scores` batches of a request: compiled when possible, else the
    fallback's."""
    if available() and check(data)[0] == "ok":
        return decode_compiled(data)
    return parse_logs_protobuf(data, source_file)


def decode_compiled(data: bytes) -> Iterator[tuple[str, pa.Table | list[dict[str, Any]]]]:
    """Batches of a request `check` passed (ValueError if it did not), as the fallback's: the
    records of each batch, then the evaluation results among them."""
    decoder = otlp_compiled._otlp_decode.LogDecoder(data)
    suspect = prefilter()
    while True:
        with gc_paused():
            batch = decoder.next(BATCH_RECORDS)
            if batch is None:
                return
            table, hard = _table(batch, suspect)
            records = Records()
            if len(hard):
                table = _replace_rows(table, hard, _decode_rows(data, batch, hard, records))
        yield OTEL_LOGS.name, table
        if records.evaluations:
            yield EVAL_SCORES.name, records.evaluations


def _ints(d: dict[str, Any], name: str, dtype: Any = np.int64) -> np.ndarray:
    return np.frombuffer(d[name], dtype)


def _strings(d: dict[str, Any], name: str, n: int, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow strings from the decoder's offsets and bytes (UTF-8 already checked in C)."""
    buffers = [None, pa.py_buffer(d[f"{name}.off"]), pa.py_buffer(d[f"{name}.data"])]
    if valid is None or valid.all():
        return pa.Array.from_buffers(pa.string(), n, buffers)
    buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), n, buffers, null_count=int(n - valid.sum()))


def _nonblank(d: dict[str, Any], name: str, n: int) -> pa.Array:
    """The strings `name`, null where empty (the fallback's ``value or None``)."""
    return _strings(d, name, n, np.diff(np.frombuffer(d[f"{name}.off"], np.int32)) != 0)


def _timestamps(ns: np.ndarray) -> pa.Array:
    """Nanoseconds as the fallback's ``datetime.fromtimestamp(ns / 1e9, UTC)`` gives them (the
    float seconds' fraction rounded half to even to microseconds); null where 0."""
    seconds = ns.astype(np.float64) / 1e9
    whole = np.trunc(seconds)
    micros = whole.astype(np.int64) * 1_000_000 + np.rint((seconds - whole) * 1e6).astype(np.int64)
    return pa.array(micros, UTC_TS, mask=ns <= 0)


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    hits = pc.fill_null(pc.match_substring_regex(values, pattern, ignore_case=True), False)
    return hits.to_numpy(zero_copy_only=False)


def _table(d: dict[str, Any], suspect: str) -> tuple[pa.Table, np.ndarray]:
    """The batch's `otel_logs` columns, and the rows Python must decode instead: those flagged
    hard and those whose texts (or their resource's) may hold a secret."""
    n, resources, scopes = d["n"], d["resources"], d["scopes"]
    resource_of = pa.array(_ints(d, "resource_of"))
    scope_of = pa.array(_ints(d, "scope_of"))
    time, observed = _ints(d, "time"), _ints(d, "observed")
    severity, flags = _ints(d, "severity"), _ints(d, "flags")
    body_kind = _ints(d, "body_kind", np.uint8)
    body = _strings(d, "body", n, body_kind == 1)
    body_json = _strings(d, "body_json", n, body_kind == 2)
    attributes = _strings(d, "attributes", n)
    resource_json = _strings(d, "resource_attributes", resources)
    columns = {
        "time": _timestamps(np.where(time > 0, time, observed)),
        "observed_time": _timestamps(observed),
        "severity_number": pa.array(severity, mask=severity == 0),
        "severity_text": _nonblank(d, "severity_text", n),
        "body": body,
        "body_json": body_json,
        "event_name": _nonblank(d, "event_name", n),
        "attributes": attributes,
        "resource_attributes": resource_json.take(resource_of),
        "scope_name": _nonblank(d, "scope_name", scopes).take(scope_of),
        "scope_version": _nonblank(d, "scope_version", scopes).take(scope_of),
        "trace_id": _nonblank(d, "trace_id", n),
        "span_id": _nonblank(d, "span_id", n),
        "flags": pa.array(flags, mask=flags == 0),
        "service_name": _nonblank(d, "service_name", resources).take(resource_of),
        "service_version": _nonblank(d, "service_version", resources).take(resource_of),
        "deployment_environment": _nonblank(d, "deployment_environment", resources).take(
            resource_of
        ),
        "session_id": _nonblank(d, "session_id", n),
    }
    resource_hard = _ints(d, "res_hard", np.uint8).astype(bool) | _matches(resource_json, suspect)
    hard = (
        _ints(d, "hard", np.uint8).astype(bool)
        | resource_hard[_ints(d, "resource_of")]
        | _matches(attributes, suspect)
        | _matches(body, suspect)
        | _matches(body_json, suspect)
    )
    return OTEL_LOGS.conform(pa.table(columns)), np.flatnonzero(hard)


def _decode_rows(
    data: bytes, d: dict[str, Any], rows: np.ndarray, records: Records
) -> list[dict[str, Any]]:
    """The fallback's rows for records `rows` of the batch, from the bytes each one spans."""
    at, size = _ints(d, "at"), _ints(d, "len")
    res_at, res_len = _ints(d, "res_at"), _ints(d, "res_len")
    resource_of, scope_of = _ints(d, "resource_of"), _ints(d, "scope_of")
    names = _strings(d, "scope_name", d["scopes"]).to_pylist()
    versions = _strings(d, "scope_version", d["scopes"]).to_pylist()
    resources: dict[int, dict[str, Any]] = {}
    for row in rows.tolist():
        r = int(resource_of[row])
        if r not in resources:
            start = int(res_at[r])  # -1: the ResourceLogs has no resource
            end = start + int(res_len[r])
            message = Resource.FromString(data[start:end]) if start >= 0 else Resource()
            resources[r] = proto_attributes(message.attributes)
        s = int(scope_of[row])
        start = int(at[row])
        record = LogRecord.FromString(data[start : start + int(size[row])])
        add_proto_record(records, resources[r], (names[s], versions[s]), record, f"byte {start}")
    return records.logs


def _replace_rows(table: pa.Table, rows: np.ndarray, decoded: list[dict[str, Any]]) -> pa.Table:
    """`table` with `rows` replaced by the fallback's `decoded` rows, in the same order."""
    keep = np.ones(table.num_rows, bool)
    keep[rows] = False
    combined = pa.concat_tables([table.filter(pa.array(keep)), OTEL_LOGS.from_records(decoded)])
    positions = np.concatenate([np.flatnonzero(keep), rows])
    return combined.take(pa.array(np.argsort(positions, kind="stable")))
