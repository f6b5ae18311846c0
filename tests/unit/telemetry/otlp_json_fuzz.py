"""The compiled OTLP/JSON traces reader against the Python one: the JSON set and mutations.

The JSON set is every OTLP/JSON trace file the tests know (tests/fixtures, the shared corpus, the
demo's first hours and broken files), the protobuf fuzz set's requests written as the demo writes
them (Collector file-exporter lines, and pretty-printed documents), and hand-made spellings the
reader must leave to Python. Mutants
are seeded edits of those: of the decoded JSON (other spellings of numbers, enums, ids, values,
names, nulls, escapes, duplicate names, deeper nesting) and of the text (bytes cut, flipped,
repeated), with one to four requests per file. The oracle, per input: both readers give the same
rows, or both fail with the same message (a reject names the same line).

`python -m tests.unit.telemetry.otlp_json_fuzz --seconds 300` runs it for `make fuzz`;
`--write DIR --count N` writes the inputs as files for tests/fuzz/otlp_target.c.
"""

from __future__ import annotations

import copy
import gzip
import itertools
import json
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from demo.otlp_json import request_to_otlp_json
from tests.unit.telemetry import otlp_fuzz

FIXTURES = Path(__file__).parents[2] / "fixtures" / "otlp-traces"
CORPUS = Path(__file__).parents[4] / "shared" / "corpus" / "otlp-traces"


def _dumps(doc: Any) -> bytes:
    # a lone surrogate is written as the \\ud800 escape, other text as UTF-8
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace")


def _line(text: str) -> bytes:
    return text.replace("\n", "").encode() + b"\n"


_SPAN = (
    '{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",'
    '"name":"s","kind":2,"startTimeUnixNano":"1700000000000000000",'
    '"endTimeUnixNano":"1700000001000000000"EXTRA}'
)


def _request(span_extra: str = "", attrs: str = "") -> str:
    span = _SPAN.replace("EXTRA", span_extra)
    if attrs:
        span = span[:-1] + f',"attributes":[{attrs}]}}'
    return '{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[' + span + "]}]}]}"


def _attr(value: str) -> str:
    return '{"key":"k","value":' + value + "}"


