"""The checks on untrusted text: JSON nesting depth, UTF-8 validity, strings a parser produced."""

import random

import numpy as np
import pyarrow as pa
import pytest

from cicl_assets.ingest import text_guards
from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.text_guards import (
    check_json_text,
    check_strings,
    decode_text,
    invalid_utf8_at,
    json_depth,
    json_depth_numpy,
)


def reference_depth(data: bytes) -> int:
    """The same question answered one byte at a time."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                in_string = False
        elif byte == ord('"'):
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"", 0),
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[["}', 1),  # brackets in a string do not count
        (b'{"a": "]]]]"} [[1]]', 2),  # nor do closing ones
        (b'{"a": "say \\"[[[\\""}', 1),  # escaped quotes do not end the string
        (b'{"a": "\\\\"} [[[]]]', 3),  # an escaped backslash ends before the quote
        (b'{"a": "\\\\\\"[[["}', 1),  # \\ then \" : still inside the string
        (b'{"a":1}\n[[2]]\n{"b":{"c":{}}}\n', 3),  # JSON lines: the deepest line
        (b"[" * 600 + b"]" * 600, 600),
        (b"[1," * 700 + b"]" * 700, 700),
    ],
)
def test_json_depth(text, depth):
    assert json_depth(text) == json_depth_numpy(text) == depth == reference_depth(text)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_json_depth_is_the_same_across_chunk_boundaries(monkeypatch, chunk):
    monkeypatch.setattr(text_guards, "_DEPTH_CHUNK", chunk)
    rng = random.Random(chunk)
    pieces = [b"[", b"]", b"{", b"}", b"1", b",", b'""', b'"a[b"', b'"\\\\"', b'"\\"]"', b'"x}"']
    for _ in range(500):
        text = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert json_depth_numpy(text) == reference_depth(text), text


def test_json_depth_gives_up_early_past_the_limit(monkeypatch):
    monkeypatch.setattr(text_guards, "_DEPTH_CHUNK", 1000)
    deep = b"[" * 5000 + b"]" * 5000
    assert json_depth_numpy(deep) == json_depth(deep) == 5000
    assert json_depth_numpy(deep, give_up_above=512) == 1000  # stopped after the first chunk
    assert json_depth(deep, give_up_above=512) > 512


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", None),
        (b"plain ascii", None),
        ("caf\u00e9 \u2603 \U0001f600".encode(), None),
        (b"ab\xffc", 2),
        (b"caf\xc3", 3),  # truncated sequence at the end
        (b"x\xed\xa0\x80", 1),  # an encoded surrogate
        (b"\xc0\xaf", 0),  # overlong
        (b"ok\xf4\x90\x80\x80", 2),  # above U+10FFFF
    ],
)
def test_invalid_utf8_at(data, offset):
    assert invalid_utf8_at(data) == offset


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"a": 1}\n{"b": "x\xff\xfe"}\n',
            "invalid UTF-8 at line 2, column 9 (byte 17): bytes 0xff 0xfe; text must be UTF-8 "
            "(re-encode the file, e.g. iconv -f latin1 -t utf-8, or fix what wrote it)",
        ),
        (
            b'{"a": ' + b"[" * 513 + b"]" * 513 + b"}",
            "JSON nested more than 512 levels deep (arrays and objects inside each other); "
            "refused before parsing, as nesting that deep crashes JSON parsers: flatten the "
            "document or fix what wrote it",
        ),
    ],
)
def test_check_json_text_refuses_with_a_message(data, message):
    with pytest.raises(ParseError) as err:
        check_json_text(data)
    assert str(err.value) == message


def test_check_json_text_takes_512_levels():
    check_json_text(b"[" * 512 + b"]" * 512)


def test_decode_text_drops_a_bom_and_refuses_invalid_bytes():
    assert decode_text(b"\xef\xbb\xbfSF:a.py\n") == "SF:a.py\n"
    with pytest.raises(ParseError, match=r"^invalid UTF-8 at line 1, column 4 \(byte 3\): "):
        decode_text(b"SF:\xe9.py")


def test_check_strings_names_the_table_and_column():
    offsets = pa.py_buffer(np.array([0, 2, 6], np.int32))
    bad = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(b"okab\xffc")])
    table = pa.table({"n": [1, 2], "name": bad})
    with pytest.raises(ParseError) as err:
        check_strings(table, "otel_spans")
    assert str(err.value) == (
        "invalid UTF-8 in otel_spans.name (bytes 0xff at byte 2 of a value); text must be "
        "UTF-8 (re-encode the file or fix what wrote it)"
    )
    check_strings(pa.table({"n": [1], "name": ["caf\u00e9"]}), "otel_spans")
