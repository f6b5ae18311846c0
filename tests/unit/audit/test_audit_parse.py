import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cicl_assets.audit.stream import AUDIT_FORMATS, parse_audit_file
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format
from tests.redaction import MASK, masked

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit-logs"


def rows_of(data: bytes) -> list[dict]:
    tables = list(parse_audit_file(data, "audit/x.json"))
    assert [name for name, _ in tables] == ["audit_events_staging"]
    return tables[0][1]


def fixture_rows(name: str) -> list[dict]:
    return rows_of((FIXTURES / name).read_bytes())


# (file, detected format, events, source) counted by reading each file
CORPUS = [
    ("cloudevents__LogEntryData-bigqueryjobcompleted.json", "gcp-audit-log", 1, "gcp_audit"),
    ("cloudevents__LogEntryData-pubsubCreateTopic.json", "gcp-audit-log", 1, "gcp_audit"),
    ("falco__create_configmap_sensitive_values.json", "k8s-audit", 6, "k8s_audit"),
    ("falco__create_nginx_pod_privileged.json", "k8s-audit", 1, "k8s_audit"),
    ("falco__create_secret.json", "k8s-audit", 1, "k8s_audit"),
    ("gogithub-extract__orgs_audit_log.json", "github-audit-log", 1, "github_audit"),
]


@pytest.mark.parametrize(("name", "fmt", "count", "source"), CORPUS)
def test_every_corpus_file_parses_with_its_event_count(name, fmt, count, source):
    data = (FIXTURES / name).read_bytes()
    assert detect_format(AUDIT_FORMATS, Sniff.of(data)).name == fmt
    rows = rows_of(data)
    assert len(rows) == count
    assert {r["source"] for r in rows} == {source}
    assert len({r["event_id"] for r in rows}) == count
    assert all(isinstance(r["event_time"], datetime) and r["event_time"].tzinfo for r in rows)


def test_corpus_files_are_listed_in_the_manifest():
    listed = {
        line.split("\t")[1]
        for line in (FIXTURES / "MANIFEST.tsv").read_text().splitlines()[1:]
        if line.strip()
    }
    assert {name for name, *_ in CORPUS} <= listed


def test_gcp_activity_log_entry_fields():
    (row,) = fixture_rows("cloudevents__LogEntryData-pubsubCreateTopic.json")
    assert row["event_id"] == "9frck8cf9j"
    assert row["event_time"] == datetime(2020, 6, 30, 16, 14, 47, 593398, tzinfo=UTC)
    assert row["actor"] == "robot@test-project.iam.gserviceaccount.com"
    assert row["action"] == "google.pubsub.v1.Publisher.CreateTopic"
    assert row["resource"] == "projects/test-project/topics/test-auditlogs-source"
    assert (row["outcome"], row["source_ip"], row["user_agent"]) == (
        "success",
        "192.168.0.1",
        "google-cloud-sdk",
    )
    details = json.loads(row["details"])
    assert details["log_type"] == "activity"
    assert details["service_name"] == "pubsub.googleapis.com"
    assert details["authorization_info"][0]["permission"] == "pubsub.topics.create"


def test_gcp_data_access_entry_without_payload_type_is_recognised_by_log_name():
    (row,) = fixture_rows("cloudevents__LogEntryData-bigqueryjobcompleted.json")
    assert row["event_id"] == "jpllvgecd7bx"
    assert row["action"] == "jobservice.jobcompleted"
    assert row["source_ip"] == "2620:15c:0:200:1a75:e914:115b:e970"
    assert json.loads(row["details"])["log_type"] == "data_access"


def test_gcp_denied_and_failed_calls():
    base = json.loads((FIXTURES / "cloudevents__LogEntryData-pubsubCreateTopic.json").read_text())
    denied = json.loads(json.dumps(base))
    denied["insertId"] = "denied-1"
    denied["protoPayload"]["status"] = {"code": 7, "message": "Permission denied"}
    failed = json.loads(json.dumps(base))
    failed["insertId"] = "failed-1"
    failed["protoPayload"]["status"] = {"code": 5, "message": "Not found"}
    data = "\n".join(json.dumps(d) for d in (denied, failed)).encode()
    assert [(r["event_id"], r["outcome"]) for r in rows_of(data)] == [
        ("denied-1", "denied"),
        ("failed-1", "failure"),
    ]


def test_k8s_v1_secret_event_fields():
    (row,) = fixture_rows("falco__create_secret.json")
    assert row["event_id"] == "c07ab0e2-9b07-4cc6-8e3b-91ac69586a1f/ResponseComplete"
    assert row["event_time"] == datetime(2019, 11, 18, 4, 40, 56, 741993, tzinfo=UTC)
    assert (row["actor"], row["action"]) == ("minikube-user", "create")
    assert row["resource"] == "namespaces/sysdig-agent/secrets/sysdig-agent"
    assert (row["outcome"], row["source_ip"]) == ("success", "10.0.2.15")
    assert row["user_agent"] == "kubectl/v1.13.3 (linux/amd64) kubernetes/721bfa7"
    details = json.loads(row["details"])
    assert details["stage"] == "ResponseComplete" and details["final_stage"] is True
    assert details["api_version"] == "audit.k8s.io/v1"