# (name, text): spellings both readers must agree on, whichever of them reads it
HANDMADE: list[tuple[str, bytes]] = [
    ("canonical", _line(_request())),
    ("enum names", _line(_request(',"status":{"code":"STATUS_CODE_ERROR"}'))),
    ("kind as a name", _line(_request().replace('"kind":2', '"kind":"SPAN_KIND_SERVER"'))),
    ("times as numbers", _line(_request().replace('"1700000000000000000"', "1700000000000000000"))),
    ("time as a float", _line(_request().replace('"1700000000000000000"', "1.7e18"))),
    ("time with a leading zero", _line(_request().replace('"17000000000', '"017000000000'))),
    ("no end time", _line(_request().replace('"endTimeUnixNano"', '"x"'))),
    ("upper-case ids", _line(_request().replace("0a0b0c", "0A0B0C"))),
    ("a short trace id", _line(_request().replace("0f10", "0f"))),
    ("snake_case names", _line(_request().replace("traceId", "trace_id"))),
    ("an empty parent", _line(_request(',"parentSpanId":""'))),
    ("a null parent", _line(_request(',"parentSpanId":null'))),
    ("a duplicate name", _line(_request(',"name":"again"'))),
    ("an unknown member", _line(_request(',"flags":257,"x":{"a":[1,true,null,"\\u00e9"]}'))),
    ("escapes", _line(_request(attrs=_attr('{"stringValue":"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000"}')))),
    ("a surrogate pair", _line(_request(attrs=_attr('{"stringValue":"\\ud83d\\ude00"}')))),
    ("a lone surrogate", _line(_request(attrs=_attr('{"stringValue":"\\ud83d"}')))),
    ("invalid UTF-8", _line(_request(attrs=_attr('{"stringValue":"@"}'))).replace(b"@", b"\xff")),
    ("int as a number", _line(_request(attrs=_attr('{"intValue":-42}')))),
    ("int past 64 bits", _line(_request(attrs=_attr('{"intValue":"9223372036854775808"}')))),
    ("int with a plus", _line(_request(attrs=_attr('{"intValue":"+5"}')))),
    ("double as a string", _line(_request(attrs=_attr('{"doubleValue":"1.5"}')))),
    ("NaN and infinities", _line(_request(attrs=",".join(
        _attr(f'{{"doubleValue":"{v}"}}') for v in ("NaN", "Infinity", "-Infinity"))))),
    ("double exponent", _line(_request(attrs=_attr('{"doubleValue":1e-7}')))),
    ("double as an integer", _line(_request(attrs=_attr('{"doubleValue":3}')))),
    ("double as minus zero", _line(_request(attrs=",".join(
        _attr(f'{{"doubleValue":{v}}}') for v in ("-0", "-0.0", "0", "9007199254740993"))))),
    ("bytes", _line(_request(attrs=_attr('{"bytesValue":"AP8="}')))),
    ("bytes without padding", _line(_request(attrs=_attr('{"bytesValue":"AP8"}')))),
    ("bytes, url alphabet", _line(_request(attrs=_attr('{"bytesValue":"-_8="}')))),
    ("two values", _line(_request(attrs=_attr('{"stringValue":"a","intValue":"1"}')))),
    ("an empty value", _line(_request(attrs=_attr("{}")))),
    ("no value", _line(_request(attrs='{"key":"k"}'))),
    ("no key", _line(_request(attrs='{"value":{"boolValue":true}}'))),
    ("a null value", _line(_request(attrs=_attr('{"stringValue":null}')))),
    ("a bool as a string", _line(_request(attrs=_attr('{"boolValue":"true"}')))),
    ("a string as a number", _line(_request(attrs=_attr('{"stringValue":5}')))),
    ("one level of nesting", _line(_request(attrs=_attr(
        '{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}},{"key":"b"}]}}')
        + "," + _attr('{"arrayValue":{"values":[{"stringValue":"x"},{}]}}')))),
    ("two levels of nesting", _line(_request(attrs=_attr(
        '{"arrayValue":{"values":[{"arrayValue":{"values":[{"intValue":"1"}]}}]}}')))),
    ("an empty array", _line(_request(attrs=_attr('{"arrayValue":{}}')))),
    ("value before key", _line(_request(attrs='{"value":{"intValue":"7"},"key":"k"}'))),
    ("events and links", _line(_request(
        ',"events":[{"timeUnixNano":"5","name":"e","attributes":[' + _attr('{"boolValue":false}')
        + ']},{}],"links":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":'
        '"0102030405060708","traceState":"a=b","attributes":[]}]'))),
    ("a link without ids", _line(_request(',"links":[{}]'))),
    ("status with a message", _line(_request(',"status":{"message":"m","code":2}'))),
    ("kind outside the enum", _line(_request().replace('"kind":2', '"kind":99'))),
    ("a resource without spans", _line(
        '{"resourceSpans":[{"resource":{"attributes":[' + _attr('{"stringValue":"r"}')
        + ']},"scopeSpans":[]},' + _request()[len('{"resourceSpans":['):])),
    ("scope after spans", _line(_request().replace(
        '"scopeSpans":[{"spans"', '"scopeSpans":[{"x":1,"spans"').replace(
        "]}]}]}", '],"scope":{"name":"lib","version":"1","attributes":[]}}]}]}'))),
    ("a bad scope attribute", _line(_request().replace(
        '"scopeSpans":[{', '"scopeSpans":[{"scope":{"attributes":[' + _attr('{"intValue":"x"}')
        + "]},"))),
    ("no resourceSpans", b'{"resourceLogs":[]}\n'),
    ("empty resourceSpans", b'{"resourceSpans":[]}\n{"resourceSpans":[]}\n'),
    ("trailing text on a line", _line(_request() + " {}")),
    ("a blank line between", _line(_request()) + b" \t\r\n" + _line(_request())),
    ("CRLF lines", _line(_request())[:-1] + b"\r\n" + _line(_request())),
    ("a bad line among good ones", _line(_request()) * 3 + b"{oops\n" + _line(_request())),
    ("a document", json.dumps(json.loads(_request()), indent=2).encode()),
    ("a document without spans", b'{\n"resourceSpans": []\n}\n'),
    ("a document with enum names", json.dumps(json.loads(
        _request(',"status":{"code":"STATUS_CODE_OK"}')), indent=1).encode()),
    ("a byte-order mark", b"\xef\xbb\xbf" + _line(_request())),
    ("resourceSpan among good lines", _line(_request()) + _line(_request().replace(
        '"resourceSpans"', '"resourceSpan"')) + _line(_request())),
    ("ResourceSpans alone", _line(_request().replace('"resourceSpans"', '"ResourceSpans"'))),
    ("scopeSpan among good lines", _line(_request()) + _line(_request().replace(
        '"scopeSpans"', '"scopeSpan"'))),
    ("Spans among good lines", _line(_request()) + _line(_request().replace(
        '"spans"', '"Spans"'))),
    ("a misspelled spans in a document", json.dumps(json.loads(
        _request().replace('"spans"', '"span"')), indent=2).encode()),
    ("null lists beside unknown members", _line(_request()) + _line(
        '{"resourceSpans":[{"x":1,"scopeSpans":null},{"scopeSpans":[{"spans":null,"y":[]}]}]}')),
    ("requests without spans among good lines", b'{}\n{"resourceSpans":null}\n'
        + _line('{"resourceSpans":[{"resource":{}},{"scopeSpans":[{"scope":{}}]}]}')
        + _line(_request())),
    ("schemaUrl beside the lists", _line(_request().replace(
        '"resource":{}', '"schemaUrl":"s","resource":{}').replace(
        '"scopeSpans":[{', '"scopeSpans":[{"schemaUrl":"s",'))),
    ("unknown members beside the lists", _line('{"partialSuccess":{},' + _request()[1:])),
    ("a number as a key", _line(_request(attrs='{"key":5,"value":{"intValue":"1"}}'))),
    ("a number as a key among good lines", _line(_request()) + _line(_request(
        attrs='{"key":5,"value":{"intValue":"1"}}'))),
    ("a date as text", _line(_request(attrs=_attr('{"stringValue":"2024-01-01"}')))),
    ("a number as a name among good lines", _line(_request()) + _line(_request().replace(
        '"name":"s"', '"name":5'))),
]  # fmt: skip


