"""The compiled scan that clears values before the RE2 prefilter (ingest.redact_table): a
table redacted with it must equal the same table redacted without it, on random text built from
the words every rule looks for and on the strings of the redaction tests and secret corpus."""

from __future__ import annotations

import ast
import json
import random
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cicl_assets.ingest import redact_table as rt
from cicl_assets.ingest.redact import redact_text
from cicl_assets.telemetry.spans_table import OTEL_SPANS

pytestmark = pytest.mark.skipif(rt.scan_strings is None, reason="compiled extension not built")

TESTS = Path(__file__).parents[2]
CORPUS_SOURCES = [
    TESTS / "unit" / "ingest" / "test_redact.py",
    TESTS / "unit" / "ingest" / "test_redact_before_cut.py",
    TESTS / "unit" / "ingest" / "test_redaction_policy.py",
    *sorted((TESTS / "integration").glob("secret_corpus*.py")),
]

# Words of the rules (secret_text, redact), near misses, and what JSON and URLs are made of.
FRAGMENTS = [
    *"auth access akia asia agpa aida aroa aiza bearer basic cookie credential configmap "
    "code= digest eyj ghp_ gho_ ghu_ ghs_ ghr_ github_pat_ glpat- identified key k_live_ "
    "k_test_ pass pwd private secret sk- sig= signature= token tokens TOKENS Tokens xox ya29. "
    "hook webhook hooks. :// @ \\ \\u0070 \\/ = : ? & ' \" kind Secret ConfigMap SecretList "
    "objectRef resource secrets configmaps methodName data stringData name value "
    "http.request.header. x-api-key refresh id_ accessToken idTOKENSx set-cookie "
    "authorization proxy- PRIVATE KEY -----BEGIN ----- input_tokens max_tokens password= "
    "https:// hooks.slack.com/services/ T01/B02/ AbCdEf0123456789XyZ user:pw@host".split(),
    " ",
    "\t",
    "\n",
    "/",
    "{",
    "}",
    "[",
    "]",
    ",",
    '":"',
    '{"',
    '"}',
    "é",
    "日本",
]


