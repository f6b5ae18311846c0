"""The code location's settings: the one place that reads the environment.

Every ``CICL_*`` variable is declared here with its meaning and read with its type by
``Settings.from_env`` when the definitions load. An unknown ``CICL_*`` variable (a typo would
otherwise be ignored) or a malformed value stops the load, naming every bad variable at once.
Below this layer nothing reads the environment: resources get fields, parsers get arguments.
An empty variable counts as unset. Secrets are a literal value or a Secret Manager reference
(``cicl_assets.secrets``); neither this module nor its errors ever show a secret's value.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cicl_assets.ingest.content import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_INFLATED_BYTES
from cicl_assets.secrets import Secret, SecretError, SecretRef, parse_secret

WAREHOUSES = ("duckdb", "bigquery")
DEFAULT_SLO_BREACH_COOLDOWN_MINUTES = 720
DEFAULT_TRUST_FILE = Path("trust") / "keys.yaml"
DEFAULT_QUERY_TIMEOUT_SECONDS = 600
# In the config directory: further keys whose values are secret (extra_key_patterns: [regex]).
REDACTION_CONFIG = "redaction.yaml"

# The product's variables, as README's configuration table lists them.
VARIABLES: dict[str, str] = {
    "CICL_WAREHOUSE": "duckdb or bigquery",
    "CICL_DUCKDB_PATH": "DuckDB file",
    "CICL_BQ_PROJECT": "BigQuery project (required with CICL_WAREHOUSE=bigquery)",
    "CICL_BQ_DATASET": "BigQuery dataset",
    "CICL_BQ_LOCATION": "BigQuery location",
    "CICL_BQ_CREDENTIALS": "secret: base64 service-account key for BigQuery",
    "CICL_LANDING_URI": "landing zone root: a path or gs://bucket/prefix",
    "CICL_OUTBOX_URI": "where releases and evidence bundles go",
    "CICL_CONFIG_DIR": "SLO specs, price table, reviewers, policies",
    "CICL_GCS_PROJECT": "project of the Cloud Storage client",
    "CICL_ATTESTATION_PUBLIC_KEY": "PEM public key attestations must be signed with",
    "CICL_SIGNING_KEY": "secret: ed25519 private key (PEM) cicl signs audit chain heads with",
    "CICL_TRUST_FILE": "the keys whose signatures cicl accepts, with their validity",
    "CICL_SLO_BREACH_COOLDOWN_MINUTES": "minutes before an ongoing SLO alert triggers again",
    "CICL_RETENTION_CLOCK": "wall (default) or data: what evidence retention measures age against",
    "CICL_RELEASE_CLOCK": "wall (default) or data: what a release is dated by (data: newest span)",
    "CICL_MAX_FILE_BYTES": "largest landing file read",
    "CICL_MAX_INFLATED_BYTES": "largest content a gzipped landing file may inflate to",
    "CICL_QUERY_TIMEOUT_SECONDS": "longest a warehouse statement may run before it is stopped",
    "CICL_REDACTION_KEY": "secret: HMAC key of redaction markers and user pseudonyms (32+ chars)",
    "CICL_STATE_DIR": "local state outside the warehouse: spool folders, generated redaction key",
    "CICL_PLATFORM_REPO": "the platform repository candidates change: a path, file:// or git URL",
    "CICL_PLATFORM_REPO_TOKEN": "secret: HTTPS token git sends to a remote platform repository",
    "CICL_IDENTITY_TAG": "run tag holding the reviewer identity a login proxy vouched for",
    "CICL_REQUIRE_IDENTITY": "true: a review is refused unless its run carries an identity tag",
    "CICL_COMPILED_DECODERS": "on (default) or off: off parses OTLP protobuf in pure Python",
}
# Variables of the test tooling that share the prefix: a developer's shell may hold them, and
# they must not stop the code location. Each says who reads it.
TOOLING_VARIABLES: dict[str, str] = {
    "CICL_EMULATOR_CACHE": "tests/emulators/harness.py: where the emulators' virtualenvs live",
}
# Read by the Google client libraries themselves; here only to pick anonymous credentials.
BIGQUERY_EMULATOR_HOST = "BIGQUERY_EMULATOR_HOST"
STORAGE_EMULATOR_HOST = "STORAGE_EMULATOR_HOST"
DAGSTER_HOME = "DAGSTER_HOME"
# Not cicl's own, documented beside its settings (README, .env.example).
CLIENT_VARIABLES: dict[str, str] = {
    BIGQUERY_EMULATOR_HOST: "a BigQuery emulator's URL (http://127.0.0.1:PORT): the BigQuery "
    "client talks to it with anonymous credentials",
    STORAGE_EMULATOR_HOST: "a Cloud Storage emulator's URL: gs:// landing zones are read there",
}

_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}")
_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_OUTBOX_SCHEMES = ("gs", "git+file")


class SettingsError(ValueError):
    """Settings the code location cannot start with; the message names each variable."""


@dataclass(frozen=True)
class CloudClients:
    """What the Google clients are built with. Read where a client is built, in whichever process
    builds it (ingest workers too), since the client libraries read the emulator variables
    themselves at that moment."""

    gcs_project: str | None = None
    storage_emulator_host: str | None = None
    bigquery_emulator_host: str | None = None


def dagster_home(env: Mapping[str, str] | None = None) -> str | None:
    """DAGSTER_HOME, Dagster's own variable: where the command line's instance lives."""
    env = os.environ if env is None else env
    return env.get(DAGSTER_HOME) or None


def cloud_clients(env: Mapping[str, str] | None = None) -> CloudClients:
    env = os.environ if env is None else env
    return CloudClients(
        gcs_project=_value(env, "CICL_GCS_PROJECT"),
        storage_emulator_host=_value(env, STORAGE_EMULATOR_HOST),
        bigquery_emulator_host=_value(env, BIGQUERY_EMULATOR_HOST),
    )


def compiled_decoders(env: Mapping[str, str] | None = None) -> bool:
    """Whether parsers use their compiled form when it is built (CICL_COMPILED_DECODERS). Read
    where a file is parsed, in whichever process parses it; ``from_env`` refuses other values."""
    env = os.environ if env is None else env
    return (_value(env, "CICL_COMPILED_DECODERS") or "on").lower() != "off"


def _value(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


@dataclass(frozen=True)
class Settings:
    warehouse: str = "duckdb"
    duckdb_path: str = ".cicl/warehouse.duckdb"
    bq_project: str = ""
    bq_dataset: str = "cicl"
    bq_location: str = "US"
    bq_credentials: Secret | SecretRef | None = None
    landing_uri: str = ".cicl/landing"
    outbox_uri: str = ".cicl/outbox"
    config_dir: Path = Path("config")
    attestation_public_key: str | None = None
    signing_key: Secret | SecretRef | None = None
    trust_file: Path | None = None
    slo_breach_cooldown_minutes: int = DEFAULT_SLO_BREACH_COOLDOWN_MINUTES
    retention_clock: str | None = None
    release_clock: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES
    query_timeout_seconds: int = DEFAULT_QUERY_TIMEOUT_SECONDS
    redaction_key: Secret | SecretRef | None = None
    state_dir: str = ".cicl"
    extra_secret_key_patterns: tuple[str, ...] = ()
    platform_repo: str | None = None
    platform_repo_token: Secret | SecretRef | None = None
    identity_tag: str | None = None
    require_identity: bool = False
    cloud: CloudClients = CloudClients()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings in ``env`` (default: the process environment); SettingsError listing
        every unknown or malformed variable."""
        read = _Reader(os.environ if env is None else env)
        read.unknown_variables()
        warehouse = (read.text("CICL_WAREHOUSE") or cls.warehouse).lower()
        if warehouse not in WAREHOUSES:
            read.fail("CICL_WAREHOUSE", f"{warehouse!r} is not one of {', '.join(WAREHOUSES)}")
        bq_project = read.text("CICL_BQ_PROJECT") or ""
        if warehouse == "bigquery" and not bq_project:
            read.fail("CICL_BQ_PROJECT", "is required with CICL_WAREHOUSE=bigquery")
        compiled = (read.text("CICL_COMPILED_DECODERS") or "on").lower()
        if compiled not in ("on", "off"):
            read.fail("CICL_COMPILED_DECODERS", f"{compiled!r} is not one of on, off")
        clock = read.text("CICL_RETENTION_CLOCK")
        if clock is not None and clock not in ("wall", "data"):
            read.fail("CICL_RETENTION_CLOCK", f"{clock!r} is not one of wall, data")
        release_clock = read.text("CICL_RELEASE_CLOCK")
        if release_clock is not None and release_clock not in ("wall", "data"):
            read.fail("CICL_RELEASE_CLOCK", f"{release_clock!r} is not one of wall, data")
        settings = cls(
            warehouse=warehouse,
            duckdb_path=read.text("CICL_DUCKDB_PATH") or cls.duckdb_path,
            bq_project=bq_project,
            bq_dataset=read.dataset("CICL_BQ_DATASET", cls.bq_dataset),
            bq_location=read.text("CICL_BQ_LOCATION") or cls.bq_location,
            bq_credentials=read.service_account_key("CICL_BQ_CREDENTIALS"),
            landing_uri=read.landing_uri("CICL_LANDING_URI", cls.landing_uri),
            outbox_uri=read.outbox_uri("CICL_OUTBOX_URI", cls.outbox_uri),
            config_dir=read.directory("CICL_CONFIG_DIR", cls.config_dir),
            attestation_public_key=read.public_key("CICL_ATTESTATION_PUBLIC_KEY"),
            signing_key=read.signing_key("CICL_SIGNING_KEY"),
            trust_file=read.trust_file("CICL_TRUST_FILE"),
            slo_breach_cooldown_minutes=read.integer(
                "CICL_SLO_BREACH_COOLDOWN_MINUTES", cls.slo_breach_cooldown_minutes, minimum=0
            ),
            retention_clock=clock,
            release_clock=release_clock,
            max_file_bytes=read.integer("CICL_MAX_FILE_BYTES", cls.max_file_bytes, minimum=1),
            max_inflated_bytes=read.integer(
                "CICL_MAX_INFLATED_BYTES", cls.max_inflated_bytes, minimum=1
            ),
            query_timeout_seconds=read.integer(
                "CICL_QUERY_TIMEOUT_SECONDS", cls.query_timeout_seconds, minimum=1
            ),
            redaction_key=read.redaction_key("CICL_REDACTION_KEY"),
            state_dir=read.text("CICL_STATE_DIR") or cls.state_dir,
            platform_repo=read.platform_repo("CICL_PLATFORM_REPO"),
            platform_repo_token=read.secret("CICL_PLATFORM_REPO_TOKEN"),
            identity_tag=read.text("CICL_IDENTITY_TAG"),
            require_identity=read.boolean("CICL_REQUIRE_IDENTITY"),
            cloud=cloud_clients(read.env),
        )
        read.raise_errors()
        settings = replace(
            settings, extra_secret_key_patterns=read.extra_key_patterns(settings.config_dir)
        )
        if settings.warehouse == "bigquery" and settings.redaction_key is None:
            # A generated key lives on one machine: markers of two pods would not compare, and
            # losing the file would split every group.
            read.fail(
                "CICL_REDACTION_KEY",
                "is required with CICL_WAREHOUSE=bigquery (32+ random characters, e.g. "
                "python -c 'import secrets; print(secrets.token_hex(32))', or a gcp-sm:// "
                "reference)",
            )
        if settings.warehouse == "bigquery" and settings.signing_key is None:
            # Unsigned heads are only as safe as the outbox's write protection: fine on a
            # laptop, not for the production warehouse.
            read.fail("CICL_SIGNING_KEY", "is required with CICL_WAREHOUSE=bigquery")
        read.signing_key_is_trusted(settings)
        read.raise_errors()
        return settings

    def trust_path(self) -> Path:
        """The trust file: CICL_TRUST_FILE, else <config dir>/trust/keys.yaml."""
        return self.trust_file or self.config_dir / DEFAULT_TRUST_FILE


