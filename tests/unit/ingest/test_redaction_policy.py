"""Keys and values the issue names, their look-alikes that must stay, the keyed marker, the
table pass every stream goes through, and the configured extra key patterns."""

import json

import pyarrow as pa
import pytest

from cicl_assets.ingest.redact import (
    configure,
    current_policy,
    is_secret_key,
    marker,
    pseudonymise,
    redact,
    redact_text,
)
from cicl_assets.ingest.redact_table import redact_table
from cicl_assets.ingest.redaction_key import (
    RedactionKey,
    RedactionKeyError,
    RedactionPolicy,
    key_from_text,
    local_key,
)
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from tests.redaction import masked

KEY = RedactionKey(b"k" * 32, "test")


@pytest.fixture(autouse=True)
def test_key():
    before = current_policy()
    configure(RedactionPolicy(KEY))
    yield
    configure(before)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("http.request.header.authorization", True),
        ("http.request.header.cookie", True),
        ("http.response.header.set-cookie", True),
        ("http.request.header.x-api-key", True),
        ("http.request.header.x-auth-token", True),
        ("db.password", True),
        ("auth.token", True),
        ("private-key", True),
        ("client_credential", True),
        ("API-KEY", True),
        ("http.request.header.accept", False),
        ("http.response.header.content-type", False),
        ("gen_ai.usage.input_tokens", False),
        ("keyboard", False),
        ("token_id", False),
        ("secretName", False),
        ("public_key", False),
        ("db.system", False),
    ],
)
def test_keys(key, secret):
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic YWxhZGRpbjpvcGVu", "Authorization: Basic [REDACTED]"),
        ("Authorization: Bearer abc.def-123456789", "Authorization: Bearer [REDACTED]"),
        ('Authorization: Digest username="bob", response="6629fae4939"', "Authorization: Digest [REDACTED]"),
        ("Authorization: token abcdef12", "Authorization: token [REDACTED]"),
        ("metadata note: retried with Authorization: Basic dXNlcjpwYXNz", "metadata note: retried with Authorization: Basic [REDACTED]"),
        ("https://bob:pa55word@db.example.com/x", "https://bob:[REDACTED]@db.example.com/x"),
        ("https://api.example.com/v1?page=2&token=abc123", "https://api.example.com/v1?page=2&token=[REDACTED]"),
        ("https://x.example/cb?client_secret=s3cr3t&x=1", "https://x.example/cb?client_secret=[REDACTED]&x=1"),
        ("ALTER USER app WITH PASSWORD 'hunter2'", "ALTER USER app WITH PASSWORD [REDACTED]"),
        ("CREATE USER bob IDENTIFIED BY 'hunter2';", "CREATE USER bob IDENTIFIED BY [REDACTED];"),
        ("CREATE USER bob IDENTIFIED BY hunter2;", "CREATE USER bob IDENTIFIED BY [REDACTED];"),
        ("a -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- b", "a [REDACTED] b"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dozjgNryP4J3jVmNHl0w5N end", "jwt [REDACTED] end"),
        ("ghp_" + "a1" * 18, "[REDACTED]"),
        ("github_pat_11ABCDEFG0123456789_abcdefghij", "[REDACTED]"),
        ("xoxb-1234567890-abcdefghij", "[REDACTED]"),
        ("xoxp-1234567890-abcdefghij", "[REDACTED]"),
        ("AKIAIOSFODNN7EXAMPLE", "[REDACTED]"),
        ("AIza" + "Sy" * 17 + "x", "[REDACTED]"),
        ("key sk-proj-abcdefghijklmnopqrstuvwx1", "key [REDACTED]"),
        ("https://hooks.slack.com/services/T0001/B0002/XyZ123abcdefghijklmn", "https://hooks.slack.com/services/T0001/B0002/[REDACTED]"),
        ("https://discord.com/api/webhooks/123456789012345678/AbCdEf123456789xyz-_", "https://discord.com/api/webhooks/[REDACTED]/[REDACTED]"),
        ('curl -H "Cookie: sid=abc; theme=dark" x', 'curl -H "Cookie: [REDACTED]" x'),
        # look-alikes that stay
        ("https://example.com/docs/page?lang=en", "https://example.com/docs/page?lang=en"),
        ("https://example.com/webhooks/incoming-github-events", "https://example.com/webhooks/incoming-github-events"),
        ("commit 5acdeadbeef64d1a62388e901e5cdc9358644b37", "commit 5acdeadbeef64d1a62388e901e5cdc9358644b37"),
        ("trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7", "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7"),
        ("image@sha256:" + "ab" * 32, "image@sha256:" + "ab" * 32),
        ("id 550e8400-e29b-41d4-a716-446655440000", "id 550e8400-e29b-41d4-a716-446655440000"),
        ("task-abcdefghijklmnopqrstuvwxyz", "task-abcdefghijklmnopqrstuvwxyz"),
        ("the password reset mail was sent", "the password reset mail was sent"),
        ("Bearer authentication is used", "Bearer authentication is used"),
        ("the basic idea", "the basic idea"),
        ("max_tokens: 4096", "max_tokens: 4096"),
    ],
)  # fmt: skip
def test_values(text, expected):
    assert masked(redact_text(text)) == expected


