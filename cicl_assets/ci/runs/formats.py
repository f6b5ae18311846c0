"""Pipeline run records -> ``ci_runs``.

Sources: cicl-native ``run.json`` (``cicl.ci_run/v1``), GitHub ``workflow_run`` and
``workflow_job`` webhooks, GitLab Pipeline and Job hooks, and Cloud Build ``Build`` resources
(the data of a cloud-builds Pub/Sub message, bare, in a push envelope or a CloudEvent). Other
webhook events found under ``ci/`` (push, pull_request, deployment...) are refused by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cicl_assets.ci.runs.records import (
    CI_RUNS,
    RUN_STATUSES,
    finish_row,
    normalise_status,
    stage,
)
from cicl_assets.ci.runs.webhooks import (
    detect_cloudbuild,
    detect_github,
    detect_gitlab,
    parse_cloudbuild,
    parse_github,
    parse_gitlab,
)
from cicl_assets.ci.values import to_json
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat, ParsedRows
from cicl_assets.ingest.json_documents import json_documents
from cicl_assets.ingest.values import checked_digest, checked_time
from cicl_assets.warehouse.tables import TableSpec

__all__ = ["CI_RUNS", "FORMATS", "RUN_STATUSES", "TABLES", "normalise_status"]

# --- cicl.ci_run/v1 ---------------------------------------------------------------------------

CICL_RUN_KIND = "cicl.ci_run/v1"


def detect_cicl_run(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(CICL_RUN_KIND.encode())


def _cicl_row(doc: Any, source_file: str, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("kind") != CICL_RUN_KIND:
        raise ParseError(f"{where}not a {CICL_RUN_KIND} document (kind={_kind_of(doc)!r})")
    raw = doc.get("status")
    status = normalise_status(raw)
    if status is None:
        raise ParseError(f"{where}status {raw!r} is not one of {', '.join(RUN_STATUSES)}")
    if not doc.get("pipeline"):
        raise ParseError(f"{where}'pipeline' is missing")
    image = doc.get("image") or {}
    if not isinstance(image, dict):
        raise ParseError(f"{where}'image' must be an object with name, tag, digest")
    digest = checked_digest(image.get("digest"), f"{where}image.digest")
    stages = doc.get("stages") or []
    if not isinstance(stages, list):
        raise ParseError(f"{where}'stages' must be a list")
    for i, s in enumerate(stages):
        if not isinstance(s, dict) or not s.get("name"):
            raise ParseError(f"{where}stages[{i}] needs a name")
        for key in ("started_at", "finished_at"):
            checked_time(s.get(key), f"{where}stages[{i}].{key}")
    row = {
        "provider": "cicl",
        "event": CICL_RUN_KIND,
        "provider_run_id": doc.get("pipeline_run_id"),
        "pipeline": doc.get("pipeline"),
        "repo": doc.get("repo"),
        "commit_sha": doc.get("commit"),
        "branch": doc.get("branch"),
        "trigger": doc.get("trigger"),
        "status": status,
        "status_raw": raw,
        "started_at": checked_time(doc.get("started_at"), f"{where}started_at"),
        "finished_at": checked_time(doc.get("finished_at"), f"{where}finished_at"),
        "updated_at": checked_time(doc.get("finished_at"), f"{where}finished_at")
        or checked_time(doc.get("started_at"), f"{where}started_at"),
        "stages": to_json(
            [stage(s["name"], s.get("status"), s.get("started_at"), s.get("finished_at"))
             for s in stages]
        ) if stages else None,
        "image_name": image.get("name"),
        "image_tag": image.get("tag"),
        "image_digest": digest,
        "actor": doc.get("actor"),
        "url": doc.get("url"),
    }  # fmt: skip
    return finish_row(row, source_file, doc.get("pipeline_run_id"))


def parse_cicl_run(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    docs = json_documents(data)
    yield (
        CI_RUNS.name,
        [
            _cicl_row(doc.value, source_file, f"{doc.where}: " if len(docs) > 1 else "")
            for doc in docs
        ],
    )


def _kind_of(doc: Any) -> Any:
    return doc.get("kind") if isinstance(doc, dict) else type(doc).__name__


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("cicl-ci-run", detect_cicl_run, parse_cicl_run),
    FileFormat("github-webhook", detect_github, parse_github),
    FileFormat("gitlab-webhook", detect_gitlab, parse_gitlab),
    FileFormat("cloudbuild-build", detect_cloudbuild, parse_cloudbuild),
)
TABLES: tuple[TableSpec, ...] = (CI_RUNS,)
