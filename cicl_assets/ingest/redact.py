"""Secret redaction for nested JSON before anything reaches the warehouse.

``redact(obj)`` returns a copy of a JSON-like value (dicts, lists, strings, numbers) in which
secrets are replaced by ``[REDACTED]``; the keys stay so readers see *that* a value was there.
What counts as a secret:

- the values of Kubernetes ``Secret`` objects (``data``, ``stringData``) and of ``ConfigMap``
  objects (``data``, ``binaryData``), wherever such an object is nested (audit
  ``requestObject``/``responseObject``, lists, annotations holding JSON text);
- HTTP credential headers: ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
  ``Set-Cookie`` (any case), as keys or as ``{"name": ..., "value": ...}`` pairs;
- values under keys that name a secret: a key whose last word is password, passwd, pwd,
  passphrase, token, secret, key, apikey, credential(s) or whose words contain api_key,
  private_key, access_key, client_secret... ("key" alone or as a suffix like ``access_key``,
  never ``keyboard`` or ``monkey``; ``token_id`` and ``secretName`` name a secret, they are not
  one, so they stay, as do identifiers such as ``run_key``, ``partition_key``, ``public_key``);
- secret-looking text regardless of key: ``Authorization:`` header values, bearer and basic
  credentials, AWS access key ids, GitHub and GitLab tokens, Google API keys and OAuth access
  tokens, Slack tokens, PEM private key blocks, JWTs, ``password=...`` / ``token: ...`` in logs,
  URLs and connection strings, passwords in URL user-info, credential query parameters. Only
  the matching part of the text is replaced, so a log line stays readable;
- what a caller knows about its own format: keys that hold a secret there (a secret scanner's
  ``Match``) and secret values found in the record, replaced wherever they appear in its text.

Redacted values carry no hash: an unsalted digest of a low-entropy secret (most passwords) lets
anyone holding the warehouse confirm a guess, which defeats the point.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection
from functools import lru_cache
from itertools import pairwise
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "token",
        "secret",
        "key",
        "apikey",
        "credential",
        "credentials",
        "privatekey",
        "accesskey",
        "secretkey",
        "clientsecret",
        "sessionkey",
        "keys",
        "secrets",
        "passwords",
    }
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("client", "secret"),
        ("access", "token"),
        ("refresh", "token"),
        ("auth", "token"),
        ("id", "token"),
    }
)
# "<word>_key" names that identify rows, runs or partitions, or hold public material.
_PLAIN_KEY_QUALIFIERS = frozenset(
    {
        "run",
        "partition",
        "asset",
        "primary",
        "foreign",
        "sort",
        "cache",
        "idempotency",
        "dedup",
        "dedupe",
        "group",
        "routing",
        "object",
        "public",
        "shard",
        "lookup",
        "join",
        "hash",
        "range",
        "composite",
        "unique",
        "natural",
    }
)
_HEADER_KEYS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_K8S_SECRET_FIELDS = {"Secret": ("data", "stringData"), "ConfigMap": ("data", "binaryData")}

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----.*?"
            r"(-----END (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|\Z)",
            re.S,
        ),
        REDACTED,
    ),
    # the whole value of an Authorization header, whatever its scheme and form
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization\"?\s*[:=]\s*\"?(?:(?:bearer|basic|token|digest)\s+)?)"
            r"(?!\[REDACTED\])[^\s\"',;]+"
        ),
        r"\1" + REDACTED,
    ),
    # a credential after the scheme word; plain words ("bearer authentication") stay
    (
        re.compile(
            r"(?i)\b((?:bearer|basic)\s+)(?=[A-Za-z0-9._~+/-]*[0-9._~+/-])[A-Za-z0-9._~+/-]{8,}=*"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), REDACTED),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), REDACTED),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z\-_]{35}\b"), REDACTED),
    (re.compile(r"\bya29\.[0-9A-Za-z_.-]+"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), REDACTED),
    (
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
        REDACTED,
    ),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]+):([^\s@/]+)@"), r"\1:" + REDACTED + "@"),
    # password=..., pwd: ..., in URLs, connection strings and config text
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9])([A-Za-z0-9_.-]*(?:password|passwd|pwd|passphrase|secret"
            r"|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|access[_-]?token"
            r"|auth[_-]?token|credentials?)s?)(\"?\s*[=:]\s*)(?!\[REDACTED\])"
            r"(\"[^\"]*\"|'[^']*'|[^\s;&,'\"]+)"
        ),
        r"\1\2" + REDACTED,
    ),
    # token=..., GITHUB_TOKEN=..., pass: ... ("max_tokens: 5" is no secret); 4+ characters
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])((?:[A-Za-z0-9.-]*[_-])?token|pass)(\"?\s*[=:]\s*)"
            r"(?!\[REDACTED\])"
            r"(\"[^\"]{4,}\"|'[^']{4,}'|[^\s;&,'\"]{4,})"
        ),
        r"\1\2" + REDACTED,
    ),
    # credential query parameters: ?token=..., &sig=...
    (
        re.compile(
            r"(?i)([?&](?:token|access_token|id_token|api_key|apikey|key|sig|signature"
            r"|x-amz-signature|x-goog-signature|auth)=)(?!\[REDACTED\])[^&\s#]+"
        ),
        r"\1" + REDACTED,
    ),
)

# One cheap pass that every pattern above needs to match first; most strings stop here.
_MAY_HOLD_SECRET = re.compile(  # matched against the lowercased text (no IGNORECASE: 5x faster)
    r"bearer|basic|akia|asia|agpa|aida|aroa|gh[pousr]_|github_pat_|glpat-|aiza|ya29\.|xox|eyj"
    r"|private key|://|pass|pwd|secret|key|token|credential|sig|auth"
)
_MAX_NESTED_JSON = 4 * 1024 * 1024


def _words(key: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(key) if w]


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret value (see the module doc)."""
    lowered = key.lower()
    if lowered in _HEADER_KEYS:
        return True
    words = _words(key)
    if not words:
        return False
    if words[-1] == "key" and len(words) > 1 and words[-2] in _PLAIN_KEY_QUALIFIERS:
        return False
    if words[-1] in _SECRET_WORDS:
        return True
    return any(pair in _SECRET_PAIRS for pair in pairwise(words))


