import base64
import json
from datetime import UTC, datetime

import pytest

from cicl_assets.ci.runs.formats import CI_RUNS, RUN_STATUSES, normalise_status
from cicl_assets.ingest.content import ParseError
from tests.unit.ci.corpus import manifest_names, parse_bytes, parse_fixture

# What each webhook sample is read as: (format, provider, event, status, status_raw,
# provider_run_id, stage count) or the reason it is refused.
EXPECTED = {
    "cloudevents-cloudbuild__BuildEventData-complex.json": (
        "cloudbuild-build", "cloudbuild", "cloudbuild", "success", "SUCCESS", None, 0
    ),
    "cloudevents-cloudbuild__BuildEventData-simple.json": (
        "cloudbuild-build", "cloudbuild", "cloudbuild", None, None, None, 0
    ),
    "codeql-action__pull_request.json": "GitHub pull_request webhook: not a CI run record",
    "gogitlab__job.json": ("gitlab-webhook", "gitlab", "build", "success", "success", "743121198", 1),
    "gogitlab__pipeline.json": (
        "gitlab-webhook", "gitlab", "pipeline", "success", "passed", "31", 5
    ),
    "gogitlab__push.json": "GitLab push hook: not a CI run record",
    "octokit-deployment__payload.json": (
        "GitHub deployment webhook: deployment records belong under deployments/"
    ),
    "octokit-deployment_status__payload.json": (
        "GitHub deployment_status webhook: deployment records belong under deployments/"
    ),
    "octokit-push__with-new-branch.payload.json": "GitHub push webhook: not a CI run record",
    "octokit-workflow_job__completed.failure.with-organization.payload.json": (
        "github-webhook", "github", "workflow_job", "failed", "completed/failure", "2202229078", 12
    ),
    "octokit-workflow_run__completed.payload.json": (
        "github-webhook", "github", "workflow_run", "success", "completed/success", "289782451", 0
    ),
    "octokit-workflow_run__requested.payload.json": (
        "github-webhook", "github", "workflow_run", "queued", "queued", "289782451", 0
    ),
}  # fmt: skip


def test_every_ci_event_fixture_has_an_expectation():
    assert sorted(manifest_names("ci-events")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ci_event_fixture(name):
    want = EXPECTED[name]
    if isinstance(want, str):
        with pytest.raises(ParseError, match=want):
            parse_fixture("ci-events", name)
        return
    fmt, tables = parse_fixture("ci-events", name, run="wr-7")
    (row,) = tables["ci_runs"]
    stages = json.loads(row["stages"]) if row.get("stages") else []
    got = (fmt, row["provider"], row["event"], row["status"], row["status_raw"])
    assert got == want[:5]
    assert (row["provider_run_id"], len(stages)) == want[5:]
    assert row["pipeline_run_id"] == "wr-7"
    CI_RUNS.from_records([row])


def _run(name):
    return parse_fixture("ci-events", name)[1]["ci_runs"][0]


def test_workflow_run_fields():
    row = _run("octokit-workflow_run__completed.payload.json")
    assert row["pipeline"] == "test"
    assert row["repo"] == "octo-org/octo-repo"
    assert row["commit_sha"] == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    assert (row["branch"], row["trigger"], row["actor"]) == (
        "master",
        "repository_dispatch",
        "Codertocat",
    )
    assert row["started_at"] == datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC)
    assert row["finished_at"] == datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC)
    assert row["url"] == "https://github.com/octo-org/octo-repo/actions/runs/289782451"
    queued = _run("octokit-workflow_run__requested.payload.json")
    assert queued["finished_at"] is None and queued["duration_s"] is None


def test_workflow_job_steps_become_stages():
    row = _run("octokit-workflow_job__completed.failure.with-organization.payload.json")
    assert (row["pipeline"], row["job_name"]) == ("CodeQL", "linters")
    assert row["duration_s"] == 198.0
    stages = json.loads(row["stages"])
    failed = [s["name"] for s in stages if s["status"] == "failed"]
    assert failed == ["Run yarn run format-check"]
    assert stages[0] == {
        "name": "Set up job",
        "number": 1,
        "status": "success",
        "started_at": "2021-08-05T10:26:08+00:00",
        "finished_at": "2021-08-05T10:26:11+00:00",
    }


