"""The compiled OTLP logs decoder against the pure-Python one: the fuzz set and mutations (the
logs twin of otlp_fuzz, with the same oracle).

The fuzz set is every protobuf logs request the tests know: the fixtures' OTLP/JSON logs
re-encoded, requests shaped as the demo's session logs and evaluation results, and hand-made
malformed, unusual or hard ones (records the compiled path hands back to Python).

`python -m tests.unit.telemetry.otlp_logs_fuzz --seconds 300` runs the comparison;
`--write DIR --count N` writes the inputs as files for tests/fuzz/otlp_target.c.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.unit.telemetry.otlp_fuzz import (
    KEYS,
    TEXTS,
    _any_value,
    command_line,
    field,
    kv,
    mutate,
    varint,
    write_files,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "otlp-logs"
T0 = 1_762_300_800_123_456_789


def record(*extra: bytes, time: int = T0) -> bytes:
    return field(1, time, 1) + field(11, time + 5, 1) + field(2, 9, 0) + b"".join(extra)


def request(*records: bytes, resource: bytes = b"", scope: bytes = b"") -> bytes:
    """A request of one resource and one scope holding ``records`` (raw LogRecord bytes)."""
    sl = (field(1, scope) if scope else b"") + b"".join(field(2, r) for r in records)
    rl = (field(1, resource) if resource else b"") + field(2, sl)
    return field(1, rl)


def _attr(key: bytes, value: bytes) -> bytes:
    return field(6, kv(key, value))


def _body(value: bytes) -> bytes:
    return field(5, value)


def _double(value: float) -> bytes:
    return field(4, struct.unpack("<Q", struct.pack("<d", value))[0], 1)


def nested_arrays(levels: int) -> bytes:
    value = field(5, b"")
    for _ in range(levels):
        value = field(5, field(1, value))
    return value


_SERVICE = field(1, kv(b"service.name", field(1, b"flow-runtime")))
_TRACE, _SPAN = field(9, bytes(range(16))), field(10, bytes(range(8)))

# fmt: off
# (name, data, the compiled check's verdict)
HANDMADE: list[tuple[str, bytes, str]] = [
    ("empty request", b"", "ok"),
    ("only an unknown field", field(7, b"\xff\xfe"), "ok"),
    ("a plain record", request(record()), "ok"),
    ("a record without times or severity", request(b""), "ok"),
    ("ids, flags, texts", request(record(_TRACE, _SPAN, field(8, 1, 5), field(3, b"INFO"),
                                         field(12, b"session.start"))), "ok"),
    ("every scalar kind", request(record(
        _attr(b"s", field(1, "é\x00\"\\\x7f\u2028".encode())), _attr(b"b", field(2, 1, 0)),
        _attr(b"i", field(3, 2**64 - 1, 0)), _attr(b"d", _double(-0.0)),
        _attr(b"d2", _double(1e16)), _attr(b"d3", _double(1e-5)), _attr(b"d4", _double(0.1)),
        _attr(b"nan", _double(float("nan"))), _attr(b"inf", _double(float("-inf"))),
        _attr(b"bytes", field(7, b"\x00\xff\x10")), _attr(b"empty", b""),
        field(6, kv(b"no value", None)),
    )), "ok"),
    ("a string body", request(record(_body(field(1, b"workflow run finished")))), "ok"),
    ("an empty string body", request(record(_body(field(1, b"")))), "ok"),
    ("an empty body", request(record(_body(b""))), "ok"),
    ("a bytes body", request(record(_body(field(7, b"\x01\x02")))), "ok"),
    ("an int body", request(record(_body(field(3, 5, 0)))), "ok"),
    ("a NaN body", request(record(_body(_double(float("nan"))))), "ok"),
    ("a kvlist body", request(record(_body(field(6, field(1, kv(b"a", field(5, field(1, field(
        2, 0, 0))))))))), "ok"),
    ("a repeated key (Python decodes the record)", request(record(
        _attr(b"a", field(3, 1, 0)), _attr(b"b", field(3, 2, 0)), _attr(b"a", field(3, 3, 0)))), "ok"),
    ("a repeated key below the top", request(record(_attr(b"m", field(6, field(1, kv(
        b"x", field(3, 1, 0))) + field(1, kv(b"x", field(3, 2, 0))))))), "ok"),
    ("event.name as an int", request(record(_attr(b"event.name", field(3, 7, 0)))), "ok"),
    ("event.name as an attribute", request(record(_attr(b"event.name", field(1, b"x")))), "ok"),
    ("session.id as a bool", request(record(_attr(b"session.id", field(2, 1, 0)))), "ok"),
    ("an evaluation result", request(record(
        field(12, b"gen_ai.evaluation.result"), _TRACE, _SPAN,
        _attr(b"gen_ai.evaluation.name", field(1, b"relevance")),
        _attr(b"gen_ai.evaluation.score.value", _double(0.25))), resource=_SERVICE), "ok"),
    ("an evaluation result named by attribute", request(record(
        _attr(b"event.name", field(1, b"gen_ai.evaluation.result")),
        _attr(b"gen_ai.evaluation.score.value", _double(float("nan"))))), "ok"),
    ("secrets in attributes and body", request(record(
        _attr(b"db.password", field(1, b"hunter22")),
        _attr(b"http.request.header.authorization", field(1, b"Bearer abc.def.ghi")),
        _body(field(1, b"login with password=s3cr3t!"))), resource=field(1, kv(
        b"api.key", field(1, b"k-123")))), "ok"),
    ("a bearer token after a tab", request(record(_attr(b"h", field(1, b"Bearer\tAKIAXYZ")))), "ok"),
    ("a ConfigMap body", request(record(_body(field(6, field(1, kv(b"kind", field(1, b"ConfigMap")))
        + field(1, kv(b"data", field(6, field(1, kv(b"a", field(1, b"b")))))))))), "ok"),
    ("the environment's two names", request(record(), resource=field(1, kv(
        b"deployment.environment.name", field(1, b""))) + field(1, kv(
        b"deployment.environment", field(1, b"staging")))), "ok"),
    ("a resource and a scope", request(record(), resource=_SERVICE + field(1, kv(
        b"service.version", field(1, b"1.2"))), scope=field(1, b"lib") + field(2, b"0.1")), "ok"),
    ("service.name as an int", request(record(), resource=field(1, kv(
        b"service.name", field(3, 1, 0)))), "ok"),
    # libFuzzer's first find (an offset from the still unallocated key list)
    ("an attribute without a key", bytes.fromhex("0a0a12081206320412020a00"), "ok"),
    ("severity outside the enum", request(record(field(2, 2**64 - 1, 0))), "ok"),
    ("body nested deep", request(record(_body(nested_arrays(46)))), "ok"),
    ("body nested past upb's depth limit", request(record(_body(nested_arrays(48)))), "reject"),
    ("a short trace id", request(record(field(9, b"\x01" * 15))), "reject"),
    ("a span id of 4 bytes", request(record(field(10, b"\x01" * 4))), "reject"),
    ("a trace id repeated: the last counts", request(record(field(9, b"\x01" * 3), _TRACE)), "ok"),
    ("a time past 2^63", request(record(time=2**63)), "unusual"),
    ("the body twice (protobuf merges)", request(record(_body(b""), _body(b""))), "unusual"),
    ("a resource twice", field(1, field(1, b"") + field(1, b"")), "unusual"),
    ("a scope twice", field(1, field(2, field(1, b"") + field(1, b""))), "unusual"),
    ("a value set twice", request(record(_attr(b"k", field(1, b"a") + field(3, 1, 0)))), "unusual"),
    ("a group in a record", request(record(field(99, b"", 3) + field(99, b"", 4))), "unusual"),
    ("invalid UTF-8 in the severity text", request(record(field(3, b"\xc0\x80"))), "reject"),
    ("invalid UTF-8 in the event name", request(record(field(12, b"\xed\xa0\x80"))), "reject"),
    ("invalid UTF-8 in bytes is fine", request(record(_body(field(7, b"\xff")))), "ok"),
    ("a varint cut by its record's end", request(record(b"\x10\x80")), "reject"),
    ("a length past the end", request(record(b"\x1a\xff\xff\xff\xff\x0f")), "reject"),
    ("a huge length at the request level", b"\x0a" + varint(2**62), "reject"),
    ("field number 0", request(record(b"\x00\x01")), "reject"),
    ("wire type 7", request(record(b"\x1f")), "reject"),
    ("resource_logs as a varint", field(1, 5, 0), "ok"),
]
# fmt: on


def to_protobuf(doc: dict[str, Any]) -> bytes:
    """An OTLP/JSON logs request as protobuf (hex ids to bytes) with the reference JSON parser."""
    doc = json.loads(json.dumps(doc))
    for rl in doc.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for rec in sl.get("logRecords", []):
                for key in ("traceId", "spanId"):
                    if rec.get(key):
                        rec[key] = base64.b64encode(bytes.fromhex(rec[key])).decode()
    return json_format.ParseDict(doc, ExportLogsServiceRequest()).SerializeToString()


def _fixtures() -> Iterator[tuple[str, bytes]]:
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix == ".json":
            yield path.name, to_protobuf(json.loads(path.read_bytes()))
        elif path.suffix == ".jsonl":
            lines = [line for line in path.read_bytes().splitlines() if line.strip()]
            for k, line in enumerate(lines):
                yield f"{path.name}:{k + 1}", to_protobuf(json.loads(line))


def session_request(seed: int, runs: int) -> bytes:
    """Records shaped as the demo's (demo/session_files.py): a session log line per workflow run
    and an evaluation result for a share of them, from one runtime service."""
    rng = random.Random(seed)
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    for key, value in (("service.name", "flow-runtime"), ("deployment.environment.name", "prod")):
        rl.resource.attributes.add(key=key).value.string_value = value
    sl = rl.scope_logs.add()
    sl.scope.name = "flow.sessions"
    for k in range(runs):
        at = T0 + k * 1_000_003_117
        rec = sl.log_records.add(
            time_unix_nano=at,
            observed_time_unix_nano=at,
            severity_number=9,
            severity_text="INFO",
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
        )
        workflow = rng.choice(("support-reply", "triage", "summarise"))
        rec.body.string_value = f"workflow {workflow} run finished"
        for key, value in (
            ("session.id", f"sess-{rng.getrandbits(48):012x}"),
            ("enduser.id", f"user-{rng.randrange(40):03d}@customer.example"),
            ("workflow.name", workflow),
        ):
            rec.attributes.add(key=key).value.string_value = value
        if rng.random() < 0.2:
            ev = sl.log_records.add(
                time_unix_nano=at + 30_000_000_000,
                severity_number=9,
                event_name="gen_ai.evaluation.result",
                trace_id=rec.trace_id,
                span_id=rec.span_id,
            )
            score = round(rng.gauss(0.8, 0.08), 3)
            ev.attributes.add(key="gen_ai.evaluation.name").value.string_value = "relevance"
            ev.attributes.add(key="gen_ai.evaluation.score.value").value.double_value = score
            label = "pass" if score >= 0.6 else "fail"
            ev.attributes.add(key="gen_ai.evaluation.score.label").value.string_value = label
    return req.SerializeToString()


def fuzz_set() -> list[tuple[str, bytes]]:
    """Every input of the set, named."""
    out = list(_fixtures())
    out += [(f"session logs {k}", session_request(k, 30)) for k in range(3)]
    out += [(name, data) for name, data, _ in HANDMADE]
    return out


def mutate_message(rng: random.Random, data: bytes) -> bytes:
    """Edits through the protobuf classes: valid framing, varied values."""
    req = ExportLogsServiceRequest.FromString(data)
    records = [(rl, r) for rl in req.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    for _ in range(rng.randint(1, 4)):
        if not records:
            break
        rl, rec = rng.choice(records)
        op = rng.randrange(6)
        if op == 0:
            owner = rng.choice([rec, rl.resource])
            key = rng.choice((*KEYS, "event.name", "session.id", "db.password", "note"))
            _any_value(rng, owner.attributes.add(key=key).value)
        elif op == 1:
            _any_value(rng, rec.body)
        elif op == 2:
            rec.severity_text, rec.event_name = (
                rng.choice(TEXTS),
                rng.choice(("", "x", "gen_ai.evaluation.result")),
            )
        elif op == 3:
            rec.severity_number, rec.flags = rng.randrange(-2, 30), rng.choice((0, 1, 2**32 - 1))
        elif op == 4:
            rec.time_unix_nano = rng.choice((0, 1, T0, 2**63 - 1, rng.randrange(2**62)))
            rec.observed_time_unix_nano = rng.choice((0, T0 + 999, rng.randrange(2**62)))
        else:
            rec.trace_id, rec.span_id = rng.choice(((b"", b""), (bytes(16), bytes(range(8)))))
    return req.SerializeToString()


def mutants(seed: int, count: int) -> Iterator[bytes]:
    """Seeded mutants: half byte edits, half edits of the messages."""
    rng = random.Random(seed)
    base = [data for _, data in fuzz_set()]
    messages = [data for data in base if _parses(data)]
    for _ in range(count):
        if rng.random() < 0.5:
            yield mutate_message(rng, rng.choice(messages))
        else:
            yield mutate(rng, rng.choice(base), base)


def _parses(data: bytes) -> bool:
    try:
        ExportLogsServiceRequest.FromString(data)
    except DecodeError:
        return False
    return True


def tables(batches: Any) -> dict[str, Any]:
    """The batches of a parse as one table per name, as the spool builds them."""
    import pyarrow as pa

    from cicl_assets.ingest.spool import records_to_table
    from cicl_assets.telemetry.logs_table import EVAL_SCORES, OTEL_LOGS

    specs = {OTEL_LOGS.name: OTEL_LOGS, EVAL_SCORES.name: EVAL_SCORES}
    out: dict[str, list[Any]] = {}
    for name, rows in batches:
        out.setdefault(name, []).append(records_to_table(specs[name], rows, "otel/fuzz.pb"))
    return {name: pa.concat_tables(parts) for name, parts in out.items()}


def disagreement(data: bytes) -> str | None:
    """Why the two decoders disagree on ``data``, or None when they agree."""
    from cicl_assets.telemetry import otlp_logs_compiled
    from cicl_assets.telemetry.otlp_logs import parse_logs_protobuf

    verdict, why, at = otlp_logs_compiled.check(data)
    if verdict == "unusual":
        return None
    try:
        expected, error = tables(parse_logs_protobuf(data, "otel/fuzz.pb")), None
    except Exception as exc:  # any failure is the file's reject
        expected, error = None, f"{type(exc).__name__}: {exc}"
    if verdict == "reject":
        return None if error else f"compiled rejects ({why} at byte {at}), the fallback accepts"
    if error:
        return f"compiled accepts, the fallback fails: {error}"
    got = tables(otlp_logs_compiled.decode_compiled(data))
    assert expected is not None
    if got.keys() != expected.keys():
        return f"tables {sorted(got)} against {sorted(expected)}"
    for name, table in expected.items():
        if not got[name].equals(table):
            return f"different {name} rows"
    return None


def raw_pass(data: bytes) -> None:
    """The extension alone, also fed what its check refuses: it may raise, never crash."""
    from cicl_assets.telemetry import _otlp_decode

    _otlp_decode.check_logs(data)
    decoder = _otlp_decode.LogDecoder(data)
    try:
        while decoder.next(7) is not None:
            pass
    except ValueError:
        pass


def _inputs(seed: int, count: int) -> Iterator[bytes]:
    return itertools.chain((d for _, d in fuzz_set()), mutants(seed, count))


def write_inputs(directory: Path, seed: int, count: int) -> int:
    """The fuzz set and ``count`` mutants as files (the C target's inputs, libFuzzer's seeds)."""
    return write_files(directory, _inputs(seed, count), "logs-{:06d}.pb")


def main() -> None:
    command_line(__doc__, write_inputs, _inputs, disagreement, raw_pass)


if __name__ == "__main__":
    main()