def redact_text(text: str) -> str:
    """Replace secret-looking parts of free text; JSON text is redacted structurally."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and len(text) <= _MAX_NESTED_JSON:
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        if isinstance(inner, dict | list):
            cleaned = redact(inner)
            if cleaned != inner:
                return json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)
    if not _MAY_HOLD_SECRET.search(text.lower()):
        return text
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _blank(value: Any) -> Any:
    """The redacted form of a value under a secret key: containers keep their shape."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, str) and value == "":
        return value
    return REDACTED


def redact_known(text: str, secrets: Collection[str]) -> str:
    """``text`` with every known secret value (4 characters or more) replaced, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def redact_field(name: str, value: str | None) -> str | None:
    """One named text value: dropped whole when its name names a secret, else scanned."""
    if not value:
        return value
    return REDACTED if is_secret_key(name) else redact_text(value)


def redact(obj: Any, *, secret_keys: Collection[str] = (), known: Collection[str] = ()) -> Any:
    """A copy of ``obj`` with every secret replaced by ``[REDACTED]``; the input is untouched.

    ``secret_keys`` (lowercase) are further keys whose values are secret in this record's
    format; ``known`` are secret values to replace wherever they appear in its text."""
    return _redact(obj, frozenset(secret_keys), tuple(known))


def _redact(obj: Any, secret_keys: frozenset[str], known: tuple[str, ...]) -> Any:
    if isinstance(obj, str):
        text = redact_text(obj)
        return redact_known(text, known) if known else text
    if isinstance(obj, list):
        return [_redact(v, secret_keys, known) for v in obj]
    if not isinstance(obj, dict):
        return obj
    secret_fields = (
        _K8S_SECRET_FIELDS.get(obj.get("kind")) if isinstance(obj.get("kind"), str) else None
    )
    pair_name = obj.get("name", obj.get("key"))
    pair_is_secret = isinstance(pair_name, str) and "value" in obj and is_secret_key(pair_name)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if secret_fields and key in secret_fields and isinstance(value, dict):
            out[key] = {k: _blank(v) for k, v in value.items()}
        elif is_secret_key(str(key)) or str(key).lower() in secret_keys:
            out[key] = _blank(value)
        elif pair_is_secret and key == "value":
            out[key] = _blank(value)
        else:
            out[key] = _redact(value, secret_keys, known)
    return out


# The key of pseudonyms; set once per process from the settings layer (CICL_REDACTION_KEY).
_PSEUDONYM_KEY: bytes | None = None
PSEUDONYM_PREFIX = "pseu_"


def set_pseudonym_key(key: bytes | str | None) -> None:
    """The HMAC key ``pseudonymise`` uses; None forgets it."""
    global _PSEUDONYM_KEY
    _PSEUDONYM_KEY = key.encode() if isinstance(key, str) else key


def pseudonymise(value: str) -> str:
    """A stable stand-in for a person's identifier: HMAC-SHA256 under the redaction key.

    The same user gets the same pseudonym in every table, so ratings can be counted per person,
    yet nobody holding only the warehouse can confirm a guessed name (an unkeyed hash would
    let them). Without a key nothing is stored: ValueError."""
    if _PSEUDONYM_KEY is None:
        raise ValueError(
            "no pseudonymisation key: set CICL_REDACTION_KEY so user identifiers can be "
            "stored as keyed pseudonyms"
        )
    digest = hmac.new(_PSEUDONYM_KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]
