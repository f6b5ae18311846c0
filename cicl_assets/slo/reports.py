"""slo-generator SLO reports (its BigQuery exporter's rows) dropped under landing ``slo/``.

The exporter writes one row per SLO, error-budget-policy step and run; a BigQuery export of
that table (or a copy of the rows) arrives here as JSON lines. BigQuery's JSON export writes
INT64 as strings and TIMESTAMP as ``2026-11-05 14:00:00 UTC``, and the exporter writes
``metadata`` as repeated key/value records: all are accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.json_documents import json_documents
from cicl_assets.ingest.runner import StreamSpec
from cicl_assets.ingest.values import checked_float, checked_int, require_time
from cicl_assets.slo.sli_counts import SLI_COUNTS_FORMAT, SLO_SLI_COUNTS
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

SLO_REPORTS = TableSpec(
    name="slo_reports",
    description=(
        "One row per slo-generator SLO report: an SLO evaluated over one error-budget-policy "
        "step window at one time, as its BigQuery exporter writes it."
    ),
    schema=pa.schema(
        [
            ("service_name", pa.string()),
            ("feature_name", pa.string()),
            ("slo_name", pa.string()),
            ("slo_target", pa.float64()),
            ("slo_description", pa.string()),
            ("error_budget_policy_step_name", pa.string()),
            ("error_budget_remaining_minutes", pa.float64()),
            ("consequence_message", pa.string()),
            ("error_budget_minutes", pa.float64()),
            ("error_minutes", pa.float64()),
            ("error_budget_target", pa.float64()),
            ("timestamp_human", UTC_TS),
            ("timestamp", pa.float64()),
            ("cadence", pa.string()),
            ("window_seconds", pa.int64()),
            ("bad_events_count", pa.int64()),
            ("good_events_count", pa.int64()),
            ("sli_measurement", pa.float64()),
            ("gap", pa.float64()),
            ("error_budget_measurement", pa.float64()),
            ("error_budget_burn_rate", pa.float64()),
            ("alerting_burn_rate_threshold", pa.float64()),
            ("alert", pa.bool_()),
            ("metadata", JSON),
            ("source_file", pa.string()),
        ]
    ),
    time_column="timestamp_human",
    cluster_by=("service_name", "slo_name"),
    json_columns=("metadata",),
    column_docs={
        "window_seconds": (
            "the exporter's `window`: the policy step's measurement window in seconds (renamed: "
            "WINDOW is a reserved word in both warehouses' SQL)"
        ),
        "metadata": "the SLO's metadata labels as a JSON object",
    },
)

REQUIRED = ("service_name", "feature_name", "slo_name", "window")
RENAMED = {"window_seconds": "window"}
FLOATS = tuple(f.name for f in SLO_REPORTS.schema if pa.types.is_floating(f.type))
INTS = tuple(f.name for f in SLO_REPORTS.schema if pa.types.is_integer(f.type))
STRINGS = tuple(
    f.name
    for f in SLO_REPORTS.schema
    if pa.types.is_string(f.type) and f.name not in ("metadata", "source_file")
)


def detect(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b'"slo_name"', b'"error_budget_burn_rate"')


def _timestamp(raw: dict[str, Any], where: str) -> datetime:
    human = raw.get("timestamp_human")
    if isinstance(human, str) and human.strip():
        return require_time(human, f"{where}: timestamp_human")
    if raw.get("timestamp") is not None:
        return require_time(raw["timestamp"], f"{where}: timestamp")
    raise ParseError(f"{where}: neither timestamp_human nor timestamp is set")


def _metadata(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # the exporter's REPEATED RECORD of key/value pairs
        value = {
            str(item.get("key")): item.get("value") for item in value if isinstance(item, dict)
        }
    return json.dumps(value, sort_keys=True)


def report_row(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ParseError(f"{where}: expected a JSON object, found {type(raw).__name__}")
    missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise ParseError(f"{where}: missing required exporter field(s) {', '.join(missing)}")
    row: dict[str, Any] = {k: (None if raw.get(k) is None else str(raw[k])) for k in STRINGS}
    for key in FLOATS:
        row[key] = checked_float(raw.get(key), f"{where}: {key}")
    for key in INTS:
        source = RENAMED.get(key, key)
        row[key] = checked_int(raw.get(source), f"{where}: {source}")
    alert = raw.get("alert")
    row["alert"] = alert.lower() == "true" if isinstance(alert, str) else alert
    row["timestamp_human"] = _timestamp(raw, where)
    row["metadata"] = _metadata(raw.get("metadata"))
    return row


def parse(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    rows = [report_row(doc.value, doc.where) for doc in json_documents(data)]
    yield SLO_REPORTS.name, rows


SLO_GENERATOR_REPORT = FileFormat("slo-generator-report", detect, parse)
SLO_STREAM = StreamSpec(
    name="slo",
    prefix="slo",
    formats=(SLO_GENERATOR_REPORT, SLI_COUNTS_FORMAT),
    tables=(SLO_REPORTS, SLO_SLI_COUNTS),
)
