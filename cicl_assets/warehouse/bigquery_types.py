"""Arrow types as BigQuery columns and Python values as BigQuery query parameters."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pyarrow as pa
from google.cloud import bigquery

from cicl_assets.warehouse.tables import UTC_TS


def bigquery_field(f: pa.Field, description: str | None = None) -> bigquery.SchemaField:
    """The BigQuery column for an Arrow field: lists become REPEATED columns."""
    t = f.type
    mode = "NULLABLE"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        mode = "REPEATED"
        t = t.value_type
    return bigquery.SchemaField(f.name, _scalar_type(t, f.name), mode=mode, description=description)


def _scalar_type(t: pa.DataType, name: str) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "STRING"
    if pa.types.is_integer(t):
        return "INT64"
    if pa.types.is_floating(t):
        return "FLOAT64"
    if pa.types.is_boolean(t):
        return "BOOL"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz else "DATETIME"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "BYTES"
    if pa.types.is_decimal(t):
        return "NUMERIC"
    raise TypeError(f"column {name!r}: no BigQuery type for Arrow type {t}")


def ddl_type(f: bigquery.SchemaField) -> str:
    return f"ARRAY<{f.field_type}>" if f.mode == "REPEATED" else f.field_type


_ARROW_OF = {
    "STRING": pa.string(),
    "JSON": pa.string(),
    "INT64": pa.int64(),
    "INTEGER": pa.int64(),
    "FLOAT64": pa.float64(),
    "FLOAT": pa.float64(),
    "BOOL": pa.bool_(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": UTC_TS,
    "DATETIME": pa.timestamp("us"),
    "DATE": pa.date32(),
    "BYTES": pa.binary(),
    "NUMERIC": pa.decimal128(38, 9),
}


def arrow_field(f: bigquery.SchemaField) -> pa.Field:
    if f.field_type not in _ARROW_OF:
        raise TypeError(f"column {f.name!r}: BigQuery type {f.field_type} has no Arrow mapping")
    t = _ARROW_OF[f.field_type]
    return pa.field(f.name, pa.list_(t) if f.mode == "REPEATED" else t)


def _param_type(value: Any) -> str:
    # bool before int: True is an int to Python, a BOOL to BigQuery.
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, bytes):
        return "BYTES"
    if isinstance(value, decimal.Decimal):
        return "NUMERIC"
    raise TypeError(f"no BigQuery parameter type for {type(value).__name__} value {value!r}")


def _as_utc(value: Any) -> Any:
    # Naive datetimes mean UTC here, as they do on the DuckDB side (its session time zone is UTC).
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def query_parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter:
    """A typed ``@name`` parameter; lists become ARRAY parameters typed by their elements."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_as_utc(v) for v in value]
        types = {_param_type(v) for v in items if v is not None}
        if types == {"INT64", "FLOAT64"}:
            types = {"FLOAT64"}
        if len(types) > 1:
            raise TypeError(f"parameter @{name} mixes element types {sorted(types)}")
        # An empty list has no element to type it by; STRING is the usual case (ids, paths).
        return bigquery.ArrayQueryParameter(name, types.pop() if types else "STRING", items)
    if value is None:
        return bigquery.ScalarQueryParameter(name, "STRING", None)
    return bigquery.ScalarQueryParameter(name, _param_type(value), _as_utc(value))
