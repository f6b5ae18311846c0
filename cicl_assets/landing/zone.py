"""Landing zone resource over a local folder or ``gs://bucket/prefix``.

Paths handed out are relative to the landing root with ``/`` separators, in the escaped form of
``landing.names`` (so any file name is valid text); a path that would leave the root (``..``,
absolute, or through a symlinked folder pointing outside) is refused. Listing never fails on
one odd entry: symlinks, FIFOs, sockets and devices are listed with their kind, and only regular
files are ever opened, so the runner can reject the rest with the reason.
"""

from __future__ import annotations

import builtins
import dataclasses
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, TypeVar

import dagster as dg
from pydantic import Field

from cicl_assets.gcs import storage_client
from cicl_assets.ingest.content import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_INFLATED_BYTES
from cicl_assets.ingest.redaction_key import RedactionPolicy, load_redaction_key
from cicl_assets.landing.names import escape, unescape
from cicl_assets.secrets import parse_secret

READ_TIMEOUT_S = 120.0
_READ_CHUNK = 8 * 1024 * 1024
REGULAR = "file"

Stream = TypeVar("Stream")


@dataclass(frozen=True)
class LandingObject:
    path: str  # relative to the landing root, '/'-separated, escaped (landing.names)
    size: int
    updated: float  # seconds since the epoch
    # "file" for a regular file; otherwise what it is ("symbolic link", "named pipe (FIFO)",
    # "folder that cannot be listed", ...): listed so that it can be rejected, never read.
    kind: str = REGULAR
    # What the listing says about this version of the content, without reading it: locally
    # size, mtime (ns) and inode; on Cloud Storage the generation and the stored hash. Equal
    # versions of one path mean unchanged content; None when the listing cannot tell.
    version: str | None = None


class UnsafePathError(ValueError):
    pass


class NotRegularFileError(OSError):
    pass


def _clean_relative(path: str) -> str:
    try:
        raw = unescape(path)
    except ValueError as exc:
        raise UnsafePathError(f"landing path '{path}' is not a landing path ({exc})") from None
    name = os.fsdecode(raw)
    # a backslash is read as a separator too: a name that some tool would take to '..' is refused
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or not pure.parts:
        separator = " (a '\\' counts as a separator)" if "\\" in name else ""
        raise UnsafePathError(f"landing path '{path}' escapes the landing root{separator}")
    return str(PurePosixPath(name))