def _folding_characters() -> list[str]:
    """Non-ASCII characters whose lower, upper or case-folded form holds ASCII, or that RE2
    matches case-insensitively against an ASCII letter."""
    chars = [chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    found = {
        c
        for c in chars
        if any(ch < "\x80" for f in (c.lower(), c.upper(), c.casefold()) for ch in f)
        or re.fullmatch(r"(?i)[a-z]", c)
    }
    re2 = pc.match_substring_regex(pa.array(chars), "[a-z]", ignore_case=True).to_pylist()
    found.update(c for c, hit in zip(chars, re2, strict=True) if hit)
    return sorted(found)


FOLDING = _folding_characters()
ESCAPED_KEYS = ["password", "api_key", "token", "cookie", "kind", "secret"]


def _corpus_strings() -> list[str]:
    strings: set[str] = set()
    for path in CORPUS_SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    from tests.integration.secret_corpus import otlp_request

    for series in range(3):
        for rs in otlp_request(series)["resourceSpans"]:
            strings.add(json.dumps(rs, separators=(",", ":")))
    return sorted(strings)


def _random_text(rng: random.Random, corpus: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(1, 12)):
        roll = rng.random()
        if roll < 0.55:
            part = rng.choice(FRAGMENTS)
        elif roll < 0.7:
            part = rng.choice(corpus)
            if len(part) > 40 and rng.random() < 0.5:
                start = rng.randrange(len(part))
                part = part[start : start + rng.randint(1, 40)]
        elif roll < 0.75:
            part = rng.choice(FOLDING)
        else:
            part = "".join(
                rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHXYZ0123456789_-.")
                for _ in range(rng.randint(1, 20))
            )
        if rng.random() < 0.3:
            part = "".join(c.upper() if rng.random() < 0.5 else c for c in part)
        parts.append(part)
    text = "".join(parts)
    if rng.random() < 0.3:  # a JSON attribute map, as the decoders render them
        text = json.dumps({rng.choice(FRAGMENTS): text, "k": rng.choice(FRAGMENTS)})
    elif rng.random() < 0.15:  # a key spelled in JSON escapes, which only json.loads reads
        hidden = "".join(f"\\u{ord(c):04x}" for c in rng.choice(ESCAPED_KEYS))
        text = f'{{"{hidden}":{json.dumps(text)},"trigger":"webhook"}}'
    return text


def _both(values: list[str | None]) -> tuple[list[str | None], list[str | None]]:
    column = pa.array(values, pa.string())
    pattern = rt.prefilter()
    plain = rt._redact_column(column, pattern)
    scanned = rt._redact_scanned(column, pattern)
    as_is = column.to_pylist()
    return (
        as_is if plain is None else plain.to_pylist(),
        as_is if scanned is None else scanned.to_pylist(),
    )


@pytest.mark.parametrize("seed", range(6))
def test_random_text_redacts_the_same(seed: int) -> None:
    rng = random.Random(seed)
    corpus = _corpus_strings()
    values = [_random_text(rng, corpus) for _ in range(1500)] + [None, ""]
    plain, scanned = _both(values)
    differ = [(v, a, b) for v, a, b in zip(values, plain, scanned, strict=True) if a != b]
    assert not differ, differ[:3]
    # the comparison means something: some values were redacted, some flagged and left
    assert sum(a != v for v, a in zip(values, plain, strict=True)) > 10


def test_corpus_strings_redact_the_same() -> None:
    values = _corpus_strings()
    plain, scanned = _both(values)
    assert plain == scanned
    assert sum(a != v for v, a in zip(values, plain, strict=True)) > 20


def test_every_prefilter_hit_that_redaction_changes_is_flagged() -> None:
    rng = random.Random(99)
    corpus = _corpus_strings()
    values = corpus + [_random_text(rng, corpus) for _ in range(3000)]
    column = pa.array(values, pa.string())
    hits = pc.match_substring_regex(column, rt.prefilter(), ignore_case=True).to_pylist()
    flagged = rt.may_change(column).to_pylist()
    missed = [v for v, h, f in zip(values, hits, flagged, strict=True) if h and not f]
    assert all(redact_text(v) == v for v in missed)
    assert any(f and not h for h, f in zip(hits, flagged, strict=True))  # a superset


@pytest.mark.parametrize("char", FOLDING)
def test_characters_that_fold_to_ascii_are_flagged(char: str) -> None:
    assert rt.may_change(pa.array([f"x{char}y", "xy"])).to_pylist() == [True, False]


def test_weak_words_alone_are_cleared() -> None:
    values = [
        '{"workflow.trigger":"webhook"}',
        '{"gen_ai.usage.input_tokens":590}',
        "https://example.com/a/b",
        "web\\hook",
        "https://hooks.example.com/x",
        "http://user@host",
        '{"max_TOKENS":1}',
    ]
    flags = rt.may_change(pa.array(values)).to_pylist()
    assert flags == [False, False, False, True, True, True, True]


# Values whose only prefilter word is "hook" and that redaction still changes: each needs a
# word of the scan that the prefilter does not name.
HOOK_ONLY_BUT_SECRET = [
    '{"kind":"ConfigMap","data":{"a":"b"},"trigger":"webhook"}',
    '{"objectRef":{"resource":"configmaps"},"requestObject":{"data":{"a":"b"}},"t":"webhook"}',
    "access_tokens=abcd1234 via webhook",
    '{"idTOKENSx":"v1234","t":"webhook"}',
    '{"to\\u006ben":"abc","t":"webhook"}',
    "https://hooks.slack.com/services/T01/B02/AbCdEf0123456789XyZ",
]


@pytest.mark.parametrize("value", HOOK_ONLY_BUT_SECRET)
def test_values_only_hook_flags_for_the_prefilter_are_still_redacted(value: str) -> None:
    assert redact_text(value) != value
    assert rt.may_change(pa.array([value])).to_pylist() == [True]
    plain, scanned = _both([value])
    assert scanned == plain != [value]


def test_slices_nulls_and_large_strings() -> None:
    values = ["plain", "db.password", None, "x", "api_key=1"]
    column = pa.array(values, pa.large_string())
    assert rt.may_change(column).to_pylist() == [False, True, False, False, True]
    assert rt.may_change(column.slice(1, 3)).to_pylist() == [True, False, False]
    assert rt.may_change(pa.array([], pa.string())).to_pylist() == []


def test_redact_table_same_with_and_without_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    corpus = _corpus_strings()
    rows = 400
    columns = {
        name: pa.array([_random_text(rng, corpus) for _ in range(rows)], pa.string())
        for name in ("span_attributes", "resource_attributes", "status_message", "span_name")
    }
    table = OTEL_SPANS.conform(pa.table(columns))
    scanned = rt.redact_table(table, OTEL_SPANS)
    monkeypatch.setattr(rt, "scan_strings", None)
    plain = rt.redact_table(table, OTEL_SPANS)
    assert scanned.equals(plain)
    assert not plain.equals(table)
