"""Spans that must not land as they are: no start or end time, invalid UTF-8 in a string."""

import orjson
import pytest

from cicl_assets.ingest.content import ParseError
from cicl_assets.telemetry import otlp_proto_split
from tests.unit.telemetry.otlp_requests import every_kind_request, to_otlp_json
from tests.unit.telemetry.test_otlp_parse import parse

FIX = "every span needs a start and an end time: fix the instrumentation that sent it"
CHILD = "00f067aa0ba902b7"  # spans[1] of every_kind_request


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("start_time_unix_nano", 0, f"span {CHILD} has no start_time_unix_nano (missing or 0)"),
        ("end_time_unix_nano", 0, f"span {CHILD} has no end_time_unix_nano (missing or 0)"),
    ],
)
def test_a_protobuf_span_without_a_time_rejects_the_file(field, value, message):
    request = every_kind_request()
    setattr(request.resource_spans[0].scope_spans[0].spans[1], field, value)
    with pytest.raises(ParseError) as err:
        parse(request.SerializeToString())
    assert str(err.value) == f"resourceSpans[0].scopeSpans[0].spans[1]: {message}; {FIX}"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.pop("startTimeUnixNano"), "has no startTimeUnixNano (missing or 0)"),
        (lambda s: s.update(startTimeUnixNano="0"), "has no startTimeUnixNano (missing or 0)"),
        (lambda s: s.update(startTimeUnixNano=None), "has no startTimeUnixNano (missing or 0)"),
        (lambda s: s.pop("endTimeUnixNano"), "has no endTimeUnixNano (missing or 0)"),
        (lambda s: s.update(endTimeUnixNano=0), "has no endTimeUnixNano (missing or 0)"),
    ],
)
@pytest.mark.parametrize("layout", ["lines", "document"])
def test_a_json_span_without_a_time_rejects_the_file(mutate, message, layout):
    doc = to_otlp_json(every_kind_request())
    good = orjson.dumps(doc)
    mutate(doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1])
    if layout == "lines":
        data, where = good + b"\n" + orjson.dumps(doc) + b"\n", "line 2"
    else:
        data, where = orjson.dumps(doc, option=orjson.OPT_INDENT_2), "resourceSpans[0]"
    with pytest.raises(ParseError) as err:
        parse(data)
    where = where if layout == "lines" else "resourceSpans[0].scopeSpans[0].spans[1]"
    assert str(err.value) == f"{where}: span {CHILD} {message}; {FIX}"


def test_every_span_missing_a_time_is_counted():
    doc = to_otlp_json(every_kind_request())
    for span in doc["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["endTimeUnixNano"] = "0"
    with pytest.raises(ParseError, match=r"\(2 spans of this batch lack it\)"):
        parse(orjson.dumps(doc) + b"\n")


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("span name", "resourceSpans[0].scopeSpans[0].spans[1].name"),
        ("attribute", "resourceSpans[0].scopeSpans[0].spans[0].attributes[2].value.stringValue"),
        ("scope name", "resourceSpans[0].scopeSpans[0].scope.name"),
        ("resource attribute", "resourceSpans[1].resource.attributes[0].value.stringValue"),
    ],
)
@pytest.mark.parametrize("piece_bytes", [None, 1])
def test_invalid_utf8_in_a_protobuf_string_names_the_field(monkeypatch, field, where, piece_bytes):
    request = every_kind_request()
    marker = "UTF8HERE"
    if field == "span name":
        request.resource_spans[0].scope_spans[0].spans[1].name = marker
    elif field == "attribute":
        request.resource_spans[0].scope_spans[0].spans[0].attributes[2].value.string_value = marker
    elif field == "scope name":
        request.resource_spans[0].scope_spans[0].scope.name = marker
    else:
        request.resource_spans[1].resource.attributes[0].value.string_value = marker
    data = request.SerializeToString().replace(marker.encode(), b"\xff\xfeUTF8HE")
    if piece_bytes:  # every span parsed as a piece of its own: paths still count from the request
        monkeypatch.setattr(otlp_proto_split, "PIECE_BYTES", piece_bytes)
    with pytest.raises(ParseError) as err:
        parse(data)
    assert str(err.value) == (
        f"{where}: bytes 0xff 0xfe: invalid UTF-8 in a string field (protobuf strings must be "
        "UTF-8; use a bytes value for binary data, or fix what wrote it)"
    )
