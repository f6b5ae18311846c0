"""Paths of the infra fixtures and a helper that runs one parser through format detection."""

from pathlib import Path
from typing import Any

from cicl_assets.infra.stream import INFRA_STREAM
from cicl_assets.ingest.content import Sniff
from cicl_assets.ingest.formats import detect_format

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tofu-plans"


def parse_infra(data: bytes, landing_path: str) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """(detected format, rows per table) as the ingest runner would see them."""
    fmt = detect_format(INFRA_STREAM.formats, Sniff.of(data))
    assert fmt is not None, f"{landing_path}: not recognised"
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, rows in fmt.parse(data, landing_path):
        tables.setdefault(table, []).extend(rows)
    return fmt.name, tables


def parse_fixture(name: str, environment: str = "production") -> tuple[str, dict]:
    return parse_infra((FIXTURES / name).read_bytes(), f"infra/{environment}/{name}")
