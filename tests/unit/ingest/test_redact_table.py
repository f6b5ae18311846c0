"""``redact_table`` on what JSON text hides from a pattern over the text: keys and values spelled
in escapes, whitespace written as an escape, and a ConfigMap whose data is redacted by its kind.
Each must come out as ``redact_text`` makes it, with the compiled scan and without it."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from cicl_assets.ingest import redact_table as rt
from cicl_assets.ingest.redact import REDACTED, redact_text
from cicl_assets.telemetry.spans_table import OTEL_SPANS


def _escaped(word: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in word)


HIDDEN = {
    "a key in escapes": f'{{"{_escaped("password")}":"hunter2-horse","trigger":"webhook"}}',
    "one letter escaped": '{"db.p\\u0061ssword":"hunter2-horse"}',
    "an escaped header name": f'{{"http.request.header.{_escaped("cookie")}":"sid=9f8e7d6c5b4a"}}',
    "a ConfigMap's data": json.dumps(
        {"kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"DB_URL": "plain-value-17"}}
    ),
    "a tab after Bearer": json.dumps({"note": "Bearer\tabcdefghijklmnopqrstuvwxyz012345"}),
}


@pytest.mark.parametrize("scan", ["compiled scan", "RE2 only"])
@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_secrets_json_text_hides_are_redacted(case: str, scan: str, monkeypatch) -> None:
    if scan == "RE2 only":
        monkeypatch.setattr(rt, "scan_strings", None)
    elif rt.scan_strings is None:
        pytest.skip("compiled extension not built")
    value = HIDDEN[case]
    expected = redact_text(value)
    assert expected != value and REDACTED in expected, "the case must hold a secret"
    table = OTEL_SPANS.conform(pa.table({"span_attributes": pa.array([value, "{}"])}))
    cleaned = rt.redact_table(table, OTEL_SPANS).column("span_attributes").to_pylist()
    assert cleaned == [expected, "{}"]
