"""Writes GitHub push webhooks under `deployments/pushes/`: the pushes to workflow-runtime's main
branch that its CI runs built, so the runtime's lead time for changes runs from real commits.

Each push carries two commits: a work commit and, on top of it, the commit the CI run built.
The other services' repositories send no push hooks in the demo; their lead times fall back to
when a CI run first named the deployed commit, and say so.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from demo.ci_files import iso
from demo.deployment_files import GITHUB_REPO
from demo.history_plan import CiRun, sha1_of
from demo.landing_writer import WrittenFile, write_file

SERVICE = "workflow-runtime"
# Before the CI run starts: the work commit, the built commit, the push.
WORK_COMMIT_BEFORE = timedelta(hours=2, minutes=30)
HEAD_COMMIT_BEFORE = timedelta(minutes=20)
PUSHED_BEFORE = timedelta(minutes=2)
MESSAGES = (
    "Runtime: tighten step timeouts",
    "Runtime: provider retry budget per workflow",
    "Runtime: trace attributes for tool calls",
    "Runtime: draft-reply prompt tweaks",
)


def pushed_runs(runs: list[CiRun]) -> list[CiRun]:
    """The runtime's runs on main (everyday builds and releases), oldest first."""
    return sorted(
        (r for r in runs if r.service == SERVICE and r.kind in ("main", "release")),
        key=lambda r: (r.started, r.run_id),
    )


def work_commit(run: CiRun) -> str:
    return sha1_of("work", run.commit)


def _commit(sha: str, at: Any, message: str, author: str) -> dict[str, Any]:
    login = author.split("@", 1)[0].replace(".", "-")
    person = {"name": login, "email": author, "username": login}
    return {
        "id": sha,
        "tree_id": sha1_of("tree", sha),
        "distinct": True,
        "message": message,
        "timestamp": iso(at),
        "url": f"{GITHUB_REPO['html_url']}/commit/{sha}",
        "author": person,
        "committer": person,
        "added": [],
        "removed": [],
        "modified": ["runtime/src/engine.rs"],
    }


def push_payload(run: CiRun, before: str, index: int) -> dict[str, Any]:
    pushed = run.started - PUSHED_BEFORE
    message = MESSAGES[index % len(MESSAGES)]
    return {
        "ref": "refs/heads/main",
        "before": before,
        "after": run.commit,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"{GITHUB_REPO['html_url']}/compare/{before[:12]}...{run.commit[:12]}",
        "commits": [
            _commit(work_commit(run), run.started - WORK_COMMIT_BEFORE, message, run.actor),
            _commit(run.commit, run.started - HEAD_COMMIT_BEFORE, f"{message} (tests)", run.actor),
        ],
        "repository": {**GITHUB_REPO, "pushed_at": int(pushed.timestamp())},
        "pusher": {"name": run.actor.split("@", 1)[0], "email": run.actor},
        "sender": {"login": run.actor.split("@", 1)[0].replace(".", "-"), "type": "User"},
    }


def write_pushes(root: Path, runs: list[CiRun]) -> list[WrittenFile]:
    written = []
    before = "0" * 40
    for index, run in enumerate(pushed_runs(runs)):
        name = f"deployments/pushes/{run.started - PUSHED_BEFORE:%Y-%m-%dT%H%MZ}-{run.run_id}.json"
        data = orjson.dumps(push_payload(run, before, index), option=orjson.OPT_INDENT_2) + b"\n"
        written.append(write_file(root, name, data))
        before = run.commit
    return written