def test_the_marker_is_a_keyed_hash_equal_for_equal_values():
    assert marker("hunter2") == "[REDACTED:" + KEY.digest("hunter2") + "]"
    assert len(KEY.digest("hunter2")) == 12
    assert redact_text("password=hunter2") == f"password={marker('hunter2')}"
    assert redact({"db.password": "hunter2"}) == {"db.password": marker("hunter2")}
    other = RedactionKey(b"o" * 32, "other")
    assert other.marker("hunter2") != marker("hunter2")
    # a marker is never redacted again
    assert redact_text(redact_text("password=hunter2")) == redact_text("password=hunter2")
    assert redact(redact({"token": "abc"})) == redact({"token": "abc"})


def test_pseudonymise_is_stable_per_key_and_no_marker():
    assert pseudonymise("alice") == pseudonymise("alice") == pseudonymise("alice", KEY)
    assert len(pseudonymise("alice")) == 16 and "REDACTED" not in pseudonymise("alice")
    assert pseudonymise("alice") != pseudonymise("bob")
    assert pseudonymise("alice", RedactionKey(b"o" * 32)) != pseudonymise("alice")
    assert pseudonymise("alice") not in marker("alice")


def test_kubernetes_secret_data_by_object_ref_without_kind():
    patch = {
        "objectRef": {"resource": "secrets", "name": "db"},
        "verb": "patch",
        "requestObject": {
            "data": {"pw": "aGk="},
            "stringData": {"t": "x1"},
            "metadata": {"labels": {"a": "b"}},
        },
    }
    listed = {
        "objectRef": {"resource": "configmaps"},
        "verb": "list",
        "responseObject": {"items": [{"metadata": {"name": "c"}, "data": {"k": "v1"}}]},
    }
    json_patch = {
        "objectRef": {"resource": "secrets"},
        "requestObject": [{"op": "replace", "path": "/data/pw", "value": "bmV3"}],
    }
    assert masked(redact(patch))["requestObject"] == {
        "data": {"pw": "[REDACTED]"},
        "stringData": {"t": "[REDACTED]"},
        "metadata": {"labels": {"a": "b"}},
    }
    assert masked(redact(listed))["responseObject"]["items"][0] == {
        "metadata": {"name": "c"},
        "data": {"k": "[REDACTED]"},
    }
    assert masked(redact(json_patch))["requestObject"][0]["value"] == "[REDACTED]"
    pods = {"objectRef": {"resource": "pods"}, "requestObject": {"data": {"k": "v"}}}
    assert redact(pods) == pods


def test_a_table_is_redacted_column_by_column_and_ids_stay():
    attributes = {
        "db.password": "hunter2",
        "http.request.header.x-api-key": ["k1"],
        "db.system": "pg",
    }
    table = OTEL_SPANS.from_records(
        [
            {
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "span_id": "00f067aa0ba902b7",
                "status_message": "refused token=abcd1234",
                "span_attributes": json.dumps(attributes),
                "source_file": "otel/token=abcd1234.json",
            },
            {
                "trace_id": "5b8efff798038103d269b633813fc60c",
                "span_name": "GET /",
                "span_attributes": "{}",
            },
        ]
    )
    out = redact_table(table, OTEL_SPANS).to_pylist()
    assert json.loads(masked(out[0]["span_attributes"])) == {
        "db.password": "[REDACTED]",
        "http.request.header.x-api-key": ["[REDACTED]"],
        "db.system": "pg",
    }
    assert masked(out[0]["status_message"]) == "refused token=[REDACTED]"
    assert out[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert out[0]["source_file"] == "otel/token=abcd1234.json"  # the path ingested_files records
    assert out[1] == table.to_pylist()[1]


def test_extra_key_patterns_from_the_policy():
    configure(RedactionPolicy(KEY, ("^x-internal-", "signing_material")))
    assert masked(redact({"X-Internal-Route": "r1", "signing_material_v2": "m", "route": "r"})) == {
        "X-Internal-Route": "[REDACTED]",
        "signing_material_v2": "[REDACTED]",
        "route": "r",
    }
    table = pa.table({"span_attributes": ['{"x-internal-id": "abc"}']})
    spec = OTEL_SPANS
    out = redact_table(OTEL_SPANS.conform(table), spec).column("span_attributes").to_pylist()
    assert masked(out) == ['{"x-internal-id":"[REDACTED]"}']


def test_the_local_key_is_made_once_and_reused(tmp_path, caplog):
    first = local_key(tmp_path / "state")
    assert "CICL_REDACTION_KEY is not set" in caplog.text
    caplog.clear()
    assert local_key(tmp_path / "state") == first
    assert caplog.text == ""
    assert oct((tmp_path / "state" / "redaction.key").stat().st_mode & 0o777) == "0o600"
    assert "secret" not in repr(first) and first.secret.decode() not in repr(first)


def test_a_short_key_is_refused_without_showing_it():
    with pytest.raises(RedactionKeyError) as raised:
        key_from_text("short-key", "CICL_REDACTION_KEY")
    assert "short-key" not in str(raised.value)
    assert "at least 32 characters" in str(raised.value)
