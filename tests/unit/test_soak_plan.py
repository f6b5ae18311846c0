"""The kill loop's plan (seeded kill points by phase) and how two warehouses' rows differ."""

from __future__ import annotations

import pytest

from cicl_assets.warehouse.fingerprint import row_delta
from tests.soak.harness import Kill, Mark, changed_counts, plan_kills

TIMELINE = [
    Mark(0.0, "starting", ""),
    Mark(2.0, "listing", "step otel_spans"),
    Mark(2.5, "parsing", "otel 3 files"),
    Mark(6.0, "loading", "delete_where_in otel_spans"),
    Mark(6.5, "loading", "load_parquet otel_spans"),
    Mark(7.0, "recording", "load_parquet ingested_files"),
    Mark(7.5, "after-ingest", "otel"),
    Mark(8.0, "derived", "step slo_status"),
    Mark(9.0, "derived", "replace_table slo_status"),
    Mark(9.4, "derived", "load_parquet slo_status"),
    Mark(10.0, "breach", "slo_breach_sensor"),
    Mark(11.0, "breach", "load_parquet slo_breach_reports"),
    Mark(12.0, "breach", "load_parquet slo_breach_reports"),
    Mark(13.0, "summary", ""),
]


def test_kills_take_the_phases_in_turn_tearing_writes_first_each_inside_its_gap():
    plan = plan_kills(TIMELINE, 12, seed=9)
    first_turn = ["loading", "recording", "derived", "breach", "parsing", "after-ingest"]
    first_turn += ["listing", "starting", "summary"]
    assert sorted(k.anchor.phase for k in plan) == sorted(
        [*first_turn, "loading", "recording", "derived"]
    )
    assert [k.planned_s for k in plan] == sorted(k.planned_s for k in plan)
    for kill in plan:
        i = TIMELINE.index(kill.anchor)
        gap = TIMELINE[i + 1].t - kill.anchor.t if i + 1 < len(TIMELINE) else 0.5
        assert 0 <= kill.delay_s <= gap


@pytest.mark.parametrize(
    ("count", "phases"),
    [
        (1, ["loading"]),
        (3, ["loading", "recording", "derived"]),
        (4, ["loading", "recording", "derived", "breach"]),
    ],
)
def test_a_few_kills_reach_the_writes_that_can_tear(count, phases):
    assert sorted(k.anchor.phase for k in plan_kills(TIMELINE, count, seed=1)) == sorted(phases)


def test_the_plan_is_the_seeds():
    assert plan_kills(TIMELINE, 5, seed=3) == plan_kills(TIMELINE, 5, seed=3)
    assert plan_kills(TIMELINE, 5, seed=3) != plan_kills(TIMELINE, 5, seed=4)


def test_an_anchor_seen_twice_in_the_reference_waits_for_its_second_time():
    second = TIMELINE[12]
    kills = [k for seed in range(40) for k in plan_kills(TIMELINE, 4, seed) if k.anchor == second]
    assert kills and {k.occurrence for k in kills} == {2}
    assert Kill(TIMELINE[11], 1, 0.25).planned_s == 11.25


@pytest.mark.parametrize(
    ("left", "right", "delta"),
    [
        (["a", "b"], ["a", "b"], ""),
        (["a", "b", "c"], ["a"], "2 missing"),
        (["a", "b"], ["a", "a", "b", "b", "b"], "3 duplicated"),
        (["a", "b"], ["a", "c"], "1 missing, 1 not in the left one"),
        (["a", "a"], ["a", "x", "x"], "1 missing, 2 not in the left one"),
        (["a"], [], "1 missing"),
    ],
)
def test_row_delta_counts_missing_duplicated_and_foreign_rows(left, right, delta):
    assert row_delta(left, right) == delta


@pytest.mark.parametrize(
    ("want", "have", "shown"),
    [
        ({"a": 3, "b": 2}, {"a": 3, "b": 2}, "as the reference"),
        ({"a": 3, "b": 2}, {"a": 0, "b": 4}, "a 0/3, b 4/2"),
        ({"a": 3, "b": 2}, {"a": 3}, "as the reference"),
        ({"a": 3, "b": 2}, {}, "no tables"),
        ({"a": 3}, {"a": 3, "c": 1}, "c 1/-"),
    ],
)
def test_changed_counts_name_the_tables_a_kill_left_unlike_the_reference(want, have, shown):
    assert changed_counts(want, have) == shown
