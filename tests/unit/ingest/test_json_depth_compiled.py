"""The compiled JSON nesting guard (telemetry/_json_depth.h) against the numpy one it replaces
(ingest.text_guards.json_depth_numpy): the same depth on any bytes, valid JSON or not, with and
without a give-up bound, whatever the numpy form's chunk size. Inputs: random text built from the
bytes both treat specially, random JSON documents and lines (cut anywhere too), the OTLP/JSON
fuzz set and its mutants, and every fixture and shared corpus file."""

from __future__ import annotations

import gzip
import itertools
import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from cicl_assets.ingest import text_guards
from cicl_assets.ingest.text_guards import MAX_JSON_DEPTH, json_depth_numpy

compiled_depth = text_guards._compiled_json_depth
pytestmark = pytest.mark.skipif(compiled_depth is None, reason="compiled extension not built")

TESTS = Path(__file__).parents[2]
CORPUS = Path(__file__).parents[4] / "shared" / "corpus"

Depth = Callable[[bytes, int | None], int]


def _disagreement(depth: Depth, data: bytes) -> str | None:
    """How ``depth`` differs from the numpy form on ``data``: unbounded the same value; bounded,
    the same verdict on being above the bound, and the same value when not above it."""
    expected = json_depth_numpy(data, None)
    got = depth(data, None)
    if got != expected:
        return f"depth {got} != {expected}"
    for bound in sorted({-1, 0, 1, 2, expected - 1, expected, expected + 1, MAX_JSON_DEPTH}):
        wanted = json_depth_numpy(data, bound)
        got = depth(data, bound)
        if (got > bound) != (wanted > bound) or (got <= bound and got != wanted):
            return f"give_up_above={bound}: {got} against {wanted}"
    return None


def _disagreements(depth: Depth, inputs: Iterable[bytes]) -> list[tuple[bytes, str]]:
    out = []
    for data in inputs:
        why = _disagreement(depth, data)
        if why is not None:
            out.append((data[:200], why))
    return out


