"""OTLP logs (ExportLogsServiceRequest as binary protobuf, an OTLP/JSON document, or OTLP/JSON
lines as the Collector's file exporter writes them) -> `otel_logs` rows, and `eval_scores` rows
for the records that are ``gen_ai.evaluation.result`` events.

Session logs are far fewer than spans, so records are read one at a time into dicts rather than
column-wise; bodies and attributes pass through the redaction module before they are stored.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import load_json
from cicl_assets.ingest.redact import redact, redact_text
from cicl_assets.telemetry.evaluations import EVALUATION_EVENT, LOG_RECORD, evaluation_row
from cicl_assets.telemetry.logs_table import EVAL_SCORES, OTEL_LOGS
from cicl_assets.telemetry.otlp_json_normalize import _Bad, holds_its_list, natural
from cicl_assets.telemetry.otlp_proto import gc_paused
from cicl_assets.telemetry.otlp_proto import natural as proto_natural

BATCH_RECORDS = 10_000
_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SEVERITY_NAMES = {
    f"SEVERITY_NUMBER_{level}{'' if k == 0 else k + 1}": 4 * i + k + 1
    for i, level in enumerate(_LEVELS)
    for k in range(4)
}
SEVERITY_NAMES["SEVERITY_NUMBER_UNSPECIFIED"] = 0


def looks_otlp_json_logs(sniff: Sniff) -> bool:
    return (
        sniff.looks_json
        and sniff.contains(b'"resourceLogs"')
        and not sniff.contains(b'"resourceSpans"')
    )


def _tag(data: bytes, pos: int) -> tuple[int, int, int, int] | None:
    """(field, wire type, payload start, payload end) of the field at ``pos``; None past the
    buffer or on a malformed varint."""
    key, pos = _varint(data, pos)
    if key is None:
        return None
    field, wire = key >> 3, key & 7
    if wire == 2:
        size, pos = _varint(data, pos)
        if size is None:
            return None
        return field, wire, pos, pos + size
    if wire == 0:
        _, end = _varint(data, pos)
        return None if end is None else (field, wire, pos, end)
    width = {1: 8, 5: 4}.get(wire)
    return None if width is None else (field, wire, pos, pos + width)


def _varint(data: bytes, pos: int) -> tuple[int | None, int]:
    value, shift = 0, 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None, pos


def _first_child(data: bytes, start: int, end: int, field: int) -> tuple[int, int] | None:
    pos = start
    while pos < min(end, len(data)):
        tag = _tag(data, pos)
        if tag is None:
            return None
        number, wire, payload, after = tag
        if number == field and wire == 2:
            return payload, after
        pos = after
    return None


def looks_protobuf_logs(sniff: Sniff) -> bool:
    """Binary OTLP whose first record is a log record. Traces and logs requests share their
    outer shape (field 1 of resources, each with field 2 of scopes, each with field 2 of
    records); a span's first field is its trace id (field 1, bytes), a log record's field 1 is
    a fixed64 time, so it never starts with the tag 0x0a."""
    head = sniff.head
    if head[:1] != b"\x0a" or sniff.looks_json or sniff.looks_xml:
        return False
    resource = _first_child(head, 0, len(head), 1)
    scope = resource and _first_child(head, resource[0], resource[1], 2)
    record = scope and _first_child(head, scope[0], scope[1], 2)
    if not record or record[0] >= len(head):
        return False
    return head[record[0]] != 0x0A


def _time(ns: int) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9, UTC) if ns > 0 else None


class Records:
    """Rows of the two tables, handed out in batches."""

    def __init__(self) -> None:
        self.logs: list[dict[str, Any]] = []
        self.evaluations: list[dict[str, Any]] = []

    def add(
        self,
        resource: dict[str, Any],
        scope: tuple[str | None, str | None],
        *,
        time_ns: int,
        observed_ns: int,
        severity: int | None,
        severity_text: str | None,
        body: Any,
        attributes: dict[str, Any],
        trace_id: str | None,
        span_id: str | None,
        flags: int | None,
        event_name: str | None,
    ) -> None:
        event = event_name or _plain(attributes.get("event.name"))
        service = _plain(resource.get("service.name"))
        body_text, body_json = None, None
        if isinstance(body, str):
            body_text = redact_text(body)
        elif body is not None:
            body_json = orjson.dumps(redact(body)).decode()
        self.logs.append(
            {
                "time": _time(time_ns) or _time(observed_ns),
                "observed_time": _time(observed_ns),
                "severity_number": severity or None,
                "severity_text": severity_text or None,
                "body": body_text,
                "body_json": body_json,
                "event_name": event,
                "attributes": orjson.dumps(redact(attributes)).decode(),
                "resource_attributes": orjson.dumps(redact(resource)).decode(),
                "scope_name": scope[0] or None,
                "scope_version": scope[1] or None,
                "trace_id": trace_id,
                "span_id": span_id,
                "flags": flags or None,
                "service_name": service,
                "service_version": _plain(resource.get("service.version")),
                "deployment_environment": _plain(
                    resource.get("deployment.environment.name")
                    or resource.get("deployment.environment")
                ),
                "session_id": _plain(attributes.get("session.id")),
            }
        )
        if event == EVALUATION_EVENT:
            fields = {**body, **attributes} if isinstance(body, dict) else attributes
            self.evaluations.append(
                evaluation_row(
                    fields,
                    time_ns or observed_ns,
                    carrier=LOG_RECORD,
                    trace_id=trace_id,
                    span_id=span_id,
                    evaluator=service,
                )
            )

    def full(self) -> bool:
        return len(self.logs) >= BATCH_RECORDS

    def drain(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        if self.logs:
            yield OTEL_LOGS.name, self.logs
        if self.evaluations:
            yield EVAL_SCORES.name, self.evaluations
        self.logs, self.evaluations = [], []


def _plain(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


# --- OTLP/JSON --------------------------------------------------------------------------------


def parse_logs_json(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An OTLP/JSON logs document or OTLP/JSON lines (told apart by the first line)."""
    first_line = data.lstrip().split(b"\n", 1)[0].strip()
    records = Records()
    with gc_paused():
        if len(first_line) > 1 and first_line.endswith(b"}"):
            for number, line in enumerate(data.split(b"\n"), 1):
                if line.strip():
                    doc = load_json(line, first_line=number, strict_numbers=True)
                    yield from _json_request(doc, f"line {number}: ", records)
        else:
            yield from _json_request(load_json(data, strict_numbers=True), "", records)
        yield from records.drain()


