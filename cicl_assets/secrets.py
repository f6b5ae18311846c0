"""Secrets: a value given literally (local runs) or a GCP Secret Manager reference (production).

A setting that holds a secret is either the secret itself (``Secret``) or a reference
``gcp-sm://projects/P/secrets/S/versions/V`` (``SecretRef``) that ``resolve_secret`` reads through
the Secret Manager client when the secret is needed. A ``Secret`` never shows its value in
``repr``, ``str`` or f-strings, and errors name the variable and the reference, never a value, so
neither a log line nor a traceback can carry one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

GCP_SM_SCHEME = "gcp-sm://"
# Project ids or numbers; secret ids as Secret Manager allows them; a version number or "latest".
_REFERENCE = re.compile(
    r"gcp-sm://projects/(?P<project>[a-z0-9][a-z0-9.:-]{0,62})"
    r"/secrets/(?P<secret>[A-Za-z0-9_-]{1,255})"
    r"/versions/(?P<version>[1-9][0-9]*|latest)"
)
DEFAULT_TIMEOUT_S = 10.0
# The Secret Manager client logs whole responses, payload included, when its logger is at DEBUG.
_CLIENT_LOGGER = "google.cloud.secretmanager_v1"


class SecretError(ValueError):
    """A secret cannot be read; the message names the variable and reference, never a value."""


class Secret:
    """A secret value that does not print itself; ``reveal()`` is the one way to the value."""

    __slots__ = ("_value", "variable")

    def __init__(self, variable: str, value: str):
        self.variable = variable
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.variable}, '***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


@dataclass(frozen=True)
class SecretRef:
    """Where Secret Manager keeps a secret; safe to show, it holds no value."""

    variable: str
    project: str
    secret: str
    version: str

    @property
    def name(self) -> str:
        """The resource name Secret Manager's AccessSecretVersion takes."""
        return f"projects/{self.project}/secrets/{self.secret}/versions/{self.version}"

    def __str__(self) -> str:
        return GCP_SM_SCHEME + self.name


def is_reference(text: str) -> bool:
    return text.strip().startswith(GCP_SM_SCHEME.rstrip("/"))


def parse_secret(variable: str, text: str) -> Secret | SecretRef:
    """The setting ``variable`` holding ``text``: a reference when it starts with ``gcp-sm:``,
    else the literal secret."""
    if not is_reference(text):
        return Secret(variable, text)
    match = _REFERENCE.fullmatch(text.strip())
    if match is None:
        # A reference names a secret, it is not one: showing it helps fix the typo.
        raise SecretError(
            f"{variable}: {text.strip()!r} is not a Secret Manager reference of the form "
            f"{GCP_SM_SCHEME}projects/PROJECT/secrets/SECRET/versions/VERSION (VERSION a number "
            "or latest)"
        )
    return SecretRef(variable, match["project"], match["secret"], match["version"])


_CLIENTS: list[Any] = []


def default_client() -> Any:
    """One Secret Manager client per process, with Application Default Credentials (workload
    identity on GKE)."""
    if not _CLIENTS:
        from google.cloud import secretmanager_v1

        _CLIENTS.append(secretmanager_v1.SecretManagerServiceClient())
    return _CLIENTS[0]


def resolve_secret(
    value: Secret | SecretRef, *, client: Any = None, timeout: float = DEFAULT_TIMEOUT_S
) -> Secret:
    """The secret itself: ``value`` when literal, else read from Secret Manager within
    ``timeout`` seconds (transient errors retried inside that time)."""
    if isinstance(value, Secret):
        return value
    from google.api_core import exceptions, retry

    logging.getLogger(_CLIENT_LOGGER).setLevel(logging.INFO)
    transient = retry.if_exception_type(exceptions.ServiceUnavailable, exceptions.ResourceExhausted)
    try:
        response = (client or default_client()).access_secret_version(
            name=value.name,
            retry=retry.Retry(predicate=transient, initial=0.2, maximum=2.0, timeout=timeout),
            timeout=timeout,
        )
    except exceptions.GoogleAPICallError as exc:
        status = exc.grpc_status_code.name if exc.grpc_status_code else exc.code
        raise SecretError(
            f"{value.variable}: cannot read {value} from Secret Manager: {status} ({exc.message})"
        ) from None
    except exceptions.RetryError as exc:
        raise SecretError(
            f"{value.variable}: cannot read {value} from Secret Manager within {timeout:g} s "
            f"({exc.cause or exc})"
        ) from None
    payload = response.payload
    if "data_crc32c" in payload and _crc32c(payload.data) != payload.data_crc32c:
        raise SecretError(f"{value.variable}: {value} arrived corrupted (CRC32C mismatch)")
    try:
        text = payload.data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{value.variable}: {value} is not UTF-8 text") from None
    return Secret(value.variable, text)


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return google_crc32c.value(data)
