"""The outbox is create-only: a local folder and a git branch (gs:// runs on the emulator in
tests/integration/test_outbox_gcs.py)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from cicl_assets.outbox import (
    AlreadyPublished,
    GcsPrefix,
    GitBranch,
    LocalFolder,
    open_outbox,
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(params=["local", "git"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalFolder(tmp_path / "outbox")
    repo = tmp_path / "outbox.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    return GitBranch(repo, "cicl-audit-chain")


def test_create_read_list(store):
    assert store.list("audit-chain") == []
    assert store.create("audit-chain/loc/c1/genesis.json", b"{}\n") is True
    assert store.create("audit-chain/loc/c1/heads/000000000001.json", b"1") is True
    assert store.create("other/x.json", b"x") is True
    assert store.read("audit-chain/loc/c1/genesis.json") == b"{}\n"
    assert store.list("audit-chain/loc") == [
        "audit-chain/loc/c1/genesis.json",
        "audit-chain/loc/c1/heads/000000000001.json",
    ]
    assert store.list("audit-chain/elsewhere") == []


def test_an_object_is_never_replaced(store):
    assert store.create("a/b.json", b"first") is True
    assert store.create("a/b.json", b"first") is False  # a retried publication
    with pytest.raises(AlreadyPublished, match=r"a/b\.json already exists with other content"):
        store.create("a/b.json", b"second")
    assert store.read("a/b.json") == b"first"


@pytest.mark.parametrize("name", ["../escape.json", "/abs.json", "a/./b.json", "a//b", ""])
def test_names_stay_inside_the_outbox(store, name):
    with pytest.raises(ValueError, match="is not an outbox name"):
        store.create(name, b"x")


def test_a_local_object_is_read_only_and_whole(tmp_path):
    store = LocalFolder(tmp_path)
    store.create("a/b.json", b"data")
    mode = (tmp_path / "a" / "b.json").stat().st_mode
    assert stat.S_IMODE(mode) == 0o444
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.json"]


def test_git_makes_one_commit_per_object_on_its_branch_only(tmp_path):
    repo = tmp_path / "platform.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    store = GitBranch(repo, "cicl-audit-chain")
    for n in range(3):
        store.create(f"audit-chain/h/{n}.json", str(n).encode())
    store.create("audit-chain/h/0.json", b"0")  # the same bytes again: no new commit
    log = _git(repo, "log", "--format=%s %an", "cicl-audit-chain").splitlines()
    assert log == [f"publish audit-chain/h/{n}.json cicl" for n in (2, 1, 0)]
    # every commit has the one before it as its only parent: the branch only moved forward
    parents = _git(repo, "rev-list", "--parents", "cicl-audit-chain").splitlines()
    assert [len(line.split()) for line in parents] == [2, 2, 1]
    assert _git(repo, "branch", "--list").split() == ["cicl-audit-chain"]


def test_git_starts_again_when_another_writer_moved_the_branch(tmp_path, monkeypatch):
    repo = tmp_path / "platform.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    store, other = GitBranch(repo, "b"), GitBranch(repo, "b")
    store.create("x/1.json", b"1")
    real_git = GitBranch._git
    interrupted = []

    def racing(self, *args, **kwargs):
        if args[0] == "update-ref" and self is store and not interrupted:
            interrupted.append(True)
            other.create("x/2.json", b"2")  # lands between our read of the tip and our move
        return real_git(self, *args, **kwargs)

    monkeypatch.setattr(GitBranch, "_git", racing)
    store.create("x/3.json", b"3")
    assert interrupted == [True]
    assert store.list("x") == ["x/1.json", "x/2.json", "x/3.json"]
    assert _git(repo, "log", "--format=%s", "b").splitlines() == [
        "publish x/3.json",
        "publish x/2.json",
        "publish x/1.json",
    ]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (".cicl/outbox", LocalFolder(Path(".cicl/outbox"))),
        ("gs://evidence/cicl/", GcsPrefix("evidence", "cicl")),
        ("gs://evidence", GcsPrefix("evidence", "")),
        ("git+file:///srv/platform.git", GitBranch(Path("/srv/platform.git"), "heads")),
    ],
)
def test_the_outbox_uri_picks_the_store(uri, expected):
    assert open_outbox(uri, git_branch="heads") == expected
