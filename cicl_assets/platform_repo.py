"""The platform repository: the git repository holding what candidates change.

Layout: ``workflows/<name>.yaml``, ``routing/model_groups.yaml`` (LiteLLM model groups),
``runbooks/<topic>.md``, ``tests/quarantine.yaml``. cicl reads the commit HEAD names and the
history of a file, creates release branches and pushes them; it never rewrites history (no
reset, no forced update, no rebase, no branch moved).

git is run as a subprocess rather than through a binding: no dependency beyond the git the
machine already has, exactly the semantics of the git command a person would type to check a
result, and a deadline on every call (``timeout_s``), which a library call cannot be given.

A local path or ``file://`` URL is read in place. Any other URL git understands is mirrored into
``mirror_dir`` (``git clone --mirror``, then ``git fetch`` before each read of HEAD); a token,
when given, reaches git as an HTTP header through ``GIT_CONFIG_*`` variables, never on a command
line another process could list.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_TIMEOUT_S = 60.0
FILE_SCHEME = "file://"
WORKFLOWS = "workflows"
MODEL_GROUPS = "routing/model_groups.yaml"
RUNBOOKS = "runbooks"
QUARANTINE = "tests/quarantine.yaml"
_SEP = "\x1f"


class PlatformRepoError(RuntimeError):
    """The platform repository cannot be read; the message says which command and why."""


@dataclass(frozen=True)
class FileCommit:
    """A commit that changed a file: its id, when it was committed, and its subject line."""

    commit: str
    at: datetime
    subject: str


def is_local(uri: str) -> bool:
    return uri.startswith(FILE_SCHEME) or ("://" not in uri and not _scp_like(uri))


def _scp_like(uri: str) -> bool:
    # git@host:org/repo.git: git's scp-like syntax (a colon before any slash)
    head = uri.split("/", 1)[0]
    return ":" in head and not (len(head) == 2 and head[1] == ":")


@dataclass(frozen=True)
class PlatformRepo:
    """One platform repository; ``git_dir`` is where git runs (the repository or its mirror)."""

    uri: str
    git_dir: Path | None
    remote: bool = False
    token: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    def git(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> str:
        done = self.run(*args, input=input, env=env)
        if check and done.returncode != 0:
            why = done.stderr.decode(errors="replace").strip()
            raise PlatformRepoError(f"{self.uri}: git {' '.join(args[:2])} failed: {why}")
        return done.stdout.decode() if done.returncode == 0 else ""

    def run(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """git ``args`` in this repository, whatever its exit status (``env`` adds variables,
        e.g. a temporary index)."""
        git = shutil.which("git")
        if git is None:
            raise PlatformRepoError(f"{self.uri}: git is not installed")
        try:
            return subprocess.run(
                [git, *(["--git-dir", str(self.git_dir)] if self.git_dir else []), *args],
                capture_output=True,
                input=input,
                env={**self._env(git), **(env or {})},
                timeout=self.timeout_s,
                check=False,
                cwd=os.path.abspath(os.sep),
            )
        except subprocess.TimeoutExpired:
            raise PlatformRepoError(
                f"{self.uri}: git {args[0]} did not finish within {self.timeout_s:g}s"
            ) from None

    def _env(self, git: str) -> dict[str, str]:
        # Nothing from the process environment (the settings layer alone reads it): git, and
        # the ssh it may start, are found beside git and on the system's default path.
        env = {"PATH": f"{os.path.dirname(git)}:{os.defpath}", "GIT_TERMINAL_PROMPT": "0"}
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0="http.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            )
        return env

    def refresh(self) -> None:
        """Bring a mirror up to date with its remote (a local repository is read in place)."""
        if self.remote:
            self.git("fetch", "--prune", "origin")

    def head(self) -> str:
        """The commit HEAD names."""
        return self.git("rev-parse", "--verify", "HEAD^{commit}").strip()

    def blob(self, path: str, commit: str) -> str | None:
        """The blob id of ``path`` at ``commit``, or None when the file is not there."""
        out = self.git("rev-parse", "--verify", "-q", f"{commit}:{path}", check=False).strip()
        return out or None

    def read(self, path: str, commit: str) -> str | None:
        """The text of ``path`` at ``commit``, or None when the file is not there."""
        if self.blob(path, commit) is None:
            return None
        return self.git("cat-file", "blob", f"{commit}:{path}")

    def list(self, folder: str, commit: str) -> list[str]:
        """Paths of the files under ``folder`` at ``commit``, sorted."""
        out = self.git("ls-tree", "-r", "--name-only", commit, "--", folder.rstrip("/") + "/")
        return sorted(line for line in out.splitlines() if line)

    def history(self, path: str, commit: str, limit: int = 20) -> list[FileCommit]:
        """The commits up to ``commit`` that changed ``path``, newest first."""
        out = self.git("log", f"-{limit}", f"--format=%H{_SEP}%ct{_SEP}%s", commit, "--", path)
        found = []
        for line in out.splitlines():
            sha, at, subject = line.split(_SEP, 2)
            found.append(FileCommit(sha, datetime.fromtimestamp(int(at), UTC), subject))
        return found

    def branch_tip(self, branch: str) -> str | None:
        """The commit ``branch`` names, or None when there is no such branch."""
        out = self.git(
            "rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}", check=False
        )
        return out.strip() or None

    def create_branch(self, branch: str, commit: str) -> None:
        """Create ``branch`` at ``commit``; refused when the branch exists (never moved)."""
        self.git("update-ref", f"refs/heads/{branch}", commit, "0" * 40)

    def push(self, branch: str) -> None:
        """Push ``branch`` to the remote, never forced: the remote refuses anything but a new
        branch or a fast-forward."""
        self.git("push", "--quiet", self.uri, f"refs/heads/{branch}:refs/heads/{branch}")

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        """Whether ``ancestor`` is ``commit`` or one of its ancestors; False when either commit
        is unknown here."""
        done = self.run("merge-base", "--is-ancestor", ancestor, commit)
        if done.returncode in (0, 1):
            return done.returncode == 0
        return False


def open_platform_repo(
    uri: str,
    mirror_dir: Path,
    token: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> PlatformRepo:
    """The repository ``uri`` names, ready to read: a local one in place, a remote one through
    its mirror under ``mirror_dir`` (cloned on first use, fetched afterwards)."""
    # git runs from the root folder (no working-tree surprises), so every path it is given is
    # made absolute here: `.cicl/platform` is the demo's, relative to where cicl started.
    if is_local(uri):
        path = Path(uri[len(FILE_SCHEME) :] if uri.startswith(FILE_SCHEME) else uri).absolute()
        git_dir = path / ".git" if (path / ".git").exists() else path
        if not (git_dir / "HEAD").is_file():
            raise PlatformRepoError(f"{uri}: not a git repository")
        return PlatformRepo(uri, git_dir, timeout_s=timeout_s)
    return mirror(uri, mirror_dir, token, timeout_s)


def mirror(
    uri: str, mirror_dir: Path, token: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> PlatformRepo:
    """``uri`` read through a mirror at ``mirror_dir``: cloned on first use, fetched after."""
    mirror_dir = mirror_dir.absolute()
    repo = PlatformRepo(uri, mirror_dir, remote=True, token=token, timeout_s=timeout_s)
    if not (mirror_dir / "HEAD").is_file():
        mirror_dir.parent.mkdir(parents=True, exist_ok=True)
        PlatformRepo(uri, None, token=token, timeout_s=timeout_s).git(
            "clone", "--mirror", "--quiet", uri, str(mirror_dir)
        )
    else:
        repo.refresh()
    return repo
