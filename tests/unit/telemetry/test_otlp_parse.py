"""OTLP trace parsing: corpus files, every AnyValue kind, and one row set whatever the encoding."""

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format
from cicl_assets.telemetry import otlp_json
from cicl_assets.telemetry.formats import OTEL_STREAM
from tests.unit.telemetry.otlp_requests import every_kind_request, from_otlp_json, to_otlp_json

FIXTURES = Path(__file__).parents[2] / "fixtures" / "otlp-traces"


def parse(data: bytes) -> pa.Table:
    fmt = detect_format(OTEL_STREAM.formats, Sniff.of(data))
    assert fmt is not None, data[:40]
    tables = [t for _, t in fmt.parse(data, "otel/x")]
    return pa.concat_tables(tables) if tables else pa.table({})


def rows(data: bytes) -> list[dict]:
    return parse(data).to_pylist()


def test_corpus_trace_json_gives_the_span_as_written():
    [span] = rows((FIXTURES / "otel-proto__trace.json").read_bytes())
    assert span["trace_id"] == "5b8efff798038103d269b633813fc60c"  # upper-case in the file
    assert span["span_id"] == "eee19b7ec3c1b174"
    assert span["parent_span_id"] == "eee19b7ec3c1b173"
    assert span["span_kind"] == "SERVER"  # "kind": 2
    assert span["span_name"] == "I'm a server span"
    assert span["service_name"] == "my.service"
    assert (span["scope_name"], span["scope_version"]) == ("my.library", "1.0.0")
    assert span["start_time"] == datetime(2018, 12, 13, 14, 51, 0, tzinfo=UTC)
    assert span["end_time"] == datetime(2018, 12, 13, 14, 51, 1, tzinfo=UTC)
    assert span["duration_ms"] == 1000.0
    assert span["status_code"] == "UNSET"
    assert json.loads(span["span_attributes"]) == {"my.span.attr": "some value"}
    assert json.loads(span["resource_attributes"]) == {"service.name": "my.service"}
    assert (span["events"], span["links"]) == ("[]", "[]")


def test_corpus_link_attributes_are_kept_with_their_types():
    [span] = rows((FIXTURES / "jaeger-fixture__link_attributes_trace.json").read_bytes())
    assert span["trace_id"] == "00000000000000000000000000000226"
    assert span["parent_span_id"] is None
    assert span["scope_name"] is None  # "scope": {}
    assert span["duration_ms"] == pytest.approx(0.002)
    links = json.loads(span["links"])
    assert [(link["trace_id"], link["span_id"]) for link in links] == [
        ("000000000000000000000000000000ff", "00000000000000ff"),
        ("00000000000000000000000000000001", "0000000000000002"),
        ("00000000000000000000000000000001", "0000000000000002"),
    ]
    assert links[0]["attributes"] == {
        "opentracing.ref_type": "child_of",
        "sameplacelinkattribute1": "sameplacevalue",
        "sameplacelinkattribute2": 123,
        "sameplacelinkattribute4": True,
        "sameplacelinkattribute3": 72.5,
        "linkblob": "AAAwOQ==",
    }
    assert links[2]["attributes"] == {"opentracing.ref_type": "follows_from"}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("otel-proto__metrics.json", "OTLP metrics, not traces or logs: "),
        ("jaeger-model-base64__domain_01.json", "Jaeger model JSON with base64 ids, not OTLP: "),
    ],
)
def test_non_trace_telemetry_is_refused_with_what_it_is(name, reason):
    with pytest.raises(ParseError) as err:
        rows((FIXTURES / name).read_bytes())
    assert str(err.value).startswith(reason)


