"""cicl-native SLI counts: JSON lines of good and total events per SLO objective and interval,
exported by any metrics system and landed under ``slo/`` (docs/slo-specs.md).

``{"slo": "checkout-availability", "objective": "", "window_start": "2026-11-05T14:00:00Z",
"window_end": "2026-11-05T14:05:00Z", "good": 4990, "total": 5000}``: ``objective`` names one
objective of an SLO with several and may be left out otherwise; an interval is at most a day.
A row that breaks these rules rejects its file with the line and the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyarrow as pa

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.json_documents import json_documents
from cicl_assets.ingest.redact import redact_text
from cicl_assets.ingest.values import checked_int, require_time
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

MAX_INTERVAL = timedelta(days=1)
MINUTE = timedelta(minutes=1)

SLO_SLI_COUNTS = TableSpec(
    name="slo_sli_counts",
    description=(
        "One row per SLO objective and interval of externally counted SLI events (cicl-native "
        "JSON lines under landing slo/): good and total events between window_start and "
        "window_end."
    ),
    schema=pa.schema(
        [
            ("slo_name", pa.string()),
            ("objective", pa.string()),
            ("window_start", UTC_TS),
            ("window_end", UTC_TS),
            ("good", pa.int64()),
            ("total", pa.int64()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="window_start",
    cluster_by=("slo_name",),
    column_docs={
        "slo_name": "the SLO's name as slo_specs lists it (slo_name)",
        "objective": "the objective's name for an SLO with several; empty otherwise",
    },
)


def detect(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b'"window_start"', b'"total"', b'"slo"')


def count_row(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ParseError(f"{where}: expected a JSON object, found {type(raw).__name__}")
    missing = [k for k in ("slo", "window_start", "window_end", "good", "total") if k not in raw]
    if missing:
        raise ParseError(
            f"{where}: missing {', '.join(missing)} (need slo, window_start, "
            "window_end, good, total)"
        )
    slo = raw["slo"]
    if not isinstance(slo, str) or not slo.strip():
        raise ParseError(f"{where}: slo must be the SLO's name, found {slo!r}")
    objective = raw.get("objective") or ""
    if not isinstance(objective, str):
        raise ParseError(f"{where}: objective must be text, found {objective!r}")
    start = require_time(raw["window_start"], f"{where}: window_start")
    end = require_time(raw["window_end"], f"{where}: window_end")
    if not start < end:
        raise ParseError(f"{where}: window_end {end.isoformat()} is not after window_start")
    if end - start > MAX_INTERVAL:
        raise ParseError(f"{where}: an interval is at most a day long; split {start}..{end}")
    good = checked_int(raw["good"], f"{where}: good")
    total = checked_int(raw["total"], f"{where}: total")
    if good is None or total is None or not 0 <= good <= total:
        raise ParseError(f"{where}: need 0 <= good <= total, found good={good} total={total}")
    return {
        "slo_name": redact_text(slo.strip()),
        "objective": redact_text(objective.strip()),
        "window_start": start,
        "window_end": end,
        "good": good,
        "total": total,
    }


def parse(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield SLO_SLI_COUNTS.name, [count_row(doc.value, doc.where) for doc in json_documents(data)]


SLI_COUNTS_FORMAT = FileFormat("cicl-sli-counts", detect, parse)
