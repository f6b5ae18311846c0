"""Diffs applied in order on a temporary index, the hunks between two trees as git computes
them, and a release branch pushed to a remote without force; real git in tmp_path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cicl_assets.candidates.edits import unified_diff
from cicl_assets.platform_repo import PlatformRepoError, mirror, open_platform_repo
from cicl_assets.release.patches import apply_in_order, commit_tree, hunks, reverse_applied

TEXT = "a: 1\nb: 2\nc: 3\n"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "p", "GIT_AUTHOR_EMAIL": "p@p", "GIT_COMMITTER_NAME": "p",
           "GIT_COMMITTER_EMAIL": "p@p"}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=env, check=True, timeout=60
    ).stdout.decode()


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "f.yaml").write_text(TEXT)
    git(root, "add", "f.yaml")
    git(root, "commit", "-qm", "base")
    return root


def test_diffs_apply_in_order_and_one_that_conflicts_is_skipped_with_gits_reason(repo, tmp_path):
    r = open_platform_repo(str(repo), tmp_path / "m")
    base = r.head()
    first = unified_diff("f.yaml", TEXT, "a: 1\nb: 20\nc: 3\n")
    clash = unified_diff("f.yaml", TEXT, "a: 1\nb: 200\nc: 3\n")
    new_file = unified_diff("g.yaml", None, "x: 1\n")
    done = apply_in_order(r, base, [("one", first), ("two", clash), ("three", new_file)])
    assert done.applied == ["one", "three"]
    assert list(done.skipped) == ["two"]
    assert done.skipped["two"].startswith(f"its diff no longer applies to {base[:12]}: error:")
    assert [(h.path, h.header, h.lines) for h in hunks(r, base, done.tree)] == [
        ("f.yaml", "@@ -2 +2 @@", ("-b: 2", "+b: 20")),
        ("g.yaml", "@@ -0,0 +1 @@", ("+x: 1",)),
    ]
    assert git(repo, "rev-parse", "HEAD").strip() == base  # nothing touched the branch
    assert reverse_applied(r, base, first, "f.yaml") is None  # HEAD does not hold the change


def test_a_branch_is_created_once_and_never_moved(repo, tmp_path):
    r = open_platform_repo(str(repo), tmp_path / "m")
    base = r.head()
    done = apply_in_order(r, base, [("one", unified_diff("f.yaml", TEXT, "a: 9\nb: 2\nc: 3\n"))])
    from datetime import UTC, datetime

    commit = commit_tree(r, done.tree, base, "msg\n", datetime(2026, 1, 1, tzinfo=UTC)).strip()
    r.create_branch("cicl/release-x", commit)
    assert r.branch_tip("cicl/release-x") == commit
    assert r.is_ancestor(base, commit) and not r.is_ancestor(commit, base)
    assert not r.is_ancestor("0" * 40, commit)
    with pytest.raises(PlatformRepoError, match="update-ref"):
        r.create_branch("cicl/release-x", base)
    assert r.branch_tip("cicl/release-x") == commit


def test_a_mirrored_repository_pushes_the_branch_to_its_remote(repo, tmp_path):
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(origin)], check=True)
    r = mirror(str(origin), tmp_path / "mirror.git")
    base = r.head()
    done = apply_in_order(r, base, [("one", unified_diff("f.yaml", TEXT, "a: 9\nb: 2\nc: 3\n"))])
    from datetime import UTC, datetime

    commit = commit_tree(r, done.tree, base, "msg\n", datetime(2026, 1, 1, tzinfo=UTC)).strip()
    r.create_branch("cicl/release-y", commit)
    r.push("cicl/release-y")
    assert git(origin, "rev-parse", "refs/heads/cicl/release-y").strip() == commit
