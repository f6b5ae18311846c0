"""File formats an ingest stream recognises, and what a parser hands back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cicl_assets.ingest.content import Sniff

# A parser yields (table name, rows) pairs; rows are Arrow data or dict records.
ParsedRows = pa.Table | pa.RecordBatch | list[dict[str, Any]]
ParseFn = Callable[[bytes, str], Iterable[tuple[str, ParsedRows]]]


@dataclass(frozen=True)
class FileFormat:
    """One recognisable file format.

    ``detect`` looks at the first bytes (after gunzip, BOM stripped; ``Sniff.data`` holds the
    whole file only when no format recognised its head) and answers whether the file is of this
    format; ``parse`` turns the whole decompressed file into rows. A parser raises
    ``ParseError`` with a message a person can act on ("line 3: invalid hex in spanId 'xyz'");
    the runner prefixes the file and the format.

    ``look_alikes`` are files often sent in this format's place (OTLP logs where traces belong,
    a CI webhook with no deployment in it): recognised only to be refused or skipped by name.
    They are tried after every format of the stream and are not formats a user can send, so
    a stream's formats - the list an unrecognised file's reject names - leave them out.
    """

    name: str
    detect: Callable[[Sniff], bool]
    parse: ParseFn
    look_alikes: tuple[FileFormat, ...] = ()


def detect_format(formats: Iterable[FileFormat], sniff: Sniff) -> FileFormat | None:
    """The first format that recognises the file; else the first look-alike that does.

    Formats are first asked about the head alone. Only a file none of them recognises is asked
    about again with its whole content in reach (a JSON document whose identifying keys come
    after a large value), so a large file that its head identifies is never parsed twice.
    """
    formats = tuple(formats)
    found = _first_recognising(formats, Sniff(sniff.head))
    if found is None and len(sniff.data) > len(sniff.head):
        found = _first_recognising(formats, sniff)
    return found


def _first_recognising(formats: tuple[FileFormat, ...], sniff: Sniff) -> FileFormat | None:
    for fmt in formats:
        if fmt.detect(sniff):
            return fmt
    for fmt in formats:
        for look_alike in fmt.look_alikes:
            if look_alike.detect(sniff):
                return look_alike
    return None
