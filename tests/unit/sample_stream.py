"""A tiny JSON stream used to test the ingest runner without any real format's parser."""

import json

import pyarrow as pa

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.runner import StreamSpec
from cicl_assets.warehouse.tables import TableSpec

SAMPLE_ROWS = TableSpec(
    "sample_rows",
    pa.schema([("a", pa.int64()), ("source_file", pa.string())]),
    "One row per sample document.",
)


def _detect(sniff: Sniff) -> bool:
    return sniff.looks_json


def _parse(data: bytes, source_file: str):
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ParseError(f"invalid JSON ({exc})") from None
    yield "sample_rows", [{"a": doc["a"]}]


SAMPLE_STREAM = StreamSpec(
    "sample", "sample", (FileFormat("sample-json", _detect, _parse),), (SAMPLE_ROWS,)
)
