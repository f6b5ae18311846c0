"""Landing zone resource over a local folder or ``gs://bucket/prefix``.

Paths handed out are relative to the landing root with ``/`` separators; a path that would
leave the root (``..``, absolute, or a symlink pointing outside) is refused.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, TypeVar

import dagster as dg
from pydantic import Field

from cicl_assets.ingest.content import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_INFLATED_BYTES
from cicl_assets.settings import cloud_clients

Stream = TypeVar("Stream")


@dataclass(frozen=True)
class LandingObject:
    path: str  # relative to the landing root, '/'-separated
    size: int
    updated: float  # seconds since the epoch


class UnsafePathError(ValueError):
    pass


def _clean_relative(path: str) -> str:
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or not pure.parts:
        raise UnsafePathError(f"landing path {path!r} escapes the landing root")
    return str(pure)


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

    def capped(self, stream: Stream) -> Stream:
        """An ingest stream (a StreamSpec) reading this landing zone under its size caps."""
        return dataclasses.replace(
            stream,  # type: ignore[type-var]
            max_file_bytes=self.max_file_bytes,
            max_inflated_bytes=self.max_inflated_bytes,
        )

    @property
    def is_gcs(self) -> bool:
        return self.uri.startswith("gs://")

    def _gcs(self) -> tuple[Any, str, str]:
        bucket, _, prefix = self.uri[len("gs://") :].partition("/")
        if not bucket:
            raise ValueError(f"landing URI {self.uri!r} names no bucket (gs://bucket/prefix)")
        return _gcs_client().bucket(bucket), bucket, prefix.strip("/")

    def _gcs_blob_name(self, path: str) -> tuple[Any, str]:
        bucket, _, root = self._gcs()
        rel = _clean_relative(path)
        return bucket, f"{root}/{rel}" if root else rel

    def _gcs_read(self, path: str, max_bytes: int) -> bytes:
        from google.api_core.exceptions import GoogleAPICallError

        bucket, name = self._gcs_blob_name(path)
        try:
            blob = bucket.get_blob(name)
            if blob is None:
                raise FileNotFoundError(f"gs://{bucket.name}/{name} does not exist")
            if blob.size is not None and blob.size > max_bytes:
                raise FileTooLargeError(_too_large(max_bytes))
            # A ranged read: an object replaced by a bigger one since is still cut at the cap.
            return blob.download_as_bytes(start=0, end=max_bytes, checksum=None)
        except GoogleAPICallError as exc:  # the runner turns OSError into a reject
            raise OSError(f"gs://{bucket.name}/{name}: {exc}") from exc

    def list(self, prefix: str = "") -> Iterator[LandingObject]:
        """Every file under ``prefix``, in path order."""
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
                found.append(LandingObject(rel, int(blob.size or 0), updated))
            yield from sorted(found, key=lambda o: o.path)
            return
        root = Path(self.uri).resolve()
        base = root / prefix if prefix else root
        if not base.is_dir():
            return
        found = []
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            dirnames.sort()
            for name in filenames:
                full_path = Path(dirpath) / name
                if full_path.is_symlink() and not full_path.resolve().is_relative_to(root):
                    continue
                stat = full_path.stat()
                found.append(
                    LandingObject(
                        full_path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime
                    )
                )
        yield from sorted(found, key=lambda o: o.path)

    def open(self, path: str) -> BinaryIO:
        """A binary stream of one landing file."""
        rel = _clean_relative(path)
        if self.is_gcs:
            bucket, name = self._gcs_blob_name(rel)
            blob = bucket.get_blob(name)
            if blob is None:
                raise FileNotFoundError(f"gs://{bucket.name}/{name} does not exist")
            return blob.open("rb")
        root = Path(self.uri).resolve()
        full = (root / rel).resolve()
        if not full.is_relative_to(root):
            raise UnsafePathError(f"landing path {path!r} resolves outside the landing root")
        return full.open("rb")

    def read_bytes(self, path: str, max_bytes: int) -> bytes:
        """The whole file, refusing files larger than ``max_bytes``."""
        if self.is_gcs:
            data = self._gcs_read(path, max_bytes)
        else:
            with self.open(path) as stream:
                data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileTooLargeError(_too_large(max_bytes))
        return data


class FileTooLargeError(ValueError):
    pass


def _too_large(max_bytes: int) -> str:
    return (
        f"file is larger than the {max_bytes:,}-byte cap (CICL_MAX_FILE_BYTES); "
        "split it or raise the cap"
    )


_GCS_CLIENTS: dict[tuple[str | None, str | None], Any] = {}


def _gcs_client() -> Any:
    """One storage client per process and target: the runner opens a LandingZone per file."""
    from google.cloud import storage  # only needed for gs:// landing zones

    cloud = cloud_clients()
    emulator, project = cloud.storage_emulator_host, cloud.gcs_project
    key = (emulator, project)
    if key not in _GCS_CLIENTS:
        if emulator:
            # The real client talks to the emulator when STORAGE_EMULATOR_HOST is set; it
            # takes no credentials.
            from google.auth.credentials import AnonymousCredentials

            _GCS_CLIENTS[key] = storage.Client(
                project=project or "cicl-local", credentials=AnonymousCredentials()
            )
        else:
            _GCS_CLIENTS[key] = storage.Client(project=project)
    return _GCS_CLIENTS[key]


def open_landing(uri: str) -> LandingZone:
    return LandingZone(uri=uri)
