"""Landing zone resource over a local folder or ``gs://bucket/prefix``.

Paths handed out are relative to the landing root with ``/`` separators; a path that would
leave the root (``..``, absolute, or a symlink pointing outside) is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import dagster as dg
from pydantic import Field


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

    @property
    def is_gcs(self) -> bool:
        return self.uri.startswith("gs://")

    def _gcs(self) -> tuple[object, str, str]:
        from google.cloud import storage  # only needed for gs:// landing zones

        bucket, _, prefix = self.uri[len("gs://") :].partition("/")
        client = _gcs_client(storage)
        return client.bucket(bucket), bucket, prefix.strip("/")

    def list(self, prefix: str = "") -> Iterator[LandingObject]:
        """Every file under ``prefix``, in path order."""
        prefix = prefix.strip("/")
        if self.is_gcs:
            bucket, _, root = self._gcs()
            full = "/".join(p for p in (root, prefix) if p)
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
            bucket, _, root = self._gcs()
            return bucket.blob(f"{root}/{rel}" if root else rel).open("rb")
        root = Path(self.uri).resolve()
        full = (root / rel).resolve()
        if not full.is_relative_to(root):
            raise UnsafePathError(f"landing path {path!r} resolves outside the landing root")
        return full.open("rb")

    def read_bytes(self, path: str, max_bytes: int) -> bytes:
        """The whole file, refusing files larger than ``max_bytes``."""
        with self.open(path) as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileTooLargeError(
                f"file is larger than the {max_bytes:,}-byte cap (CICL_MAX_FILE_BYTES); "
                "split it or raise the cap"
            )
        return data


class FileTooLargeError(ValueError):
    pass


def _gcs_client(storage: object) -> object:
    # STORAGE_EMULATOR_HOST makes the real client talk to an emulator without credentials.
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(
            project=os.environ.get("CICL_GCS_PROJECT", "cicl-local"),
            credentials=AnonymousCredentials(),
        )
    return storage.Client()


def open_landing(uri: str) -> LandingZone:
    return LandingZone(uri=uri)
