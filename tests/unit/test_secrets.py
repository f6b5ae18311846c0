"""Secrets from a literal value or from Secret Manager, read by the real client over gRPC.

The server is ours: a generic gRPC handler for SecretManagerService/AccessSecretVersion on
127.0.0.1 answering from a table, so the client's real request and response encoding, status
mapping, retry and deadline are exercised, not a mock of the client.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import google_crc32c
import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)

from cicl_assets import secrets
from cicl_assets.ingest.redaction_key import RedactionKey
from cicl_assets.landing.zone import LandingZone
from cicl_assets.resources import build_resources
from cicl_assets.secrets import (
    Secret,
    SecretError,
    SecretRef,
    parse_secret,
    resolve_secret,
)
from cicl_assets.settings import Settings, SettingsError
from cicl_assets.signer import Ed25519Signer

SECRET_MANAGER_SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
VALUE = "s3cr3t-value-never-shown"
GOOD = "projects/cicl-prod/secrets/bq-key/versions/3"
LATEST = "projects/123456/secrets/bq-key/versions/latest"
MISSING = "projects/cicl-prod/secrets/missing/versions/1"
FORBIDDEN = "projects/cicl-prod/secrets/forbidden/versions/1"
SLOW = "projects/cicl-prod/secrets/slow/versions/1"
CORRUPT = "projects/cicl-prod/secrets/corrupt/versions/1"
FLAKY = "projects/cicl-prod/secrets/flaky/versions/1"


@dataclass
class FakeSecretManager:
    """What the server answers per resource name, and what it was asked."""

    payloads: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    flaky_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def access(
        self, request: sm.AccessSecretVersionRequest, context
    ) -> sm.AccessSecretVersionResponse:
        with self.lock:
            self.requests.append(request.name)
        if request.name == MISSING:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Secret [{request.name}] not found")
        if request.name == FORBIDDEN:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "Permission denied on resource")
        if request.name == SLOW:
            time.sleep(1.5)
        if request.name == FLAKY:
            with self.lock:
                self.flaky_failures += 1
                failing = self.flaky_failures <= 2
            if failing:
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        data = self.payloads.get(request.name, b"")
        crc = google_crc32c.value(data) + (1 if request.name == CORRUPT else 0)
        return sm.AccessSecretVersionResponse(
            name=request.name, payload=sm.SecretPayload(data=data, data_crc32c=crc)
        )


@pytest.fixture(scope="module")
def secret_manager() -> Iterator[tuple[FakeSecretManager, int]]:
    fake = FakeSecretManager(
        payloads={
            GOOD: VALUE.encode(),
            LATEST: b"latest-value",
            SLOW: b"late",
            CORRUPT: b"bits",
            FLAKY: b"third-time",
        }
    )
    handler = grpc.method_handlers_generic_handler(
        SECRET_MANAGER_SERVICE,
        {
            "AccessSecretVersion": grpc.unary_unary_rpc_method_handler(
                fake.access,
                request_deserializer=sm.AccessSecretVersionRequest.deserialize,
                response_serializer=sm.AccessSecretVersionResponse.serialize,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield fake, port
    server.stop(grace=None)


def _insecure_transport(**kwargs) -> SecretManagerServiceGrpcTransport:
    # The loopback server speaks plain gRPC; production uses the default TLS channel.
    return SecretManagerServiceGrpcTransport(
        channel=lambda host, **_: grpc.insecure_channel(host), **kwargs
    )


@pytest.fixture(scope="module")
def client(secret_manager) -> sm.SecretManagerServiceClient:
    _, port = secret_manager
    return sm.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": f"127.0.0.1:{port}"},
        transport=_insecure_transport,
    )


def test_a_literal_value_is_the_secret_and_never_prints():
    value = Settings.from_env({"CICL_BQ_CREDENTIALS": _key_b64()}).bq_credentials
    assert isinstance(value, Secret)
    assert resolve_secret(value) is value  # no call to anything
    assert value.reveal() == _key_b64()
    shown = [
        repr(value),
        str(value),
        f"{value}",
        f"{value!r:>80}",
        repr(Settings(bq_credentials=value)),
    ]
    assert shown[:3] == ["Secret(CICL_BQ_CREDENTIALS, '***')"] * 3
    assert not any(_key_b64() in text for text in shown)


@pytest.mark.parametrize(
    ("reference", "expected", "name"),
    [
        (f"gcp-sm://{GOOD}", VALUE, GOOD),
        (f"gcp-sm://{LATEST}", "latest-value", LATEST),
        # transient UNAVAILABLE answers are retried within the timeout
        (f"gcp-sm://{FLAKY}", "third-time", FLAKY),
    ],
)
def test_a_reference_resolves_through_secret_manager(
    secret_manager, client, reference, expected, name
):
    fake, _ = secret_manager
    ref = parse_secret("CICL_BQ_CREDENTIALS", reference)
    assert isinstance(ref, SecretRef)
    assert (str(ref), ref.name) == (reference, name)
    before = len(fake.requests)
    secret = resolve_secret(ref, client=client, timeout=5)
    assert (secret.variable, secret.reveal()) == ("CICL_BQ_CREDENTIALS", expected)
    assert fake.requests[before:] == [name] * (3 if name == FLAKY else 1)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            MISSING,
            f"CICL_BQ_CREDENTIALS: cannot read gcp-sm://{MISSING} from Secret Manager: "
            f"NOT_FOUND (Secret [{MISSING}] not found)",
        ),
        (
            FORBIDDEN,
            f"CICL_BQ_CREDENTIALS: cannot read gcp-sm://{FORBIDDEN} from Secret Manager: "
            "PERMISSION_DENIED (Permission denied on resource)",
        ),
        (
            SLOW,
            f"CICL_BQ_CREDENTIALS: cannot read gcp-sm://{SLOW} from Secret Manager: "
            "DEADLINE_EXCEEDED (Deadline Exceeded)",
        ),
        (CORRUPT, f"CICL_BQ_CREDENTIALS: gcp-sm://{CORRUPT} arrived corrupted (CRC32C mismatch)"),
    ],
)
def test_a_reference_that_cannot_be_read_names_variable_and_reference(client, name, message):
    ref = parse_secret("CICL_BQ_CREDENTIALS", f"gcp-sm://{name}")
    started = time.monotonic()
    with pytest.raises(SecretError) as raised:
        resolve_secret(ref, client=client, timeout=0.5)
    assert str(raised.value) == message
    # no chained client error in a traceback either
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__
    assert time.monotonic() - started < 1.4  # the timeout holds, the slow answer is not awaited


@pytest.mark.parametrize(
    "reference",
    [
        "gcp-sm://projects/p/secrets/s",  # no version
        "gcp-sm://projects/cicl-prod/secrets/bq key/versions/1",
        "gcp-sm://projects/cicl-prod/secrets/bq-key/versions/0",
        "gcp-sm://projects/cicl-prod/secrets/bq-key/versions/newest",
        "gcp-sm:/projects/cicl-prod/secrets/bq-key/versions/1",
        "gcp-sm://cicl-prod/bq-key/1",
    ],
)
def test_a_malformed_reference_fails_at_start_with_the_variable(reference):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CICL_BQ_CREDENTIALS": reference})
    assert str(raised.value) == (
        f"invalid setting CICL_BQ_CREDENTIALS: {reference!r} is not a Secret Manager reference "
        "of the form gcp-sm://projects/PROJECT/secrets/SECRET/versions/VERSION (VERSION a "
        "number or latest)"
    )


def test_a_malformed_literal_key_is_refused_without_showing_it():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CICL_BQ_CREDENTIALS": "not-base64-json-" + VALUE})
    assert str(raised.value) == (
        "invalid setting CICL_BQ_CREDENTIALS: is not a base64-encoded service-account JSON key"
    )


def _key() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return {
        "type": "service_account",
        "project_id": "cicl-prod",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "cicl-sm@cicl-prod.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


_KEY = _key()


def _key_b64() -> str:
    return base64.b64encode(json.dumps(_KEY).encode()).decode()


def test_the_bigquery_key_can_live_in_secret_manager(secret_manager, client, monkeypatch):
    """The warehouse resolves a gcp-sm:// value of its EnvVar when it builds its client; the
    resource's config (what the UI shows) holds the variable's name only."""
    fake, _ = secret_manager
    name = "projects/cicl-prod/secrets/bq-key-json/versions/1"
    fake.payloads[name] = _key_b64().encode()
    monkeypatch.setattr(secrets, "default_client", lambda: client)
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    settings = Settings.from_env(
        {"CICL_WAREHOUSE": "bigquery", "CICL_BQ_PROJECT": "cicl-prod",
         "CICL_BQ_CREDENTIALS": f"gcp-sm://{name}",
         "CICL_SIGNING_KEY": "gcp-sm://projects/cicl-prod/secrets/cicl-signing/versions/1",
         "CICL_REDACTION_KEY": "gcp-sm://projects/cicl-prod/secrets/cicl-redaction/versions/1"}
    )  # fmt: skip
    warehouse = build_resources(settings)["warehouse"]
    # the config the resource hands Dagster, which the UI shows: the variable's name only
    assert warehouse._convert_to_config_dictionary()["gcp_credentials"] == {
        "env": "CICL_BQ_CREDENTIALS"
    }
    # at run start Dagster resolves that EnvVar to the reference; the client gets the key
    running = warehouse.model_copy(update={"gcp_credentials": f"gcp-sm://{name}"})
    assert running.client._credentials.service_account_email == _KEY["client_email"]
    assert fake.requests[-1] == name


def test_the_signing_key_can_live_in_secret_manager(secret_manager, client, monkeypatch):
    """cicl_config holds the variable's name; the signer reads the key once per process."""
    fake, _ = secret_manager
    name = "projects/cicl-prod/secrets/cicl-signing/versions/3"
    signer = Ed25519Signer.generate()
    fake.payloads[name] = signer.private_key_pem().encode()
    monkeypatch.setattr(secrets, "default_client", lambda: client)
    settings = Settings.from_env({"CICL_SIGNING_KEY": f"gcp-sm://{name}"})
    config = build_resources(settings)["cicl_config"]
    assert config._convert_to_config_dictionary()["signing_key"] == {"env": "CICL_SIGNING_KEY"}
    running = config.model_copy(update={"signing_key": f"gcp-sm://{name}"})
    before = len(fake.requests)
    assert running.signer().key_id == signer.key_id
    assert running.signer().key_id == signer.key_id
    assert fake.requests[before:] == [name]