class _Reader:
    """Typed reads of one environment, collecting every problem before raising."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.errors: list[str] = []

    def fail(self, name: str, why: str) -> None:
        self.errors.append(f"{name}: {why}")

    def raise_errors(self) -> None:
        if len(self.errors) == 1:
            raise SettingsError(f"invalid setting {self.errors[0]}")
        if self.errors:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(self.errors))

    def unknown_variables(self) -> None:
        known = {*VARIABLES, *TOOLING_VARIABLES}
        for name in sorted(n for n in self.env if n.startswith("CICL_") and n not in known):
            close = difflib.get_close_matches(name, VARIABLES, n=1)
            hint = f"did you mean {close[0]}?" if close else "see README's configuration table"
            self.fail(name, f"is not a cicl setting ({hint})")

    def text(self, name: str) -> str | None:
        return _value(self.env, name)

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        text = self.text(name)
        if text is None:
            return default
        try:
            number = int(text)
        except ValueError:
            self.fail(name, f"{text!r} is not a whole number")
            return default
        if number < minimum:
            self.fail(name, f"{number} is below the minimum of {minimum}")
            return default
        return number

    def boolean(self, name: str) -> bool:
        text = (self.text(name) or "false").lower()
        if text not in ("true", "false"):
            self.fail(name, f"{text!r} is not true or false")
        return text == "true"

    def dataset(self, name: str, default: str) -> str:
        text = self.text(name) or default
        if not _DATASET.fullmatch(text):
            self.fail(name, f"{text!r} is not a BigQuery dataset name (letters, digits, _)")
        return text

    def landing_uri(self, name: str, default: str) -> str:
        text = self.text(name) or default
        scheme = _URI_SCHEME.match(text)
        if scheme and scheme[1] != "gs":
            self.fail(name, f"{text!r}: a landing zone is a local path or gs://bucket/prefix")
        elif scheme and not text[len("gs://") :].split("/")[0]:
            self.fail(name, f"{text!r} names no bucket (gs://bucket/prefix)")
        return text

    def outbox_uri(self, name: str, default: str) -> str:
        text = self.text(name) or default
        scheme = _URI_SCHEME.match(text)
        if scheme and scheme[1] not in _OUTBOX_SCHEMES:
            self.fail(name, f"{text!r}: an outbox is a local path, gs://... or git+file://...")
        return text

    def platform_repo(self, name: str) -> str | None:
        """A local repository (path or file://) must exist; any other URL is git's to reach."""
        text = self.text(name)
        if text is None:
            return None
        from cicl_assets.platform_repo import FILE_SCHEME, is_local

        if is_local(text):
            path = Path(text.removeprefix(FILE_SCHEME))
            if not ((path / ".git").exists() or (path / "HEAD").is_file()):
                self.fail(name, f"{text!r} is not a git repository (make demo seeds one)")
        return text

    def directory(self, name: str, default: Path) -> Path:
        text = self.text(name)
        if text is None:
            return default
        if not Path(text).is_dir():
            self.fail(name, f"{text!r} is not a directory")
        return Path(text)

    def public_key(self, name: str) -> str | None:
        text = self.text(name)
        if text is None:
            return None
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization

        try:
            serialization.load_pem_public_key(text.encode())
        except (ValueError, UnsupportedAlgorithm):
            self.fail(name, "is not a PEM public key (-----BEGIN PUBLIC KEY----- ...)")
        return text

    def secret(self, name: str) -> Secret | SecretRef | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            return parse_secret(name, text)
        except SecretError as exc:
            self.errors.append(str(exc))
            return None

    def signing_key(self, name: str) -> Secret | SecretRef | None:
        value = self.secret(name)
        if isinstance(value, Secret):
            from cicl_assets.signer import Ed25519Signer, SigningKeyError

            try:
                Ed25519Signer.from_pem(value.reveal(), name)
            except SigningKeyError as exc:
                self.errors.append(str(exc))
                return None
        return value

    def trust_file(self, name: str) -> Path | None:
        text = self.text(name)
        if text is None:
            return None
        if not Path(text).is_file():
            self.fail(name, f"{text!r} is not a file")
        return Path(text)

    def signing_key_is_trusted(self, settings: Settings) -> None:
        """A literal signing key must be one the trust file accepts now, or every head it signs
        would be refused."""
        from cicl_assets.signer import Ed25519Signer, TrustFileError, load_trust

        try:
            trust = load_trust(settings.trust_path())
        except TrustFileError as exc:
            self.fail("CICL_TRUST_FILE", str(exc))
            return
        if not isinstance(settings.signing_key, Secret):
            return
        key_id = Ed25519Signer.from_pem(settings.signing_key.reveal(), "").key_id
        trusted = trust.find(key_id)
        if trusted is None or not trusted.covers(datetime.now(UTC)):
            state = "does not list it" if trusted is None else f"gives {trusted.validity()}"
            self.fail(
                "CICL_SIGNING_KEY",
                f"key {key_id} is not trusted now: {trust.origin} {state} "
                "(scripts/cicl.py keygen prints the entry to add)",
            )

    def redaction_key(self, name: str) -> Secret | SecretRef | None:
        value = self.secret(name)
        if isinstance(value, Secret):
            from cicl_assets.ingest.redaction_key import RedactionKeyError, key_from_text

            try:
                key_from_text(value.reveal(), name)
            except RedactionKeyError as exc:
                self.errors.append(str(exc))
                return None
        return value

    def extra_key_patterns(self, config_dir: Path) -> tuple[str, ...]:
        """``extra_key_patterns`` of the config directory's redaction.yaml: regular expressions
        (Python and RE2 alike) searched case-insensitively in mapping keys."""
        path = config_dir / REDACTION_CONFIG
        if not path.is_file():
            return ()
        import yaml

        origin = f"CICL_CONFIG_DIR: {path}"
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            self.errors.append(f"{origin}: cannot be read ({exc})")
            return ()
        patterns = doc.get("extra_key_patterns", []) if isinstance(doc, dict) else None
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            self.errors.append(f"{origin}: extra_key_patterns is a list of regular expressions")
            return ()
        for pattern in patterns:
            why = _pattern_problem(pattern)
            if why:
                self.errors.append(f"{origin}: extra key pattern {pattern!r} {why}")
        return tuple(patterns)

    def service_account_key(self, name: str) -> Secret | SecretRef | None:
        value = self.secret(name)
        if isinstance(value, Secret):
            try:
                service_account_info(value)
            except SecretError as exc:
                self.errors.append(str(exc))
        return value


def _pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot serve as an extra key pattern: Python compiles it for keys, Arrow's
    RE2 for the vectorised prefilter, so it must be valid in both."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"is not a regular expression ({exc})"
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""]), pattern)
    except pa.ArrowInvalid:
        return "uses syntax RE2 does not know (lookarounds, backreferences)"
    return None


def service_account_info(key: Secret) -> dict:
    """The service-account key a base64 secret holds; errors never quote it."""
    try:
        info = json.loads(base64.b64decode(key.reveal().strip(), validate=True))
    except (binascii.Error, ValueError):
        info = None
    if not isinstance(info, dict) or "type" not in info:
        raise SecretError(f"{key.variable}: is not a base64-encoded service-account JSON key")
    return info
