"""A landing zone full of secrets, each a unique marker string (``MKQ`` + digits + filler), in
every place a producer puts one, in every stream: OTLP span, resource, event and link attributes
(protobuf, OTLP/JSON, gzipped JSON lines), status messages, URLs, SQL text, Kubernetes audit
patches and list responses on Secrets, GCP and GitHub audit entries, apply logs here; OTLP logs
and GenAI evaluations, feedback and deployments in ``secret_corpus_streams``; CI files in
``secret_corpus_ci``; plans, drift, SLO reports and a rejected file of every stream in
``secret_corpus_infra``. Nothing in the warehouse, a spool, the outbox or Dagster's storage may
hold ``MKQ`` after ingestion."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from pathlib import Path

from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.secret_corpus_ci import write_ci
from tests.integration.secret_corpus_infra import write_infra, write_rejects, write_slo
from tests.integration.secret_corpus_streams import write_streams

PREFIX = "MKQ"
FIXTURES = Path(__file__).parents[1] / "fixtures"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
T0 = 1_793_000_000_000_000_000  # 2026-10-26, nanoseconds


def _attr(key: str, value) -> dict:
    if isinstance(value, list):
        return {
            "key": key,
            "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}},
        }
    return {"key": key, "value": {"stringValue": value}}


def otlp_request(series: int) -> dict:
    """One OTLP/JSON request whose every secret is ``MKQ<series><nn>``."""

    def m(n: int, tail: str = "x") -> str:
        return f"{PREFIX}{series}{n:02d}{tail}"

    span = {
        "traceId": TRACE_ID,
        # each series its own span: spans of one identity would merge into one row
        "spanId": f"{SPAN_ID[:-1]}{series:x}",
        "name": "GET /v1/items",
        "kind": 3,
        "startTimeUnixNano": str(T0 + series),
        "endTimeUnixNano": str(T0 + series + 5_000_000),
        "attributes": [
            _attr("http.request.header.authorization", [f"Bearer {m(1, 'abcdefgh')}"]),
            _attr("http.request.header.cookie", [f"sid={m(2)}"]),
            _attr("http.response.header.set-cookie", [f"sid={m(3)}; Path=/"]),
            _attr("db.password", m(4)),
            _attr("api_key", m(5)),
            _attr("url.full", f"https://bob:{m(6)}@api.example.com/v1?page=2&token={m(7)}"),
            _attr("db.query.text", f"ALTER USER app WITH PASSWORD '{m(8)}'"),
            _attr("db.statement", f"CREATE USER bob IDENTIFIED BY {m(9)};"),
            _attr("http.request.header.x-api-key", [m(10)]),
            _attr("webhook", f"https://hooks.slack.com/services/T01/B02/{m(11, 'abcdefghijklmn')}"),
            _attr("note", f"pushed with ghp_{m(12, 'a' * 30)}"),
            _attr("token_id", "tok-7"),
        ],
        "events": [
            {
                "timeUnixNano": str(T0 + series + 1000),
                "name": "exception",
                "attributes": [_attr("exception.message", f"connect failed password={m(13)}")],
            }
        ],
        "links": [
            {
                "traceId": TRACE_ID,
                "spanId": "aaa19b7ec3c1b174",
                "attributes": [_attr("auth_token", m(14))],
            }
        ],
        "status": {"code": 2, "message": f"upstream refused token={m(15)}"},
    }
    resource = [_attr("service.name", "gateway"), _attr("auth.token", m(16))]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": resource},
                "scopeSpans": [{"scope": {"name": "s"}, "spans": [span]}],
            }
        ]
    }


def otlp_protobuf(series: int) -> bytes:
    request = copy.deepcopy(otlp_request(series))
    for rs in request["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for holder in (span, *span["links"]):
                    for field in ("traceId", "spanId"):
                        holder[field] = base64.b64encode(bytes.fromhex(holder[field])).decode()
    return ParseDict(request, ExportTraceServiceRequest()).SerializeToString()


def _k8s_event(audit_id: str, verb: str, uri: str, **bodies) -> dict:
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": audit_id,
        "stage": "ResponseComplete",
        "requestURI": uri,
        "verb": verb,
        "user": {"username": "deployer"},
        "sourceIPs": ["10.0.0.2"],
        "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-10-26T10:00:00.000000Z",
        "stageTimestamp": "2026-10-26T10:00:00.100000Z",
        **bodies,
    }


def write_zone(root: Path) -> None:
    """Write the secret corpus under ``root`` (a landing zone)."""
    otel = root / "otel" / "secrets"
    otel.mkdir(parents=True)
    (otel / "request.json").write_text(json.dumps(otlp_request(1)))
    (otel / "request.pb").write_bytes(otlp_protobuf(2))
    (otel / "requests.jsonl.gz").write_bytes(gzip.compress(json.dumps(otlp_request(3)).encode()))
    # rejected files: the reason quotes the start of the file, or what the parser choked on
    (otel / "unknown.txt").write_text(f"password={PREFIX}701x and more text that is no format")
    (otel / "broken.json").write_text('{"resourceSpans": [{"token": "' + PREFIX + '702x", ')

    audit = root / "audit" / "secrets"
    audit.mkdir(parents=True)
    patch = _k8s_event(
        "patch-1",
        "patch",
        "/api/v1/namespaces/prod/secrets/db",
        requestObject={"data": {"pw": f"{PREFIX}401x"}, "stringData": {"t": f"{PREFIX}402x"}},
    )
    listed = _k8s_event(
        "list-1",
        "list",
        "/api/v1/namespaces/prod/secrets",
        responseObject={
            "kind": "SecretList",
            "apiVersion": "v1",
            "items": [{"metadata": {"name": "db"}, "data": {"pw": f"{PREFIX}403x"}}],
        },
    )
    (audit / "k8s.jsonl").write_text(json.dumps(patch) + "\n" + json.dumps(listed) + "\n")
    gcp = json.loads(
        (FIXTURES / "audit-logs" / "cloudevents__LogEntryData-pubsubCreateTopic.json").read_text()
    )
    gcp["protoPayload"]["metadata"] = {
        "note": f"retried with Authorization: Basic {PREFIX}404abcdefgh"
    }
    (audit / "gcp.json").write_text(json.dumps(gcp))
    github = json.loads(
        (FIXTURES / "audit-logs" / "gogithub-extract__orgs_audit_log.json").read_text()
    )
    github[0]["config"]["url"] = (
        f"https://hooks.slack.com/services/T0001/B0002/{PREFIX}405abcdefghijklmn"
    )
    (audit / "github.json").write_text(json.dumps(github))

    ci = root / "ci" / "run-1"
    ci.mkdir(parents=True)
    (ci / "junit.xml").write_text(
        '<testsuite name="s" tests="1" failures="1"><properties>'
        f'<property name="DB_PASSWORD" value="{PREFIX}501x"/></properties>'
        '<testcase name="t" classname="c"><failure message="Authorization: Bearer '
        f'{PREFIX}502abcdefgh">curl -H "Cookie: sid={PREFIX}503x" api_key={PREFIX}504x'
        "</failure></testcase></testsuite>"
    )

    infra = root / "infra" / "staging"
    infra.mkdir(parents=True)
    log = (FIXTURES / "tofu-plans" / "cicl-apply-staging-failed.log").read_text()
    assert "hunter2" in log
    (infra / "cicl-apply-staging-failed.log").write_text(log.replace("hunter2", f"{PREFIX}601x"))
    write_streams(root)
    write_ci(root)
    write_infra(root)
    write_slo(root)
    write_rejects(root)