def random_texts(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    alphabet = b'[]{}"\\ ' + b"ab"
    heavy = b'[]{}"\\'
    texts = []
    for _ in range(count):
        pool = heavy if rng.random() < 0.3 else alphabet
        texts.append(bytes(rng.choice(pool) for _ in range(rng.randint(0, 48))))
    return texts


def _random_string(rng: random.Random) -> str:
    return "".join(
        rng.choice('ab []{}"\\/\n\u00e9\u2028\U0001f600') for _ in range(rng.randint(0, 8))
    )


def _random_value(rng: random.Random, depth: int) -> object:
    roll = rng.random()
    if depth > 8 or roll < 0.35:
        return rng.choice([_random_string(rng), rng.randint(-9, 9), 1.5, True, None])
    if roll < 0.65:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_random_string(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_json(seed: int, count: int) -> list[bytes]:
    """Documents and JSON lines, ASCII-escaped or not, some cut at a random byte (inside a
    string, after a lone backslash...)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        docs = [_random_value(rng, 0) for _ in range(rng.randint(1, 3))]
        ascii_only = rng.random() < 0.5
        if rng.random() < 0.5:
            text = "".join(json.dumps(d, ensure_ascii=ascii_only) + "\n" for d in docs)
        else:
            text = json.dumps(docs[0], ensure_ascii=ascii_only, indent=rng.choice([None, 1]))
        data = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.3:
            data = data[: rng.randint(0, len(data))]
        texts.append(data)
    return texts


def corpus_files() -> list[bytes]:
    files = []
    for root in (TESTS / "fixtures", CORPUS):
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            if path.is_file():
                data = path.read_bytes()
                files.append(gzip.decompress(data) if path.suffix == ".gz" else data)
    return files


def test_random_text_gives_the_same_depth():
    assert _disagreements(compiled_depth, random_texts(seed=7, count=5000)) == []


def test_random_json_gives_the_same_depth():
    assert _disagreements(compiled_depth, random_json(seed=11, count=1500)) == []


def test_otlp_json_fuzz_set_gives_the_same_depth():
    from tests.unit.telemetry import otlp_json_fuzz

    inputs = itertools.chain(
        (data for _, data in otlp_json_fuzz.json_set()), otlp_json_fuzz.mutants(3, 300)
    )
    assert _disagreements(compiled_depth, inputs) == []


def test_every_fixture_and_corpus_file_gives_the_same_depth():
    files = corpus_files()
    assert len(files) > 100
    assert _disagreements(compiled_depth, files) == []


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_numpy_chunks_do_not_change_the_answer(monkeypatch, chunk):
    monkeypatch.setattr(text_guards, "_DEPTH_CHUNK", chunk)
    inputs = random_texts(seed=chunk, count=400) + random_json(seed=chunk, count=100)
    assert _disagreements(compiled_depth, inputs) == []


def test_deep_and_unbalanced_text():
    inputs = [
        b"[" * 100_000,
        b"]" * 50 + b"[" * 60,  # below zero first, then up from there
        b'"' + b"[" * 1000,  # never closed: all inside a string
        b"\\" * 1001 + b'"[[',  # an odd run of backslashes takes the quote
        b"\\" * 1000 + b'"[[',
        b"\\[[\\{",  # a backslash before a bracket leaves it counted
        b"[" * 5000 + b"]" * 5000,
    ]
    assert _disagreements(compiled_depth, inputs) == []
    assert compiled_depth(b"[" * 5000, 512) > 512
    assert compiled_depth(b"[" * 512 + b"]" * 512, 512) == 512


def test_bounds_beyond_64_bits():
    assert compiled_depth(b"[[]]", 2**80) == 2
    assert compiled_depth(b"[[]]", -(2**80)) > -(2**80)
    with pytest.raises(TypeError):
        compiled_depth(b"[]", "512")


# Rules that are close to the numpy form's but not it: the inputs must tell each one apart.
def _escapes_only_in_strings(data: bytes, give_up_above: int | None) -> int:
    level = deepest = 0
    inside = escaped = False
    for byte in data:
        if inside and escaped:
            escaped = False
        elif inside and byte == ord("\\"):
            escaped = True
        elif byte == ord('"'):
            inside = not inside
        elif not inside and byte in b"[{":
            level += 1
            deepest = max(deepest, level)
        elif not inside and byte in b"]}":
            level -= 1
    return deepest


def _backslash_takes_any_byte(data: bytes, give_up_above: int | None) -> int:
    return compiled_depth(data.replace(b"\\[", b"").replace(b"\\{", b""), give_up_above)


def _level_never_below_zero(data: bytes, give_up_above: int | None) -> int:
    level = deepest = 0
    inside = False
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == ord("\\") and data[i + 1 : i + 2] in (b"\\", b'"'):
            i += 1
        elif byte == ord('"'):
            inside = not inside
        elif not inside and byte in b"[{":
            level += 1
            deepest = max(deepest, level)
        elif not inside and byte in b"]}":
            level = max(0, level - 1)
        i += 1
    return deepest


def _bound_ignored(data: bytes, give_up_above: int | None) -> int:
    return min(compiled_depth(data, None), give_up_above if give_up_above is not None else 1 << 62)


@pytest.mark.parametrize(
    "wrong",
    [_escapes_only_in_strings, _backslash_takes_any_byte, _level_never_below_zero, _bound_ignored],
)
def test_the_inputs_catch_a_wrong_rule(wrong):
    assert _disagreements(wrong, random_texts(seed=7, count=5000))


def test_the_setting_picks_the_form(monkeypatch):
    monkeypatch.setattr(text_guards, "_DEPTH_CHUNK", 1000)
    deep = b"[" * 5000
    monkeypatch.setenv("CICL_COMPILED_DECODERS", "off")
    assert text_guards.json_depth(deep, give_up_above=512) == 1000  # numpy: a whole chunk
    monkeypatch.setenv("CICL_COMPILED_DECODERS", "on")
    assert text_guards.json_depth(deep, give_up_above=512) == 513  # compiled: the first past it
