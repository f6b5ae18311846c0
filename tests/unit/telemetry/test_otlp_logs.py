"""OTLP logs recognised by content beside traces, in every encoding."""

import gzip
from pathlib import Path

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.telemetry.otlp_logs import parse_logs_json
from tests.redaction import masked
from tests.unit.telemetry.otlp_requests import every_kind_request, to_otlp_json

LOGS = Path(__file__).parents[2] / "fixtures" / "otlp-logs"


def _protobuf_logs(time: bool) -> bytes:
    req = ExportLogsServiceRequest()
    rec = req.resource_logs.add().scope_logs.add().log_records.add(severity_number=9)
    if time:
        rec.time_unix_nano = 1
    rec.body.string_value = "hello"
    return req.SerializeToString()


DETECTED = [
    ("logs JSON", (LOGS / "otel-proto__logs.json").read_bytes(), "otlp-logs-json"),
    ("logs JSON lines", (LOGS / "genai-evaluation-events.jsonl").read_bytes(), "otlp-logs-json"),
    ("logs protobuf", _protobuf_logs(True), "otlp-logs-protobuf"),
    ("logs protobuf without time", _protobuf_logs(False), "otlp-logs-protobuf"),
    ("traces protobuf", every_kind_request().SerializeToString(), "otlp-protobuf"),
    ("traces JSON", orjson.dumps(to_otlp_json(every_kind_request())), "otlp-json"),
]


@pytest.mark.parametrize(("case", "data", "name"), DETECTED, ids=[d[0] for d in DETECTED])
def test_traces_and_logs_are_told_apart_by_content(case, data, name):
    assert detect_format(OTEL_STREAM.formats, Sniff.of(data)).name == name


def test_the_corpus_log_record_keeps_every_value_kind():
    [(table, [row])] = list(parse_logs_json((LOGS / "otel-proto__logs.json").read_bytes(), "x"))
    assert table == "otel_logs"
    assert masked(orjson.loads(row["attributes"])) == {
        "string.attribute": "some string",
        "boolean.attribute": True,
        "int.attribute": 10,
        "double.attribute": 637.704,
        "array.attribute": ["many", "values"],
        # a key whose last word is "key" names a secret to the redaction module
        "map.attribute": {"some.map.key": "[REDACTED]"},
    }
    assert (row["trace_id"], row["span_id"]) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
    )
    assert (row["severity_number"], row["severity_text"], row["body"]) == (
        10,
        "Information",
        "Example log record",
    )


BROKEN = [
    (b'{"resourceLogs": [{"scopeLogs": {"logRecords": []}}]}',
     "line 1: resourceLogs[0].scopeLogs: expected a list, got dict"),
    (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "soon"}]}]}]}',
     "line 1: resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: 'soon' is not an unsigned "
     "integer (nanoseconds since 1970 as text)"),
    (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": 99}]}]}]}',
     "line 1: resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber: 99 is not a severity number "
     "(1-24)"),
    (b'{"resourceLogs": []}\n{"resourceSpans": []}\n',
     "line 2: expected an ExportLogsServiceRequest (resourceLogs); got resourceSpans"),
    (b'{"resourceLogs": []}\n{"resourceLog": [{"scopeLogs": [{"logRecords": [{}]}]}]}\n',
     "line 2: expected an ExportLogsServiceRequest (resourceLogs); got resourceLog"),
    (b'{"resourceLogs": [{"resource": {}, "scopeLog": [{"logRecords": [{}]}]}]}',
     'line 1: resourceLogs[0]: no scopeLogs (found "resource", "scopeLog"): not an OTLP/JSON '
     "ResourceLogs"),
    (b'{"resourceLogs": [{"scopeLogs": [{"scope": {}, "logRecord": [{}]}]}]}',
     'line 1: resourceLogs[0].scopeLogs[0]: no logRecords (found "logRecord", "scope"): not an '
     "OTLP/JSON ScopeLogs"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), BROKEN)
def test_broken_logs_say_where(data, message):
    with pytest.raises(ParseError) as err:
        list(parse_logs_json(data, "x"))
    assert str(err.value) == message


@pytest.mark.parametrize(
    "request_text",
    [
        b"{}",
        b'{"resourceLogs": null}',
        b'{"resourceLogs": [{"resource": {}, "schemaUrl": "s"}]}',
        b'{"resourceLogs": [{"scopeLogs": [{"scope": {}, "logRecords": null}]}]}',
    ],
)
def test_a_logs_request_without_records_is_valid_like_a_traces_one(request_text):
    good = b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "b"}}]}]}]}'
    batches = list(parse_logs_json(good + b"\n" + request_text + b"\n", "x"))
    assert sum(len(rows) for table, rows in batches if table == "otel_logs") == 1


def test_gzip_is_read_like_the_plain_file(tmp_path):
    from cicl_assets.ingest.spool import parse_to_spool

    data = (LOGS / "genai-evaluation-events.jsonl").read_bytes()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = parse_to_spool(OTEL_STREAM, data, "otel/a", str(tmp_path / "a"))
    zipped = parse_to_spool(OTEL_STREAM, gzip.compress(data), "otel/b", str(tmp_path / "b"))
    assert plain[:2] == zipped[:2] == ("otlp-logs-json", {"otel_logs": 3, "eval_scores": 2})
