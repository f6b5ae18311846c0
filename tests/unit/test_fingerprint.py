"""The engine-independent table fingerprint: canonical values, run-local columns, order."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib

import pyarrow as pa
import pytest

from cicl_assets.warehouse.fingerprint import (
    RUN_LOCAL_BY_TABLE,
    RunLocal,
    TableFingerprint,
    canonical_rows,
    canonical_value,
    differences,
    fingerprint_rows,
    row_differences,
)

UTC = dt.UTC
T = dt.datetime(2026, 11, 5, 14, 25, 0, 123000, tzinfo=UTC)
RUN = "5c5f478c-89a3-4c7a-b481-d0334ba5c32c"

# (value, Arrow type of its column or None, canonical form)
VALUES = [
    (None, pa.string(), None),
    (None, pa.list_(pa.string()), []),
    ([], pa.list_(pa.string()), []),
    (["b", "a"], pa.list_(pa.string()), ["b", "a"]),
    (True, pa.bool_(), True),
    (7, pa.int64(), 7),
    (0.1 + 0.2, pa.float64(), 0.3),
    (1 / 3, pa.float64(), 0.333333333333),
    (2.0, pa.float64(), 2.0),
    (float("nan"), pa.float64(), "nan"),
    (float("inf"), pa.float64(), "inf"),
    (decimal.Decimal("1.250000000"), None, 1.25),
    (T, None, "2026-11-05T14:25:00.123000Z"),
    (dt.datetime(2026, 11, 5, 15, 25, tzinfo=dt.timezone(dt.timedelta(hours=1))), None,
     "2026-11-05T14:25:00.000000Z"),
    (dt.datetime(2026, 11, 5, 14, 25), None, "2026-11-05T14:25:00.000000Z"),
    (dt.date(2026, 11, 5), None, "2026-11-05"),
    (b"\x00\xff", None, "00ff"),
    ("plain text", pa.string(), "plain text"),
    ("{not json", pa.string(), "{not json"),
    ('{"b": 1, "a": [1.0, {"run_id": "r1", "x": "y"}]}', pa.string(),
     {"a": [1.0, {"x": "y"}], "b": 1}),
    ('[3, 2]', pa.string(), [3, 2]),
    ({"run_id": "r", "k": T}, None, {"k": "2026-11-05T14:25:00.123000Z"}),
]  # fmt: skip


@pytest.mark.parametrize(("value", "arrow_type", "expected"), VALUES)
def test_canonical_values(value, arrow_type, expected):
    assert canonical_value(value, arrow_type) == expected


def test_an_unknown_value_kind_is_refused():
    with pytest.raises(TypeError, match="no canonical form for object"):
        canonical_value(object())


SPANS = pa.table(
    {
        "trace_id": ["b", "a"],
        "duration_ms": [1.5, 2.25],
        "run_id": ["run-1", "run-1"],
        "ingested_at": [T, T],
    }
)


def test_rows_are_sorted_canonical_json_without_run_local_columns():
    # Sorted as text: the whole canonical row orders the rows, whatever order the engine gave.
    assert canonical_rows(SPANS) == [
        '{"duration_ms":1.5,"trace_id":"b"}',
        '{"duration_ms":2.25,"trace_id":"a"}',
    ]


# (run-local rule, row, canonical row)
RULES = [
    (RunLocal(), {"at": T, "run_id": "r"}, '{"at":"2026-11-05T14:25:00.123000Z"}'),
    (RUN_LOCAL_BY_TABLE["ingest_rejects"], {"at": T, "error": "e"}, '{"error":"e"}'),
    (RUN_LOCAL_BY_TABLE["audit_events"],
     {"source": "cicl", "event_time": T, "seq": 3, "hash": "h", "prev_hash": "p",
      "chained_at": T, "event_id": f"review:slo-breach:x:{RUN}",
      "details": f'{{"run_id": "{RUN}", "alert": "page", "note": "by {RUN}"}}'},
     '{"details":{"alert":"page","note":"by <run>"},"event_id":"review:slo-breach:x:<run>",'
     '"source":"cicl"}'),
    # Events from the landing zone keep their time and their ids, UUIDs included.
    (RUN_LOCAL_BY_TABLE["audit_events"],
     {"source": "k8s", "event_time": T, "seq": 3, "hash": "h", "prev_hash": "p", "event_id": RUN},
     f'{{"event_id":"{RUN}","event_time":"2026-11-05T14:25:00.123000Z","source":"k8s"}}'),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "row", "expected"), RULES)
def test_run_local_columns_by_table_and_by_row(rule, row, expected):
    table = pa.Table.from_pylist([row])
    assert canonical_rows(table, rule) == [expected]


def test_the_fingerprint_is_the_count_and_the_digest_of_the_sorted_lines():
    lines = canonical_rows(SPANS)
    expected = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
    assert fingerprint_rows(lines) == TableFingerprint(2, expected)
    assert fingerprint_rows([]) == TableFingerprint(0, hashlib.sha256(b"").hexdigest())


def test_row_order_and_run_local_values_do_not_change_the_fingerprint_data_does():
    shuffled = SPANS.take([1, 0]).set_column(2, "run_id", pa.array(["run-2", "run-2"]))
    assert fingerprint_rows(canonical_rows(shuffled)) == fingerprint_rows(canonical_rows(SPANS))
    changed = SPANS.set_column(1, "duration_ms", pa.array([1.5, 2.5]))
    assert fingerprint_rows(canonical_rows(changed)) != fingerprint_rows(canonical_rows(SPANS))


def test_differences_name_each_table_that_differs():
    a = {
        "x": TableFingerprint(1, "aa"),
        "y": TableFingerprint(2, "bb"),
        "z": TableFingerprint(0, ""),
    }
    b = {
        "x": TableFingerprint(1, "aa"),
        "y": TableFingerprint(2, "cc"),
        "w": TableFingerprint(3, ""),
    }
    assert differences(a, b) == [
        "w: only in the right warehouse",
        "y: 2 rows each, different content",
        "z: only in the left warehouse",
    ]
    assert differences(a, {**a, "x": TableFingerprint(4, "aa")}) == ["x: 1 rows against 4"]


def test_row_differences_show_what_each_side_holds_alone():
    assert row_differences(["a", "b", "c"], ["b", "c", "d", "e"], limit=1) == ["- a", "+ d"]


def test_a_log_of_runs_counts_each_distinct_row_once():
    retention = pa.table(
        {
            "run_id": ["r1", "r2", "r2"],
            "table_name": ["infra_plans", "infra_plans", "infra_apply_logs"],
            "rows_deleted": [0, 0, 0],
        }
    )
    log = RUN_LOCAL_BY_TABLE["evidence_retention"]
    assert canonical_rows(retention, log) == [
        '{"rows_deleted":0,"table_name":"infra_apply_logs"}',
        '{"rows_deleted":0,"table_name":"infra_plans"}',
    ]
    assert len(canonical_rows(retention)) == 3
