"""GitHub push webhooks and GitLab push hooks -> ``commit_pushes`` (one row per commit).

Both carry the pushed commits with their author, timestamp and message; GitHub also says when
the push reached it (``repository.pushed_at``, epoch seconds in push payloads). Messages are cut
to their first line and redacted: a commit message can quote a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cicl_assets.deployments.fields import checked_commit
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import load_json_object
from cicl_assets.ingest.redact import redact_text
from cicl_assets.ingest.values import checked_time, require_time

MESSAGE_CAP = 300

_GH_PUSHER = re.compile(rb'"pusher"\s*:\s*\{')
_GH_COMMITS = re.compile(rb'"commits"\s*:\s*\[')
_GL_PUSH = re.compile(rb'"object_kind"\s*:\s*"push"')
_DEPLOYMENT = re.compile(rb'"deployment"\s*:\s*\{')


def detect_github_push(sniff: Sniff) -> bool:
    return (
        sniff.looks_json
        and _GH_PUSHER.search(sniff.head) is not None
        and _GH_COMMITS.search(sniff.head) is not None
        and _DEPLOYMENT.search(sniff.head) is None
    )


def detect_gitlab_push(sniff: Sniff) -> bool:
    return sniff.looks_json and _GL_PUSH.search(sniff.head) is not None


def first_line(message: object) -> str | None:
    if not isinstance(message, str) or not message.strip():
        return None
    line = message.strip().splitlines()[0].strip()
    return redact_text(line[:MESSAGE_CAP])


def _branch(ref: object) -> str | None:
    if not isinstance(ref, str) or not ref:
        return None
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _author(commit: dict[str, Any]) -> str | None:
    author = commit.get("author")
    if not isinstance(author, dict):
        return None
    return author.get("username") or author.get("name") or author.get("email")


def _commits(doc: dict[str, Any]) -> list[dict[str, Any]]:
    commits = doc.get("commits")
    if not isinstance(commits, list):
        raise ParseError("'commits' is not a list of commits")
    for i, commit in enumerate(commits):
        if not isinstance(commit, dict):
            raise ParseError(f"commits[{i}] is not an object")
    return commits


def _rows(
    doc: dict[str, Any],
    commits: list[dict[str, Any]],
    repo: str | None,
    pushed_at: Any,
    provider: str,
    source_file: str,
) -> list[dict[str, Any]]:
    if not repo:
        raise ParseError("the push names no repository (repository.full_name / project path)")
    branch = _branch(doc.get("ref"))
    rows = []
    for i, commit in enumerate(commits):
        sha = checked_commit(commit.get("id"), f"commits[{i}].id")
        if sha is None:
            raise ParseError(f"commits[{i}] has no id")
        rows.append(
            {
                "sha": sha,
                "repo": repo,
                "branch": branch,
                "author": _author(commit),
                "committed_at": require_time(commit.get("timestamp"), f"commits[{i}].timestamp"),
                "pushed_at": pushed_at,
                "message": first_line(commit.get("message")),
                "provider": provider,
                "source_file": source_file,
            }
        )
    return rows


def parse_github_push(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict]]]:
    doc = load_json_object(data)
    repo = doc.get("repository") if isinstance(doc.get("repository"), dict) else {}
    pushed_at = checked_time(repo.get("pushed_at"), "repository.pushed_at")
    rows = _rows(doc, _commits(doc), repo.get("full_name"), pushed_at, "github", source_file)
    yield "commit_pushes", rows


def parse_gitlab_push(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict]]]:
    doc = load_json_object(data)
    project = doc.get("project") if isinstance(doc.get("project"), dict) else {}
    rows = _rows(
        doc, _commits(doc), project.get("path_with_namespace"), None, "gitlab", source_file
    )
    yield "commit_pushes", rows
