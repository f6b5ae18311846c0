"""One row per commit sha from pushes, CI runs and deployments that name it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_KINDS = ("push", "ci_run", "deployment")


def merge_commits(
    pushes: Iterable[Mapping[str, Any]],
    ci_runs: Iterable[Mapping[str, Any]],
    deployments: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Pushes give commit time, author and message (the earliest push of a sha wins); CI runs
    and deployments add commits no push named, with the time they were first named."""
    by_sha: dict[str, dict[str, Any]] = {}
    for push in sorted(pushes, key=lambda p: (p["committed_at"], p["source_file"] or "")):
        row = by_sha.setdefault(push["sha"], {"sha": push["sha"], "named_by": set()})
        row["named_by"].add("push")
        if "committed_at" not in row:
            row.update(
                {
                    k: push[k]
                    for k in (
                        "repo",
                        "branch",
                        "author",
                        "committed_at",
                        "pushed_at",
                        "message",
                        "source_file",
                    )
                }
            )
    named = [
        ("ci_run", r["commit_sha"], r["started_at"], r.get("repo"), r.get("branch"), r)
        for r in ci_runs
    ] + [
        ("deployment", d["commit_sha"], d["started_at"], d.get("repo"), d.get("ref"), d)
        for d in deployments
    ]
    for kind, sha, at, repo, branch, record in sorted(
        (n for n in named if n[1]), key=lambda n: (n[2] is None, n[2], n[0], n[1])
    ):
        row = by_sha.setdefault(sha, {"sha": sha, "named_by": set()})
        row["named_by"].add(kind)
        if at is not None and (row.get("first_seen_at") is None or at < row["first_seen_at"]):
            row["first_seen_at"] = at
        row.setdefault("repo", repo)
        row.setdefault("branch", branch)
        row.setdefault("source_file", record.get("source_file"))
    rows = []
    for sha in sorted(by_sha):
        row = by_sha[sha]
        seen = [t for t in (row.get("committed_at"), row.get("first_seen_at")) if t is not None]
        rows.append(
            {
                **row,
                "first_seen_at": min(seen) if seen else None,
                "named_by": ",".join(k for k in _KINDS if k in row["named_by"]),
            }
        )
    return rows
