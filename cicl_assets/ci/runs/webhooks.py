"""Provider run notifications -> ``ci_runs`` rows: GitHub ``workflow_run``/``workflow_job``
webhooks, GitLab Pipeline and Job hooks, Cloud Build ``Build`` messages (bare, in a Pub/Sub push
envelope or a CloudEvent). Other webhook events are refused by name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cicl_assets.ci.runs.records import (
    CI_RUNS,
    finish_row,
    normalise_status,
    stage,
    str_or_none,
)
from cicl_assets.ci.values import to_json
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import ParsedRows
from cicl_assets.ingest.json_documents import load_base64_json, load_json
from cicl_assets.ingest.values import parse_int, parse_seconds, parse_time

# --- GitHub -----------------------------------------------------------------------------------


def detect_github(sniff: Sniff) -> bool:
    return sniff.looks_json and (
        sniff.contains(b'"workflow_run"')
        or sniff.contains(b'"workflow_job"')
        or sniff.contains(b'"sender"', b'"repository"')
    )


def github_event(doc: dict) -> str:
    """The webhook event a payload belongs to (GitHub does not put it in the body)."""
    for key in ("deployment_status", "deployment", "workflow_job", "pull_request", "check_run",
                "check_suite", "release", "issue", "workflow_run"):  # fmt: skip
        if key in doc:
            return key
    if "pusher" in doc or ("commits" in doc and "ref" in doc):
        return "push"
    return "unknown"


def _login(obj: Any) -> str | None:
    return obj.get("login") if isinstance(obj, dict) else None


def _github_status(status: Any, conclusion: Any) -> tuple[str | None, str | None]:
    raw = f"{status}/{conclusion}" if conclusion else status
    return normalise_status(conclusion or status), raw


def parse_github(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("a GitHub webhook payload is a JSON object")
    event = github_event(doc)
    repo = (doc.get("repository") or {}).get("full_name")
    if event == "workflow_run":
        run = doc["workflow_run"]
        status, raw = _github_status(run.get("status"), run.get("conclusion"))
        finished = parse_time(run.get("updated_at")) if run.get("status") == "completed" else None
        row = {
            "provider": "github",
            "event": "workflow_run",
            "provider_run_id": str(run["id"]) if run.get("id") is not None else None,
            "run_attempt": parse_int(run.get("run_attempt")),
            "pipeline": run.get("name") or (doc.get("workflow") or {}).get("name")
            or run.get("path"),
            "repo": (run.get("repository") or {}).get("full_name") or repo,
            "commit_sha": run.get("head_sha"),
            "branch": run.get("head_branch"),
            "trigger": run.get("event"),
            "status": status,
            "status_raw": raw,
            "created_at": parse_time(run.get("created_at")),
            "started_at": parse_time(run.get("run_started_at")) or parse_time(run.get("created_at")),
            "finished_at": finished,
            "updated_at": parse_time(run.get("updated_at")),
            "actor": _login(run.get("triggering_actor")) or _login(run.get("actor"))
            or _login(doc.get("sender")),
            "url": run.get("html_url"),
        }  # fmt: skip
        yield CI_RUNS.name, [finish_row(row, source_file, f"github-{run.get('id')}")]
        return
    if event == "workflow_job":
        job = doc["workflow_job"]
        status, raw = _github_status(job.get("status"), job.get("conclusion"))
        steps = job.get("steps") or []
        row = {
            "provider": "github",
            "event": "workflow_job",
            "provider_run_id": str(job["run_id"]) if job.get("run_id") is not None else None,
            "run_attempt": parse_int(job.get("run_attempt")),
            "pipeline": job.get("workflow_name"),
            "job_name": job.get("name"),
            "repo": repo,
            "commit_sha": job.get("head_sha"),
            "branch": job.get("head_branch"),
            "status": status,
            "status_raw": raw,
            "created_at": parse_time(job.get("created_at")),
            "started_at": parse_time(job.get("started_at")),
            "finished_at": parse_time(job.get("completed_at")),
            "updated_at": parse_time(job.get("completed_at")) or parse_time(job.get("started_at")),
            "stages": to_json(
                [stage(s.get("name"), s.get("conclusion") or s.get("status"),
                        s.get("started_at"), s.get("completed_at"), number=s.get("number"))
                 for s in steps if isinstance(s, dict)]
            ) if steps else None,
            "actor": _login(doc.get("sender")),
            "url": job.get("html_url"),
        }  # fmt: skip
        yield CI_RUNS.name, [finish_row(row, source_file, f"github-{job.get('run_id')}")]
        return
    if event in ("deployment", "deployment_status"):
        raise ParseError(
            f"GitHub {event} webhook: deployment records belong under deployments/, not ci/ "
            "(ci_runs takes workflow_run and workflow_job events)"
        )
    raise ParseError(
        f"GitHub {event} webhook: not a CI run record (ci_runs takes workflow_run and "
        "workflow_job events); nothing ingested from it"
    )


# --- GitLab -----------------------------------------------------------------------------------


def detect_gitlab(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b'"object_kind"')


def _gitlab_user(doc: dict) -> str | None:
    user = doc.get("user")
    if isinstance(user, dict):
        return user.get("username") or user.get("name")
    return doc.get("user_username") or doc.get("user_name")


def parse_gitlab(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("a GitLab webhook payload is a JSON object")
    kind = doc.get("object_kind")
    project = doc.get("project") or {}
    if kind == "pipeline":
        attrs = doc.get("object_attributes") or {}
        builds = sorted(
            (b for b in doc.get("builds") or [] if isinstance(b, dict)),
            key=lambda b: parse_int(b.get("id")) or 0,
        )
        starts = [t for t in (parse_time(b.get("started_at")) for b in builds) if t]
        web = project.get("web_url")
        row = {
            "provider": "gitlab",
            "event": "pipeline",
            "provider_run_id": str(attrs["id"]) if attrs.get("id") is not None else None,
            "pipeline": attrs.get("name") or project.get("path_with_namespace")
            or project.get("name"),
            "repo": project.get("path_with_namespace"),
            "commit_sha": attrs.get("sha"),
            "branch": attrs.get("ref"),
            "trigger": attrs.get("source"),
            "status": normalise_status(attrs.get("status")),
            "status_raw": attrs.get("detailed_status") or attrs.get("status"),
            "created_at": parse_time(attrs.get("created_at")),
            "started_at": min(starts) if starts else None,
            "finished_at": parse_time(attrs.get("finished_at")),
            "updated_at": parse_time(attrs.get("finished_at")) or parse_time(attrs.get("created_at")),
            "duration_s": parse_seconds(attrs.get("duration")),
            "stages": to_json(
                [stage(b.get("name"), b.get("status"), b.get("started_at"), b.get("finished_at"),
                        stage=b.get("stage")) for b in builds]
            ) if builds else None,
            "actor": _gitlab_user(doc),
            "url": f"{web}/-/pipelines/{attrs.get('id')}" if web and attrs.get("id") else None,
        }  # fmt: skip
        yield CI_RUNS.name, [finish_row(row, source_file, f"gitlab-{attrs.get('id')}")]
        return
    if kind == "build":
        home = (doc.get("repository") or {}).get("homepage")
        row = {
            "provider": "gitlab",
            "event": "build",
            "provider_run_id": str_or_none(doc.get("pipeline_id")),
            "run_attempt": (parse_int(doc.get("retries_count")) or 0) + 1,
            "pipeline": doc.get("project_name"),
            "job_name": doc.get("build_name"),
            "repo": home.split("://", 1)[-1].split("/", 1)[-1] if home else doc.get("project_name"),
            "commit_sha": doc.get("sha"),
            "branch": doc.get("ref"),
            "status": normalise_status(doc.get("build_status")),
            "status_raw": doc.get("build_status"),
            "created_at": parse_time(doc.get("build_created_at")),
            "started_at": parse_time(doc.get("build_started_at")),
            "finished_at": parse_time(doc.get("build_finished_at")),
            "updated_at": parse_time(doc.get("build_finished_at"))
            or parse_time(doc.get("build_started_at")),
            "duration_s": parse_seconds(doc.get("build_duration")),
            "stages": to_json([stage(doc.get("build_name"), doc.get("build_status"),
                                      doc.get("build_started_at"), doc.get("build_finished_at"),
                                      stage=doc.get("build_stage"))]),
            "actor": _gitlab_user(doc),
            "url": f"{home}/-/jobs/{doc.get('build_id')}" if home and doc.get("build_id") else None,
        }  # fmt: skip
        yield CI_RUNS.name, [finish_row(row, source_file, f"gitlab-{doc.get('pipeline_id')}")]
        return
    if kind == "deployment":
        raise ParseError(
            "GitLab deployment hook: deployment records belong under deployments/, not ci/"
        )
    raise ParseError(
        f"GitLab {kind} hook: not a CI run record (ci_runs takes pipeline and build/job hooks); "
        "nothing ingested from it"
    )


# --- Cloud Build ------------------------------------------------------------------------------


_PROVENANCE_MARKERS = (b'"builtArtifacts"', b'"provenance_summary"', b'"predicateType"')


def detect_cloudbuild(sniff: Sniff) -> bool:
    if not sniff.looks_json:
        return False
    if sniff.contains(b'"message"', b'"buildId"'):  # Pub/Sub push envelope
        return True
    # Build provenance (an attestation) repeats a build's fields; it belongs to ci_attestations.
    if any(sniff.contains(m) for m in _PROVENANCE_MARKERS):
        return False
    return sniff.contains(b'"createTime"') and any(
        sniff.contains(m) for m in (b'"logUrl"', b'"buildTriggerId"', b'"logsBucket"', b'"steps"')
    )


def _unwrap_build(doc: Any) -> dict:
    """The Build resource inside a Pub/Sub push envelope or a CloudEvent, or the doc itself."""
    if isinstance(doc, dict) and isinstance(doc.get("message"), dict):
        encoded = doc["message"].get("data")
        if not encoded:
            raise ParseError("Pub/Sub envelope without message.data (the Build resource)")
        doc = load_base64_json(encoded, "message.data")
    if isinstance(doc, dict) and "specversion" in doc and isinstance(doc.get("data"), dict):
        doc = doc["data"]
    if not isinstance(doc, dict):
        raise ParseError("a Cloud Build message is a JSON object (the Build resource)")
    return doc


def parse_cloudbuild(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    build = _unwrap_build(load_json(data))
    subs = build.get("substitutions") or {}
    source = build.get("source") or {}
    repo_source = source.get("repoSource") or {}
    resolved = (build.get("sourceProvenance") or {}).get("resolvedRepoSource") or {}
    git_source = source.get("gitSource") or {}
    built = [i for i in (build.get("results") or {}).get("images") or [] if isinstance(i, dict)]
    image_name = built[0].get("name") if built else ((build.get("images") or [None])[0])
    image_tag = (
        image_name.rsplit(":", 1)[1]
        if image_name and ":" in image_name.rsplit("/", 1)[-1]
        else None
    )
    steps = [s for s in build.get("steps") or [] if isinstance(s, dict)]
    trigger_name = subs.get("TRIGGER_NAME")
    row = {
        "provider": "cloudbuild",
        "event": "cloudbuild",
        "provider_run_id": build.get("id"),
        "pipeline": trigger_name or build.get("buildTriggerId") or build.get("projectId"),
        "repo": subs.get("REPO_FULL_NAME") or subs.get("REPO_NAME") or repo_source.get("repoName")
        or git_source.get("url"),
        "commit_sha": subs.get("COMMIT_SHA") or resolved.get("commitSha")
        or repo_source.get("commitSha"),
        "branch": subs.get("BRANCH_NAME") or repo_source.get("branchName"),
        "trigger": "trigger" if build.get("buildTriggerId") else "manual",
        "status": normalise_status(build.get("status")),
        "status_raw": build.get("status"),
        "created_at": parse_time(build.get("createTime")),
        "started_at": parse_time(build.get("startTime")),
        "finished_at": parse_time(build.get("finishTime")),
        "updated_at": parse_time(build.get("finishTime")) or parse_time(build.get("startTime"))
        or parse_time(build.get("createTime")),
        "stages": to_json(
            [stage(s.get("id") or s.get("name"), s.get("status"),
                    (s.get("timing") or {}).get("startTime"),
                    (s.get("timing") or {}).get("endTime"), image=s.get("name"))
             for s in steps]
        ) if steps else None,
        "image_name": image_name.rsplit(":", 1)[0] if image_tag else image_name,
        "image_tag": image_tag,
        "image_digest": built[0].get("digest") if built else None,
        "url": build.get("logUrl"),
    }  # fmt: skip
    yield CI_RUNS.name, [finish_row(row, source_file, build.get("id"))]