def test_no_value_reaches_a_log_even_at_debug(secret_manager, caplog):
    """Built with DEBUG on, the client logs each response whole (the payload in the record's
    extra fields, base64): not Secret Manager's, whose payloads are secrets."""
    caplog.set_level(logging.DEBUG, logger="google")
    _, port = secret_manager
    client = sm.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": f"127.0.0.1:{port}"},
        transport=_insecure_transport,
    )
    ref = parse_secret("CICL_BQ_CREDENTIALS", f"gcp-sm://{GOOD}")
    assert resolve_secret(ref, client=client, timeout=5).reveal() == VALUE
    encoded = base64.b64encode(VALUE.encode()).decode()
    assert logging.getLogger("google").isEnabledFor(logging.DEBUG)
    records = [str(vars(r)) for r in caplog.records]
    assert [r for r in records if VALUE in r or encoded in r] == []


def test_the_redaction_key_can_live_in_secret_manager(
    secret_manager, client, monkeypatch, tmp_path
):
    fake, _ = secret_manager
    name = "projects/cicl-prod/secrets/cicl-redaction/versions/2"
    fake.payloads[name] = b"0123456789abcdef0123456789abcdef\n"
    monkeypatch.setattr(secrets, "default_client", lambda: client)
    landing = LandingZone(
        uri=str(tmp_path), state_dir=str(tmp_path / "state"), redaction_key=f"gcp-sm://{name}"
    )
    policy = landing.redaction_policy()
    assert policy.key == RedactionKey(b"0123456789abcdef0123456789abcdef", "CICL_REDACTION_KEY")
    assert fake.requests[-1] == name
    assert not (tmp_path / "state" / "redaction.key").exists()  # nothing generated
