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

    ``detect`` looks at the first bytes (after gunzip, BOM stripped) and answers whether the file
    is of this format; ``parse`` turns the whole decompressed file into rows. A parser raises
    ``ParseError`` with a message a person can act on ("line 3: invalid hex in spanId 'xyz'");
    the runner prefixes the file and the format.
    """

    name: str
    detect: Callable[[Sniff], bool]
    parse: ParseFn


def detect_format(formats: Iterable[FileFormat], sniff: Sniff) -> FileFormat | None:
    for fmt in formats:
        if fmt.detect(sniff):
            return fmt
    return None
