import base64
import math

import pytest

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.json_documents import (
    json_documents,
    json_type,
    load_base64_json,
    load_json,
    load_json_object,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": 1}', {"a": 1}),
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),  # UTF-8 byte-order mark
        ('{"a": "é"}'.encode("utf-16"), {"a": "é"}),  # PowerShell's redirection
        ('\ufeff{"a": 1}', {"a": 1}),
        (b"  [1, 2]\n", [1, 2]),
        (b'"text"', "text"),
    ],
)
def test_load_json(data, expected):
    assert load_json(data) == expected


def test_nan_is_read_unless_numbers_are_strict():
    assert math.isnan(load_json(b'{"score": NaN}')["score"])
    with pytest.raises(ParseError, match=r"^invalid JSON at line 1, column 11: "):
        load_json(b'{"score": NaN}', strict_numbers=True)


@pytest.mark.parametrize(
    ("data", "what", "first_line", "message"),
    [
        (
            b'{"a": ',
            None,
            1,
            "invalid JSON at line 1, column 6: Expecting value (the file looks truncated)",
        ),
        (
            b'{"a": 1,}',
            "CycloneDX",
            1,
            "CycloneDX: invalid JSON at line 1, column 9: "
            "Expecting property name enclosed in double quotes",
        ),
        (
            b'{\n  "a": 1\n  "b": 2\n}',
            None,
            1,
            "invalid JSON at line 3, column 3: Expecting ',' delimiter",
        ),
        (b'{"a" 1}', None, 7, "invalid JSON at line 7, column 6: Expecting ':' delimiter"),
        (b'{"a": 1}\n{"a": 2}', None, 1, "invalid JSON at line 2, column 1: Extra data"),
        (b"\x80{}", "SPDX", 1, "SPDX: not UTF-8 text (invalid start byte at byte 0)"),
    ],
)
def test_load_json_errors_name_line_and_column(data, what, first_line, message):
    with pytest.raises(ParseError) as raised:
        load_json(data, what, first_line=first_line)
    assert str(raised.value) == message


def test_load_json_object():
    assert load_json_object(b'{"format_version": "1.2"}') == {"format_version": "1.2"}
    with pytest.raises(ParseError) as raised:
        load_json_object(b"[1]", "plan")
    assert str(raised.value) == "plan: expected a JSON object, found a JSON array"


@pytest.mark.parametrize(
    ("value", "name"),
    [({}, "object"), ([], "array"), ("", "string"), (1, "number"), (1.5, "number"),
     (True, "boolean"), (None, "null")],
)  # fmt: skip
def test_json_type(value, name):
    assert json_type(value) == name


def test_load_base64_json():
    encoded = base64.b64encode(b'{"id": "b-1"}').decode()
    assert load_base64_json(encoded, "message.data") == {"id": "b-1"}
    with pytest.raises(ParseError) as raised:
        load_base64_json("!!!", "message.data")
    assert str(raised.value) == "message.data is not base64 JSON (Only base64 data is allowed)"
    with pytest.raises(ParseError) as raised:
        load_base64_json(base64.b64encode(b"{").decode(), "message.data")
    assert str(raised.value) == (
        "message.data is not base64 JSON (invalid JSON at line 1, column 2: "
        "Expecting property name enclosed in double quotes (the file looks truncated))"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": 1}', [("line 1", {"a": 1})]),
        (b'\n\n{"a": 1}', [("line 3", {"a": 1})]),
        (b'[{"a": 1}, {"a": 2}]', [("line 1, item 1", {"a": 1}), ("line 1, item 2", {"a": 2})]),
        (b"[]", []),
        (b"", []),
        (b" \n\t", []),
        (b'{"a": 1}\n{"a": 2}\n', [("line 1", {"a": 1}), ("line 2", {"a": 2})]),
        (b'{"a": 1}\n\n{"a": 2}', [("line 1", {"a": 1}), ("line 3", {"a": 2})]),
        (b'{"a": 1}\r\n{"a": 2}\r\n', [("line 1", {"a": 1}), ("line 2", {"a": 2})]),
        (b'\xef\xbb\xbf{"a": 1}\n{"a": 2}', [("line 1", {"a": 1}), ("line 2", {"a": 2})]),
        (b'{"a": 1}{"a": 2}', [("line 1", {"a": 1}), ("line 1", {"a": 2})]),
        (b'{\n "a": 1\n}\n{\n "a": 2\n}', [("line 1", {"a": 1}), ("line 4", {"a": 2})]),
        (b'[1, 2]\n{"a": 3}', [("line 1, item 1", 1), ("line 1, item 2", 2), ("line 2", {"a": 3})]),
    ],
)
def test_json_documents(data, expected):
    assert [(doc.where, doc.value) for doc in json_documents(data)] == expected


def test_json_documents_keep_their_line_and_item():
    first, second, third = json_documents(b'{"a": 1}\n\n[{"b": 2}, {"b": 3}]')
    assert (first.line, first.item, second.line, second.item, third.item) == (1, None, 3, 1, 2)


@pytest.mark.parametrize(
    ("data", "what", "message"),
    [
        (
            b'{"a": 1}\n{"a": \n',
            None,
            "invalid JSON at line 2, column 6: Expecting value (the file looks truncated)",
        ),
        (
            b'{"a": 1}\n{"a": 2, "b": \n{"c": 3}\n',
            None,
            "invalid JSON at line 3, column 9: Expecting ',' delimiter "
            "(in the document that starts on line 2; the file looks truncated)",
        ),
        (
            b'{"a": 1}\nnope\n{"a": 2}\n',
            "attestation",
            "attestation: invalid JSON at line 2, column 1: Expecting value",
        ),
    ],
)
def test_json_documents_errors_name_line_and_column(data, what, message):
    with pytest.raises(ParseError) as raised:
        json_documents(data, what)
    assert str(raised.value) == message
