"""Secret-looking parts of free text, wherever they appear: each pattern names the secret part
(group ``s``), which alone is replaced, so a log line stays readable.

``MAY_HOLD_SECRET`` is one cheap pattern every text that holds a secret (or a mapping key that
names one) matches; it is written for both Python's ``re`` (on lowercased text) and RE2 (Arrow's
vectorised match), so most values are cleared without running the patterns one by one.

Capability URLs (a URL that is itself the credential, like a Slack incoming webhook): in a URL
whose host starts with ``hooks.`` or whose path has a segment containing ``hook``, each later
path segment of 16 or more characters from ``[A-Za-z0-9_-]`` with a digit or a capital (not a
lowercase slug like ``incoming-github-events``) is the secret. Workspace and channel ids (``T0123ABCD``) are shorter and stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NOT_MARKED = r"(?!\[REDACTED)"

TEXT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"(?P<s>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z))",
        re.S,
    ),
    # Digest credentials are a list of parameters, the response among them: all of it goes
    re.compile(
        r"(?i)\bdigest\s+" + _NOT_MARKED + r"(?P<s>[a-z-]+=(?:\"[^\"]*\"|[^\s,\"]+)"
        r"(?:\s*,\s*[a-z-]+=(?:\"[^\"]*\"|[^\s,\"]+))*)"
    ),
    # the whole value of an Authorization header, whatever its scheme and form
    re.compile(
        r"(?i)\b(?:proxy-)?authorization\"?\s*[:=]\s*\"?(?:(?:bearer|basic|token|digest)\s+)?"
        + _NOT_MARKED
        + r"(?!(?:bearer|basic|token|digest)\b)(?P<s>[^\s\"',;]+)"
    ),
    # a Cookie or Set-Cookie header's whole value, to the end of the line or quote
    re.compile(r"(?i)\b(?:set-)?cookie\"?\s*:\s*" + _NOT_MARKED + r"(?P<s>[^\r\n\"']+)"),
    # a credential after the scheme word; plain words ("bearer authentication") stay
    re.compile(
        r"(?i)\b(?:bearer|basic)\s+" + _NOT_MARKED + r"(?P<s>(?=[A-Za-z0-9._~+/-]*[0-9._~+/-])"
        r"[A-Za-z0-9._~+/-]{8,}=*)"
    ),
    re.compile(r"(?P<s>\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b)"),
    re.compile(r"(?P<s>\bgh[pousr]_[A-Za-z0-9]{20,}\b)"),
    re.compile(r"(?P<s>\bgithub_pat_[A-Za-z0-9_]{20,}\b)"),
    re.compile(r"(?P<s>\bglpat-[A-Za-z0-9_-]{20,})"),
    re.compile(r"(?P<s>\bAIza[0-9A-Za-z\-_]{35}\b)"),
    re.compile(r"(?P<s>\bya29\.[0-9A-Za-z_.-]+)"),
    re.compile(r"(?P<s>\bxox[abprs]-[A-Za-z0-9-]{10,}\b)"),
    re.compile(r"(?P<s>\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,})"),
    re.compile(r"(?P<s>\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,})"),
    re.compile(r"(?P<s>\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})"),
    # scheme://user:password@host
    re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@\"']+:" + _NOT_MARKED + r"(?P<s>[^\s@/\"']+)@"),
    # SQL: PASSWORD '...', IDENTIFIED BY '...' (quoted), IDENTIFIED BY word (Oracle)
    re.compile(
        r"(?i)\b(?:password|identified\s+by)\s+" + _NOT_MARKED + r"(?P<s>'(?:[^']|'')*'|\"[^\"]*\")"
    ),
    re.compile(r"(?i)\bidentified\s+by\s+(?!password\b)" + _NOT_MARKED + r"(?P<s>[^\s;'\"]+)"),
    # password=..., pwd: ..., in URLs, connection strings and config text
    re.compile(
        r"(?i)(?<![A-Za-z0-9])[A-Za-z0-9_.-]*(?:password|passwd|pwd|passphrase|secret"
        r"|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|access[_-]?token"
        r"|auth[_-]?token|credentials?)s?\"?\s*[=:]\s*"
        + _NOT_MARKED
        + r"(?P<s>\"[^\"]*\"|'[^']*'|[^\s;&,'\"]+)"
    ),
    # token=..., GITHUB_TOKEN=..., pass: ... ("max_tokens: 5" is no secret); 4+ characters
    re.compile(
        r"(?i)(?<![A-Za-z0-9_])(?:[A-Za-z0-9.-]*[_-])?(?:token|pass)\"?\s*[=:]\s*"
        + _NOT_MARKED
        + r"(?P<s>\"[^\"]{4,}\"|'[^']{4,}'|[^\s;&,'\"]{4,})"
    ),
    # credential query parameters: ?token=..., &sig=...
    re.compile(
        r"(?i)[?&](?:token|access_token|id_token|refresh_token|private_token|api_key|apikey|key"
        r"|sig|signature|x-amz-signature|x-amz-security-token|x-goog-signature|auth|password"
        r"|client_secret|secret|code)=" + _NOT_MARKED + r"(?P<s>[^&\s#\"']+)"
    ),
)

_URL = re.compile(r"(?i)\bhttps?://(?P<host>[^/\s\"'<>?#]+)(?P<path>/[^\s\"'<>?#]*)")
_CAPABILITY_SEGMENT = re.compile(r"(?=[a-z_-]*[0-9A-Z])[A-Za-z0-9_-]{16,}")

# Lowercase, and valid for both Python re and RE2: no lookarounds.
MAY_HOLD_SECRET = (
    r"private|authorization|bearer\s|basic\s|digest\s|akia|asia|agpa|aida|aroa|gh[pousr]_"
    r"|github_pat_|glpat-|aiza|ya29\.|xox[abprs]-|eyj|\bsk-|k_live_|k_test_|://[^\s/@]+@"
    r"|[?&][a-z_-]*(?:token|key|sig|signature|secret|password|auth|code)="
    r"|pass|pwd|secret|token(?:[^s]|$)|key|credential|auth|cookie|identified\s+by|hook"
)
_MAY_HOLD = re.compile(MAY_HOLD_SECRET)

# What JSON text hides from MAY_HOLD_SECRET, where redaction reads the decoded text: a word
# spelled in escapes (``"p\u0061ssword"``), a scheme word followed by whitespace written as an
# escape or outside ASCII (``Bearer\t``), and a ConfigMap, whose data goes by its kind.
HIDDEN_IN_JSON = r"\\u|(?:bearer|basic|digest|identified)(?:\\|[^ -~])|configmap"


def may_hold_secret(text: str) -> bool:
    return _MAY_HOLD.search(text.lower()) is not None


def _unquoted(secret: str) -> str:
    if len(secret) >= 2 and secret[0] == secret[-1] and secret[0] in "'\"":
        return secret[1:-1]
    return secret


def redact_patterns(text: str, marker: Callable[[str], str]) -> str:
    """``text`` with each secret part replaced by ``marker(secret)``."""
    for pattern in TEXT_PATTERNS:
        text = pattern.sub(
            lambda m: (
                m.string[m.start() : m.start("s")]
                + marker(_unquoted(m["s"]))
                + m.string[m.end("s") : m.end()]
            ),
            text,
        )
    if "hook" in text.lower():
        text = _URL.sub(lambda m: _capability_url(m, marker), text)
    return text


def _capability_url(match: re.Match[str], marker: Callable[[str], str]) -> str:
    host, path = match["host"].lower(), match["path"]
    segments = path.split("/")
    start = 0 if host.startswith("hooks.") else None
    if start is None:
        start = next((i for i, s in enumerate(segments) if "hook" in s.lower()), None)
    if start is None:
        return match[0]
    cleaned = [
        marker(s) if i > start and _CAPABILITY_SEGMENT.fullmatch(s) else s
        for i, s in enumerate(segments)
    ]
    return match[0][: match.start("path") - match.start()] + "/".join(cleaned)