def _json_request(
    doc: Any, prefix: str, records: Records
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    # {} is a request without records, as for traces; other members without resourceLogs are not
    no_list = isinstance(doc, dict) and doc.get("resourceLogs") is None
    if not isinstance(doc, dict) or (no_list and any(v is not None for v in doc.values())):
        keys = ", ".join(sorted(doc)[:5]) if isinstance(doc, dict) else type(doc).__name__
        raise ParseError(f"{prefix}expected an ExportLogsServiceRequest (resourceLogs); got {keys}")
    try:
        for ri, rl in enumerate(_list(doc.get("resourceLogs"), "resourceLogs")):
            path = f"resourceLogs[{ri}]"
            rl = _obj(rl, path)
            holds_its_list(rl, "scopeLogs", ("resource", "schemaUrl"), path, "", "ResourceLogs")
            resource = _attributes(_obj(rl.get("resource"), path).get("attributes"), path)
            for si, sl in enumerate(_list(rl.get("scopeLogs"), f"{path}.scopeLogs")):
                spath = f"{path}.scopeLogs[{si}]"
                sl = _obj(sl, spath)
                holds_its_list(sl, "logRecords", ("scope", "schemaUrl"), spath, "", "ScopeLogs")
                scope = _obj(sl.get("scope"), f"{spath}.scope")
                names = (_str(scope.get("name"), spath), _str(scope.get("version"), spath))
                for k, rec in enumerate(_list(sl.get("logRecords"), f"{spath}.logRecords")):
                    _json_record(
                        records, resource, names, _obj(rec, ""), f"{spath}.logRecords[{k}]"
                    )
                    if records.full():
                        yield from records.drain()
    except _Bad as exc:
        raise ParseError(f"{prefix}{exc.path}: {exc.message}") from None


def _json_record(
    records: Records,
    resource: dict[str, Any],
    scope: tuple[str | None, str | None],
    rec: dict[str, Any],
    path: str,
) -> None:
    body = rec.get("body")
    records.add(
        resource,
        scope,
        time_ns=_nanos(rec.get("timeUnixNano"), f"{path}.timeUnixNano"),
        observed_ns=_nanos(rec.get("observedTimeUnixNano"), f"{path}.observedTimeUnixNano"),
        severity=_severity(rec.get("severityNumber"), f"{path}.severityNumber"),
        severity_text=_str(rec.get("severityText"), f"{path}.severityText"),
        body=None if body is None else natural(body, f"{path}.body"),
        attributes=_attributes(rec.get("attributes"), path),
        trace_id=_hex(rec.get("traceId"), 32, f"{path}.traceId"),
        span_id=_hex(rec.get("spanId"), 16, f"{path}.spanId"),
        flags=_nanos(rec.get("flags"), f"{path}.flags"),
        event_name=_str(rec.get("eventName"), f"{path}.eventName"),
    )


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(path, f"expected a list, got {type(value).__name__}")
    return value


def _obj(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(path, f"expected an object, got {type(value).__name__}")
    return value


def _str(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise _Bad(path, f"expected a string, got {type(value).__name__}")


def _nanos(value: Any, path: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _Bad(path, f"{value!r} is not an unsigned integer (nanoseconds since 1970 as text)")


def _severity(value: Any, path: str) -> int | None:
    if isinstance(value, str) and value in SEVERITY_NAMES:
        return SEVERITY_NAMES[value] or None
    number = _nanos(value, path)
    if number > 24:
        raise _Bad(path, f"{value!r} is not a severity number (1-24)")
    return number or None


def _hex(value: Any, digits: int, path: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) != digits:
        raise _Bad(path, f"{value!r} is not {digits} hex digits")
    try:
        binascii.unhexlify(value)
    except binascii.Error:
        raise _Bad(path, f"{value!r} is not {digits} hex digits") from None
    return value.lower()


def _attributes(items: Any, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, kv in enumerate(_list(items, f"{path}.attributes")):
        kv = _obj(kv, f"{path}.attributes[{i}]")
        key = _str(kv.get("key"), f"{path}.attributes[{i}].key")
        out[key or ""] = natural(kv.get("value"), f"{path}.attributes[{i}]")
    return out


# --- protobuf ---------------------------------------------------------------------------------


def parse_logs_protobuf(
    data: bytes, source_file: str
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    try:
        request = ExportLogsServiceRequest.FromString(data)
    except DecodeError as exc:
        raise ParseError(
            f"not a readable protobuf ExportLogsServiceRequest ({exc}); truncated or not OTLP"
        ) from None
    records = Records()
    with gc_paused():
        for ri, rl in enumerate(request.resource_logs):
            resource = proto_attributes(rl.resource.attributes)
            for si, sl in enumerate(rl.scope_logs):
                scope = (sl.scope.name, sl.scope.version)
                for k, rec in enumerate(sl.log_records):
                    where = f"resourceLogs[{ri}].scopeLogs[{si}].logRecords[{k}]"
                    add_proto_record(records, resource, scope, rec, where)
                    if records.full():
                        yield from records.drain()
        yield from records.drain()


def proto_attributes(attributes: Any) -> dict[str, Any]:
    """Repeated KeyValues as a dict: a repeated key keeps its first place and its last value."""
    return {kv.key: proto_natural(kv.value) for kv in attributes}


def add_proto_record(
    records: Records,
    resource: dict[str, Any],
    scope: tuple[str | None, str | None],
    rec: Any,
    where: str,
) -> None:
    """One protobuf LogRecord's rows (the compiled decoder hands its hard records here too)."""
    records.add(
        resource,
        scope,
        time_ns=rec.time_unix_nano,
        observed_ns=rec.observed_time_unix_nano,
        severity=rec.severity_number or None,
        severity_text=rec.severity_text,
        body=proto_natural(rec.body) if rec.HasField("body") else None,
        attributes=proto_attributes(rec.attributes),
        trace_id=_id_bytes(rec.trace_id, 16, f"{where}.traceId"),
        span_id=_id_bytes(rec.span_id, 8, f"{where}.spanId"),
        flags=rec.flags,
        event_name=rec.event_name,
    )


def _id_bytes(value: bytes, size: int, where: str) -> str | None:
    if not value:
        return None
    if len(value) != size:
        raise ParseError(f"{where}: invalid id ({len(value)} bytes, expected {size})")
    return value.hex()
