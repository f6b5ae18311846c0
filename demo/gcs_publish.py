"""Copies a generated landing zone to ``gs://bucket/prefix``, uploading only what changed."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import orjson

from demo.landing_writer import MANIFEST_NAME, read_manifest


def _client() -> Any:
    from google.cloud import storage

    project = os.environ.get("CICL_GCS_PROJECT")
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=project or "cicl-local", credentials=AnonymousCredentials())
    return storage.Client(project=project)


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("gs://").partition("/")
    if not uri.startswith("gs://") or not bucket:
        raise ValueError(f"{uri!r} is not gs://bucket/prefix")
    return bucket, prefix.strip("/")


def publish(local: Path, uri: str) -> tuple[int, int]:
    """Upload the files of the local generation's manifest; remove the objects only the previously
    published manifest named. Returns (uploaded, removed)."""
    manifest = read_manifest(local)
    if manifest is None:
        raise FileNotFoundError(f"{local} holds no generated landing zone ({MANIFEST_NAME})")
    bucket_name, prefix = split_uri(uri)
    client = _client()
    bucket = client.bucket(bucket_name)

    def name(relative: str) -> str:
        return f"{prefix}/{relative}" if prefix else relative

    remote = {
        blob.name: blob.md5_hash
        for blob in client.list_blobs(bucket_name, prefix=f"{prefix}/" if prefix else None)
    }
    previous: dict[str, Any] = {}
    if name(MANIFEST_NAME) in remote:
        previous = orjson.loads(bucket.blob(name(MANIFEST_NAME)).download_as_bytes())
    uploaded = 0
    for entry in manifest["files"]:
        path = local / entry["path"]
        md5 = base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()
        if remote.get(name(entry["path"])) != md5:
            bucket.blob(name(entry["path"])).upload_from_filename(str(path))
            uploaded += 1
    keep = {entry["path"] for entry in manifest["files"]}
    removed = 0
    for entry in previous.get("files", ()):
        if entry["path"] not in keep and name(entry["path"]) in remote:
            bucket.blob(name(entry["path"])).delete()
            removed += 1
    bucket.blob(name(MANIFEST_NAME)).upload_from_filename(str(local / MANIFEST_NAME))
    return uploaded, removed