def test_every_anyvalue_kind_becomes_natural_json():
    table = parse(every_kind_request().SerializeToString())
    by_id = {r["span_id"]: r for r in table.to_pylist()}
    root = by_id["b7ad6b7169203331"]
    assert json.loads(root["span_attributes"]) == {
        "workflow.name": "invoice-triage",
        "http.response.status_code": 200,
        "text": 'say "hi"\n\tback\\slash é',
        "empty.string": "",
        "flag": False,
        "count": -(2**63),
        "ratio": 0.1,
        "not.a.number": "NaN",
        "infinite": "-Infinity",
        "blob": "AAH/",
        "empty.value": None,
        "list": ["a", 7, [1.5]],
        "map": {"inner": True, "deep": {"x": 1}},
        "empty.list": [],
    }
    assert root["trace_state"] == "vendor=1"
    assert root["status_code"] == "OK"
    assert root["workflow_name"] == "invoice-triage"
    assert root["http_status_code"] == 200
    assert root["deployment_environment"] == "production"
    assert root["service_version"] == "1.8.0"
    assert root["start_time"] == datetime(2025, 11, 5, 0, 0, 0, 123456, tzinfo=UTC)
    assert root["duration_ms"] == 2500.0

    child = by_id["00f067aa0ba902b7"]
    assert (child["span_kind"], child["status_code"]) == ("CLIENT", "ERROR")
    assert child["status_message"] == "429 rate limited"
    assert child["parent_span_id"] == "b7ad6b7169203331"
    # older semantic-convention names fill the promoted columns too
    assert (child["gen_ai_provider"], child["gen_ai_model"]) == (
        "anthropic",
        "claude-sonnet-4-20250514",
    )
    assert (child["input_tokens"], child["output_tokens"]) == (1200, 80)
    assert (child["error_type"], child["http_status_code"]) == ("RateLimitError", 429)
    assert json.loads(child["events"]) == [
        {
            "name": "exception",
            "time_unix_nano": 1_762_300_801_923_456_789,
            "attributes": {"exception.type": "RateLimitError"},
        },
        {"name": "retry", "time_unix_nano": 1_762_300_801_923_456_790, "attributes": {}},
    ]
    assert json.loads(child["links"]) == [
        {
            "trace_id": "000102030405060708090a0b0c0d0e0f",
            "span_id": "0001020304050607",
            "attributes": {"link.kind": "follows_from"},
        }
    ]

    health = by_id["1111111111111111"]
    assert (health["scope_name"], health["scope_version"]) == ("runtime.http", None)
    assert health["duration_ms"] == pytest.approx(0.0005)

    tool = by_id["2222222222222222"]
    assert (tool["service_name"], tool["deployment_environment"]) == ("tool-worker", "staging")
    assert tool["span_kind"] == "PRODUCER"
    # the current name wins over the older one when both are present
    assert (tool["gen_ai_provider"], tool["gen_ai_model"]) == ("openai", "gpt-4.1")
    assert (tool["input_tokens"], tool["output_tokens"]) == (10, 20)
    assert table.num_rows == 4


def _loosely_spelled(doc: dict) -> dict:
    """The same request as other writers spell OTLP/JSON: upper-case hex, numbers for 64-bit
    integers and timestamps, enum names."""
    doc = json.loads(json.dumps(doc))
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                span["spanId"] = span["spanId"].upper()
                span["startTimeUnixNano"] = int(span["startTimeUnixNano"])
                kind = span.get("kind", 0)
                span["kind"] = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"][kind]  # fmt: skip
                for attr in span.get("attributes", []):
                    if "intValue" in attr["value"]:
                        attr["value"]["intValue"] = int(attr["value"]["intValue"])
                if span.get("status", {}).get("code") == 2:
                    span["status"]["code"] = "STATUS_CODE_ERROR"
    return doc


def test_protobuf_json_and_json_lines_give_identical_rows():
    req = every_kind_request()
    from_protobuf = parse(req.SerializeToString())
    doc = to_otlp_json(req)
    pretty = json.dumps(doc, indent=2).encode()
    one_line = orjson.dumps(doc)
    loose = json.dumps(_loosely_spelled(doc), indent=1).encode()
    # JSON lines: the same request split in two requests, one per line
    first, second = json.loads(json.dumps(doc)), json.loads(json.dumps(doc))
    first["resourceSpans"] = first["resourceSpans"][:1]
    second["resourceSpans"] = second["resourceSpans"][1:]
    lines = orjson.dumps(first) + b"\n\n" + orjson.dumps(second) + b"\n"
    for data in (pretty, one_line, loose, lines):
        assert parse(data).equals(from_protobuf), data[:80]


