"""Writes landing files idempotently and keeps a manifest of what a generation produced.

A file is rewritten only when its bytes differ, so re-running leaves an unchanged landing zone
untouched. Files a previous generation wrote and this one did not are removed, so changing the
scale never leaves stale duplicates behind.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

MANIFEST_NAME = ".cicl-demo-manifest.json"


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the landing root, forward slashes
    sha256: str
    size: int


def gzip_bytes(data: bytes) -> bytes:
    """Gzip without a timestamp or file name, so equal input gives equal output."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def write_file(root: Path, relative: str, data: bytes) -> WrittenFile:
    target = root / relative
    digest = hashlib.sha256(data).hexdigest()
    if not (
        target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data
    ):
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp{os.getpid()}")
        temporary.write_bytes(data)
        temporary.replace(target)
    return WrittenFile(relative, digest, len(data))


def read_manifest(root: Path) -> dict | None:
    path = root / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None


def manifest_is_current(root: Path, settings: dict) -> bool:
    """True when the last generation used these settings and every file it wrote is intact."""
    manifest = read_manifest(root)
    if not manifest or manifest.get("settings") != settings:
        return False
    for entry in manifest.get("files", ()):
        path = root / entry["path"]
        if not path.is_file() or path.stat().st_size != entry["size"]:
            return False
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            return False
    return True


def finish(root: Path, settings: dict, files: list[WrittenFile]) -> list[str]:
    """Drop files only a previous generation wrote, then record this one. Returns removed paths."""
    previous = read_manifest(root) or {}
    keep = {f.path for f in files}
    removed = []
    for entry in previous.get("files", ()):
        if entry["path"] not in keep:
            stale = root / entry["path"]
            if stale.is_file():
                stale.unlink()
                removed.append(entry["path"])
    ordered = sorted(files, key=lambda f: f.path)
    manifest = {
        "settings": settings,
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in ordered],
    }
    write_file(root, MANIFEST_NAME, orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return removed