def test_k8s_v1beta1_events_without_api_version():
    rows = fixture_rows("falco__create_configmap_sensitive_values.json")
    first = rows[0]
    assert first["event_id"] == "9a2bb12c-b9f7-4d34-809c-671e8c7e1e06/ResponseComplete"
    assert first["resource"] == "namespaces/default/configmaps/my-config"
    assert "api_version" not in json.loads(first["details"])
    assert [r["event_time"].second for r in rows] == [20, 35, 53, 7, 20, 32]
    (pod,) = fixture_rows("falco__create_nginx_pod_privileged.json")
    assert pod["actor"] == "system:serviceaccount:kube-system:replicaset-controller"
    assert pod["resource"] == "namespaces/default/pods"
    assert json.loads(pod["details"])["api_version"] == "audit.k8s.io/v1beta1"


def _secret_event() -> dict:
    return json.loads((FIXTURES / "falco__create_secret.json").read_text())


def test_k8s_event_wrapped_as_a_json_string_is_unwrapped():
    event = _secret_event()
    azure = {
        "records": [
            {
                "category": "kube-audit",
                "time": "2019-11-18T04:40:57Z",
                "properties": {"log": json.dumps(event), "stream": "stdout"},
            }
        ]
    }
    plain_log = {"log": json.dumps({**event, "auditID": "other-1"})}
    message = {"message": json.dumps({**event, "auditID": "other-2", "stage": "RequestReceived"})}
    data = "\n".join(json.dumps(d) for d in (azure, plain_log, message)).encode()
    rows = rows_of(data)
    assert [r["event_id"] for r in rows] == [
        "c07ab0e2-9b07-4cc6-8e3b-91ac69586a1f/ResponseComplete",
        "other-1/ResponseComplete",
        "other-2/RequestReceived",
    ]
    assert {r["actor"] for r in rows} == {"minikube-user"}
    assert json.loads(rows[2]["details"])["final_stage"] is False


def test_event_list_and_gzip_and_stages():
    event = _secret_event()
    received = {**event, "stage": "RequestReceived", "responseStatus": None}
    event_list = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [received, event]}
    rows = rows_of(gzip.decompress(gzip.compress(json.dumps(event_list).encode())))
    assert [(r["event_id"].split("/")[1], r["outcome"]) for r in rows] == [
        ("RequestReceived", "unknown"),
        ("ResponseComplete", "success"),
    ]


def test_k8s_forbidden_is_denied():
    event = {**_secret_event(), "responseStatus": {"code": 403, "status": "Failure"}}
    assert rows_of(json.dumps(event).encode())[0]["outcome"] == "denied"


def test_github_audit_log_entry_fields():
    (row,) = fixture_rows("gogithub-extract__orgs_audit_log.json")
    assert row["event_id"] == "beeZYapIUe-wKg5-beadb33"
    assert row["event_time"] == datetime(2021, 3, 7, 0, 35, 8, 538000, tzinfo=UTC)
    assert (row["actor"], row["action"], row["resource"]) == (
        "testactor",
        "workflows.completed_workflow_run",
        "o/blue-crayon-1",
    )
    assert row["commit_sha"] == "5acdeadbeef64d1a62388e901e5cdc9358644b37"
    assert (row["pipeline_run_id"], row["source_ip"], row["user_agent"]) == (
        "628312345",
        "10.0.0.1",
        "a user agent",
    )
    assert row["outcome"] == "success"
    record = json.loads(row["details"])["record"]
    assert masked(record["hashed_token"]) == MASK
    assert record["token_scopes"] == "gist,repo:read"


def test_cicl_native_step_events():
    lines = [
        {
            "kind": "cicl.audit_step/v1",
            "event_id": f"e{i}",
            "time": "2026-11-03T04:12:00+01:00",
            "step": step,
            "pipeline_run_id": "wr-2026-11-03-0412",
            "commit": "a" * 40,
            "image_digest": "sha256:" + "b" * 64,
            "environment": "staging",
            "actor": "ci-bot",
            "outcome": outcome,
            "details": {"scanner": "trivy"},
        }
        for i, (step, outcome) in enumerate(
            [("unit", "success"), ("container-scan", "failure"), ("sign", "skipped")]
        )
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode() + b"\n"
    assert detect_format(AUDIT_FORMATS, Sniff.of(data)).name == "cicl-audit-step"
    rows = rows_of(data)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("unit", "success"),
        ("container-scan", "failure"),
        ("sign", "unknown"),
    ]
    assert rows[0]["event_time"] == datetime(2026, 11, 3, 3, 12, tzinfo=UTC)
    assert rows[0]["source"] == "cicl_ci"
    assert rows[0]["commit_sha"] == "a" * 40
    assert rows[0]["environment"] == "staging"
    assert json.loads(rows[2]["details"])["step_outcome"] == "skipped"


def test_malformed_line_is_named():
    good = (FIXTURES / "falco__create_configmap_sensitive_values.json").read_bytes().splitlines()
    data = b"\n".join([good[0], good[1], b'{"auditID": "x", "verb": ', good[2]])
    with pytest.raises(
        ParseError, match=r"^invalid JSON at line 4, column \d+: .*starts on line 3"
    ):
        rows_of(data)


def test_unknown_record_is_named_with_its_keys():
    event = _secret_event()
    data = (json.dumps(event) + "\n" + json.dumps({"hello": "world"})).encode()
    with pytest.raises(ParseError, match=r"^line 2: not a recognised audit event.*keys: hello"):
        rows_of(data)


def test_event_without_time_is_refused():
    event = {
        k: v
        for k, v in _secret_event().items()
        if k not in ("stageTimestamp", "requestReceivedTimestamp")
    }
    with pytest.raises(ParseError, match="line 1: no valid event time in stageTimestamp"):
        rows_of(json.dumps(event).encode())


def test_wrapped_string_that_is_not_json_is_named():
    with pytest.raises(ParseError, match=r"line 1: properties.log holds invalid JSON"):
        rows_of(b'{"properties": {"log": "{not json"}}')
