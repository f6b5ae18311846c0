"""OTLP/JSON traces never lose spans to a misspelled or missing member, nor read a key that is not
text: the same rows or the same reject with both readers, compiled or not, whatever else shares
the line's chunk, in JSON lines and in documents, and one reject per file through the stream."""

import json

import orjson
import pyarrow as pa
import pytest

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.telemetry import otlp_compiled, otlp_json
from cicl_assets.telemetry.formats import OTEL_STREAM, parse_json_traces
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.telemetry import otlp_json_fuzz


@pytest.fixture(params=["on", "off"])
def compiled(request, monkeypatch):
    if request.param == "on" and otlp_compiled._otlp_decode is None:
        pytest.skip("the compiled decoder is not built")
    monkeypatch.setenv("CICL_COMPILED_DECODERS", request.param)
    return request.param


def _request(span_id: str = "0102030405060708") -> dict:
    span = {
        "traceId": "0102030405060708090a0b0c0d0e0f10",
        "spanId": span_id,
        "name": "s",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": [{"key": "k", "value": {"stringValue": "v"}}],
    }
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": [span]}]}]}


def _renamed(path: tuple, new_name: str) -> dict:
    """A request whose member at ``path`` (its last element the member's name) is renamed."""
    doc = _request("0a0b0c0d0e0f0102")
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[new_name] = parent.pop(path[-1])
    return doc


_RS, _SS = ("resourceSpans", 0), ("resourceSpans", 0, "scopeSpans", 0)
# (name, request, the reject after "line N: "), each request holding one span the reader would lose
LOSING = [
    (
        "resourceSpan",
        _renamed(("resourceSpans",), "resourceSpan"),
        'no resourceSpans in the request (found "resourceSpan"): not an OTLP/JSON traces request',
    ),
    (
        "ResourceSpans",
        _renamed(("resourceSpans",), "ResourceSpans"),
        'no resourceSpans in the request (found "ResourceSpans"): not an OTLP/JSON traces request',
    ),
    (
        "resource_spans",
        _renamed(("resourceSpans",), "resource_spans"),
        'no resourceSpans in the request (found "resource_spans"): not an OTLP/JSON traces request',
    ),
    (
        "scopeSpan",
        _renamed((*_RS, "scopeSpans"), "scopeSpan"),
        'resourceSpans[0]: no scopeSpans (found "resource", "scopeSpan"): '
        "not an OTLP/JSON ResourceSpans",
    ),
    (
        "Spans",
        _renamed((*_SS, "spans"), "Spans"),
        'resourceSpans[0].scopeSpans[0]: no spans (found "Spans", "scope"): '
        "not an OTLP/JSON ScopeSpans",
    ),
]


def _lines(*docs: dict) -> bytes:
    return b"".join(orjson.dumps(doc) + b"\n" for doc in docs)


def _rows(data: bytes) -> pa.Table:
    return pa.concat_tables([t for _, t in parse_json_traces(data, "otel/x.jsonl")])


def _count(data: bytes) -> int:
    return sum(t.num_rows for _, t in parse_json_traces(data, "otel/x.jsonl"))


@pytest.mark.parametrize(("name", "doc", "reason"), LOSING, ids=[n for n, _, _ in LOSING])
@pytest.mark.parametrize("alone", [False, True], ids=["among good lines", "alone"])
def test_a_line_whose_spans_would_be_lost_is_a_reject_naming_the_line(
    compiled, name, doc, reason, alone
):
    data = _lines(doc) if alone else _lines(_request(), _request(), doc, _request())
    with pytest.raises(ParseError) as raised:
        _rows(data)
    assert str(raised.value) == f"line {1 if alone else 3}: {reason}"


@pytest.mark.parametrize(("name", "doc", "reason"), LOSING, ids=[n for n, _, _ in LOSING])
def test_a_document_whose_spans_would_be_lost_is_a_reject(compiled, name, doc, reason):
    with pytest.raises(ParseError) as raised:
        _rows(json.dumps(doc, indent=2).encode())
    assert str(raised.value) == reason


EMPTY = [
    ("{}", {}),
    ("no resourceSpans entries", {"resourceSpans": []}),
    ("null resourceSpans", {"resourceSpans": None}),
    ("a resource alone", {"resourceSpans": [{"resource": {"attributes": []}}]}),
    ("a scope alone", {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "n"}}]}]}),
    ("schemaUrl alone", {"resourceSpans": [{"schemaUrl": "https://x", "scopeSpans": []}]}),
]


@pytest.mark.parametrize(("name", "doc"), EMPTY, ids=[n for n, _ in EMPTY])
@pytest.mark.parametrize("alone", [False, True], ids=["among good lines", "alone"])
def test_a_request_without_spans_is_valid(compiled, name, doc, alone):
    data = _lines(doc) if alone else _lines(_request(), doc, _request("0a0b0c0d0e0f0102"))
    assert _count(data) == (0 if alone else 2)


