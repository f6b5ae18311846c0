"""Spool folders: where parsed rows wait as Parquet between the parse and the load.

They hold redacted rows, but rows all the same, so they live under the project's state folder
(``<state>/spool``, the state folder being ``CICL_STATE_DIR``), never in the shared temporary folder, and each run
removes its own when it ends or fails. A run that was killed cannot: its folder is named
``<pid>-<stream>-<random>`` and the next run removes every folder whose process is gone, while
a concurrent run's folder (its process alive) is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_OWNED = re.compile(r"^(?P<pid>[0-9]+)-")


def make_spool(root: str | Path, stream: str) -> str:
    """A new spool folder for this process's run of ``stream``; stale ones are removed first."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    remove_stale(root)
    return tempfile.mkdtemp(prefix=f"{os.getpid()}-{stream}-", dir=root)


def remove_stale(root: Path) -> list[str]:
    """Remove the spool folders whose owning process is gone; returns their names."""
    removed = []
    for entry in os.scandir(root):
        owner = _OWNED.match(entry.name)
        if not entry.is_dir(follow_symlinks=False) or owner is None:
            continue
        if not _alive(int(owner["pid"])):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True
