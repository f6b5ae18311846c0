"""Rewrite one decoded OTLP/JSON trace request into the canonical shape the Arrow reader takes.

OTLP/JSON allows 64-bit integers as numbers or strings, enums as integers or names, doubles as
numbers or "NaN"/"Infinity" strings. The canonical shape has one JSON type per field; values
nested deeper than one level are rendered to JSON text here. Wrong types raise ParseError
naming the line (``prefix``) and the path inside the request.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.redact import redact_text
from cicl_assets.telemetry.attributes import b64, natural_json

SPAN_KIND_CODES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
NON_TRACE_SIGNALS = {
    "resourceLogs": "OTLP logs",
    "resourceMetrics": "OTLP metrics",
    "resourceProfiles": "OTLP profiles",
}
_INT64 = (-(2**63), 2**63 - 1)
_NON_FINITE = ("NaN", "Infinity", "-Infinity")


class _Bad(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def normalize_request(doc: Any, prefix: str) -> dict[str, Any]:
    """The canonical form of one ExportTraceServiceRequest; ``prefix`` like "line 3: "."""
    if not isinstance(doc, dict):
        raise ParseError(f"{prefix}expected an OTLP/JSON object, got {type(doc).__name__}")
    if doc.get("resourceSpans") is None:
        for key, signal in NON_TRACE_SIGNALS.items():
            if key in doc:
                raise ParseError(f"{prefix}{signal}, not traces: the request holds {key!r}")
    try:
        holds_its_list(doc, "resourceSpans", (), "", " in the request", "traces request")
        return {
            "resourceSpans": [
                _resource_spans(rs, f"resourceSpans[{i}]")
                for i, rs in enumerate(_list(doc.get("resourceSpans"), "resourceSpans"))
            ]
        }
    except _Bad as exc:
        where = f"{exc.path}: " if exc.path else ""
        raise ParseError(f"{prefix}{where}{exc.message}") from None


def holds_its_list(
    obj: dict[str, Any], list_name: str, known: tuple[str, ...], path: str, where: str, what: str
) -> None:
    """An object of a level that leads to spans (or log records), without its list but with
    members the reader does not know, is a misspelling or another message: reading it as empty
    would lose what it holds. Protobuf's JSON parser ignores unknown members; we ignore them only
    beside the list. The logs reader (otlp_logs) uses it too."""
    if obj.get(list_name) is not None:
        return
    unknown = [name for name, value in obj.items() if value is not None and name not in known]
    if unknown:
        found = ", ".join(f'"{name[:40]}"' for name in sorted(obj)[:5])
        raise _Bad(path, f"no {list_name}{where} (found {found}): not an OTLP/JSON {what}")


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
        return value
    raise _Bad(path, f"expected a string, got {value!r}")


def _nanos(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Bad(path, f"expected unix nanoseconds, got {value!r}")
    if isinstance(value, int) and 0 <= value <= _INT64[1]:
        return str(value)
    if isinstance(value, float) and value.is_integer() and 0 <= value <= _INT64[1]:
        return str(int(value))
    if isinstance(value, str) and value.isdigit() and int(value) <= _INT64[1]:
        return str(int(value))
    raise _Bad(path, f"expected unix nanoseconds, got {value!r}")


def _enum(value: Any, names: dict[str, int], path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in names:
            return names[value]
        short = {k.rsplit("_", 1)[-1]: v for k, v in names.items()}
        if value.upper() in short:
            return short[value.upper()]
    raise _Bad(path, f"unknown enum value {value!r} (expected one of {', '.join(names)})")


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise _Bad(path, f"intValue {value!r} is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise _Bad(path, f"intValue {value!r} is not an integer") from None
    else:
        raise _Bad(path, f"intValue {value!r} is not an integer")
    if not _INT64[0] <= number <= _INT64[1]:
        raise _Bad(path, f"intValue {value!r} does not fit in 64 bits")
    return number


def _double(value: Any, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if value in _NON_FINITE:
            return float(value.replace("Infinity", "inf"))
        try:
            return float(value)
        except ValueError:
            pass
    raise _Bad(path, f"doubleValue {value!r} is not a number")


def _bytes(value: Any, path: str) -> str:
    if isinstance(value, str):
        try:
            return b64(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            pass
    raise _Bad(path, f"bytesValue {redact_text(str(value))[:40]!r} is not base64")


def natural(value: Any, path: str) -> Any:
    """An OTLP/JSON AnyValue as a natural Python value (bytes as base64 text)."""
    value = _obj(value, path)
    if "stringValue" in value:
        return _str(value["stringValue"], path)
    if "boolValue" in value:
        if not isinstance(value["boolValue"], bool):
            raise _Bad(path, f"boolValue {value['boolValue']!r} is not true/false")
        return value["boolValue"]
    if "intValue" in value:
        return _int(value["intValue"], path)
    if "doubleValue" in value:
        return _double(value["doubleValue"], path)
    if "bytesValue" in value:
        return _bytes(value["bytesValue"], path)
    if "arrayValue" in value:
        items = _list(_obj(value["arrayValue"], path).get("values"), path)
        return [natural(v, f"{path}[{i}]") for i, v in enumerate(items)]
    if "kvlistValue" in value:
        entries = _list(_obj(value["kvlistValue"], path).get("values"), path)
        return {
            str(_obj(kv, path).get("key")): natural(kv.get("value"), f"{path}.{kv.get('key')}")
            for kv in entries
        }
    return None


def _value(value: Any, path: str, depth: int) -> dict[str, Any]:
    value = _obj(value, path)
    if "arrayValue" in value or "kvlistValue" in value:
        if depth >= 1:
            return {"jsonText": natural_json(natural(value, path))}
        if "arrayValue" in value:
            items = _list(_obj(value["arrayValue"], path).get("values"), path)
            return {
                "arrayValue": {
                    "values": [_value(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(items)]
                }
            }
        entries = _list(_obj(value["kvlistValue"], path).get("values"), path)
        return {"kvlistValue": {"values": _attrs(entries, path, depth + 1)}}
    plain = natural(value, path)
    if plain is None:
        return {}
    if "stringValue" in value:
        return {"stringValue": plain}
    if "boolValue" in value:
        return {"boolValue": plain}
    if "intValue" in value:
        return {"intValue": str(plain)}
    if "bytesValue" in value:
        return {"bytesValue": plain}
    if math.isfinite(plain):
        return {"doubleValue": plain}
    return {
        "doubleText": "NaN" if math.isnan(plain) else ("Infinity" if plain > 0 else "-Infinity")
    }


def _attrs(items: Any, path: str, depth: int = 0) -> list[dict[str, Any]]:
    out = []
    for i, kv in enumerate(_list(items, path)):
        kv = _obj(kv, f"{path}[{i}]")
        key = _str(kv.get("key"), f"{path}[{i}].key")
        out.append({"key": key, "value": _value(kv.get("value"), f"{path}[{i}]", depth)})
    return out


def _resource_spans(rs: Any, path: str) -> dict[str, Any]:
    rs = _obj(rs, path)
    holds_its_list(rs, "scopeSpans", ("resource", "schemaUrl"), path, "", "ResourceSpans")
    resource = _obj(rs.get("resource"), f"{path}.resource")
    return {
        "resource": {"attributes": _attrs(resource.get("attributes"), f"{path}.resource")},
        "scopeSpans": [
            _scope_spans(ss, f"{path}.scopeSpans[{i}]")
            for i, ss in enumerate(_list(rs.get("scopeSpans"), f"{path}.scopeSpans"))
        ],
    }


def _scope_spans(ss: Any, path: str) -> dict[str, Any]:
    ss = _obj(ss, path)
    holds_its_list(ss, "spans", ("scope", "schemaUrl"), path, "", "ScopeSpans")
    scope = _obj(ss.get("scope"), f"{path}.scope")
    return {
        "scope": {
            "name": _str(scope.get("name"), f"{path}.scope.name"),
            "version": _str(scope.get("version"), f"{path}.scope.version"),
            "attributes": _attrs(scope.get("attributes"), f"{path}.scope"),
        },
        "spans": [
            _span(span, f"{path}.spans[{i}]")
            for i, span in enumerate(_list(ss.get("spans"), f"{path}.spans"))
        ],
    }


def _span(span: Any, path: str) -> dict[str, Any]:
    span = _obj(span, path)
    status = _obj(span.get("status"), f"{path}.status")
    return {
        "traceId": _str(span.get("traceId"), f"{path}.traceId"),
        "spanId": _str(span.get("spanId"), f"{path}.spanId"),
        "parentSpanId": _str(span.get("parentSpanId"), f"{path}.parentSpanId"),
        "traceState": _str(span.get("traceState"), f"{path}.traceState"),
        "name": _str(span.get("name"), f"{path}.name"),
        "kind": _enum(span.get("kind"), SPAN_KIND_CODES, f"{path}.kind"),
        "startTimeUnixNano": _nanos(span.get("startTimeUnixNano"), f"{path}.startTimeUnixNano"),
        "endTimeUnixNano": _nanos(span.get("endTimeUnixNano"), f"{path}.endTimeUnixNano"),
        "attributes": _attrs(span.get("attributes"), f"{path}.attributes"),
        "events": [
            {
                "timeUnixNano": _nanos(ev.get("timeUnixNano"), f"{path}.events[{i}]"),
                "name": _str(ev.get("name"), f"{path}.events[{i}].name"),
                "attributes": _attrs(ev.get("attributes"), f"{path}.events[{i}]"),
            }
            for i, ev in enumerate(
                _obj(e, f"{path}.events") for e in _list(span.get("events"), f"{path}.events")
            )
        ],
        "links": [
            {
                "traceId": _str(ln.get("traceId"), f"{path}.links[{i}].traceId"),
                "spanId": _str(ln.get("spanId"), f"{path}.links[{i}].spanId"),
                "traceState": _str(ln.get("traceState"), f"{path}.links[{i}].traceState"),
                "attributes": _attrs(ln.get("attributes"), f"{path}.links[{i}]"),
            }
            for i, ln in enumerate(
                _obj(x, f"{path}.links") for x in _list(span.get("links"), f"{path}.links")
            )
        ],
        "status": {
            "message": _str(status.get("message"), f"{path}.status.message"),
            "code": _enum(status.get("code"), STATUS_CODES, f"{path}.status.code"),
        },
    }
