"""The compiled OTLP protobuf decoder against the pure-Python one: the fuzz set and mutations.

The fuzz set is every protobuf trace request the tests know (the corpus's OTLP/JSON traces
re-encoded, the every-kind request, synthetic benchmark requests) and hand-made malformed or
unusual ones. Mutants are seeded edits of those. The oracle, per input:

- the compiled check says "ok": its rows equal the fallback's, and the fallback does not fail;
- it says "reject": the fallback fails too (its message is the reject the person reads);
- it says "unusual": the fallback decodes it (nothing to compare).

`python -m tests.unit.telemetry.otlp_fuzz --seconds 300` is `make fuzz`; `--raw` runs only the
extension's own entry points (also on unchecked input), without pyarrow, for valgrind:
`PYTHONMALLOC=malloc valgrind --error-exitcode=1 python -m tests.unit.telemetry.otlp_fuzz --raw`;
`--write DIR --count N` writes the inputs as files for tests/fuzz/otlp_target.c.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import struct
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from benchmarks.otlp_synth import TraceFactory
from tests.unit.telemetry.otlp_requests import every_kind_request, from_otlp_json

FIXTURES = Path(__file__).parents[2] / "fixtures" / "otlp-traces"


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, payload: bytes | int, wire: int = 2) -> bytes:
    tag = varint(number << 3 | wire)
    if wire == 2:
        assert isinstance(payload, bytes)
        return tag + varint(len(payload)) + payload
    if wire == 0:
        assert isinstance(payload, int)
        return tag + varint(payload)
    if wire == 1:
        return tag + struct.pack("<Q", payload)
    return tag + (payload if isinstance(payload, bytes) else struct.pack("<I", payload))


def kv(key: bytes, value: bytes | None) -> bytes:
    return field(1, key) + (b"" if value is None else field(2, value))


T0 = 1_762_300_800_000_000_000


def span(*extra: bytes, trace: bytes = b"\x01" * 16, span_id: bytes = b"\x02" * 8) -> bytes:
    return (
        field(1, trace)
        + field(2, span_id)
        + field(5, b"op")
        + field(7, T0, 1)
        + field(8, T0 + 1000, 1)
        + b"".join(extra)
    )


def request(*spans: bytes, resource: bytes = b"", scope: bytes = b"") -> bytes:
    """A request of one resource and one scope holding ``spans`` (raw Span bytes)."""
    ss = (field(1, scope) if scope else b"") + b"".join(field(2, s) for s in spans)
    rs = (field(1, resource) if resource else b"") + field(2, ss)
    return field(1, rs)


def nested_arrays(levels: int) -> bytes:
    """An AnyValue of ``levels`` nested arrays around an empty array."""
    value = field(5, b"")
    for _ in range(levels):
        value = field(5, field(1, value))
    return value


def _attr(value: bytes) -> bytes:
    return field(9, kv(b"k", value))


# fmt: off
# (name, data, the compiled check's verdict)
HANDMADE: list[tuple[str, bytes, str]] = [
    ("empty request", b"", "ok"),
    ("only an unknown field", field(7, b"\xff\xfe"), "ok"),
    ("a plain span", request(span()), "ok"),
    ("every scalar kind", request(span(
        _attr(field(1, "é\x00\"\\".encode())), _attr(field(2, 2**40, 0)), _attr(field(3, 2**64 - 1, 0)),
        _attr(field(4, struct.unpack("<Q", struct.pack("<d", -0.0))[0], 1)),
        _attr(field(7, b"\x00\xff")), _attr(b""), field(9, kv(b"no value", None)),
    )), "ok"),
    ("kind and code outside the enums", request(span(
        field(6, 2**64 - 1, 0), field(15, field(3, 2**32 + 7, 0) + field(2, b"m")),
    )), "ok"),
    ("nested arrays at upb's depth limit", request(span(_attr(nested_arrays(47)))), "ok"),
    ("nested arrays past upb's depth limit", request(span(_attr(nested_arrays(48)))), "reject"),
    ("kvlist with a repeated key below the top", request(span(_attr(field(6, field(1, kv(
        b"m", field(6, field(1, kv(b"a", field(3, 1, 0))) + field(1, kv(b"a", field(3, 2, 0)))),
    )))))), "ok"),
    ("a name sent as a varint (unknown field)", request(span(field(5, 3, 0))), "ok"),
    ("attributes sent as fixed32 (unknown field)", request(span(field(9, 1, 5))), "ok"),
    ("a string repeated: the last wins", request(span(field(5, b"second"))), "ok"),
    ("a varint cut by its message's end", request(span(b"\x30\x80")), "reject"),
    ("eleven-byte varint", request(span(field(6, 0, 0)[:-1] + b"\xff" * 10 + b"\x01")), "reject"),
    ("a length past the end", request(span(b"\x2a\xff\xff\xff\xff\x0f")), "reject"),
    ("a huge length at the request level", b"\x0a" + varint(2**62), "reject"),
    ("a length wider than 64 bits", b"\x0a" + b"\x80" * 9 + b"\x40", "reject"),
    # upb drops a length's bits past 64, the splitter of the request level does not
    ("a length wider than 64 bits in a span", request(span(b"\x2a" + b"\x80" * 9 + b"\x40")),
     "ok"),
    ("wire type 7", request(span(b"\x2f")), "reject"),
    ("field number 0", request(span(b"\x00\x01")), "reject"),
    ("field number 0 at the request level", b"\x00\x01", "reject"),
    ("a group at the request level", b"\x0b\x0c", "reject"),
    ("an overlong tag at the request level", b"\x8a\x80\x80\x80\x80\x00" + varint(0), "unusual"),
    ("an overlong tag in a span", request(span(b"\xa8\x80\x80\x80\x80\x00\x01")), "reject"),
    ("a group in a span", request(span(field(99, b"", 3) + field(99, b"", 4))), "unusual"),
    ("invalid UTF-8 in a key", request(span(field(9, kv(b"\xc0\x80", None)))), "reject"),
    ("a surrogate in a scope name", request(span(), scope=field(1, b"\xed\xa0\x80")), "reject"),
    ("invalid UTF-8 in bytes is fine", request(span(_attr(field(7, b"\xff")))), "ok"),
    ("a short trace id", request(span(trace=b"\x01" * 15)), "reject"),
    ("ids of 15 and 17 bytes side by side",
     request(span(trace=b"\x01" * 15), span(trace=b"\x01" * 17)), "reject"),
    ("a parent of 4 bytes", request(span(field(4, b"\x01" * 4))), "reject"),
    ("a link without ids", request(span(field(13, b""))), "reject"),
    ("no end time", request(span(field(8, 0, 1))), "reject"),
    ("a start time past 2^63", request(span(field(7, 2**63, 1))), "unusual"),
    ("an event time past 2^63", request(span(field(11, field(1, 2**63, 1)))), "unusual"),
    ("status twice (protobuf merges)", request(span(field(15, b""), field(15, b""))), "unusual"),
    ("a resource twice", field(1, field(1, b"") + field(1, b"")), "unusual"),
    ("a value set twice", request(span(_attr(field(1, b"a") + field(3, 1, 0)))), "unusual"),
    ("a string index value", request(span(_attr(field(8, 3, 0)))), "unusual"),
    ("a key's string index beside its key", request(span(field(9, kv(b"k", field(1, b"v"))
                                                               + field(3, 5, 0)))), "ok"),
    ("resource_spans as a varint", field(1, 5, 0), "unusual"),
    ("a resource and scope with attributes", request(
        span(), resource=field(1, kv(b"service.name", field(1, b"svc"))),
        scope=field(1, b"lib") + field(2, b"1.0") + field(3, kv(b"x", field(1, b"y"))),
    ), "ok"),
]
# fmt: on


def _corpus() -> Iterator[tuple[str, bytes]]:
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_bytes())
        if "resourceSpans" in doc:
            yield path.name, from_otlp_json(doc).SerializeToString()


def fuzz_set() -> list[tuple[str, bytes]]:
    """Every input of the set, named."""
    out = [("every kind request", every_kind_request().SerializeToString()), *_corpus()]
    synth = TraceFactory(seed=11).requests(40)
    out += [(f"synthetic request {k}", next(synth).SerializeToString()) for k in range(3)]
    out += [(name, data) for name, data, _ in HANDMADE]
    return out


INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x08, 0x09, 0x0F)


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """One to three seeded edits: bit flips, interesting bytes, cuts, repeats, splices."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        n = len(out)
        op = rng.randrange(8)
        k = rng.randrange(n) if n else 0
        if op == 0 and n:
            out[k] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            out[k] = rng.choice(INTERESTING)
        elif op == 2 and n:
            del out[rng.randrange(n) :]
        elif op == 3 and n:
            j = min(n, k + rng.randint(1, 16))
            del out[k:j]
        elif op == 4 and n:
            j = min(n, k + rng.randint(1, 32))
            out[k:k] = out[k:j]
        elif op == 5:
            out[k:k] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 6 and others:
            other = rng.choice(others)
            if other:
                a = rng.randrange(len(other))
                out[k:k] = other[a : a + rng.randint(1, 64)]
        elif op == 7 and n:  # a length or varint made longer
            out[k : k + 1] = bytes([out[k] | 0x80, rng.choice((0x01, 0x7F, 0x80, 0x00))])
    return bytes(out)