def test_gitlab_pipeline_builds_are_stages_in_id_order():
    row = _run("gogitlab__pipeline.json")
    stages = json.loads(row["stages"])
    assert [s["name"] for s in stages] == [
        "build-image",
        "test-image",
        "test-build",
        "staging",
        "production",
    ]
    assert [s["status"] for s in stages] == ["success", "success", "success", "queued", "cancelled"]
    assert row["duration_s"] == 63.0
    assert row["started_at"] == datetime(2016, 8, 12, 15, 24, 56, tzinfo=UTC)
    assert row["finished_at"] == datetime(2016, 8, 12, 15, 26, 29, tzinfo=UTC)
    assert (row["actor"], row["trigger"]) == ("user1", "merge_request_event")


def test_gitlab_job_hook_maps_to_its_pipeline():
    row = _run("gogitlab__job.json")
    assert (row["job_name"], row["run_attempt"]) == ("auto_deploy:start", 2)
    assert row["repo"] == "jsmithy2/release-tools-fake"
    assert row["duration_s"] == pytest.approx(49.503592)


# --- cicl.ci_run/v1 -----------------------------------------------------------------------------

RUN = {
    "kind": "cicl.ci_run/v1",
    "pipeline_run_id": "wr-2026-11-03-0412",
    "pipeline": "workflow-runtime",
    "repo": "github.com/coditect/flow",
    "commit": "a" * 40,
    "branch": "main",
    "trigger": "push",
    "status": "failed",
    "started_at": "2026-11-03T04:12:00Z",
    "finished_at": "2026-11-03T04:31:30+00:00",
    "actor": "dev@coditect.example",
    "stages": [
        {"name": "lint", "status": "success", "started_at": "2026-11-03T04:12:00Z",
         "finished_at": "2026-11-03T04:13:00Z"},
        {"name": "unit", "status": "failed", "started_at": "2026-11-03T04:13:00Z",
         "finished_at": "2026-11-03T04:31:30Z"},
    ],
    "image": {"name": "us-docker.pkg.dev/coditect/flow/runtime", "tag": "1.8.0",
              "digest": "sha256:" + "b" * 64},
}  # fmt: skip


def _cicl(doc, path="ci/wr-2026-11-03-0412/run.json"):
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    fmt, tables = parse_bytes(data, path)
    assert fmt == "cicl-ci-run"
    return tables["ci_runs"]


def test_cicl_run_json():
    (row,) = _cicl(RUN)
    assert row["pipeline_run_id"] == "wr-2026-11-03-0412"
    assert (row["provider"], row["status"], row["duration_s"]) == ("cicl", "failed", 1170.0)
    assert (row["image_tag"], row["image_digest"]) == ("1.8.0", "sha256:" + "b" * 64)
    assert [s["name"] for s in json.loads(row["stages"])] == ["lint", "unit"]


def test_cicl_run_json_lines_and_path_id_wins():
    lines = (json.dumps(RUN) + "\n" + json.dumps({**RUN, "status": "running"}) + "\n").encode()
    rows = _cicl(lines, "ci/other-folder/run.json")
    assert [r["status"] for r in rows] == ["failed", "running"]
    assert {r["pipeline_run_id"] for r in rows} == {"other-folder"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "exploded"}, "status 'exploded' is not one of success, failed"),
        ({"image": {"digest": "sha256:xyz"}}, "image.digest 'sha256:xyz' is not sha256:<64"),
        ({"started_at": "yesterday"}, "started_at 'yesterday' is not a timestamp"),
        ({"stages": [{"status": "success"}]}, r"stages\[0\] needs a name"),
        ({"pipeline": None}, "'pipeline' is missing"),
    ],
)
def test_cicl_run_json_errors_say_what_is_wrong(change, message):
    with pytest.raises(ParseError, match=message):
        _cicl({**RUN, **change})