_KINDS = (
    (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


SPECIAL_FILES = frozenset(kind for _, kind in _KINDS)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return REGULAR
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def _walk(root: Path, top: Path) -> Iterator[LandingObject]:
    """Every entry under ``top`` that is not a folder, without following symlinks."""

    # Every path walked starts with the root's: cutting it off is relpath without its
    # per-call normalising, which a listing of thousands of files paid for each.
    root_prefix = os.path.join(str(root), "")

    def listed(path: str, st: os.stat_result | None, kind: str) -> LandingObject:
        rel = escape(os.fsencode(path[len(root_prefix) :]))
        if st is None:
            return LandingObject(rel, 0, 0.0, kind)
        version = f"local:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        return LandingObject(rel, st.st_size, st.st_mtime, kind, version)

    folders = [top]  # a stack, not recursion: folders may nest deeper than Python recurses
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if folder != top:
                yield listed(str(folder), None, f"folder that cannot be listed ({exc.strerror})")
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone since the folder was read: there is nothing to ingest
            except OSError as exc:
                yield listed(entry.path, None, f"entry that cannot be examined ({exc.strerror})")
                continue
            if stat.S_ISDIR(st.st_mode):
                folders.append(Path(entry.path))
            else:
                yield listed(entry.path, st, _kind(st.st_mode))


def _gcs_version(blob: Any) -> str | None:
    # A generation is new for every write of the object; the hash guards against a bucket
    # restored from a copy, where generations could repeat with other bytes.
    if blob.generation is None:
        return None
    return f"gcs:{blob.generation}:{blob.md5_hash or blob.crc32c or ''}"


class LandingZone(dg.ConfigurableResource):
    """Reads landing files; never modifies or deletes them."""

    uri: str = Field(default=".cicl/landing", description="local path or gs://bucket/prefix")
    max_file_bytes: int = Field(
        default=DEFAULT_MAX_FILE_BYTES, gt=0, description="largest file read (CICL_MAX_FILE_BYTES)"
    )
    max_inflated_bytes: int = Field(
        default=DEFAULT_MAX_INFLATED_BYTES,
        gt=0,
        description="largest content a gzipped file may inflate to (CICL_MAX_INFLATED_BYTES)",
    )
    state_dir: str = Field(
        default=".cicl",
        description="local state outside the warehouse: spool folders, the generated redaction "
        "key (CICL_STATE_DIR)",
    )
    redaction_key: str | None = Field(
        default=None,
        description="HMAC key of redaction markers, or a gcp-sm:// reference to one; set only "
        "through dagster.EnvVar (CICL_REDACTION_KEY); when unset, a key generated once in the "
        "state folder",
    )
    extra_secret_key_patterns: builtins.list[str] = Field(
        default_factory=list,
        description="regular expressions naming further secret keys (config redaction.yaml)",
    )

    def capped(self, stream: Stream) -> Stream:
        """An ingest stream (a StreamSpec) reading this landing zone under its size caps."""
        return dataclasses.replace(
            stream,  # type: ignore[type-var]
            max_file_bytes=self.max_file_bytes,
            max_inflated_bytes=self.max_inflated_bytes,
        )

    def spool_root(self) -> str:
        """Where parsed rows wait between parse and load: spool/ in the state folder."""
        return os.path.join(self.state_dir, "spool")

    def redaction_policy(self) -> RedactionPolicy:
        """The key (resolved from Secret Manager when a reference) and patterns ingestion
        redacts with."""
        secret = (
            parse_secret("CICL_REDACTION_KEY", self.redaction_key) if self.redaction_key else None
        )
        return RedactionPolicy(
            load_redaction_key(secret, self.state_dir), tuple(self.extra_secret_key_patterns)
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Parser processes get the resource by value: its fields, not Dagster's bookkeeping.
        return (_rebuild, (type(self), self.model_dump()))

    @property
    def is_gcs(self) -> bool:
        return self.uri.startswith("gs://")

    def _gcs(self) -> tuple[Any, str, str]:
        bucket, _, prefix = self.uri[len("gs://") :].partition("/")
        if not bucket:
            raise ValueError(f"landing URI {self.uri!r} names no bucket (gs://bucket/prefix)")
        return storage_client().bucket(bucket), bucket, prefix.strip("/")

    def _gcs_blob_name(self, path: str) -> tuple[Any, str]:
        bucket, _, root = self._gcs()
        rel = _clean_relative(path)
        if any("\udc80" <= c <= "\udcff" for c in rel):
            raise FileNotFoundError(f"{path!r}: object names are UTF-8; no object has this name")
        return bucket, f"{root}/{rel}" if root else rel

    def _gcs_read(self, path: str, max_bytes: int, timeout_s: float) -> bytes:
        from google.api_core.exceptions import GoogleAPICallError

        bucket, name = self._gcs_blob_name(path)
        try:
            blob = bucket.get_blob(name, timeout=timeout_s)
            if blob is None:
                raise FileNotFoundError(f"gs://{bucket.name}/{name} does not exist")
            if blob.size is not None and blob.size > max_bytes:
                raise FileTooLargeError(_too_large(max_bytes))
            # A ranged read: an object replaced by a bigger one since is still cut at the cap.
            return blob.download_as_bytes(start=0, end=max_bytes, checksum=None, timeout=timeout_s)
        except GoogleAPICallError as exc:  # the runner turns OSError into a reject
            raise OSError(f"gs://{bucket.name}/{name}: {exc}") from exc

    def list(self, prefix: str = "") -> Iterator[LandingObject]:
        """Every file under ``prefix``, in path order; locally also every other entry that is
        not a folder (symlinks, FIFOs, ...) with its ``kind``, so that it can be rejected."""
        prefix = prefix.strip("/")
        if self.is_gcs:
            bucket, _, root = self._gcs()
            full = "/".join(p for p in (root, prefix and _clean_relative(prefix)) if p)
            blobs = bucket.client.list_blobs(bucket, prefix=f"{full}/" if full else None)
            found = []
            for blob in blobs:
                if blob.name.endswith("/"):
                    continue
                rel = blob.name[len(root) + 1 :] if root else blob.name
                updated = blob.updated.timestamp() if blob.updated else 0.0
                found.append(
                    LandingObject(
                        escape(rel.encode()),
                        int(blob.size or 0),
                        updated,
                        version=_gcs_version(blob),
                    )
                )
            yield from sorted(found, key=lambda o: o.path)
            return
        root = Path(self.uri).resolve()
        base = root / _clean_relative(prefix) if prefix else root
        if not base.is_dir():
            return
        yield from sorted(_walk(root, base), key=lambda o: o.path)

    def open(self, path: str) -> BinaryIO:
        """A binary stream of one landing file."""
        if self.is_gcs:
            bucket, name = self._gcs_blob_name(path)
            blob = bucket.get_blob(name)
            if blob is None:
                raise FileNotFoundError(f"gs://{bucket.name}/{name} does not exist")
            return blob.open("rb")
        return os.fdopen(self._open_regular(path), "rb")

    def _open_regular(self, path: str) -> int:
        """A descriptor of a regular file: a symlink, FIFO or device is never opened (nor
        followed, nor blocked on), even if it replaced the file since it was listed."""
        root = Path(self.uri).resolve()
        full = root / _clean_relative(path)
        folder = full.parent.resolve()
        if not folder.is_relative_to(root):
            raise UnsafePathError(f"landing path '{path}' resolves outside the landing root")
        target = folder / full.name
        mode = os.lstat(target).st_mode
        if stat.S_ISREG(mode):
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                return fd
            os.close(fd)
        raise NotRegularFileError(f"{path}: a {_kind(mode)}, not a regular file")

    def read_bytes(self, path: str, max_bytes: int, timeout_s: float = READ_TIMEOUT_S) -> bytes:
        """The whole file, refusing files larger than ``max_bytes`` and reads that take longer
        than ``timeout_s`` (TimeoutError)."""
        if self.is_gcs:
            data = self._gcs_read(path, max_bytes, timeout_s)
        else:
            data = self._local_read(path, max_bytes, timeout_s)
        if len(data) > max_bytes:
            raise FileTooLargeError(_too_large(max_bytes))
        return data

    def _local_read(self, path: str, max_bytes: int, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        chunks: list[bytes] = []
        size = 0
        with os.fdopen(self._open_regular(path), "rb") as stream:
            while size <= max_bytes:
                chunk = stream.read(min(_READ_CHUNK, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path}: reading took longer than {timeout_s:.0f} s")
        return b"".join(chunks)


class FileTooLargeError(ValueError):
    pass


def _too_large(max_bytes: int) -> str:
    return (
        f"file is larger than the {max_bytes:,}-byte cap (CICL_MAX_FILE_BYTES); "
        "split it or raise the cap"
    )


def _rebuild(cls: type[LandingZone], fields: dict[str, Any]) -> LandingZone:
    return cls(**fields)


def open_landing(uri: str) -> LandingZone:
    return LandingZone(uri=uri)