TEXTS = ("", "a", "é\u2028😀", 'q"uo\\te', "\x00\x1f\n\t", "service.name", "gen_ai.system")
KEYS = (
    "k", "", "service.name", "gen_ai.request.model", "gen_ai.usage.input_tokens",
    "http.status_code", "error.type", "workflow.name", "deployment.environment",
)  # fmt: skip


def _any_value(rng: random.Random, value: AnyValue, depth: int = 0) -> None:
    choice = rng.randrange(9 if depth < 3 else 7)
    if choice == 0:
        value.string_value = rng.choice(TEXTS)
    elif choice == 1:
        value.bool_value = rng.random() < 0.5
    elif choice == 2:
        value.int_value = rng.choice((0, -1, 2**63 - 1, -(2**63), rng.randrange(-1000, 1000)))
    elif choice == 3:
        value.double_value = rng.choice(
            (
                0.0, -0.0, 0.1, 1e300, 5e-324, float("nan"), float("inf"),
                round(rng.uniform(-1e4, 1e4), rng.randrange(8)),  # short decimals
                2.0 ** rng.randint(-1074, 1023),  # where the nearest digits may not read back
                struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0],
            )
        )  # fmt: skip
    elif choice == 4:
        value.bytes_value = bytes(rng.randrange(256) for _ in range(rng.randrange(5)))
    elif choice == 5:
        value.Clear()
    elif choice == 6:
        value.string_value = ""
    elif choice == 7:
        value.array_value.SetInParent()
        for _ in range(rng.randrange(3)):
            _any_value(rng, value.array_value.values.add(), depth + 1)
    else:
        value.kvlist_value.SetInParent()
        for _ in range(rng.randrange(3)):
            kv = value.kvlist_value.values.add(key=rng.choice(KEYS))
            _any_value(rng, kv.value, depth + 1)


