"""Reading the ci fixture folders the way the ingest runner does: detect by content, then parse."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from cicl_assets.ci.stream import CI_STREAM
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def manifest_names(category: str) -> list[str]:
    with open(FIXTURES / category / "MANIFEST.tsv", newline="") as fh:
        return [row["saved_name"] for row in csv.DictReader(fh, delimiter="\t")]


def parse_bytes(data: bytes, source_file: str) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """(format name, rows per table) of one file, through the whole ci stream's detectors."""
    fmt = detect_format(CI_STREAM.formats, Sniff.of(data))
    if fmt is None:
        raise ParseError("unrecognised format")
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, rows in fmt.parse(data, source_file):
        assert isinstance(rows, list)
        tables.setdefault(table, []).extend(rows)
    return fmt.name, tables


def parse_fixture(category: str, name: str, run: str = "run-1"):
    data = (FIXTURES / category / name).read_bytes()
    return parse_bytes(data, f"ci/{run}/{name}")
