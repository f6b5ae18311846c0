import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.deployments.summary import (
    approval_findings,
    deployment_figures,
    merge_deployments,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "deployments"
D1, D2 = "sha256:" + "a1" * 32, "sha256:" + "b2" * 32


def parse(data: bytes, path: str = "deployments/x.json"):
    fmt = detect_format(DEPLOYMENTS_STREAM.formats, Sniff.of(data))
    assert fmt is not None
    rows = [r for _, batch in fmt.parse(data, path) for r in batch]
    for r in rows:
        r["source_file"] = path
    return fmt.name, rows


def parse_fixture(name: str):
    return parse((FIXTURES / name).read_bytes(), f"deployments/{name}")


# file -> (format, events, (deployment_id, environment, status, commit, digest) of the first)
FIXTURE_FILES = {
    "octokit-deployment__payload.json": (
        "github-deployment",
        1,
        (
            "github:145988746",
            "production",
            "pending",
            "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
            None,
        ),
    ),
    "octokit-deployment_status__payload.json": (
        "github-deployment_status",
        1,
        (
            "github:145988746",
            "production",
            "succeeded",
            "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
            None,
        ),
    ),
    "cloudevents-cloudbuild__BuildEventData-complex.json": (
        "cloudbuild-build",
        1,
        (None, None, "succeeded", None, None),
    ),
    "cloudevents-cloudbuild__BuildEventData-simple.json": (
        "cloudbuild-build",
        1,
        (None, None, None, None, None),
    ),
    "cicl-deployments-2026-11.jsonl": (
        "cicl.deployment/v1",
        7,
        ("dep-dev-0107", "dev", "succeeded", "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807", D2),
    ),
    "cicl-gitlab-deployment-hook.json": (
        "gitlab-deployment",
        1,
        (
            "gitlab:42:1187",
            "staging",
            "succeeded",
            "5d1e0f7a6b2c3d4e5f60718293a4b5c6d7e8f901",
            None,
        ),
    ),
    "cicl-cloudbuild-pubsub-push.json": (
        "cloudbuild-build",
        1,
        (
            "cloudbuild:c2f1e0d9-8b7a-4c6d-9e5f-1a2b3c4d5e6f",
            "production",
            "succeeded",
            "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
            "sha256:" + "c3" * 32,
        ),
    ),
    "gogitlab__pipeline.json": ("ci-webhook-without-deployment", 0, None),
    "octokit-workflow_run__completed.payload.json": ("ci-webhook-without-deployment", 0, None),
    # Push hooks feed commit_pushes (rows checked in tests/unit/delivery/test_pushes.py).
    "gogitlab__push.json": ("gitlab-push", 2, None),
    "octokit-push__with-new-branch.payload.json": ("github-push", 1, None),
    "cicl-github-push-two-commits.json": ("github-push", 2, None),
}


def test_every_fixture_is_in_the_table():
    on_disk = {p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".jsonl")}
    assert on_disk == set(FIXTURE_FILES)


@pytest.mark.parametrize("name", sorted(FIXTURE_FILES))
def test_fixture(name):
    fmt_name, count, first = FIXTURE_FILES[name]
    fmt, rows = parse_fixture(name)
    assert fmt == fmt_name
    assert len(rows) == count
    if first:
        dep_id, env, status, commit, digest = first
        row = rows[0]
        if dep_id:
            assert row["deployment_id"] == dep_id
        else:
            assert re.fullmatch(r"cloudbuild:sha256:[0-9a-f]{64}", row["deployment_id"])
        assert (row["environment"], row["status"], row["commit_sha"], row["image_digest"]) == (
            env,
            status,
            commit,
            digest,
        )


def test_github_deployment_and_status_merge_into_one_deployment():
    events = parse_fixture("octokit-deployment__payload.json")[1]
    events += parse_fixture("octokit-deployment_status__payload.json")[1]
    [dep] = merge_deployments(events)
    assert dep["status"] == "succeeded" and dep["events"] == 2
    assert dep["provider"] == "github" and dep["service"] == "Hello-World"
    assert dep["started_at"] == datetime(2019, 5, 15, 15, 20, 53, tzinfo=UTC)
    assert dep["finished_at"] == datetime(2019, 5, 15, 15, 20, 55, tzinfo=UTC)
    assert dep["actor"] == "Codertocat" and dep["repo"] == "Codertocat/Hello-World"
    assert approval_findings(dep) == ["no approver", "no approved_at", "no change window"]


def test_native_records():
    _, rows = parse_fixture("cicl-deployments-2026-11.jsonl")
    by_id = {}
    for r in rows:
        by_id.setdefault(r["deployment_id"], []).append(r)
    assert by_id["dep-stg-0051"][0]["environment"] == "staging"  # "stg"
    assert [r["status"] for r in by_id["dep-prod-0042"]] == ["in_progress", "succeeded"]
    assert by_id["dep-prod-0042"][0]["environment"] == "production"  # "prod"
    assert by_id["dep-prod-0043"][0]["rollback_of"] == "dep-prod-0042"
    # digest taken from the @sha256: pin of the image reference
    assert by_id["dep-prod-0044"][0]["image_digest"] == D2
    assert by_id["dep-prod-0041"][0]["change_window_end"] == datetime(2026, 10, 28, 11, tzinfo=UTC)


