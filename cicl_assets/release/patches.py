"""Candidates' diffs applied with git on a temporary index (no working tree, so a bare mirror
works too), and the hunks between two trees, as git itself computes them."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cicl_assets.platform_repo import PlatformRepo

AUTHOR = ("cicl", "cicl@noreply.invalid")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass
class Applied:
    """The tree the applicable diffs give, which candidates made it, and why others did not."""

    tree: str
    applied: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _first_line(text: bytes) -> str:
    lines = [line for line in text.decode(errors="replace").splitlines() if line.strip()]
    return lines[0].strip() if lines else "git apply refused it"


def apply_in_order(repo: PlatformRepo, base: str, patches: Sequence[tuple[str, str]]) -> Applied:
    """Apply ``(candidate id, diff)`` pairs in order onto ``base``; a diff that does not apply
    (after those before it) is skipped with git's reason, and the others still apply."""
    with tempfile.TemporaryDirectory(prefix="cicl-release-") as tmp:
        env = {"GIT_INDEX_FILE": f"{tmp}/index"}
        repo.git("read-tree", base, env=env)
        done = Applied(tree="")
        for cid, diff in patches:
            data = diff.encode()
            check = repo.run("apply", "--cached", "--check", "-", input=data, env=env)
            if check.returncode != 0:
                done.skipped[cid] = (
                    f"its diff no longer applies to {base[:12]}: {_first_line(check.stderr)}"
                )
                continue
            repo.git("apply", "--cached", "--whitespace=nowarn", "-", input=data, env=env)
            done.applied.append(cid)
        done.tree = repo.git("write-tree", env=env).strip()
    return done


def commit_tree(repo: PlatformRepo, tree: str, parent: str, message: str, at: datetime) -> str:
    """A commit of ``tree`` on ``parent``, by cicl at ``at``."""
    stamp = f"{int(at.timestamp())} +0000"
    env = {
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_NAME": AUTHOR[0],
        "GIT_COMMITTER_EMAIL": AUTHOR[1],
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
    }
    return repo.git("commit-tree", tree, "-p", parent, "-F", "-", input=message.encode(), env=env)


def tree_of(repo: PlatformRepo, commit: str) -> str:
    return repo.git("rev-parse", "--verify", f"{commit}^{{tree}}").strip()


@dataclass(frozen=True)
class Hunk:
    """One hunk of a diff: the file, its @@ header and its changed lines."""

    path: str
    header: str
    lines: tuple[str, ...]

    def describe(self, limit: int = 3) -> str:
        shown = "; ".join(self.lines[:limit])
        more = f" (+{len(self.lines) - limit} more lines)" if len(self.lines) > limit else ""
        return f"{self.path} {self.header}: {shown}{more}"


def hunks(repo: PlatformRepo, old: str, new: str) -> list[Hunk]:
    """The hunks (no context lines) that turn tree-ish ``old`` into ``new``."""
    out = repo.git(
        "diff", "--no-color", "--no-ext-diff", "--no-renames", "--unified=0", old, new, "--"
    )
    found: list[Hunk] = []
    for block in re.split(r"^(?=diff --git )", out, flags=re.M):
        if not block.startswith("diff --git "):
            continue
        head, *rest = block.splitlines()
        path = head.split(" b/", 1)[-1]
        header, lines, meta = "", [], []
        for line in rest:
            match = _HUNK.match(line)
            if match:
                if header:
                    found.append(Hunk(path, header, tuple(lines)))
                header, lines = match.group(0), []
            elif header and line[:1] in ("+", "-"):
                lines.append(line)
            elif not header and not line.startswith(("index ", "--- ", "+++ ")):
                meta.append(line.strip())
        if header:
            found.append(Hunk(path, header, tuple(lines)))
        elif meta:
            # a change without text hunks: a mode change, a binary file, an empty new file
            found.append(Hunk(path, meta[0], tuple(meta[1:])))
    return found


def reverse_applied(repo: PlatformRepo, commit: str, diff: str, path: str) -> str | None:
    """The text of ``path`` at ``commit`` with ``diff`` taken back; None when the reverse does
    not apply there (the change is not in that commit) or removes the file."""
    with tempfile.TemporaryDirectory(prefix="cicl-revert-") as tmp:
        env = {"GIT_INDEX_FILE": f"{tmp}/index"}
        repo.git("read-tree", commit, env=env)
        data = diff.encode()
        if repo.run("apply", "--cached", "-R", "--check", "-", input=data, env=env).returncode:
            return None
        repo.git("apply", "--cached", "-R", "--whitespace=nowarn", "-", input=data, env=env)
        tree = repo.git("write-tree", env=env).strip()
    if repo.blob(path, tree) is None:
        return None
    return repo.git("cat-file", "blob", f"{tree}:{path}")