def _files(directory: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(directory.glob("*.json*")) if directory.is_dir() else ():
        data = path.read_bytes()
        if b'"resourceSpans"' in data:
            yield f"{directory.parent.name}/{path.name}", data


def _demo_form(data: bytes) -> dict[str, Any] | None:
    try:
        return request_to_otlp_json(ExportTraceServiceRequest.FromString(data))
    except Exception:  # a malformed protobuf of the fuzz set: nothing to write as JSON
        return None


def _demo_zone(hours: int = 6) -> Iterator[tuple[str, bytes]]:
    """The OTLP/JSON trace files the demo writes for its first hours, and its broken ones."""
    from demo.otel_files import write_broken, write_hour
    from demo.traffic_plan import plan_traffic

    plans = plan_traffic(spans=20_000)[:hours]
    with tempfile.TemporaryDirectory(prefix="cicl-demo-otel-") as tmp:
        root = Path(tmp)
        for plan in plans:
            write_hour((tmp, plan))
        write_broken(root, plans[0])
        for path in sorted(root.rglob("*.json*")):
            data = path.read_bytes()
            data = gzip.decompress(data) if path.suffix == ".gz" else data
            if b'"resourceSpans"' in data:
                yield f"demo/{path.relative_to(root)}", data


def json_set() -> list[tuple[str, bytes]]:
    """Every input of the set, named."""
    out = [*_files(FIXTURES), *_files(CORPUS), *_demo_zone()]
    for name, data in otlp_fuzz.fuzz_set():
        doc = _demo_form(data)
        if doc is not None and doc.get("resourceSpans"):
            out.append((f"{name} (lines)", _dumps(doc) + b"\n" + _dumps(doc) + b"\n"))
            out.append((f"{name} (document)", json.dumps(doc, indent=2).encode()))
    return out + HANDMADE


def _nodes(doc: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(doc, list):
        for k, value in enumerate(doc):
            yield from _nodes(value, (*path, k))


def _set(doc: Any, path: tuple, value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


_RESPELL = {
    str: lambda rng, v: rng.choice(
        (
            v.upper(),
            v[:-1],
            "",
            int(v) if v.lstrip("-").isdigit() else v,
            f" {v}",
            "NaN",
            "Infinity",
            v + "\ud800",
            "STATUS_CODE_ERROR",
            "SPAN_KIND_CLIENT",
            "0" + v,
            None,
            "\u00e9\u2028\U0001f600\x00\x1f",
        )
    ),
    int: lambda rng, v: rng.choice((str(v), float(v), -v, v * 2**40, True, None, "x", 2**64)),
    float: lambda rng, v: rng.choice((str(v), int(v) if v == v and abs(v) < 1e18 else 0, None)),
    bool: lambda rng, v: rng.choice((str(v).lower(), int(v), None)),
}
_NAMES = ("trace_id", "span_id", "string_value", "int_value", "kind", "key", "value", "zzz")


def mutate_doc(rng: random.Random, doc: Any) -> Any:
    """Edits of a decoded request: other spellings, nulls, renamed and repeated members."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        nodes = [(p, v) for p, v in _nodes(doc) if p]
        if not nodes:
            break
        path, value = rng.choice(nodes)
        op = rng.randrange(5)
        respell = _RESPELL.get(type(value))
        if op <= 1 and respell:
            _set(doc, path, respell(rng, value))
        elif op == 2 and isinstance(value, dict) and value:
            old = rng.choice(list(value))
            value[rng.choice(_NAMES)] = value.pop(old)
        elif op == 3 and isinstance(value, dict):
            value[rng.choice(("arrayValue", "kvlistValue", "x"))] = rng.choice(
                ({"values": [{"arrayValue": {"values": [{"intValue": "1"}]}}]}, {}, [], None)
            )
        elif op == 4 and isinstance(value, list) and value:
            value.append(copy.deepcopy(rng.choice(value)))
    return doc


def mutants(seed: int, count: int) -> Iterator[bytes]:
    """Seeded mutants: of decoded requests (one to four per file, lines or a document), and
    byte edits of the texts."""
    rng = random.Random(seed)
    texts = [data for _, data in json_set()]
    docs = []
    for data in texts:
        try:
            docs += [json.loads(line) for line in data.splitlines() if line.strip()]
        except ValueError:
            continue
    docs = [d for d in docs if isinstance(d, dict)] or [{}]
    for _ in range(count):
        if rng.random() < 0.6:
            requests = [rng.choice(docs) for _ in range(rng.randint(1, 4))]
            requests = [mutate_doc(rng, d) if rng.random() < 0.7 else d for d in requests]
            if len(requests) == 1 and rng.random() < 0.3:
                yield json.dumps(requests[0], indent=1).encode()  # surrogates escaped
            else:
                yield b"".join(_dumps(d) + b"\n" for d in requests)
        else:
            yield otlp_fuzz.mutate(rng, rng.choice(texts), texts)


def _read(parse: Any, data: bytes) -> tuple[Any, str | None]:
    import pyarrow as pa

    try:
        tables = [t for _, t in parse(data, "otel/fuzz.jsonl")]
    except Exception as exc:  # any failure is the file's reject
        return None, f"{type(exc).__name__}: {exc}"
    return (pa.concat_tables(tables) if tables else None), None


def disagreement(data: bytes, chunk_bytes: int | None = None) -> str | None:
    """Why the two readers disagree on ``data``, or None when they agree; ``chunk_bytes``: the
    Python reader's chunk of JSON lines (small ones put several chunks in one file)."""
    from cicl_assets.telemetry import otlp_json
    from cicl_assets.telemetry.otlp_json_compiled import decode_json_compiled

    default = otlp_json.CHUNK_BYTES
    otlp_json.CHUNK_BYTES = chunk_bytes or default
    try:
        table, error = _read(otlp_json.parse_json, data)
        compiled, failed = _read(decode_json_compiled, data)
    finally:
        otlp_json.CHUNK_BYTES = default
    if error != failed:
        return f"the compiled reader: {failed}; the Python reader: {error}"
    if (compiled is None) != (table is None) or (table is not None and not compiled.equals(table)):
        return "different rows"
    return None


def _inputs(seed: int, count: int) -> Iterator[bytes]:
    return itertools.chain((d for _, d in json_set()), mutants(seed, count))


def write_inputs(directory: Path, seed: int, count: int) -> int:
    """The JSON set and ``count`` mutants as files (the C target's inputs)."""
    return otlp_fuzz.write_files(directory, _inputs(seed, count), "{:06d}.json")


def main() -> None:
    sizes = itertools.cycle((None, 1, 300))  # each input read in 4 MiB, one-byte, 300-byte chunks
    check = lambda data: disagreement(data, next(sizes))  # noqa: E731
    otlp_fuzz.command_line(__doc__, write_inputs, _inputs, check)


if __name__ == "__main__":
    main()