@pytest.mark.parametrize(("name", "doc"), EMPTY, ids=[n for n, _ in EMPTY])
def test_a_document_without_spans_is_valid(compiled, name, doc):
    assert _count(json.dumps(doc, indent=2).encode()) == 0


def test_unknown_members_beside_the_known_ones_are_ignored(compiled):
    doc = _request()
    doc["partialSuccess"] = {}
    doc["resourceSpans"][0]["entityRefs"] = []
    doc["resourceSpans"][0]["scopeSpans"][0]["schemaUrl"] = "https://x"
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["flags"] = 257
    assert _rows(_lines(_request("0a0b0c0d0e0f0102"), doc)).num_rows == 2


def _keyed(key) -> dict:
    doc = _request("0a0b0c0d0e0f0102")
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"][0]["key"] = key
    return doc


@pytest.mark.parametrize("key", [5, 5.5, True, {"a": 1}])
@pytest.mark.parametrize(
    "neighbours", [0, 1, 3], ids=["alone", "one good line", "three good lines"]
)
def test_a_key_that_is_not_text_is_always_a_reject(compiled, key, neighbours):
    data = _lines(*[_request()] * neighbours, _keyed(key))
    with pytest.raises(ParseError) as raised:
        _rows(data)
    assert str(raised.value).startswith(
        f"line {neighbours + 1}: resourceSpans[0].scopeSpans[0].spans[0].attributes[0].key: "
        "expected a string, got "
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", 5), ("traceState", 7), ("stringValue", 12), ("stringValue", "2024-01-01")],
)
def test_a_text_field_reads_the_same_whatever_shares_its_chunk(compiled, field, value):
    doc = _request("0a0b0c0d0e0f0102")
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    if field == "stringValue":
        span["attributes"][0]["value"]["stringValue"] = value
    else:
        span[field] = value
    outcomes = set()
    for data in (_lines(doc), _lines(_request(), doc)):
        try:
            table = _rows(data)
            outcomes.add(str(table.column("span_attributes")[len(table) - 1]))
        except ParseError as exc:
            outcomes.add(str(exc).split(": ", 1)[1])
    assert len(outcomes) == 1, outcomes
    if isinstance(value, str):  # a date is text, read as written
        assert value in outcomes.pop()


def test_the_stream_rejects_the_file_with_the_line_and_ingests_the_others(compiled, tmp_path):
    otel = tmp_path / "landing" / "otel"
    otel.mkdir(parents=True)
    (otel / "good.jsonl").write_bytes(_lines(_request()))
    (otel / "misspelled.jsonl").write_bytes(
        _lines(_request("1112131415161718"), _renamed(("resourceSpans",), "resourceSpan"))
    )
    (otel / "number-key.jsonl").write_bytes(_lines(_request("2122232425262728"), _keyed(5)))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    report = ingest_stream(
        OTEL_STREAM, LandingZone(uri=str(tmp_path / "landing")), warehouse, run_id="r1"
    )
    assert (report.files_ingested, report.files_rejected) == (1, 2)
    spans = warehouse.query("SELECT source_file, span_id FROM otel_spans").to_pylist()
    assert spans == [{"source_file": "otel/good.jsonl", "span_id": "0102030405060708"}]
    errors = {
        r["source_file"]: r["error"]
        for r in warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert errors == {
        "otel/misspelled.jsonl": (
            "otel/misspelled.jsonl: otlp-json: line 2: no resourceSpans in the request (found "
            '"resourceSpan"): not an OTLP/JSON traces request'
        ),
        "otel/number-key.jsonl": (
            "otel/number-key.jsonl: otlp-json: line 2: "
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].key: expected a string, got 5"
        ),
    }


def _outcome(data: bytes, chunk_bytes: int) -> tuple[str, list]:
    default = otlp_json.CHUNK_BYTES
    otlp_json.CHUNK_BYTES = chunk_bytes
    try:
        tables = [t for _, t in otlp_json.parse_json(data, "otel/x.jsonl")]
        return "rows", pa.concat_tables(tables).to_pylist() if tables else []
    except Exception:  # any failure is the file's reject (invalid UTF-8 is refused before)
        return "reject", []
    finally:
        otlp_json.CHUNK_BYTES = default


def test_whether_a_line_is_read_does_not_depend_on_its_chunk():
    # Which reject is worded may (the first bad line of the chunk's first failing check).
    files = [
        data
        for data in otlp_json_fuzz.mutants(seed=99, count=250)
        if otlp_json.one_request_per_line(data) and data.count(b"\n") > 1
    ]
    assert len(files) > 100
    for data in files:
        assert _outcome(data, otlp_json.CHUNK_BYTES) == _outcome(data, 1), data
