"""The key redaction markers are hashed with, and the policy a process redacts by.

A redacted value becomes ``[REDACTED:<12 hex digits>]``: the first 48 bits of HMAC-SHA256 of
the value under the redaction key. Equal values get equal markers, so an analyst can still
count or group them; without the key nobody can confirm a guess of a value by hashing it.

The key is ``CICL_REDACTION_KEY`` (a literal of 32+ characters or a ``gcp-sm://`` reference),
required with the BigQuery warehouse. Without it a key is generated once under the state
folder (``<state>/redaction.key``), never in the warehouse, and a warning says so: markers are
then stable on this machine only. Worker processes get the policy with their task setup, never
from their environment.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cicl_assets.secrets import Secret, SecretRef, resolve_secret

MARKER_PREFIX = "[REDACTED"
KEY_FILE = "redaction.key"
MIN_KEY_CHARS = 32
_HASH_HEX = 12

log = logging.getLogger(__name__)


class RedactionKeyError(ValueError):
    """The redaction key is missing or unusable; the message never shows the key."""


@dataclass(frozen=True)
class RedactionKey:
    """An HMAC key; its repr never shows it."""

    secret: bytes = field(repr=False)
    origin: str = "CICL_REDACTION_KEY"

    def digest(self, value: str, hex_digits: int = _HASH_HEX) -> str:
        mac = hmac.new(self.secret, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return mac.hexdigest()[:hex_digits]

    def marker(self, value: str) -> str:
        return f"{MARKER_PREFIX}:{self.digest(value)}]"


@dataclass(frozen=True)
class RedactionPolicy:
    """What a process redacts with: the marker key and the configured extra secret-key
    patterns (regular expressions searched case-insensitively in mapping keys)."""

    key: RedactionKey
    extra_key_patterns: tuple[str, ...] = ()

    def compiled_key_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for p in self.extra_key_patterns)


def key_from_text(text: str, origin: str) -> RedactionKey:
    if len(text.strip()) < MIN_KEY_CHARS:
        raise RedactionKeyError(
            f"{origin}: a redaction key has at least {MIN_KEY_CHARS} characters "
            "(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return RedactionKey(text.strip().encode(), origin)


def load_redaction_key(value: Secret | SecretRef | None, state_dir: str | Path) -> RedactionKey:
    """The configured key (read from Secret Manager when a reference), else the local key under
    ``state_dir``, generated on first use with a warning."""
    if value is not None:
        return key_from_text(resolve_secret(value).reveal(), value.variable)
    return local_key(Path(state_dir))


def local_key(state_dir: Path) -> RedactionKey:
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked in: a concurrent first run sees no file or a whole one.
        draft = state_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # a concurrent run made it first: use theirs
        else:
            log.warning(
                "CICL_REDACTION_KEY is not set: generated a local redaction key in %s; redaction "
                "markers are comparable only between runs that use this file",
                path,
            )
        finally:
            draft.unlink()
    return key_from_text(path.read_text(), str(path))
