import pytest

from cicl_assets.learning.failure_modes.signature import mask, mode_id, signature

MASKED = [
    ("connection to 10.2.3.4:5432 refused", "connection to <ip> refused"),
    (
        "request 3f2a9c1d-8e7b-4a5f-9e3d-2c1b0a9f8e7d failed",
        "request <uuid> failed",
    ),
    ("GET https://api.example.com/v1/items?id=7 returned 503", "GET <url> returned <n>"),
    ("timed out after 30s", "timed out after <duration>"),
    ("timed out after 1500 ms", "timed out after <duration>"),
    ("trace 4bf92f3577b34da6a3ce929d0e0e4736 dropped", "trace <hex> dropped"),
    ("commit 9f3e2d1c0b is missing", "commit <hex> is missing"),
    ("feed defaced", "feed defaced"),  # all-letter hex is a word
    ("no such file /var/lib/app/cache/7.bin", "no such file <path>"),
    (
        r"Error: boom at Object.throwError (C:\Users\ci\repo\lib\main.js:2:9)",
        "Error: boom at Object.throwError (<path>:<n>:<n>)",
    ),
    (r"cannot open D:\a\repo\out.txt now", "cannot open <path> now"),
    ("key 'user:42' not found", "key <str> not found"),
    ('tool "search_web" failed', "tool <str> failed"),
    ("workflow run wr-2026-11-04 exceeded quota", "workflow run <id> exceeded quota"),
    ("retry 3 of 5", "retry <n> of <n>"),
    ("rate limited (429)", "rate limited (<n>)"),
    ("mail ana.silva@coditect.example bounced", "mail <email> bounced"),
    ("  many   spaces\nand lines ", "many spaces and lines"),
    ("http2 stream reset", "http2 stream reset"),  # a word with a digit stays a word
    ("cafe is open", "cafe is open"),  # short hex-looking words stay
]


@pytest.mark.parametrize(("message", "expected"), MASKED)
def test_masking_rules(message, expected):
    assert mask(message) == expected


def test_same_failure_different_values_one_signature():
    a = signature("TimeoutError", "call to 10.0.0.1:443 timed out after 30s (attempt 2)")
    b = signature("TimeoutError", "call to 10.0.0.9:443 timed out after 12s (attempt 5)")
    assert a == b == "TimeoutError: call to <ip> timed out after <duration> (attempt <n>)"
    assert mode_id(a) == mode_id(b)
    assert signature(None, None) == "error:"