# --- Cloud Build ----------------------------------------------------------------------------------

BUILD = {
    "id": "9f0c1b2e-1111-4a4a-8b8b-0123456789ab",
    "projectId": "coditect-ci",
    "status": "FAILURE",
    "createTime": "2026-11-03T04:11:50.123456789Z",
    "startTime": "2026-11-03T04:12:00.5Z",
    "finishTime": "2026-11-03T04:20:00.5Z",
    "buildTriggerId": "0d5c-trigger",
    "substitutions": {"TRIGGER_NAME": "runtime-main", "REPO_NAME": "flow", "BRANCH_NAME": "main",
                      "COMMIT_SHA": "c" * 40},
    "steps": [
        {"name": "gcr.io/cloud-builders/docker", "id": "build", "status": "SUCCESS",
         "timing": {"startTime": "2026-11-03T04:12:01Z", "endTime": "2026-11-03T04:15:00Z"}},
        {"name": "aquasec/trivy", "id": "container-scan", "status": "FAILURE",
         "timing": {"startTime": "2026-11-03T04:15:00Z", "endTime": "2026-11-03T04:20:00Z"}},
    ],
    "results": {"images": [{"name": "us-docker.pkg.dev/coditect/flow/runtime:1.8.0",
                            "digest": "sha256:" + "d" * 64}]},
    "logUrl": "https://console.cloud.google.com/cloud-build/builds/9f0c?project=1",
}  # fmt: skip


def test_cloud_build_fields_and_steps():
    fmt, tables = parse_bytes(json.dumps(BUILD).encode(), "ci/cb-1/build.json")
    (row,) = tables["ci_runs"]
    assert fmt == "cloudbuild-build"
    assert (row["pipeline"], row["repo"], row["branch"]) == ("runtime-main", "flow", "main")
    assert (row["status"], row["status_raw"], row["duration_s"]) == ("failed", "FAILURE", 480.0)
    assert row["image_name"] == "us-docker.pkg.dev/coditect/flow/runtime"
    assert (row["image_tag"], row["image_digest"]) == ("1.8.0", "sha256:" + "d" * 64)
    assert [(s["name"], s["status"]) for s in json.loads(row["stages"])] == [
        ("build", "success"),
        ("container-scan", "failed"),
    ]
    assert row["created_at"] == datetime(2026, 11, 3, 4, 11, 50, 123456, tzinfo=UTC)


def test_cloud_build_pubsub_push_envelope_is_unwrapped():
    envelope = {
        "message": {
            "attributes": {"buildId": BUILD["id"], "status": "FAILURE"},
            "data": base64.b64encode(json.dumps(BUILD).encode()).decode(),
            "messageId": "1",
        },
        "subscription": "projects/coditect-ci/subscriptions/cloud-builds",
    }
    _, tables = parse_bytes(json.dumps(envelope).encode(), "ci/cb-1/message.json")
    assert tables["ci_runs"][0]["provider_run_id"] == BUILD["id"]


def test_status_vocabulary_is_closed():
    normalised = {
        raw: normalise_status(raw)
        for raw in (
            "SUCCESS",
            "completed",
            "in_progress",
            "canceled",
            "timed_out",
            "WORKING",
            "manual",
        )
    }
    assert normalised == {
        "SUCCESS": "success",
        "completed": None,  # GitHub's status needs its conclusion
        "in_progress": "running",
        "canceled": "cancelled",
        "timed_out": "failed",
        "WORKING": "running",
        "manual": "queued",
    }
    # The figures count exactly the statuses normalisation writes.
    assert sorted(RUN_STATUSES) == sorted(set(normalised.values()) - {None})


def test_invalid_webhook_json_is_a_reject():
    with pytest.raises(ParseError, match="invalid JSON"):
        parse_bytes(b'{"object_kind": "pipeline", ', "ci/r/hook.json")