def test_corpus_trace_is_the_same_as_protobuf_and_as_json():
    text = (FIXTURES / "otel-proto__trace.json").read_bytes()
    as_protobuf = from_otlp_json(json.loads(text)).SerializeToString()
    assert parse(as_protobuf).equals(parse(text))
    assert parse(as_protobuf).num_rows == 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.update(spanId="xyz"), "line 2: invalid hex in spanId 'xyz'"),
        (lambda s: s.update(traceId="abc"), "line 2: invalid hex in traceId 'abc'"),
        (lambda s: s.update(parentSpanId="0" * 15), "line 2: invalid hex in parentSpanId"),
        (lambda s: s.update(kind="SIDEWAYS"), "line 2: resourceSpans[0].scopeSpans[0].spans[1]"),
        (lambda s: s.update(startTimeUnixNano="soon"), "expected unix nanoseconds, got 'soon'"),
    ],
)
def test_bad_values_name_the_line(mutate, message):
    doc = to_otlp_json(every_kind_request())
    good = orjson.dumps(doc)
    mutate(doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1])
    with pytest.raises(ParseError) as err:
        parse(good + b"\n" + orjson.dumps(doc) + b"\n")
    assert message in str(err.value)


def test_bad_id_in_a_document_names_the_span_path():
    doc = to_otlp_json(every_kind_request())
    doc["resourceSpans"][1]["scopeSpans"][0]["spans"][0]["spanId"] = "zz"
    with pytest.raises(ParseError, match=r"resourceSpans\[1\]\.scopeSpans\[0\]\.spans\[0\]: "
                       r"invalid hex in spanId 'zz'"):  # fmt: skip
        parse(json.dumps(doc, indent=2).encode())


def test_private_field_names_in_input_are_not_trusted():
    doc = to_otlp_json(every_kind_request())
    attrs = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    attrs.append({"key": "sneaky", "value": {"jsonText": "{not json"}})
    table = parse(orjson.dumps(doc))
    root = next(r for r in table.to_pylist() if r["span_id"] == "b7ad6b7169203331")
    assert json.loads(root["span_attributes"])["sneaky"] is None


def test_truncated_protobuf_is_a_parse_error():
    data = every_kind_request().SerializeToString()
    with pytest.raises(ParseError, match="not a readable protobuf ExportTraceServiceRequest"):
        parse(data[: len(data) // 2])


def test_protobuf_with_a_short_trace_id_is_a_parse_error():
    req = every_kind_request()
    req.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01\x02"
    with pytest.raises(ParseError, match=r"resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: "
                       r"invalid trace_id \(2 bytes, expected 16\)"):  # fmt: skip
        parse(req.SerializeToString())


def test_canonical_json_takes_the_arrow_path_and_matches_protobuf(monkeypatch):
    req = every_kind_request()
    attrs = req.resource_spans[0].scope_spans[0].spans[0].attributes
    # What only the normalizer reads: nesting deeper than one level, NaN/Infinity as strings.
    for kv in attrs:
        if kv.key == "list":
            del kv.value.array_value.values[2]
        if kv.key == "map":
            del kv.value.kvlist_value.values[1]
    kept = [kv for kv in attrs if kv.key not in ("not.a.number", "infinite")]
    del attrs[:]
    attrs.extend(kept)

    def refuse(*args):
        raise AssertionError("the normalizer should not be needed")

    monkeypatch.setattr(otlp_json, "normalize_request", refuse)
    doc = to_otlp_json(req)
    from_protobuf = parse(req.SerializeToString())
    assert parse(orjson.dumps(doc)).equals(from_protobuf)
    assert parse(json.dumps(doc, indent=2).encode()).equals(from_protobuf)
    root = next(r for r in from_protobuf.to_pylist() if r["span_id"] == "b7ad6b7169203331")
    assert json.loads(root["span_attributes"])["list"] == ["a", 7]
    assert json.loads(root["span_attributes"])["map"] == {"inner": True}
