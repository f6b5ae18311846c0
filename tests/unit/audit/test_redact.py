import json

import pytest

from cicl_assets.ingest.redact import is_secret_key, redact, redact_text
from tests.redaction import MASK as REDACTED
from tests.redaction import masked


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("DB_PASSWORD", True),
        ("passwd", True),
        ("token", True),
        ("hashed_token", True),
        ("accessToken", True),
        ("client_secret", True),
        ("api_key", True),
        ("apiKey", True),
        ("apikey", True),
        ("private_key", True),
        ("credentials", True),
        ("key", True),
        ("access_key", True),
        ("aws-secret-access-key", True),
        ("Authorization", True),
        ("proxy-authorization", True),
        ("COOKIE", True),
        ("Set-Cookie", True),
        ("storage_key", True),
        ("keyboard", False),
        ("run_key", False),
        ("partitionKey", False),
        ("public_key", False),
        ("monkey", False),
        ("key_id", False),
        ("token_id", False),
        ("token_scopes", False),
        ("secretName", False),
        ("serviceAccountKeyName", False),
        ("authorizationInfo", False),
        ("authorization.k8s.io/decision", False),
        ("username", False),
    ],
)
def test_secret_keys_are_recognised_by_word(key, secret):
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123456789", "Authorization: Bearer [REDACTED]"),
        ("AKIAIOSFODNN7EXAMPLE was used", "[REDACTED] was used"),
        ("push with ghp_" + "a1" * 18, "push with [REDACTED]"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[REDACTED]"),
        ("key=AIza" + "Sy" * 17 + "x", "key=[REDACTED]"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_X end",
            "jwt [REDACTED] end",
        ),
        (
            "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAKC\n-----END RSA PRIVATE KEY-----\nb",
            "a\n[REDACTED]\nb",
        ),
        ("postgres://app:hunter2@db:5432/flow", "postgres://app:[REDACTED]@db:5432/flow"),
        ("Server=db;User Id=app;Password=hunter2;", "Server=db;User Id=app;Password=[REDACTED];"),
        ("https://x.example/cb?code=1&access_token=abc123&b=2", None),
        ("the bearer authentication scheme", "the bearer authentication scheme"),
        ("color.good=purple", "color.good=purple"),
    ],
)
def test_secret_looking_text_is_redacted_whatever_the_key(text, expected):
    out = masked(redact_text(text))
    if expected is not None:
        assert out == expected
    assert "hunter2" not in out and "abc123" not in out
    assert masked(redact({"note": text})) == {"note": out}


def test_kubernetes_secret_and_configmap_values_go_but_keys_and_metadata_stay():
    event = {
        "requestObject": {
            "kind": "Secret",
            "metadata": {"name": "db"},
            "data": {"user": "YXBw", "pw": "aHVudGVyMg=="},
            "stringData": {"token-file": "s3cr3t"},
            "type": "Opaque",
        },
        "responseObject": {
            "kind": "ConfigMapList",
            "items": [{"kind": "ConfigMap", "data": {"a": "1"}, "binaryData": {"b": "AAE="}}],
        },
    }
    out = masked(redact(event))
    assert out["requestObject"]["data"] == {"user": REDACTED, "pw": REDACTED}
    assert out["requestObject"]["stringData"] == {"token-file": REDACTED}
    assert out["requestObject"]["metadata"] == {"name": "db"}
    assert out["requestObject"]["type"] == "Opaque"
    assert out["responseObject"]["items"][0]["data"] == {"a": REDACTED}
    assert out["responseObject"]["items"][0]["binaryData"] == {"b": REDACTED}
    assert event["requestObject"]["data"]["pw"] == "aHVudGVyMg=="  # input untouched


def test_secret_inside_json_text_of_an_annotation_is_redacted():
    applied = {"kind": "Secret", "metadata": {"name": "db"}, "data": {"pw": "aHVudGVyMg=="}}
    obj = {
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)}
        }
    }
    text = redact(obj)["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"
    ]
    assert "aHVudGVyMg" not in text
    assert json.loads(text)["metadata"] == {"name": "db"}


def test_headers_and_env_pairs():
    obj = {
        "headers": {"AUTHORIZATION": "Basic YWxhZGRpbjpvcGVu", "Accept": "text/html"},
        "header_list": [
            {"name": "Cookie", "value": "sid=abc"},
            {"name": "Accept", "value": "*/*"},
        ],
        "env": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "HOME", "value": "/app"}],
        "config": {"password": 123456, "retries": 3, "empty_token": ""},
        "nested": {"credentials": {"user": "u", "pass": "p"}},
    }
    out = masked(redact(obj))
    assert out["headers"] == {"AUTHORIZATION": REDACTED, "Accept": "text/html"}
    assert out["header_list"] == [
        {"name": "Cookie", "value": REDACTED},
        {"name": "Accept", "value": "*/*"},
    ]
    assert out["env"] == [
        {"name": "DB_PASSWORD", "value": REDACTED},
        {"name": "HOME", "value": "/app"},
    ]
    assert out["config"] == {"password": REDACTED, "retries": 3, "empty_token": ""}
    assert out["nested"] == {"credentials": {"user": REDACTED, "pass": REDACTED}}
