"""The compiled OTLP/JSON traces reader: the same rows or the same reject as the Python reader on
every OTLP/JSON trace file the tests know and a bounded run of mutants; what it leaves to the
Python reader, its batches, the switch, and its C under sanitizers."""

import pyarrow as pa
import pytest

from benchmarks.otlp_synth import TraceFactory, to_json_line
from cicl_assets.ingest.content import ParseError
from cicl_assets.telemetry import otlp_compiled, otlp_json, otlp_json_compiled
from cicl_assets.telemetry.formats import parse_json_traces
from tests.unit.telemetry import otlp_json_fuzz

built = pytest.mark.skipif(
    otlp_compiled._otlp_decode is None, reason="the compiled decoder is not built"
)

JSON_SET = otlp_json_fuzz.json_set()


def _units(data: bytes, chunk_bytes: int = otlp_json.CHUNK_BYTES, limit: int = 8192) -> list:
    """What the C reader gives: ("rows", n) per batch, ("python", first line) per unit left."""
    decoder = otlp_compiled._otlp_decode.JsonDecoder(
        data, otlp_json.one_request_per_line(data), chunk_bytes, otlp_compiled._PROMOTE
    )
    out = []
    while (batch := decoder.next(limit)) is not None:
        out.append(("python", batch[2]) if isinstance(batch, tuple) else ("rows", batch["n"]))
    return out


def _table(batches) -> pa.Table:
    return pa.concat_tables([t for _, t in batches])


@built
@pytest.mark.parametrize(("name", "data"), JSON_SET, ids=[name for name, _ in JSON_SET])
def test_both_readers_agree_on_the_json_set(name, data):
    assert otlp_json_fuzz.disagreement(data) is None
    if otlp_json.one_request_per_line(data):  # a chunk per line: the C reader's units change
        assert otlp_json_fuzz.disagreement(data, chunk_bytes=1) is None


@built
def test_the_corpus_and_demo_files_are_in_the_set():
    names = [name for name, _ in JSON_SET]
    assert "fixtures/otel-proto__trace.json" in names
    assert "fixtures/jaeger-fixture__link_attributes_trace.json" in names
    assert "every kind request (lines)" in names
    demo = [name for name in names if name.startswith("demo/otel/2")]
    assert len(demo) >= 6, demo
    assert "demo/otel/broken/bad-trace-id.jsonl" in names


@built
def test_a_bounded_mutational_run_finds_no_disagreement():
    for k, data in enumerate(otlp_json_fuzz.mutants(seed=32, count=300)):
        chunk_bytes = (None, 1, 300)[k % 3]
        assert otlp_json_fuzz.disagreement(data, chunk_bytes) is None, data


@built
@pytest.mark.parametrize(
    "name",
    [
        "fixtures/otel-proto__trace.json",
        "fixtures/jaeger-fixture__link_attributes_trace.json",
        "synthetic request 0 (lines)",
        "demo/otel/2026/11/02/00-workflow-runtime.jsonl",
        "demo/otel/2026/11/02/03-tool-worker.jsonl.gz",
        "synthetic request 1 (document)",
        "canonical",
        "escapes",
        "NaN and infinities",
        "one level of nesting",
        "events and links",
        "scope after spans",
        "schemaUrl beside the lists",
        "unknown members beside the lists",
    ],
)
def test_canonical_otlp_json_is_read_in_c(name):
    data = dict(JSON_SET)[name]
    assert [kind for kind, _ in _units(data)] == ["rows"]


@built
@pytest.mark.parametrize(
    "name",
    [
        "enum names",
        "snake_case names",
        "a lone surrogate",
        "invalid UTF-8",
        "two levels of nesting",
        "no end time",
        "a duplicate name",
        "bytes without padding",
        "a document with enum names",
        "every kind request (lines)",  # values nested two levels deep
        "ResourceSpans alone",
        "a misspelled spans in a document",
        "a number as a key",
    ],
)
def test_what_it_is_unsure_of_goes_to_the_python_reader(name):
    assert _units(dict(JSON_SET)[name]) == [("python", 1)]


def _lines(count: int) -> bytes:
    """``count`` lines holding the same request."""
    return (to_json_line(next(TraceFactory(seed=5).requests(3))) + b"\n") * count


@built
def test_a_chunk_with_a_line_it_is_unsure_of_goes_whole_to_the_python_reader():
    good = _lines(6)
    line_length = good.index(b"\n") + 1
    bad = good[: 3 * line_length] + b"{oops\n" + good[3 * line_length :]
    # chunks of two lines: lines 1-2, 3-4 (holds the bad line 4), 5-6, 7
    units = _units(bad, chunk_bytes=line_length + 1, limit=1)
    assert [kind for kind, _ in units] == ["rows", "python", "rows", "rows"]
    assert units[1] == ("python", 3)
    with pytest.raises(ParseError, match=r"^invalid JSON at line 4, column 2"):
        _table(otlp_json_compiled.decode_json_compiled(bad, "otel/x.jsonl"))


@built
@pytest.mark.parametrize("name", ["scopeSpan among good lines", "Spans among good lines"])
def test_a_misspelled_list_sends_its_chunk_to_the_python_reader(name):
    assert _units(dict(JSON_SET)[name]) == [("python", 1)]


@built
def test_batches_hold_whole_units():
    data = _lines(5)
    spans = data.count(b'"spanId"') // 5
    units = _units(data, chunk_bytes=1, limit=spans + 1)  # a unit per line; two reach the limit
    assert units == [("rows", 2 * spans), ("rows", 2 * spans), ("rows", spans)]
    table = _table(otlp_json_compiled.decode_json_compiled(data, "otel/x.jsonl", limit=spans + 1))
    assert table.equals(_table(otlp_json.parse_json(data, "otel/x.jsonl")))
    assert _units(data, limit=spans + 1) == [("rows", 5 * spans)]  # one chunk of 4 MiB


@built
def test_the_stream_reads_json_traces_in_c(monkeypatch):
    monkeypatch.delenv("CICL_COMPILED_DECODERS", raising=False)
    monkeypatch.setattr(otlp_json, "parse_json", _refuse)
    monkeypatch.setattr(otlp_json_compiled, "parse_json", _refuse)
    table = _table(parse_json_traces(_lines(2), "otel/x.jsonl"))
    assert table.num_rows == _lines(2).count(b'"spanId"')


def _refuse(*args):
    raise AssertionError("this reader was not to be used")


def test_off_reads_with_the_python_reader(monkeypatch):
    monkeypatch.setenv("CICL_COMPILED_DECODERS", "off")
    monkeypatch.setattr(otlp_json_compiled, "decode_json_compiled", _refuse)
    table = _table(otlp_json_compiled.parse_json_spans(_lines(2), "otel/x.jsonl"))
    assert table.num_rows == _lines(2).count(b'"spanId"')


def test_without_the_extension_the_python_reader_is_used(monkeypatch):
    monkeypatch.delenv("CICL_COMPILED_DECODERS", raising=False)
    monkeypatch.setattr(otlp_compiled, "_otlp_decode", None)
    monkeypatch.setattr(otlp_compiled, "_MISSING", "ImportError: no _otlp_decode", raising=False)
    monkeypatch.setattr(otlp_compiled, "_told", True)
    monkeypatch.setattr(otlp_json_compiled, "decode_json_compiled", _refuse)
    table = _table(otlp_json_compiled.parse_json_spans(_lines(1), "otel/x.jsonl"))
    assert table.num_rows == _lines(1).count(b'"spanId"')