def test_gitlab_hook_fields():
    _, [row] = parse_fixture("cicl-gitlab-deployment-hook.json")
    assert row["event_at"] == datetime(2026, 11, 3, 15, 42, 10, tzinfo=UTC)  # +0100
    assert (row["actor"], row["service"], row["repo"]) == (
        "release-manager",
        "workbench",
        "platform/workbench",
    )
    assert row["pipeline_run_id"] == "gitlab-job:90412"
    assert row["url"] == "https://gitlab.coditect.example/platform/workbench/-/jobs/90412"


def test_cloudbuild_push_envelope_and_approval():
    _, [row] = parse_fixture("cicl-cloudbuild-pubsub-push.json")
    assert (row["service"], row["version"], row["approver"]) == (
        "flow-gateway",
        "2.1.0",
        "sre-lead@coditect.example",
    )
    assert row["approved_at"] == datetime(2026, 11, 4, 8, 49, 30, tzinfo=UTC)
    assert row["finished_at"] == datetime(2026, 11, 4, 8, 58, 44, 904172, tzinfo=UTC)
    assert row["pipeline_run_id"] == "c2f1e0d9-8b7a-4c6d-9e5f-1a2b3c4d5e6f"


def test_cloudbuild_cloudevent_with_digest_in_image_reference():
    build = {
        "id": "b-1",
        "projectId": "p",
        "status": "FAILURE",
        "logUrl": "https://console.cloud.google.com/cloud-build/builds/b-1",
        "images": ["us-docker.pkg.dev/p/r/tool-worker@" + D1],
        "tags": ["env-staging"],
        "finishTime": "2026-11-04T10:00:00Z",
    }
    event = {
        "specversion": "1.0",
        "type": "google.cloud.cloudbuild.build.v1.statusChanged",
        "data": build,
    }
    _, [row] = parse(json.dumps(event).encode())
    assert (row["environment"], row["status"], row["image_digest"], row["service"]) == (
        "staging",
        "failed",
        D1,
        "tool-worker",
    )


def test_approval_findings_and_figures():
    _, rows = parse_fixture("cicl-deployments-2026-11.jsonl")
    rows += parse_fixture("cicl-cloudbuild-pubsub-push.json")[1]
    deployments = {d["deployment_id"]: d for d in merge_deployments(rows)}
    assert len(deployments) == 7
    assert approval_findings(deployments["dep-prod-0042"]) == []
    assert approval_findings(deployments["dep-dev-0107"]) == []  # dev needs no approval
    assert approval_findings(deployments["dep-prod-0044"]) == ["no approver", "no approved_at"]
    [outside] = approval_findings(deployments["dep-prod-0043"])
    assert outside == (
        "started 2026-11-05T16:10:00+00:00 outside window 2026-11-05T12:00:00+00:00 to "
        "2026-11-05T14:00:00+00:00"
    )
    assert approval_findings(deployments["cloudbuild:c2f1e0d9-8b7a-4c6d-9e5f-1a2b3c4d5e6f"]) == [
        "no change window"
    ]
    figures = deployment_figures(list(deployments.values()))
    assert figures == {
        "deployments/dev/succeeded": 1,
        "deployments/production/failed": 1,
        "deployments/production/succeeded": 4,
        "deployments/staging/succeeded": 1,
        "production_deploys": 5,
        "production_deploys_without_approval": 1,
        "production_deploys_failing_gate": 3,
        "rollbacks": 1,
        "rolled_back_status": 0,
        # failed 0044 and 0042 (undone by the rollback 0043) out of 5 finished production deploys
        "change_failure_rate_production": 0.4,
    }


def test_inactive_does_not_hide_the_outcome():
    base = {"deployment_id": "github:1", "source_file": "f", "environment": "production"}
    events = [
        {
            **base,
            "event_id": "1",
            "status": "succeeded",
            "event_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {
            **base,
            "event_id": "2",
            "status": "inactive",
            "event_at": datetime(2026, 1, 2, tzinfo=UTC),
        },
    ]
    [dep] = merge_deployments(events)
    assert dep["status"] == "succeeded"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"kind": "cicl.deployment/v1", "environment": "dev", "status": "succeeded"}',
            "deployment_id",
        ),
        (
            b'{"kind": "cicl.deployment/v1", "deployment_id": "d", "environment": "dev", "status": "ok"}',
            "status 'ok' is not one of",
        ),
        (
            b'{"kind": "cicl.deployment/v1", "deployment_id": "d", "environment": "dev", '
            b'"status": "failed", "commit": "abc"}',
            "not a 40-hex",
        ),
        (
            b'{"kind": "cicl.deployment/v1", "deployment_id": "d", "environment": "dev", '
            b'"status": "failed", "image_digest": "sha256:xyz"}',
            "not sha256:<64 hex>",
        ),
        (b'{"kind": "cicl.deployment/v1", "deployment_id": "d"\n', "invalid JSON"),
        (b'{"object_kind": "deployment", "status": "weird", "deployment_id": 1}', "GitLab"),
        (b'{"deployment_status": {"state": "exploded"}, "deployment": {"id": 1}}', "exploded"),
        (
            b'{"message": {"data": "!!!notbase64", "attributes": {"buildId": "x"}}}',
            "not base64 JSON",
        ),
    ],
)
def test_broken_records_raise_actionable_errors(data, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(data)


def test_pubsub_envelope_round_trip_detects_by_build_id():
    inner = base64.b64encode(json.dumps({"id": "z", "status": "QUEUED"}).encode()).decode()
    doc = {"message": {"data": inner, "attributes": {"buildId": "z"}}}
    fmt, [row] = parse(json.dumps(doc).encode())
    assert (fmt, row["deployment_id"], row["status"]) == (
        "cloudbuild-build",
        "cloudbuild:z",
        "pending",
    )
