"""A test-only stream whose parser really ends its process, the way a native parser's crash
or the out-of-memory killer would, when a file says so."""

import ctypes
import os
import signal

from cicl_assets.ingest.content import Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.runner import StreamSpec
from tests.unit.sample_stream import SAMPLE_ROWS


def _crash(how: bytes) -> None:
    if how == b"abort":
        os.abort()
    if how == b"exit":
        os._exit(3)
    if how == b"kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == b"segfault":
        ctypes.string_at(0)
    if how == b"memory":
        raise MemoryError


def _detect(sniff: Sniff) -> bool:
    return bool(sniff.head)


def _parse(data: bytes, source_file: str):
    if data.startswith(b"crash:"):
        _crash(data.removeprefix(b"crash:").strip())
    yield "sample_rows", [{"a": int(data)}]


CRASHING_STREAM = StreamSpec(
    "crashing",
    "crashing",
    (FileFormat("crash-or-number", _detect, _parse),),
    (SAMPLE_ROWS,),
    isolated=True,
)
