"""The compiled OTLP logs decoder: same rows or the same reject as the pure-Python fallback, on
the fuzz set (the fixtures' logs, demo-shaped session logs, hand-made cases) and a bounded run of
its mutants; records handed back to Python; the switch and the missing-extension path."""

import pyarrow as pa
import pytest

from cicl_assets.telemetry import otlp_compiled, otlp_logs_compiled
from cicl_assets.telemetry.formats import OTLP_LOGS_PROTOBUF
from tests.unit.telemetry import otlp_logs_fuzz

built = pytest.mark.skipif(not otlp_logs_compiled.available(), reason="not built, or switched off")

FUZZ_SET = otlp_logs_fuzz.fuzz_set()


@built
@pytest.mark.parametrize(("name", "data"), FUZZ_SET, ids=[name for name, _ in FUZZ_SET])
def test_both_decoders_agree_on_the_fuzz_set(name, data):
    assert otlp_logs_fuzz.disagreement(data) is None


@built
@pytest.mark.parametrize(
    ("name", "data", "verdict"),
    otlp_logs_fuzz.HANDMADE,
    ids=[c[0] for c in otlp_logs_fuzz.HANDMADE],
)
def test_the_check_sorts_each_handmade_request(name, data, verdict):
    assert otlp_logs_compiled.check(data)[0] == verdict


@built
def test_every_fixture_and_session_request_takes_the_compiled_path():
    real = [(n, d) for n, d in FUZZ_SET if n.endswith((".json", ".jsonl:1", ".jsonl:2")) or
            n.startswith("session logs")]  # fmt: skip
    assert len(real) >= 6
    for name, data in real:
        assert otlp_logs_compiled.check(data)[0] == "ok", name
        batches = list(OTLP_LOGS_PROTOBUF.parse(data, "otel/x.pb"))
        assert isinstance(batches[0][1], pa.Table), name


@built
def test_session_logs_are_built_in_c_and_evaluations_in_python():
    """The demo's shape: session lines are decoded in C, the evaluation results (which also fill
    eval_scores) by the fallback's own code, each in its place."""
    data = otlp_logs_fuzz.session_request(7, 200)
    decoder = otlp_compiled._otlp_decode.LogDecoder(data)
    batch = decoder.next(10_000)
    assert decoder.next(10_000) is None
    hard = sum(batch["hard"])
    assert 0 < hard < batch["n"] / 2
    tables = otlp_logs_fuzz.tables(otlp_logs_compiled.decode_compiled(data))
    logs, scores = tables["otel_logs"], tables["eval_scores"]
    assert scores.num_rows == hard
    events = logs.column("event_name").to_pylist()
    assert events.count("gen_ai.evaluation.result") == hard
    assert logs.column("session_id").null_count == hard
    assert otlp_logs_fuzz.disagreement(data) is None


@built
def test_a_record_holding_a_secret_is_redacted_as_the_fallback_redacts_it():
    [(_, data, _)] = [c for c in otlp_logs_fuzz.HANDMADE if c[0].startswith("secrets")]
    tables = otlp_logs_fuzz.tables(otlp_logs_compiled.decode_compiled(data))
    [row] = tables["otel_logs"].to_pylist()
    assert "hunter22" not in row["attributes"] and "s3cr3t" not in row["body"]
    assert "k-123" not in row["resource_attributes"]
    assert otlp_logs_fuzz.disagreement(data) is None


@built
def test_batches_split_where_the_fallbacks_do():
    data = otlp_logs_fuzz.session_request(3, 12_000)
    compiled = [(n, len(rows)) for n, rows in otlp_logs_compiled.decode_compiled(data)]
    fallback = [(n, len(rows)) for n, rows in otlp_logs_compiled.parse_logs_protobuf(data, "x")]
    assert compiled == fallback
    assert [n for n, _ in compiled].count("otel_logs") == 2


@built
def test_a_bounded_mutational_run_finds_no_disagreement():
    problems, verdicts = {}, []
    for k, data in enumerate(otlp_logs_fuzz.mutants(seed=32, count=300)):
        verdicts.append(otlp_logs_compiled.check(data)[0])
        problem = otlp_logs_fuzz.disagreement(data)
        if problem:
            problems[k] = (problem, data.hex())
    assert problems == {}
    assert verdicts.count("ok") > 100  # most mutants are compared row for row, not sent away


@built
def test_the_decoder_fed_unchecked_bytes_raises_and_never_reads_past_them():
    for data in otlp_logs_fuzz.mutants(seed=33, count=300):
        otlp_logs_fuzz.raw_pass(data)
    cut = otlp_logs_fuzz.request(otlp_logs_fuzz.record(b"\x2a\x05"))
    with pytest.raises(ValueError, match="malformed protobuf reached the compiled decoder"):
        otlp_compiled._otlp_decode.LogDecoder(cut).next(1)


def _fallback_shaped(batches) -> list[tuple[str, type]]:
    return [(name, type(rows)) for name, rows in batches]


def test_switched_off_or_not_built_every_request_goes_to_the_fallback(monkeypatch):
    data = otlp_logs_fuzz.session_request(1, 5)
    monkeypatch.setenv("CICL_COMPILED_DECODERS", "off")
    assert not otlp_logs_compiled.available()
    assert _fallback_shaped(OTLP_LOGS_PROTOBUF.parse(data, "otel/x.pb"))[0] == ("otel_logs", list)
    monkeypatch.setenv("CICL_COMPILED_DECODERS", "on")
    monkeypatch.setattr(otlp_compiled, "_otlp_decode", None)
    monkeypatch.setattr(otlp_compiled, "_MISSING", "ImportError: not built", raising=False)
    assert not otlp_logs_compiled.available()
    assert _fallback_shaped(OTLP_LOGS_PROTOBUF.parse(data, "otel/x.pb"))[0] == ("otel_logs", list)
