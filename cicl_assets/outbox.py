"""The outbox: where cicl publishes what must outlive the warehouse, create-only.

CICL_OUTBOX_URI is a local folder, ``gs://bucket/prefix`` or ``git+file:///path/to/repo``. A
write always creates a new object and never replaces one:

- local folder: the bytes go to a temporary file that is then hard-linked to its name; like an
  ``O_EXCL`` open, the link fails when the name exists, and a reader never sees half a file;
- Cloud Storage: the upload carries the precondition ``ifGenerationMatch=0`` (no live object of
  that name), so the service refuses to replace an object; a bucket with a locked retention
  policy also refuses to delete one before it ages out;
- git: each object is one commit on a dedicated branch of a local repository, made with git's
  plumbing (no working tree) and moved forward by compare-and-swap of the branch, never forced.

Writing the same bytes again under a name is a no-op (a retried publication); different bytes
under an existing name raise ``AlreadyPublished``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cicl_assets.gcs import storage_client

GIT_SCHEME = "git+file://"
GCS_SCHEME = "gs://"
_NAME = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
_NO_COMMIT = "0" * 40


class AlreadyPublished(Exception):
    """An object of that name exists with other bytes: the outbox is never overwritten."""


class OutboxError(RuntimeError):
    """The outbox cannot be read or written."""


class CreateOnlyStore(Protocol):
    @property
    def uri(self) -> str: ...

    def create(self, name: str, data: bytes) -> bool:
        """Create ``name`` holding ``data``: True when created, False when it already held
        exactly ``data``; AlreadyPublished when it holds anything else."""
        ...

    def read(self, name: str) -> bytes: ...

    def list(self, prefix: str) -> list[str]:
        """Names under the folder ``prefix``, sorted."""
        ...


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name) or any(part in (".", "..") for part in name.split("/")):
        raise ValueError(f"{name!r} is not an outbox name (relative, no . or .. parts)")
    return name


def _same_or_refuse(store: CreateOnlyStore, name: str, data: bytes) -> bool:
    if store.read(name) != data:
        raise AlreadyPublished(f"{store.uri}: {name} already exists with other content")
    return False


@dataclass(frozen=True)
class LocalFolder:
    root: Path

    @property
    def uri(self) -> str:
        return str(self.root)

    def create(self, name: str, data: bytes) -> bool:
        path = self.root / _checked(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".publishing-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o444)
            os.link(tmp, path)
        except FileExistsError:
            return _same_or_refuse(self, name, data)
        finally:
            os.unlink(tmp)
        return True

    def read(self, name: str) -> bytes:
        return (self.root / _checked(name)).read_bytes()

    def list(self, prefix: str) -> list[str]:
        folder = self.root / _checked(prefix.strip("/"))
        if not folder.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".publishing-")
        )


def _content_type(name: str) -> str:
    # Reports open in a browser straight from the bucket; everything else cicl writes is JSON.
    return "text/html; charset=utf-8" if name.endswith(".html") else "application/json"


@dataclass(frozen=True)
class GcsPrefix:
    bucket: str
    prefix: str = ""

    @property
    def uri(self) -> str:
        return f"{GCS_SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, name: str) -> str:
        return f"{self.prefix.strip('/')}/{name}".lstrip("/")

    def create(self, name: str, data: bytes) -> bool:
        from google.api_core import exceptions

        blob = storage_client().bucket(self.bucket).blob(self._key(_checked(name)))
        try:
            blob.upload_from_string(data, content_type=_content_type(name), if_generation_match=0)
        except exceptions.PreconditionFailed:
            return _same_or_refuse(self, name, data)
        return True

    def read(self, name: str) -> bytes:
        blob = storage_client().bucket(self.bucket).blob(self._key(_checked(name)))
        return blob.download_as_bytes()

    def list(self, prefix: str) -> list[str]:
        root = self._key("")
        blobs = storage_client().list_blobs(
            self.bucket, prefix=self._key(_checked(prefix.strip("/"))) + "/"
        )
        return sorted(b.name[len(root) :] for b in blobs if not b.name.endswith("/"))


@dataclass(frozen=True)
class GitBranch:
    """Objects as files on ``branch`` of the local repository ``repo`` (bare or not)."""

    repo: Path
    branch: str

    @property
    def uri(self) -> str:
        return f"{GIT_SCHEME}{self.repo}#{self.branch}"

    def _git(self, *args: str, data: bytes | None = None, env: dict | None = None) -> bytes:
        git = shutil.which("git")
        if git is None:
            raise OutboxError(f"{self.uri}: git is not installed")
        done = subprocess.run(
            [git, "--git-dir", str(self._git_dir()), *args],
            input=data,
            capture_output=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise OutboxError(
                f"{self.uri}: git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}"
            )
        return done.stdout

    def _git_dir(self) -> Path:
        return self.repo / ".git" if (self.repo / ".git").exists() else self.repo

    def _tip(self) -> str | None:
        try:
            return (
                self._git("rev-parse", "--verify", "-q", f"refs/heads/{self.branch}")
                .decode()
                .strip()
            )
        except OutboxError:
            return None

    def _exists(self, tip: str, name: str) -> bool:
        try:
            self._git("cat-file", "-e", f"{tip}:{name}")
        except OutboxError:
            return False
        return True

    def create(self, name: str, data: bytes) -> bool:
        _checked(name)
        for _attempt in range(20):
            tip = self._tip()
            if tip and self._exists(tip, name):
                return _same_or_refuse(self, name, data)
            blob = self._git("hash-object", "-w", "--stdin", data=data).decode().strip()
            with tempfile.TemporaryDirectory(prefix="cicl-git-index-") as tmp:
                env = {
                    "GIT_INDEX_FILE": f"{tmp}/index",
                    "GIT_AUTHOR_NAME": "cicl",
                    "GIT_AUTHOR_EMAIL": "cicl@localhost",
                    "GIT_COMMITTER_NAME": "cicl",
                    "GIT_COMMITTER_EMAIL": "cicl@localhost",
                }
                if tip:
                    self._git("read-tree", tip, env=env)
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
                tree = self._git("write-tree", env=env).decode().strip()
                parents = ["-p", tip] if tip else []
                commit = (
                    self._git("commit-tree", tree, *parents, "-m", f"publish {name}", env=env)
                    .decode()
                    .strip()
                )
            try:
                # Moves the branch only if it still points at `tip`: never forced.
                self._git("update-ref", f"refs/heads/{self.branch}", commit, tip or _NO_COMMIT)
            except OutboxError:
                continue  # another writer moved the branch first: start again from its tip
            return True
        raise OutboxError(f"{self.uri}: the branch kept moving; {name} was not published")

    def read(self, name: str) -> bytes:
        tip = self._tip()
        if tip is None:
            raise FileNotFoundError(f"{self.uri}: no branch {self.branch}")
        return self._git("cat-file", "blob", f"{tip}:{_checked(name)}")

    def list(self, prefix: str) -> list[str]:
        tip = self._tip()
        if tip is None:
            return []
        out = self._git("ls-tree", "-r", "--name-only", tip, "--", _checked(prefix.strip("/")))
        return sorted(line for line in out.decode().splitlines() if line)


def open_outbox(uri: str, git_branch: str) -> CreateOnlyStore:
    """The store ``uri`` names; a git repository's objects go on ``git_branch``."""
    if uri.startswith(GCS_SCHEME):
        bucket, _, prefix = uri[len(GCS_SCHEME) :].partition("/")
        return GcsPrefix(bucket, prefix.strip("/"))
    if uri.startswith(GIT_SCHEME):
        return GitBranch(Path(uri[len(GIT_SCHEME) :]), git_branch)
    return LocalFolder(Path(uri))
