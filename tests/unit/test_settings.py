"""The settings layer: every variable typed, unknown and malformed ones refused by name."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import ValidationError

from cicl_assets.ingest.runner import StreamSpec
from cicl_assets.landing.zone import LandingZone
from cicl_assets.resources import CiclConfig, build_resources
from cicl_assets.secrets import Secret, SecretRef
from cicl_assets.settings import (
    CLIENT_VARIABLES,
    TOOLING_VARIABLES,
    VARIABLES,
    CloudClients,
    Settings,
    SettingsError,
    cloud_clients,
)
from cicl_assets.signer import Ed25519Signer, public_key_pem, trust_entry
from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.signing_keys import write_trust

REPO = Path(__file__).resolve().parents[2]
# A public key made for these tests: none ships with the product.
PEM = public_key_pem(ed25519.Ed25519PrivateKey.generate().public_key())
SIGNING_KEY_REF = "gcp-sm://projects/cicl-prod/secrets/cicl-signing/versions/1"
REDACTION_KEY_REF = "gcp-sm://projects/cicl-prod/secrets/cicl-redaction/versions/1"


def test_defaults():
    assert Settings.from_env({}) == Settings(
        warehouse="duckdb",
        duckdb_path=".cicl/warehouse.duckdb",
        bq_project="",
        bq_dataset="cicl",
        bq_location="US",
        bq_credentials=None,
        landing_uri=".cicl/landing",
        outbox_uri=".cicl/outbox",
        config_dir=Path("config"),
        attestation_public_key=None,
        slo_breach_cooldown_minutes=720,
        max_file_bytes=256 * 1024 * 1024,
        max_inflated_bytes=1024 * 1024 * 1024,
        query_timeout_seconds=600,
        cloud=CloudClients(),
    )


# (variable, value, field, expected value of the field)
READS = [
    ("CICL_WAREHOUSE", "BigQuery", "warehouse", "bigquery"),
    ("CICL_DUCKDB_PATH", "/data/w.duckdb", "duckdb_path", "/data/w.duckdb"),
    ("CICL_BQ_PROJECT", "cicl-prod", "bq_project", "cicl-prod"),
    ("CICL_BQ_DATASET", "cicl_eu", "bq_dataset", "cicl_eu"),
    ("CICL_BQ_LOCATION", "europe-west4", "bq_location", "europe-west4"),
    ("CICL_LANDING_URI", "gs://landing-bucket/cicl", "landing_uri", "gs://landing-bucket/cicl"),
    ("CICL_LANDING_URI", "/srv/landing", "landing_uri", "/srv/landing"),
    ("CICL_OUTBOX_URI", "git+file:///srv/platform.git", "outbox_uri", "git+file:///srv/platform.git"),
    ("CICL_OUTBOX_URI", "gs://evidence/cicl", "outbox_uri", "gs://evidence/cicl"),
    ("CICL_CONFIG_DIR", str(REPO / "config"), "config_dir", REPO / "config"),
    ("CICL_ATTESTATION_PUBLIC_KEY", PEM, "attestation_public_key", PEM.strip()),
    ("CICL_SIGNING_KEY", SIGNING_KEY_REF, "signing_key",
     SecretRef("CICL_SIGNING_KEY", "cicl-prod", "cicl-signing", "1")),
    ("CICL_TRUST_FILE", str(REPO / "config" / "trust" / "keys.yaml"), "trust_file",
     REPO / "config" / "trust" / "keys.yaml"),
    ("CICL_SLO_BREACH_COOLDOWN_MINUTES", "0", "slo_breach_cooldown_minutes", 0),
    ("CICL_SLO_BREACH_COOLDOWN_MINUTES", " 90 ", "slo_breach_cooldown_minutes", 90),
    ("CICL_RETENTION_CLOCK", "data", "retention_clock", "data"),
    ("CICL_RETENTION_CLOCK", "wall", "retention_clock", "wall"),
    ("CICL_RELEASE_CLOCK", "data", "release_clock", "data"),
    ("CICL_RELEASE_CLOCK", "wall", "release_clock", "wall"),
    ("CICL_MAX_FILE_BYTES", "1048576", "max_file_bytes", 1048576),
    ("CICL_MAX_FILE_BYTES", "64_000_000", "max_file_bytes", 64_000_000),
    ("CICL_MAX_INFLATED_BYTES", "1", "max_inflated_bytes", 1),
    ("CICL_QUERY_TIMEOUT_SECONDS", "45", "query_timeout_seconds", 45),
    ("CICL_IDENTITY_TAG", "cicl/iap-user", "identity_tag", "cicl/iap-user"),
    ("CICL_REQUIRE_IDENTITY", "TRUE", "require_identity", True),
    ("CICL_REQUIRE_IDENTITY", "false", "require_identity", False),
    ("CICL_GCS_PROJECT", "cicl-prod", "cloud", CloudClients(gcs_project="cicl-prod")),
    ("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9023", "cloud",
     CloudClients(storage_emulator_host="http://127.0.0.1:9023")),
    ("BIGQUERY_EMULATOR_HOST", "http://127.0.0.1:9050", "cloud",
     CloudClients(bigquery_emulator_host="http://127.0.0.1:9050")),
    # an empty variable (as .env.example leaves them) is unset
    ("CICL_BQ_DATASET", "", "bq_dataset", "cicl"),
    ("CICL_SLO_BREACH_COOLDOWN_MINUTES", "  ", "slo_breach_cooldown_minutes", 720),
    ("CICL_BQ_CREDENTIALS", "", "bq_credentials", None),
    ("CICL_CONFIG_DIR", "", "config_dir", Path("config")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "field", "expected"), READS)
def test_each_variable_is_read_with_its_type(name, value, field, expected):
    env = {name: value}
    if value.strip().lower() == "bigquery":
        env["CICL_BQ_PROJECT"] = "cicl-prod"
        env["CICL_SIGNING_KEY"] = SIGNING_KEY_REF
        env["CICL_REDACTION_KEY"] = REDACTION_KEY_REF
    assert getattr(Settings.from_env(env), field) == expected


def test_secrets_are_a_value_or_a_reference():
    ref = Settings.from_env(
        {"CICL_BQ_CREDENTIALS": "gcp-sm://projects/cicl-prod/secrets/bq-key/versions/latest"}
    ).bq_credentials
    assert ref == SecretRef("CICL_BQ_CREDENTIALS", "cicl-prod", "bq-key", "latest")
    literal = Settings.from_env({"CICL_BQ_CREDENTIALS": "eyJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCJ9"})
    assert isinstance(literal.bq_credentials, Secret)
    assert literal.bq_credentials.reveal() == "eyJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCJ9"
    assert "eyJ0eXBl" not in repr(literal)


# (environment, the one error it gives)
REFUSED = [
    ({"CICL_WAREHOUSE": "postgres"}, "CICL_WAREHOUSE: 'postgres' is not one of duckdb, bigquery"),
    ({"CICL_WAREHOUSE": "bigquery"}, "CICL_BQ_PROJECT: is required with CICL_WAREHOUSE=bigquery"),
    ({"CICL_RETENTION_CLOCK": "newest"}, "CICL_RETENTION_CLOCK: 'newest' is not one of wall, data"),
    ({"CICL_RELEASE_CLOCK": "demo"}, "CICL_RELEASE_CLOCK: 'demo' is not one of wall, data"),
    ({"CICL_SLO_BREACH_COOLDOWN_MINUTES": "12h"},
     "CICL_SLO_BREACH_COOLDOWN_MINUTES: '12h' is not a whole number"),
    ({"CICL_SLO_BREACH_COOLDOWN_MINUTES": "-1"},
     "CICL_SLO_BREACH_COOLDOWN_MINUTES: -1 is below the minimum of 0"),
    ({"CICL_MAX_FILE_BYTES": "-5"}, "CICL_MAX_FILE_BYTES: -5 is below the minimum of 1"),
    ({"CICL_MAX_FILE_BYTES": "0"}, "CICL_MAX_FILE_BYTES: 0 is below the minimum of 1"),
    ({"CICL_MAX_FILE_BYTES": "256MiB"}, "CICL_MAX_FILE_BYTES: '256MiB' is not a whole number"),
    ({"CICL_MAX_INFLATED_BYTES": "1.5e9"},
     "CICL_MAX_INFLATED_BYTES: '1.5e9' is not a whole number"),
    ({"CICL_QUERY_TIMEOUT_SECONDS": "0"}, "CICL_QUERY_TIMEOUT_SECONDS: 0 is below the minimum of 1"),
    ({"CICL_QUERY_TIMEOUT_SECONDS": "10m"},
     "CICL_QUERY_TIMEOUT_SECONDS: '10m' is not a whole number"),
    ({"CICL_BQ_DATASET": "cicl-prod"},
     "CICL_BQ_DATASET: 'cicl-prod' is not a BigQuery dataset name (letters, digits, _)"),
    ({"CICL_LANDING_URI": "s3://bucket/landing"},
     "CICL_LANDING_URI: 's3://bucket/landing': a landing zone is a local path or "
     "gs://bucket/prefix"),
    ({"CICL_LANDING_URI": "gs:///landing"}, "CICL_LANDING_URI: 'gs:///landing' names no bucket "
     "(gs://bucket/prefix)"),
    ({"CICL_OUTBOX_URI": "https://example.org/outbox"},
     "CICL_OUTBOX_URI: 'https://example.org/outbox': an outbox is a local path, gs://... or "
     "git+file://..."),
    ({"CICL_CONFIG_DIR": "/no/such/config"}, "CICL_CONFIG_DIR: '/no/such/config' is not a directory"),
    ({"CICL_ATTESTATION_PUBLIC_KEY": "ssh-ed25519 AAAA"},
     "CICL_ATTESTATION_PUBLIC_KEY: is not a PEM public key (-----BEGIN PUBLIC KEY----- ...)"),
    ({"CICL_MAX_FILE_BYTE": "1000"},
     "CICL_MAX_FILE_BYTE: is not a cicl setting (did you mean CICL_MAX_FILE_BYTES?)"),
    ({"CICL_WAREHOSUE": "duckdb"},
     "CICL_WAREHOSUE: is not a cicl setting (did you mean CICL_WAREHOUSE?)"),
    ({"CICL_ENV": "prod"}, "CICL_ENV: is not a cicl setting (see README's configuration table)"),
    ({"CICL_REQUIRE_IDENTITY": "yes"}, "CICL_REQUIRE_IDENTITY: 'yes' is not true or false"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "error"), REFUSED)
def test_unknown_and_malformed_variables_are_refused_by_name(env, error):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == f"invalid setting {error}"


def test_every_problem_is_named_at_once():
    env = {"CICL_WAREHOUSE": "sqlite", "CICL_MAX_FILE_BYTES": "big", "CICL_TYPO": "1"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == (
        "invalid settings:\n"
        "  CICL_TYPO: is not a cicl setting (see README's configuration table)\n"
        "  CICL_WAREHOUSE: 'sqlite' is not one of duckdb, bigquery\n"
        "  CICL_MAX_FILE_BYTES: 'big' is not a whole number"
    )


def test_test_tooling_variables_do_not_stop_the_code_location():
    assert set(TOOLING_VARIABLES) == {"CICL_EMULATOR_CACHE"}
    assert Settings.from_env({"CICL_EMULATOR_CACHE": "/tmp/emulators"}) == Settings.from_env({})


def test_the_google_clients_read_their_variables_where_they_are_built():
    env = {
        "CICL_GCS_PROJECT": "cicl-test",
        "STORAGE_EMULATOR_HOST": "http://127.0.0.1:1",
        "BIGQUERY_EMULATOR_HOST": "",
    }
    assert cloud_clients(env) == CloudClients("cicl-test", "http://127.0.0.1:1", None)


def test_settings_become_resource_fields():
    settings = replace(
        Settings.from_env({}),
        landing_uri="/srv/landing",
        max_file_bytes=1000,
        max_inflated_bytes=5000,
        slo_breach_cooldown_minutes=30,
        attestation_public_key=PEM,
        config_dir=Path("/srv/config"),
        outbox_uri="/srv/outbox",
        query_timeout_seconds=90,
    )
    resources = build_resources(settings)
    assert resources["landing"] == LandingZone(
        uri="/srv/landing", max_file_bytes=1000, max_inflated_bytes=5000
    )
    assert resources["cicl_config"] == CiclConfig(
        config_dir="/srv/config",
        outbox_uri="/srv/outbox",
        attestation_public_key=PEM,
        slo_breach_cooldown_minutes=30,
    )
    assert resources["warehouse"] == DuckDBWarehouse(path=".cicl/warehouse.duckdb", timeout_s=90.0)


@pytest.mark.parametrize(
    ("credentials", "config"),
    [(None, None), ("gcp-sm://projects/p/secrets/k/versions/1", {"env": "CICL_BQ_CREDENTIALS"})],
)
def test_the_bigquery_key_reaches_the_resource_as_a_variable_name(credentials, config):
    env = {
        "CICL_WAREHOUSE": "bigquery",
        "CICL_BQ_PROJECT": "cicl-prod",
        "CICL_BQ_DATASET": "c2",
        "CICL_SIGNING_KEY": SIGNING_KEY_REF,
        "CICL_REDACTION_KEY": REDACTION_KEY_REF,
    }
    if credentials:
        env["CICL_BQ_CREDENTIALS"] = credentials
    warehouse = build_resources(Settings.from_env(env))["warehouse"]
    assert isinstance(warehouse, BigQueryWarehouse)
    assert (warehouse.project, warehouse.dataset, warehouse.location) == ("cicl-prod", "c2", "US")
    assert warehouse.timeout_s == 600.0
    assert warehouse._convert_to_config_dictionary().get("gcp_credentials") == config


def test_the_landing_caps_reach_every_stream():
    stream = StreamSpec(name="s", prefix="s", formats=(), tables=())
    capped = LandingZone(uri="x", max_file_bytes=10, max_inflated_bytes=20).capped(stream)
    assert capped == replace(stream, max_file_bytes=10, max_inflated_bytes=20)
    with pytest.raises(ValidationError, match="max_file_bytes\n  Input should be greater than 0"):
        LandingZone(uri="x", max_file_bytes=0)


def _readme_variables() -> set[str]:
    section = (REPO / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {n for line in section.splitlines() if line.startswith("| `CICL_")
            for n in re.findall(r"`(CICL_[A-Z0-9_]+)`", line.split("|")[1])}  # fmt: skip


def test_readme_and_env_example_list_exactly_the_settings():
    assert _readme_variables() == set(VARIABLES)
    example = (REPO / ".env.example").read_text().splitlines()
    assert {line.split("=", 1)[0] for line in example if re.match(r"CICL_\w+=", line)} == set(
        VARIABLES
    )


SIGNER = Ed25519Signer.generate()
T = datetime(2026, 1, 1, tzinfo=UTC)


def _trust(tmp_path, **validity) -> str:
    return str(write_trust(tmp_path / "trust.yaml", trust_entry(SIGNER.public_key(), T) | validity))


# (environment given tmp_path, the one error it gives; None: accepted)
SIGNING = [
    (lambda tmp: {"CICL_SIGNING_KEY": SIGNER.private_key_pem(), "CICL_TRUST_FILE": _trust(tmp)},
     None),
    (lambda tmp: {"CICL_WAREHOUSE": "bigquery", "CICL_BQ_PROJECT": "p",
                  "CICL_REDACTION_KEY": REDACTION_KEY_REF},
     "CICL_SIGNING_KEY: is required with CICL_WAREHOUSE=bigquery"),
    (lambda tmp: {"CICL_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n"},
     "CICL_SIGNING_KEY: is not an unencrypted ed25519 private key in PEM "
     "(-----BEGIN PRIVATE KEY----- ...)"),
    (lambda tmp: {"CICL_SIGNING_KEY": SIGNER.private_key_pem()},
     f"CICL_SIGNING_KEY: key {SIGNER.key_id} is not trusted now: "
     f"{REPO / 'config' / 'trust' / 'keys.yaml'} does not list it (scripts/cicl.py keygen "
     "prints the entry to add)"),
    (lambda tmp: {"CICL_SIGNING_KEY": SIGNER.private_key_pem(),
                  "CICL_TRUST_FILE": _trust(tmp, valid_until="2026-02-01T00:00:00Z")},
     f"CICL_SIGNING_KEY: key {SIGNER.key_id} is not trusted now: {{tmp}}/trust.yaml gives valid "
     "from 2026-01-01T00:00:00+00:00 to 2026-02-01T00:00:00+00:00 (scripts/cicl.py keygen "
     "prints the entry to add)"),
    (lambda tmp: {"CICL_TRUST_FILE": str(tmp / "none.yaml")},
     "CICL_TRUST_FILE: '{tmp}/none.yaml' is not a file"),
    (lambda tmp: {"CICL_TRUST_FILE": str(write_trust(tmp / "t.yaml", {"key_id": "x"}))},
     "CICL_TRUST_FILE: {tmp}/t.yaml: keys[0]: public_key is not an ed25519 public key in PEM"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "error"), SIGNING)
def test_the_signing_key_must_be_trusted_and_production_needs_one(tmp_path, env, error):
    env = {"CICL_CONFIG_DIR": str(REPO / "config")} | env(tmp_path)
    if error is None:
        settings = Settings.from_env(env)
        assert isinstance(settings.signing_key, Secret)
        assert SIGNER.private_key_pem() not in repr(settings)
        return
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == f"invalid setting {error.format(tmp=tmp_path)}"
    assert "c2VjcmV0" not in str(raised.value)


def test_the_signing_key_reaches_cicl_config_as_a_variable_name(tmp_path):
    env = {"CICL_SIGNING_KEY": SIGNER.private_key_pem(), "CICL_TRUST_FILE": _trust(tmp_path)}
    config = build_resources(Settings.from_env(env))["cicl_config"]
    assert config._convert_to_config_dictionary()["signing_key"] == {"env": "CICL_SIGNING_KEY"}
    assert config.trust_file == env["CICL_TRUST_FILE"]


def test_readme_and_env_example_say_how_to_reach_the_emulators():
    section = (REPO / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {n for line in section.splitlines() if line.startswith("| `")
                  for n in re.findall(r"`([A-Z_]+_EMULATOR_HOST)`", line.split("|")[1])}  # fmt: skip
    assert set(CLIENT_VARIABLES) == {"BIGQUERY_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"}
    assert documented == set(CLIENT_VARIABLES)
    # Commented out: the clients take an empty value as a host.
    example = (REPO / ".env.example").read_text()
    commented = re.findall(r"^# ([A-Z_]+_EMULATOR_HOST)=http://127\.0\.0\.1:\d+$", example, re.M)
    assert set(commented) == set(CLIENT_VARIABLES)


# (environment, config file text or None, the one error it gives; None: accepted)
REDACTION = [
    ({"CICL_WAREHOUSE": "bigquery", "CICL_BQ_PROJECT": "p", "CICL_SIGNING_KEY": SIGNING_KEY_REF},
     None,
     "CICL_REDACTION_KEY: is required with CICL_WAREHOUSE=bigquery (32+ random characters, e.g. "
     "python -c 'import secrets; print(secrets.token_hex(32))', or a gcp-sm:// reference)"),
    ({"CICL_REDACTION_KEY": "short"}, None,
     "CICL_REDACTION_KEY: a redaction key has at least 32 characters "
     "(python -c 'import secrets; print(secrets.token_hex(32))')"),
    ({}, "extra_key_patterns: ['(?<=x)y']",
     "CICL_CONFIG_DIR: {dir}/redaction.yaml: extra key pattern '(?<=x)y' uses syntax RE2 does "
     "not know (lookarounds, backreferences)"),
    ({}, "extra_key_patterns: ['(']",
     "CICL_CONFIG_DIR: {dir}/redaction.yaml: extra key pattern '(' is not a regular expression "
     "(missing ), unterminated subpattern at position 0)"),
    ({}, "extra_key_patterns: x",
     "CICL_CONFIG_DIR: {dir}/redaction.yaml: extra_key_patterns is a list of regular expressions"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "config", "error"), REDACTION)
def test_redaction_settings_are_checked(tmp_path, env, config, error):
    shutil.copytree(REPO / "config", tmp_path / "config")
    if config is not None:
        (tmp_path / "config" / "redaction.yaml").write_text(config)
    env = {"CICL_CONFIG_DIR": str(tmp_path / "config")} | env
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == f"invalid setting {error.format(dir=tmp_path / 'config')}"


def test_redaction_settings_reach_the_landing_zone(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "config" / "redaction.yaml").write_text("extra_key_patterns: ['^x-internal-']\n")
    env = {
        "CICL_CONFIG_DIR": str(tmp_path / "config"),
        "CICL_REDACTION_KEY": REDACTION_KEY_REF,
        "CICL_STATE_DIR": str(tmp_path / "state"),
    }
    settings = Settings.from_env(env)
    assert settings.redaction_key == SecretRef(
        "CICL_REDACTION_KEY", "cicl-prod", "cicl-redaction", "1"
    )
    landing = build_resources(settings)["landing"]
    assert landing.extra_secret_key_patterns == ["^x-internal-"]
    assert landing.spool_root() == str(tmp_path / "state" / "spool")
    assert landing._convert_to_config_dictionary()["redaction_key"] == {"env": "CICL_REDACTION_KEY"}
