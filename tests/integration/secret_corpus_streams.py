"""The secret corpus of the otel logs, feedback and deployments streams: each secret
``MKQ<series><nn>``, in every field of every format those streams read where a producer puts
one. ``secret_corpus.write_zone`` calls ``write_streams``."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from pathlib import Path

from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

PREFIX = "MKQ"
FIXTURES = Path(__file__).parents[1] / "fixtures"
TRACE_ID = "6c9fd0a8a9138103d269b633813fc61d"
SPAN_ID = "fff19b7ec3c1b175"
T0 = 1_793_000_000_000_000_000  # 2026-10-26, nanoseconds
# one secret sent twice (two log records): both must carry one marker
SAME_SECRET = f"{PREFIX}899same"
# raw user ids of the feedback files: only their pseudonyms may be stored
USER_IDS = ("UIDQ-ana@customer.example", "UIDQ-reviewer-7", "UIDQ-meta-user-9")


def m(series: int, n: int, tail: str = "x") -> str:
    return f"{PREFIX}{series}{n:02d}{tail}"


def straddling(cap: int, series: int, n: int, before: str = "") -> str:
    """``before``, filler and a JWT placed so that cutting the text to ``cap`` characters
    leaves two characters of its signature: only the whole token is recognisable."""
    head = f"eyJ{m(series, n, 'a' * 5)}.eyJ{'b' * 8}."
    start = cap - len(head) - 2
    assert start >= len(before), (cap, before)
    return before + "-" * (start - len(before)) + f"{head}cd{'e' * 20} and more text"


def _attr(key: str, value) -> dict:
    if isinstance(value, list):
        return {
            "key": key,
            "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}},
        }
    if isinstance(value, dict):
        return {"key": key, "value": value}
    return {"key": key, "value": {"stringValue": value}}


# --- otel: OTLP logs and GenAI evaluation results ---------------------------------------------


def otlp_logs(series: int) -> dict:
    """An ExportLogsServiceRequest: string, JSON-text and map bodies, attributes, resource
    attributes, and a ``gen_ai.evaluation.result`` event whose explanation quotes a token."""

    def record(n: int, body: dict, attributes: list, **extra) -> dict:
        return {
            "timeUnixNano": str(T0 + series * 1000 + n),
            "severityNumber": 13,
            "severityText": "WARN",
            "traceId": TRACE_ID,
            "spanId": SPAN_ID,
            "body": body,
            "attributes": attributes,
            **extra,
        }

    records = [
        record(
            1,
            {"stringValue": f"retrying with Authorization: Bearer {m(series, 1, 'abcdefgh')}"},
            [
                _attr("session.id", "sess-secret"),
                _attr("db.password", m(series, 2)),
                _attr("http.request.header.cookie", [f"sid={m(series, 3)}"]),
                _attr("api_key", SAME_SECRET),
            ],
        ),
        record(
            2,
            {"stringValue": json.dumps({"user": "u1", "client_secret": m(series, 4)})},
            [_attr("url.full", f"https://api.example.com/v1?access_token={m(series, 5)}")],
        ),
        record(
            3,
            {
                "kvlistValue": {
                    "values": [
                        _attr("event", "login"),
                        _attr("password", m(series, 6)),
                        _attr(
                            "details", {"kvlistValue": {"values": [_attr("token", m(series, 7))]}}
                        ),
                    ]
                }
            },
            [_attr("x-api-key", m(series, 8)), _attr("api_key", SAME_SECRET)],
        ),
        record(
            4,
            {"stringValue": ""},
            [
                _attr("gen_ai.evaluation.name", "relevance"),
                _attr("gen_ai.evaluation.score.value", {"doubleValue": 0.25}),
                _attr("gen_ai.evaluation.score.label", "not_relevant"),
                _attr(
                    "gen_ai.evaluation.explanation",
                    f"answer echoed the user's api_key={m(series, 9)} back",
                ),
                _attr("gen_ai.response.id", f"resp_{series:016d}"),
            ],
            eventName="gen_ai.evaluation.result",
        ),
    ]
    resource = [_attr("service.name", "flow-logs"), _attr("auth.token", m(series, 10))]
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": resource},
                "scopeLogs": [{"scope": {"name": "flow.runtime"}, "logRecords": records}],
            }
        ]
    }


def otlp_logs_protobuf(series: int) -> bytes:
    request = copy.deepcopy(otlp_logs(series))
    for rl in request["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for rec in sl["logRecords"]:
                for field in ("traceId", "spanId"):
                    rec[field] = base64.b64encode(bytes.fromhex(rec[field])).decode()
    return ParseDict(request, ExportLogsServiceRequest()).SerializeToString()


def evaluation_trace(series: int) -> dict:
    """A span whose ``gen_ai.evaluation.result`` event explains itself with a secret."""
    event = {
        "timeUnixNano": str(T0 + 7),
        "name": "gen_ai.evaluation.result",
        "attributes": [
            _attr("gen_ai.evaluation.name", "faithfulness"),
            _attr("gen_ai.evaluation.score.value", {"doubleValue": 0.1}),
            _attr("gen_ai.evaluation.explanation", f"quoted password: {m(series, 1)} verbatim"),
        ],
    }
    span = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 9_000_000),
        "attributes": [_attr("gen_ai.operation.name", "chat")],
        "events": [event],
        "status": {"code": 0},
    }
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", "flow-evaluator")]},
                "scopeSpans": [{"scope": {"name": "e"}, "spans": [span]}],
            }
        ]
    }


def write_otel(root: Path) -> None:
    otel = root / "otel" / "logs"
    otel.mkdir(parents=True)
    (otel / "logs.json").write_text(json.dumps(otlp_logs(8)))
    (otel / "logs.pb").write_bytes(otlp_logs_protobuf(9))
    (otel / "logs.jsonl.gz").write_bytes(gzip.compress(json.dumps(otlp_logs(10)).encode()))
    (otel / "evaluated.json").write_text(json.dumps(evaluation_trace(35)))


# --- feedback ---------------------------------------------------------------------------------


def write_feedback(root: Path) -> None:
    folder = root / "feedback" / "secrets"
    folder.mkdir(parents=True)
    native = [
        {
            "kind": "cicl.feedback/v1",
            "trace_id": TRACE_ID,
            "user": USER_IDS[0],
            "rating": "down",
            "comment": f"it printed my password={m(11, 1)} in the reply",
            "at": "2026-10-26T10:00:00Z",
        },
        {
            "kind": "cicl.feedback/v1",
            "session_id": "sess-secret",
            "user": USER_IDS[0],
            "rating": 2,
            "comment": f"curl -H 'Authorization: Bearer {m(11, 2, 'abcdefgh')}' fails",
            "at": "2026-10-26T10:05:00Z",
        },
    ]
    (folder / "native.jsonl").write_text("".join(json.dumps(r) + "\n" for r in native))
    page = {
        "data": [
            {
                "id": "5f1c2a0e-7d1b-4c4e-9a53-3b8a1f2d9c99",
                "traceId": TRACE_ID,
                "name": "quality",
                "value": 1.0,
                "dataType": "NUMERIC",
                "source": "ANNOTATION",
                "authorUserId": USER_IDS[1],
                "comment": f"answer leaked ghp_{m(12, 1, 'a' * 30)} from the repo",
                "timestamp": "2026-10-26T12:00:00.000Z",
            },
            {
                "id": "5f1c2a0e-7d1b-4c4e-9a53-3b8a1f2d9c98",
                "traceId": TRACE_ID,
                "name": "helpful",
                "value": 0,
                "stringValue": "False",
                "dataType": "BOOLEAN",
                "source": "API",
                "comment": f"token: {m(12, 2)}",
                "metadata": {"userId": USER_IDS[2], "workflow": "support-reply"},
                "timestamp": "2026-10-26T12:01:00.000Z",
            },
        ],
        "meta": {"page": 1, "limit": 50, "totalItems": 2, "totalPages": 1},
    }
    (folder / "langfuse.json").write_text(json.dumps(page))


# --- deployments ------------------------------------------------------------------------------


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / "deployments" / name).read_text())


def write_deployments(root: Path) -> None:
    folder = root / "deployments" / "secrets"
    folder.mkdir(parents=True)
    native = {
        "kind": "cicl.deployment/v1",
        "deployment_id": "dep-secret-1",
        "environment": "prod",
        "service": "gateway",
        "version": "2.0.0",
        "commit": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807",
        "status": "succeeded",
        "started_at": "2026-10-26T09:00:00Z",
        "finished_at": "2026-10-26T09:05:00Z",
        "actor": "deploy-bot",
        "image": f"https://ci:{m(13, 1)}@registry.example.com/gateway:2.0.0",
        "url": f"https://deploy.example.com/runs/7?token={m(13, 2)}",
        "repo": "platform/gateway",
    }
    (folder / "native.jsonl").write_text(json.dumps(native) + "\n")

    for series, name in (
        (14, "octokit-deployment__payload.json"),
        (15, "octokit-deployment_status__payload.json"),
    ):
        doc = _fixture(name)
        doc["deployment"]["payload"] = {
            "service": "gateway",
            "version": f"token={m(series, 1)}",
            "image": f"registry.example.com/gateway:2.0.0?sig={m(series, 2)}",
            "approver": f"sre-lead password={m(series, 3)}",
            "deploy_token": m(series, 4),
        }
        doc["deployment"]["description"] = f"deploy with api_key={m(series, 5)}"
        doc["deployment"]["url"] = f"https://bot:{m(series, 6)}@api.github.com/deployments/1"
        if doc.get("deployment_status"):
            doc["deployment_status"]["target_url"] = (
                f"https://ci.example.com/log?access_token={m(series, 7)}"
            )
            doc["deployment_status"]["description"] = f"Bearer {m(series, 8, 'abcdefgh')}"
        (folder / name).write_text(json.dumps(doc))

    gitlab = _fixture("cicl-gitlab-deployment-hook.json")
    gitlab["deployable_url"] = f"https://gitlab.example.com/-/jobs/1?private_token={m(16, 1)}"
    gitlab["ref"] = f"glpat-{m(16, 2, 'abcdefghijklmnopqrst')}"
    (folder / "gitlab-deployment.json").write_text(json.dumps(gitlab))

    cloudbuild = _fixture("cloudevents-cloudbuild__BuildEventData-simple.json")
    build = cloudbuild.get("data", cloudbuild)
    build["substitutions"] = {
        **(build.get("substitutions") or {}),
        "_ENVIRONMENT": "prod",
        "_DEPLOY_TOKEN": m(17, 1),
    }
    build["logUrl"] = f"https://console.example.com/build?key={m(17, 2)}"
    build["images"] = [f"https://ci:{m(17, 3)}@gcr.io/p/gateway:1"]
    (folder / "cloudbuild.json").write_text(json.dumps(cloudbuild))

    push = _fixture("cicl-github-push-two-commits.json")
    first = straddling(300, 18, 3, "rotate key ")
    push["commits"][0]["message"] = f"{first}\n\nold GITHUB_TOKEN={m(18, 1)}"
    push["commits"][1]["message"] = f"set AWS_SECRET_ACCESS_KEY={m(18, 2)} for the job"
    push["pusher"] = {"name": "ana", "email": "ana@example.com"}
    (folder / "github-push.json").write_text(json.dumps(push))

    gitlab_push = _fixture("gogitlab__push.json")
    gitlab_push["commits"][0]["message"] = f"ci: use Authorization: token {m(19, 1)}"
    (folder / "gitlab-push.json").write_text(json.dumps(gitlab_push))


def write_streams(root: Path) -> None:
    write_otel(root)
    write_feedback(root)
    write_deployments(root)
