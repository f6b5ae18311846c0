"""The compiled OTLP protobuf decoder: same rows or the same reject as the pure-Python fallback,
on the fuzz set and a bounded run of its mutants; the switch and the missing-extension path."""

import logging
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from cicl_assets.ingest.content import ParseError
from cicl_assets.settings import Settings, SettingsError, compiled_decoders
from cicl_assets.telemetry import otlp_compiled
from cicl_assets.telemetry.otlp_proto import parse_protobuf
from tests.unit.telemetry import otlp_fuzz, otlp_json_fuzz, otlp_logs_fuzz
from tests.unit.telemetry.otlp_requests import T0, every_kind_request, kv

built = pytest.mark.skipif(
    otlp_compiled._otlp_decode is None, reason="the compiled decoder is not built"
)


def test_the_extension_is_built_where_a_compiler_is():
    """A failed build must not pass unnoticed as the fallback; a run meant to test the fallback
    (built without the extension: CC=false) says so with CICL_COMPILED_DECODERS=off."""
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler: the fallback is all there is")
    if not compiled_decoders():
        pytest.skip("CICL_COMPILED_DECODERS=off: this run tests the fallback")
    assert otlp_compiled._otlp_decode is not None, "the package install did not build it"


def _tables(batches) -> pa.Table | None:
    tables = [t for _, t in batches]
    return pa.concat_tables(tables) if tables else None


FUZZ_SET = otlp_fuzz.fuzz_set()


@built
@pytest.mark.parametrize(("name", "data"), FUZZ_SET, ids=[name for name, _ in FUZZ_SET])
def test_both_decoders_agree_on_the_fuzz_set(name, data):
    assert otlp_fuzz.disagreement(data) is None


@built
@pytest.mark.parametrize(
    ("name", "data", "verdict"), otlp_fuzz.HANDMADE, ids=[c[0] for c in otlp_fuzz.HANDMADE]
)
def test_the_check_sorts_each_handmade_request(name, data, verdict):
    assert otlp_compiled.check(data)[0] == verdict


@built
@pytest.mark.parametrize("name", ["every kind request", "otel-proto__trace.json"])
def test_real_requests_take_the_compiled_path(name):
    data = dict(FUZZ_SET)[name]
    assert otlp_compiled.check(data) == ("ok", None, 0)
    table = _tables(otlp_compiled.decode_compiled(data))
    assert table.equals(_tables(parse_protobuf(data, "otel/x.pb")))
    assert table.num_rows == {"every kind request": 4, "otel-proto__trace.json": 1}[name]


@built
def test_batches_are_cut_at_the_limit_and_keep_their_resources():
    request = every_kind_request()
    decoder = otlp_compiled._otlp_decode.Decoder(request.SerializeToString())
    sizes = []
    rows = []
    while (batch := decoder.next(3)) is not None:
        sizes.append((batch["n"], batch["resources"]))
        rows += otlp_compiled.build_table(otlp_compiled.span_columns(batch)).to_pylist()
    # spans 1-3 are the first resource's, span 4 the second's
    assert sizes == [(3, 1), (1, 1)]
    assert [r["service_name"] for r in rows] == ["workflow-runtime"] * 3 + ["tool-worker"]
    assert [r["scope_name"] for r in rows] == [
        "runtime.tracing", "runtime.tracing", "runtime.http", None,
    ]  # fmt: skip


@built
def test_a_bounded_mutational_run_finds_no_disagreement():
    problems = {}
    for k, data in enumerate(otlp_fuzz.mutants(seed=22, count=250)):
        problem = otlp_fuzz.disagreement(data)
        if problem:
            problems[k] = (problem, data.hex())
    assert problems == {}


@built
def test_the_decoder_fed_unchecked_bytes_raises_and_never_reads_past_them():
    for data in otlp_fuzz.mutants(seed=23, count=300):
        otlp_fuzz.raw_pass(data)
    with pytest.raises(ValueError, match="malformed protobuf reached the compiled decoder"):
        otlp_compiled._otlp_decode.Decoder(otlp_fuzz.request(otlp_fuzz.span(b"\x2a\x05"))).next(1)


@pytest.mark.parametrize(
    ("fuzz_set", "seed"), [(otlp_fuzz, 24), (otlp_logs_fuzz, 34), (otlp_json_fuzz, 34)]
)
def test_the_c_passes_under_address_and_undefined_behaviour_sanitizers(
    sanitized_target, fuzz_set, seed, tmp_path
):
    """tests/fuzz/otlp_target.c, without Python, on 300 inputs of each fuzz set: every input
    through the traces check and decode (unchecked input too), the logs check and decode, and
    the OTLP/JSON reader as lines and as a document."""
    count = fuzz_set.write_inputs(tmp_path / "inputs", seed=seed, count=300)
    done = subprocess.run(
        [str(sanitized_target), *sorted(map(str, (tmp_path / "inputs").iterdir()))],
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stderr, done.stdout) == (0, "", f"{count} inputs\n")


@pytest.fixture(scope="module")
def sanitized_target(tmp_path_factory) -> Path:
    """The C target built once with gcc's AddressSanitizer and UndefinedBehaviorSanitizer."""
    gcc = shutil.which("gcc")
    if not gcc:
        pytest.skip("no gcc")
    root = Path(__file__).parents[3]
    target = tmp_path_factory.mktemp("sanitized") / "otlp-target"
    subprocess.run(
        [gcc, "-DCICL_STANDALONE", "-g", "-O1", "-std=c11", "-Wall", "-Wextra", "-Werror",
         "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
         "-I", str(root / "cicl_assets" / "telemetry"), str(root / "tests" / "fuzz" / "otlp_target.c"),
         "-o", str(target)],
        check=True,
    )  # fmt: skip
    return target