def mutate_message(rng: random.Random, data: bytes) -> bytes:
    """Edits through the protobuf classes: valid framing, varied values (what the compiled
    decoder reads rather than refuses)."""
    req = ExportTraceServiceRequest.FromString(data)
    spans = [(rs, s) for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    for _ in range(rng.randint(1, 4)):
        if not spans:
            break
        rs, span = rng.choice(spans)
        op = rng.randrange(7)
        if op == 0:
            owner = rng.choice([span, rs.resource, *span.events, *span.links])
            kv = owner.attributes.add(key=rng.choice(KEYS))
            _any_value(rng, kv.value)
        elif op == 1 and span.attributes:
            _any_value(rng, rng.choice(span.attributes).value)
        elif op == 2:
            span.name, span.trace_state = rng.choice(TEXTS), rng.choice(("", "a=1"))
        elif op == 3:
            span.kind, span.status.code = rng.randrange(-2, 8), rng.randrange(-1, 4)
            span.status.message = rng.choice(TEXTS)
        elif op == 4:
            span.parent_span_id = rng.choice((b"", b"\x07" * 8))
        elif op == 5:
            event = span.events.add(name=rng.choice(TEXTS), time_unix_nano=rng.randrange(1, 2**62))
            _any_value(rng, event.attributes.add(key="e").value)
        else:
            link = span.links.add(trace_id=bytes(range(16)), span_id=bytes(8))
            link.trace_state = rng.choice(("", "x=y"))
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
        ExportTraceServiceRequest.FromString(data)
    except DecodeError:
        return False
    return True


def _fallback(data: bytes) -> tuple[Any, str | None]:
    import pyarrow as pa

    from cicl_assets.telemetry.otlp_proto import parse_protobuf

    try:
        tables = [t for _, t in parse_protobuf(data, "otel/fuzz.pb")]
    except Exception as exc:  # any failure is the file's reject
        return None, f"{type(exc).__name__}: {exc}"
    return (pa.concat_tables(tables) if tables else None), None


def disagreement(data: bytes) -> str | None:
    """Why the two decoders disagree on ``data``, or None when they agree."""
    import pyarrow as pa

    from cicl_assets.telemetry import otlp_compiled

    verdict, why, at = otlp_compiled.check(data)
    if verdict == "unusual":
        return None
    table, error = _fallback(data)
    if verdict == "reject":
        return None if error else f"compiled rejects ({why} at byte {at}), the fallback accepts"
    try:
        tables = [t for _, t in otlp_compiled.decode_compiled(data)]
    except Exception as exc:  # the shared rendering step may refuse values both decoders read
        failed = f"{type(exc).__name__}: {exc}"
        return None if failed == error else f"compiled fails with {failed}, the fallback: {error}"
    if error:
        return f"compiled accepts, the fallback fails: {error}"
    compiled = pa.concat_tables(tables) if tables else None
    if (compiled is None) != (table is None) or (table is not None and not compiled.equals(table)):
        return "different rows"
    return None


def raw_pass(data: bytes) -> None:
    """The extension alone, also fed what its check refuses: it may raise, never crash."""
    from cicl_assets.telemetry import _otlp_decode

    _otlp_decode.check(data)
    decoder = _otlp_decode.Decoder(data)
    try:
        while decoder.next(7) is not None:
            pass
    except ValueError:
        pass


def write_inputs(directory: Path, seed: int, count: int) -> int:
    """The fuzz set and ``count`` mutants as files (the C target's inputs, libFuzzer's seeds)."""
    inputs = itertools.chain((d for _, d in fuzz_set()), mutants(seed, count))
    return write_files(directory, inputs, "{:06d}.pb")


def write_files(directory: Path, inputs: Iterable[bytes], name: str) -> int:
    """Each of ``inputs`` as a file named ``name.format(its index)``; how many."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    for k, data in enumerate(inputs):
        (directory / name.format(k)).write_bytes(data)
        written += 1
    return written


def run(inputs: Iterator[bytes], check: Callable[[bytes], str | None], seconds: float) -> int:
    """Disagreements (or crashes, which end the process) over ``inputs`` within ``seconds``."""
    started, count, bad = time.monotonic(), 0, 0
    for data in inputs:
        problem = check(data)
        count += 1
        if problem:
            bad += 1
            sys.stdout.write(f"DISAGREE {problem}: {data.hex()}\n")
        if time.monotonic() - started > seconds:
            break
    sys.stdout.write(f"{count} inputs, {bad} disagreements, {time.monotonic() - started:.1f} s\n")
    return bad


def command_line(
    doc: str,
    write: Callable[[Path, int, int], int],
    inputs: Callable[[int, int], Iterator[bytes]],
    check: Callable[[bytes], str | None],
    raw: Callable[[bytes], None] | None = None,
) -> None:
    """A fuzz module's command line: ``--write DIR`` the inputs as files, else ``check`` (or,
    with ``--raw``, the extension alone) over them for ``--seconds``; exits 1 on a
    disagreement."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--count", type=int, default=10**9)
    parser.add_argument("--seed", type=int, default=1)
    if raw is not None:
        parser.add_argument("--raw", action="store_true", help="only the extension's entry points")
    parser.add_argument("--write", type=Path, help="write the set and --count mutants here")
    args = parser.parse_args()
    if args.write:
        sys.stdout.write(f"{write(args.write, args.seed, args.count)} files\n")
        return
    if raw is not None and args.raw:
        check = raw
    sys.exit(1 if run(inputs(args.seed, args.count), check, args.seconds) else 0)


def main() -> None:
    command_line(
        __doc__,
        write_inputs,
        lambda seed, count: itertools.chain((d for _, d in fuzz_set()), mutants(seed, count)),
        disagreement,
        raw_pass,
    )


if __name__ == "__main__":
    main()
