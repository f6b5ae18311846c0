"""Spooled batches are ordered by the table's clustering columns, except where an identity
repeats inside the batch (its later row in the file is the version kept)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cicl_assets.ingest.spool import clustered
from cicl_assets.warehouse.tables import TableSpec

SCHEMA = pa.schema([("id", pa.string()), ("service", pa.string()), ("name", pa.string())])


def _spec(cluster_by: tuple[str, ...], identity: tuple[str, ...]) -> TableSpec:
    return TableSpec("t", SCHEMA, "test rows", cluster_by=cluster_by, identity=identity)


@pytest.mark.parametrize(
    ("cluster_by", "identity", "rows", "expected_ids"),
    [
        # distinct identities: ordered by service then name; equal keys keep their order
        (("service", "name"), ("id",),
         [("1", "web", "b"), ("2", "api", "z"), ("3", "web", "a"), ("4", "api", "z"),
          ("5", None, "a")],
         ["2", "4", "3", "1", "5"]),
        # an identity twice in the batch: order kept, so the later "1" still wins the merge
        (("service", "name"), ("id",),
         [("1", "web", "b"), ("2", "api", "z"), ("1", "api", "a")],
         ["1", "2", "1"]),
        # no identity: rows never merge, so any batch is ordered
        (("service",), (),
         [("1", "web", "b"), ("1", "api", "z"), ("2", "api", "a")],
         ["1", "2", "1"]),
        # no clustering columns: as parsed
        ((), ("id",), [("2", "web", "b"), ("1", "api", "z")], ["2", "1"]),
        # a clustering column the table lacks is ignored
        (("region", "name"), ("id",), [("1", "web", "b"), ("2", "api", "a")], ["2", "1"]),
    ],
)  # fmt: skip
def test_clustered_order(cluster_by, identity, rows, expected_ids):
    table = pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], SCHEMA)
    out = clustered(table, _spec(cluster_by, identity))
    assert out.column("id").to_pylist() == expected_ids
    assert sorted(out.to_pylist(), key=str) == sorted(table.to_pylist(), key=str)