@pytest.mark.parametrize(("value", "compiled"), [(None, True), ("on", True), ("OFF", False)])
def test_the_switch(value, compiled):
    env = {} if value is None else {"CICL_COMPILED_DECODERS": value}
    assert compiled_decoders(env) is compiled
    Settings.from_env(env)  # a valid value


def test_the_switch_refuses_other_values():
    with pytest.raises(SettingsError, match="CICL_COMPILED_DECODERS: 'fast' is not one of on, off"):
        Settings.from_env({"CICL_COMPILED_DECODERS": "fast"})


def _refuse(*args):
    raise AssertionError("the compiled decoder was used")


def test_off_parses_with_the_fallback(monkeypatch):
    monkeypatch.setenv("CICL_COMPILED_DECODERS", "off")
    monkeypatch.setattr(otlp_compiled, "decode_compiled", _refuse)
    data = every_kind_request().SerializeToString()
    table = _tables(otlp_compiled.parse_protobuf_spans(data, "otel/x.pb"))
    assert table.num_rows == 4


def test_without_the_extension_the_fallback_is_used_and_said_once(monkeypatch, caplog):
    monkeypatch.delenv("CICL_COMPILED_DECODERS", raising=False)
    monkeypatch.setattr(otlp_compiled, "_otlp_decode", None)
    monkeypatch.setattr(otlp_compiled, "_MISSING", "ImportError: no _otlp_decode", raising=False)
    monkeypatch.setattr(otlp_compiled, "_told", False)
    monkeypatch.setattr(otlp_compiled, "decode_compiled", _refuse)
    data = every_kind_request().SerializeToString()
    with caplog.at_level(logging.WARNING, logger=otlp_compiled.__name__):
        for _ in range(2):
            assert _tables(otlp_compiled.parse_protobuf_spans(data, "otel/x.pb")).num_rows == 4
    said = [r.getMessage() for r in caplog.records if r.name == otlp_compiled.__name__]
    assert len(said) == 1
    assert "not built (ImportError: no _otlp_decode)" in said[0]


@built
def test_a_rejected_request_is_worded_by_the_fallback(monkeypatch):
    monkeypatch.delenv("CICL_COMPILED_DECODERS", raising=False)
    request = every_kind_request()
    request.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01\x02"
    with pytest.raises(ParseError, match=r"spans\[1\]: invalid trace_id \(2 bytes, expected 16\)"):
        _tables(otlp_compiled.parse_protobuf_spans(request.SerializeToString(), "otel/x.pb"))


def test_ids_whose_lengths_only_add_up_are_refused():
    """15 and 17 bytes side by side make the right total: the fallback used to accept them."""
    data = otlp_fuzz.request(otlp_fuzz.span(trace=b"\x01" * 15), otlp_fuzz.span(trace=b"\x01" * 17))
    with pytest.raises(ParseError, match=r"spans\[0\]: invalid trace_id \(15 bytes, expected 16\)"):
        _tables(parse_protobuf(data, "otel/x.pb"))


def _promoted_row(resource: list, span: list) -> dict:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(resource)
    rs.scope_spans.add().spans.add(
        trace_id=b"\x01" * 16,
        span_id=b"\x02" * 8,
        name="op",
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 1,
        attributes=span,
    )
    data = req.SerializeToString()
    table = _tables(otlp_compiled.decode_compiled(data))
    assert table.equals(_tables(parse_protobuf(data, "otel/x.pb")))
    columns = ("deployment_environment", "gen_ai_model", "input_tokens", "http_status_code")
    return {c: table.column(c)[0].as_py() for c in columns}


# (resource attributes, span attributes, the promoted values): the first listed key present
# with the column's kind wins, wherever it sits; of a key given twice, the last
PROMOTED_CASES = [
    ([], [], (None, None, None, None)),
    ([kv("deployment.environment", string_value="prod")], [], ("prod", None, None, None)),
    (
        [
            kv("deployment.environment", string_value="prod"),
            kv("deployment.environment.name", string_value="staging"),
        ],
        [
            kv("gen_ai.response.model", string_value="b"),
            kv("gen_ai.request.model", string_value="a"),
        ],
        ("staging", "a", None, None),
    ),
    (
        [],
        [
            kv("gen_ai.request.model", string_value="a1"),
            kv("gen_ai.request.model", string_value="a2"),
        ],
        (None, "a2", None, None),
    ),
    (
        [kv("deployment.environment.name", int_value=3)],
        [kv("gen_ai.request.model", int_value=5), kv("gen_ai.response.model", string_value="b")],
        (None, "b", None, None),
    ),
    (
        [],
        [
            kv("gen_ai.usage.input_tokens", string_value="9"),
            kv("gen_ai.usage.prompt_tokens", int_value=7),
            kv("http.status_code", int_value=429),
            kv("http.response.status_code", string_value="200"),
        ],
        (None, None, 7, 429),
    ),
    (
        [],
        [kv("http.status_code", int_value=429), kv("http.response.status_code", int_value=200)],
        (None, None, None, 200),
    ),
]


@built
@pytest.mark.parametrize(("resource", "span", "expected"), PROMOTED_CASES)
def test_the_decoder_picks_the_promoted_values_the_fallback_promotes(resource, span, expected):
    row = _promoted_row(resource, span)
    assert tuple(row.values()) == expected
