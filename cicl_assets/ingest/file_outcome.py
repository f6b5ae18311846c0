"""One landing file -> its outcome: read under the size cap and time limit, skipped when its
content was already ingested, parsed into spool files, or rejected saying why.

``process_file`` runs in the run's process or in a worker process (``ingest.workers``); it never
raises. ``lost_file`` is the outcome of a file whose worker died or hung.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cicl_assets.gcs import use_cloud_clients
from cicl_assets.ingest.spool import Reject, parse_to_spool
from cicl_assets.ingest.workers import Lost
from cicl_assets.landing.zone import (
    REGULAR,
    SPECIAL_FILES,
    FileTooLargeError,
    LandingObject,
    LandingZone,
    UnsafePathError,
)
from cicl_assets.settings import CloudClients, cloud_clients

if TYPE_CHECKING:
    from cicl_assets.ingest.runner import StreamSpec

_ONLY_REGULAR = "; only regular files are read: put the file itself there, not a link or pipe"


@dataclass
class FileOutcome:
    source_file: str
    digest: str | None
    size: int
    status: str  # ingested | rejected | already_ingested | same_content_as_ingested
    detected_format: str | None = None
    error: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    spools: dict[str, list[str]] = field(default_factory=dict)


def ingest_key(source_file: str, digest: str | None) -> str:
    """What makes a landing file 'already ingested': its path and its content."""
    return f"{source_file}#{digest}"


@dataclass(frozen=True)
class RunSetup:
    """What every file of one run needs; sent once to each worker process."""

    stream: StreamSpec
    landing: LandingZone
    known_keys: frozenset[str]
    read_timeout_s: float
    # Taken in the parent: workers must not build cloud clients from their own, older environment.
    cloud: CloudClients = field(default_factory=cloud_clients)


@dataclass(frozen=True)
class FileTask:
    obj: LandingObject
    spool_dir: str


def process_file(setup: RunSetup, task: FileTask, progress: Callable[[Any], None]) -> FileOutcome:
    use_cloud_clients(setup.cloud)
    try:
        return _read_and_parse(setup, task, progress)
    except Exception as exc:  # a fault of the runner itself still costs one file, not the run
        return _unread(setup, task.obj, f"not read: {type(exc).__name__}: {exc}")


def _unread(setup: RunSetup, obj: LandingObject, reason: str, retry: bool = False) -> FileOutcome:
    """A file rejected before its content was read. Without a digest it is keyed by path, size
    and time, so an unchanged file is not rejected again on every run; ``retry`` (a timeout, a
    file that vanished) records nothing, so the next run tries again."""
    key = None if retry else f"unread:{obj.path}:{obj.size}:{obj.updated:.0f}"
    if key and ingest_key(obj.path, key) in setup.known_keys:
        return FileOutcome(obj.path, key, obj.size, "already_ingested")
    return FileOutcome(obj.path, key, obj.size, "rejected", "unknown", f"{obj.path}: {reason}")


def _read_and_parse(
    setup: RunSetup, task: FileTask, progress: Callable[[Any], None]
) -> FileOutcome:
    stream, obj = setup.stream, task.obj
    path = obj.path
    if obj.kind != REGULAR:
        hint = _ONLY_REGULAR if obj.kind in SPECIAL_FILES else ""
        return _unread(setup, obj, f"not read: a {obj.kind}{hint}")
    try:
        data = setup.landing.read_bytes(path, stream.max_file_bytes, setup.read_timeout_s)
    except UnsafePathError as exc:
        return _unread(setup, obj, f"not read: {exc}; rename the file")
    except FileTooLargeError as exc:
        return _unread(setup, obj, str(exc))
    except (TimeoutError, FileNotFoundError) as exc:
        why = "it vanished after it was listed" if isinstance(exc, FileNotFoundError) else exc
        return _unread(setup, obj, f"cannot read ({why}); tried again next run", retry=True)
    except OSError as exc:
        return _unread(setup, obj, f"cannot read ({exc})")
    digest = hashlib.sha256(data).hexdigest()
    if ingest_key(path, digest) in setup.known_keys:
        return FileOutcome(path, digest, len(data), "already_ingested")
    if stream.dedupe_content and digest in setup.known_keys:
        return FileOutcome(path, digest, len(data), "same_content_as_ingested")
    read = {"digest": digest, "size": len(data)}
    progress(read)
    try:
        fmt, rows, spools = parse_to_spool(
            stream, data, path, task.spool_dir, lambda name: progress({**read, "format": name})
        )
    except Reject as exc:
        shutil.rmtree(task.spool_dir, ignore_errors=True)
        return FileOutcome(
            path, digest, len(data), "rejected", exc.fmt, f"{path}: {exc.fmt}: {exc.message}"
        )
    return FileOutcome(path, digest, len(data), "ingested", fmt, None, rows, spools)


def lost_file(setup: RunSetup, task: FileTask, lost: Lost) -> FileOutcome:
    """The outcome of a file whose parser process died or hung."""
    if lost.timed_out:
        reason = f"no data within {deadline_s(setup):.0f} s, the read was stopped"
        return _unread(setup, task.obj, f"cannot read ({reason}); tried again next run", True)
    done = lost.progress or {}
    why = f"parser crashed: the parser process {lost.reason} while working on this file"
    if "SIGKILL" in lost.reason:
        why += " (often the out-of-memory killer: the file may need more memory than it has)"
    why += "; the rest of the batch went on, and the file is read again only once it changes"
    if "digest" not in done:
        return _unread(setup, task.obj, why)
    fmt = done.get("format", "unknown")
    path = task.obj.path
    return FileOutcome(path, done["digest"], done["size"], "rejected", fmt, f"{path}: {fmt}: {why}")


def deadline_s(setup: RunSetup) -> float:
    # The worker gives up reading after read_timeout_s; the parent stops a worker stuck in a
    # system call (a hung network mount) a little later.
    return setup.read_timeout_s + 30


def no_progress(_value: Any) -> None:
    pass
