"""What this process has created or read in BigQuery, by endpoint: datasets, and tables with the
schema they were seen to have.

Every batch ensures its tables again and assets ask whether tables exist; with this, a table
already seen with every column of its spec costs no request. Only cicl alters its tables,
through the warehouse's ``_ensure_table``, which records what it changed, and it drops none but
its own staging tables (never recorded here). A table dropped or altered by hand is seen only by
processes started afterwards (docs/production.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from google.cloud import bigquery

_DATASETS: set[tuple[str, str]] = set()
_TABLES: dict[tuple[str, str], tuple[bigquery.SchemaField, ...]] = {}


def dataset_known(endpoint: str, dataset_id: str) -> bool:
    return (endpoint, dataset_id) in _DATASETS


def remember_dataset(endpoint: str, dataset_id: str) -> None:
    _DATASETS.add((endpoint, dataset_id))


def table_fields(endpoint: str, table_id: str) -> tuple[bigquery.SchemaField, ...] | None:
    """The table's schema as last seen by this process, else None."""
    return _TABLES.get((endpoint, table_id))


def remember_table(endpoint: str, table_id: str, fields: Iterable[bigquery.SchemaField]) -> None:
    _TABLES[(endpoint, table_id)] = tuple(fields)


def forget_table(endpoint: str, table_id: str) -> None:
    _TABLES.pop((endpoint, table_id), None)


def forget_dataset(endpoint: str, dataset_id: str) -> None:
    """Drop what this process knows of a dataset and its tables (after deleting it)."""
    _DATASETS.discard((endpoint, dataset_id))
    for key in [k for k in _TABLES if k[0] == endpoint and k[1].startswith(dataset_id + ".")]:
        _TABLES.pop(key, None)
