"""Secret redaction for everything ingested before it is spooled, stored or logged.

``redact(obj)`` returns a copy of a JSON-like value (dicts, lists, strings, numbers) in which
secrets are replaced by a marker, ``[REDACTED:<hash>]``; the keys stay so readers see *that* a
value was there. The hash is a keyed HMAC (``ingest.redaction_key``): equal values get equal
markers, so analysts can group them, while nobody without the key can confirm a guess of a value
by hashing it (the reason an unkeyed digest of a low-entropy password would be unsafe). The
stream factory runs every string column of every parsed table through ``redact_text``
(``ingest.redact_table``); parsers may redact earlier with what they know of their format.
What counts as a secret:

- the values of Kubernetes ``Secret`` objects (``data``, ``stringData``) and of ``ConfigMap``
  objects (``data``, ``binaryData``), wherever such an object is nested, recognised by its
  ``kind`` (``Secret``, ``SecretList``...) or, in an audit record, by ``objectRef.resource``
  (``secrets``, ``configmaps``): a list response's items and a patch body carry no kind;
- HTTP credential headers: ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
  ``Set-Cookie`` (any case), as keys, as ``{"name": ..., "value": ...}`` pairs, or as OTel's
  ``http.request.header.<name>`` / ``http.response.header.<name>`` attributes;
- values under keys that name a secret: a key whose last word is password, passwd, pwd,
  passphrase, token, secret, key, apikey, credential(s), authorization or cookie, or whose words
  contain api_key, private_key, access_key, client_secret... ("key" alone or as a suffix like
  ``access_key``, never ``keyboard`` or ``monkey``; ``token_id`` and ``secretName`` name a
  secret, they are not one, so they stay, as do identifiers such as ``run_key``,
  ``partition_key``, ``public_key``), and keys matching a configured extra pattern;
- secret-looking text regardless of key (``ingest.secret_text``): Authorization values (Basic,
  Bearer, Digest, token), AWS, GitHub, GitLab, Google, Slack, OpenAI-style and Stripe keys, PEM
  private key blocks, JWTs, ``password=...`` / ``token: ...``, passwords in URL user-info and
  credential query parameters, ``PASSWORD '...'`` / ``IDENTIFIED BY`` in SQL, capability URLs.
  Only the matching part of the text is replaced, so a log line stays readable;
- what a caller knows about its own format: keys that hold a secret there (a secret scanner's
  ``Match``) and secret values found in the record, replaced wherever they appear in its text.

Hex identifiers (trace and span ids, git shas, ``sha256:`` digests) and UUIDs match no pattern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from cicl_assets.ingest.redaction_key import (
    MARKER_PREFIX,
    RedactionKey,
    RedactionPolicy,
    local_key,
)
from cicl_assets.ingest.secret_text import may_hold_secret, redact_patterns

# What every marker starts with; the hash follows (see ``marker``).
REDACTED = MARKER_PREFIX
DEFAULT_STATE_DIR = Path(".cicl")

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
        "authorization",
        "cookie",
        "cookies",
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
_OTEL_HEADER = re.compile(r"(?i)^(?:http|rpc)\.(?:request|response)\.(?:header|metadata)\.(.+)$")
_SENSITIVE_HEADERS = frozenset(
    {"x-api-key", "x-auth-token", "x-csrf-token", "x-xsrf-token", "x-amz-security-token"}
)
_K8S_SECRET_FIELDS = {"Secret": ("data", "stringData"), "ConfigMap": ("data", "binaryData")}
_K8S_DATA_FIELDS = frozenset({"data", "stringData", "binaryData"})
_K8S_SECRET_RESOURCES = frozenset({"secrets", "configmaps"})
_K8S_BODIES = ("requestObject", "responseObject", "request", "response")

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_MAX_NESTED_JSON = 4 * 1024 * 1024

_POLICY: list[RedactionPolicy] = []
_DEFAULT: list[Callable[[], RedactionPolicy]] = []
_EXTRA_KEYS: list[re.Pattern[str]] = []


def configure(policy: RedactionPolicy) -> None:
    """Redact in this process with ``policy`` (its key and extra key patterns) from now on."""
    _POLICY[:] = [policy]
    _EXTRA_KEYS[:] = policy.compiled_key_patterns()
    is_secret_key.cache_clear()


def configure_default(policy: Callable[[], RedactionPolicy]) -> None:
    """How this process finds its policy when nothing configured one: the settings layer
    installs its keys here when the code location loads, so writes outside ingestion (audit
    events, reports) redact with the configured key too. Called only when first needed."""
    _DEFAULT[:] = [policy]


def current_policy() -> RedactionPolicy:
    """The configured policy; else the settings' default; else the local key under ``.cicl/``
    (made on first use)."""
    if not _POLICY:
        configure(_DEFAULT[0]() if _DEFAULT else RedactionPolicy(local_key(DEFAULT_STATE_DIR)))
    return _POLICY[0]


def marker(value: str) -> str:
    """The marker a redacted ``value`` becomes: ``[REDACTED:`` + 12 hex digits of its HMAC + ``]``."""
    return current_policy().key.marker(value)


def pseudonymise(value: str, key: RedactionKey | None = None) -> str:
    """A stable stand-in for an identifier (a user id): 16 hex digits of its HMAC under ``key``
    (default: the process's redaction key). Equal ids map to equal pseudonyms for one key; without
    the key the id cannot be recovered or confirmed."""
    # Its own domain: a user id's pseudonym is not the marker of the same text redacted.
    return (key or current_policy().key).digest("pseudonym\x00" + value, 16)


def _words(key: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(key) if w]


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret value (see the module doc)."""
    lowered = key.lower()
    if lowered in _HEADER_KEYS:
        return True
    header = _OTEL_HEADER.match(key)
    if header and header[1].lower() in _SENSITIVE_HEADERS:
        return True
    if any(p.search(key) for p in _EXTRA_KEYS):
        return True
    words = _words(key)
    if not words:
        return False
    if words[-1] == "key" and len(words) > 1 and words[-2] in _PLAIN_KEY_QUALIFIERS:
        return False
    if words[-1] in _SECRET_WORDS:
        return True
    return any(pair in _SECRET_PAIRS for pair in pairwise(words))


def is_marker(text: str) -> bool:
    return text.startswith(REDACTED) and text.endswith("]") and len(text) <= 32


def redact_text(text: str) -> str:
    """Replace secret-looking parts of free text; JSON text is redacted structurally."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and len(text) <= _MAX_NESTED_JSON:
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        if isinstance(inner, dict | list):
            # Every key and leaf was looked at: unchanged means no secret, text kept as it was.
            cleaned = redact(inner)
            if cleaned != inner:
                return json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)
            return text
    if not may_hold_secret(text):
        return text
    return redact_patterns(text, marker)


def _blank(value: Any) -> Any:
    """The redacted form of a value under a secret key: containers keep their shape."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, str):
        return value if value == "" or is_marker(value) else marker(value)
    return marker(json.dumps(value))


def redact_known(text: str, secrets: Collection[str]) -> str:
    """``text`` with every known secret value (4 characters or more) replaced, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, marker(secret))
    return text


def redact_field(name: str, value: str | None) -> str | None:
    """One named text value: dropped whole when its name names a secret, else scanned."""
    if not value:
        return value
    return _blank(value) if is_secret_key(name) else redact_text(value)


def redact(obj: Any, *, secret_keys: Collection[str] = (), known: Collection[str] = ()) -> Any:
    """A copy of ``obj`` with every secret replaced by its marker; the input is untouched.

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
    secret_fields = _k8s_secret_fields(obj)
    secret_bodies = _names_k8s_secret(obj)
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
        elif secret_bodies and (key in _K8S_BODIES or key == "items"):
            out[key] = _redact(_blank_k8s_data(value), secret_keys, known)
        else:
            out[key] = _redact(value, secret_keys, known)
    return out


def _k8s_kind(obj: dict[str, Any]) -> str | None:
    kind = obj.get("kind")
    if not isinstance(kind, str):
        kind = obj.get("@type")  # GKE audit logs: "core.k8s.io/v1.Secret"
        kind = kind.rsplit(".", 1)[-1] if isinstance(kind, str) else None
    return kind


def _k8s_secret_fields(obj: dict[str, Any]) -> tuple[str, ...] | None:
    kind = _k8s_kind(obj)
    if kind is None:
        return None
    return _K8S_SECRET_FIELDS.get(kind)


def _names_k8s_secret(obj: dict[str, Any]) -> bool:
    """A record about Secrets or ConfigMaps: its request and response bodies hold their data
    even where the bodies carry no kind (list items, patches)."""
    kind = _k8s_kind(obj)
    if kind in ("SecretList", "ConfigMapList"):
        return True
    ref = obj.get("objectRef")
    if isinstance(ref, dict) and str(ref.get("resource", "")).lower() in _K8S_SECRET_RESOURCES:
        return True
    for field in ("methodName", "resourceName"):  # GKE audit logs in Cloud Logging
        name = obj.get(field)
        if isinstance(name, str) and re.search(r"(?i)[./](?:secrets|configmaps)(?:[./]|$)", name):
            return True
    return False


def _blank_k8s_data(value: Any) -> Any:
    """``value`` with every data/stringData/binaryData map blanked, however deep (list items),
    and every JSON-patch operation on those paths."""
    if isinstance(value, list):
        return [_blank_k8s_data(v) for v in value]
    if not isinstance(value, dict):
        return value
    path = value.get("path")
    if (
        isinstance(path, str)
        and "value" in value
        and re.match(r"/(?:data|stringData|binaryData)\b", path)
    ):
        return {**value, "value": _blank(value["value"])}
    return {
        k: _blank(v) if k in _K8S_DATA_FIELDS and isinstance(v, dict) else _blank_k8s_data(v)
        for k, v in value.items()
    }
