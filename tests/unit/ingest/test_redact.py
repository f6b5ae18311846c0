"""What the one redaction module adds for the parsers that had their own: text patterns from CI
and apply logs, named values, and the secrets a scanner record itself names."""

import pytest

from cicl_assets.ingest.redact import redact, redact_field, redact_known, redact_text
from tests.redaction import MASK as REDACTED
from tests.redaction import masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer [REDACTED]"),
        ("Authorization: Basic YWxhZGRpbjpvcGVu", "Authorization: Basic [REDACTED]"),
        ('-H "Authorization: token s3cr3t" x', '-H "Authorization: token [REDACTED]" x'),
        ("token: abc123 kept", "token: [REDACTED] kept"),
        ("export API_TOKEN=abcdef123", "export API_TOKEN=[REDACTED]"),
        ("x-auth-token: abcdef", "x-auth-token: [REDACTED]"),
        ('"password": "hunter2"', '"password": [REDACTED]'),
        ("pass: 1234", "pass: [REDACTED]"),
        ("ya29.a0AfH6SMB then", "[REDACTED] then"),
        ("glpat-" + "x" * 20, REDACTED),
        ("ghp_" + "a" * 20, REDACTED),
        # not secrets
        ("max_tokens: 4096", "max_tokens: 4096"),
        ("usage.output_tokens=1200", "usage.output_tokens=1200"),
        ("token_id: abcd", "token_id: abcd"),
        ("token=ab", "token=ab"),
        ("bypass: true", "bypass: true"),
        ("the basic idea", "the basic idea"),
    ],
)
def test_text_patterns(text, expected):
    assert masked(redact_text(text)) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DB_PASSWORD", "hunter22", REDACTED),
        ("api_key", "k", REDACTED),
        ("shard", "3", "3"),
        ("note", "password=hunter2", "password=[REDACTED]"),
        ("token", "", ""),
        ("token", None, None),
    ],
)
def test_named_values(name, value, expected):
    assert masked(redact_field(name, value)) == expected


def test_known_secret_values_longest_first_and_never_short_ones():
    assert masked(redact_known("KEY=abcd1234 and abcd1234x abc", {"abcd1234", "abc"})) == (
        "KEY=[REDACTED] and [REDACTED]x abc"
    )
    assert masked(redact_known("abcd1234", {"abcd", "abcd1234"})) == REDACTED


def test_format_specific_keys_and_known_values():
    record = {
        "RuleID": "aws-secret-access-key",
        "Match": "KEY=s3cr3tvalue",
        "Code": {"Lines": [{"Number": 3, "IsCause": True}]},
        "Title": "found s3cr3tvalue here",
    }
    out = redact(record, secret_keys={"match", "code"}, known={"s3cr3tvalue"})
    assert masked(out) == {
        "RuleID": "aws-secret-access-key",
        "Match": REDACTED,
        "Code": {"Lines": [{"Number": REDACTED, "IsCause": True}]},
        "Title": "found [REDACTED] here",
    }
    assert record["Match"] == "KEY=s3cr3tvalue"
    assert redact(record)["Match"] == "KEY=s3cr3tvalue"  # only this format says Match is secret
