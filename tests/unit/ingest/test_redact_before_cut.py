"""Text shortened for a message or a column is redacted before it is cut: a token cut in half no
longer matches its pattern, so cutting first let the half that was kept through."""

import pytest

from cicl_assets.ci.security_json import clip, small
from cicl_assets.ci.values import cap_text
from cicl_assets.delivery.pushes import first_line
from cicl_assets.ingest.values import shown
from tests.redaction import masked

JWT_HEAD = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ."
JWT = JWT_HEAD + "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def around(cut: int, lead: str = "") -> str:
    """``lead``, dashes, and a JWT whose signature begins two characters before ``cut``."""
    return lead + "-" * (cut - len(lead) - len(JWT_HEAD) - 2) + JWT + " after"


@pytest.mark.parametrize(
    ("shorten", "text", "expected"),
    [
        # an error message quoting a bad value: 79 characters and an ellipsis
        (shown, JWT + " " + "x" * 40, "'[REDACTED] " + "x" * 40 + "'"),
        (shown, around(79), "'" + "-" * 37 + "[REDACTED] after'"),
        # a commit message's first line, 300 characters
        (first_line, around(300, "fix "), "fix " + "-" * 254 + "[REDACTED] after"),
        # a finding's description and a raw record's long string
        (lambda t: clip(t, 100), around(99), "-" * 57 + "[REDACTED] after…"),
        (small, around(300), "-" * 258 + "[REDACTED] after... (334 chars)"),
        # a JUnit message, cut at a byte count
        (lambda t: cap_text(t, 100), around(100), "-" * 58 + "[REDACTED] after"),
    ],
)
def test_a_secret_across_the_cut_is_redacted(shorten, text, expected):
    assert masked(shorten(text)) == expected
    assert "eyJ" not in shorten(text)
