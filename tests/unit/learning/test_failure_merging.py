import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.delivery.policy import load_policy
from cicl_assets.learning.failure_modes.merge import MergeSettings, merge_signatures
from cicl_assets.learning.failure_modes.modes import Exposure, Judging, Occurrence, day_modes

SIGNATURES = [
    "AssertionError: expected <n> but got <n>",
    "AssertionError: expected <n> but was <n>",
    "ConnectionError: connection refused by db-primary",
    "ConnectionError: connection refused by db-replica",
    "ConnectionError: connection refused by db-standby",
    "ConnectionError: connection reset by peer",
    "KeyError: missing field <str>",
    "KeyError: missing field <str> in payload",
    "TimeoutError: call to <ip> timed out after <duration>",
    "TimeoutError: call to <ip> timed out after <duration> (attempt <n>)",
    "TimeoutError: upstream provider timed out",
    "ValueError: invalid literal for int() with base <n>: <str>",
    "ValueError: missing field <str>",
]
TIMEOUT, TIMEOUT_ATTEMPT = SIGNATURES[8], SIGNATURES[9]

# case -> (settings, the merged groups: smallest member first)
CASES = {
    "off": (MergeSettings(enabled=False), []),
    "min cluster size 2": (
        MergeSettings(enabled=True, min_cluster_size=2),
        [
            SIGNATURES[0:2],
            SIGNATURES[2:5],  # "reset by peer" is further than max_distance from them
            SIGNATURES[6:8],  # "ValueError: missing field" is another error type
            SIGNATURES[8:10],
        ],
    ),
    "min cluster size 4: the pairs too few for a cluster": (
        MergeSettings(enabled=True, min_cluster_size=4),
        [SIGNATURES[0:2], SIGNATURES[2:5], SIGNATURES[6:8]],
    ),
    "max distance 0.15: only the near copies": (
        MergeSettings(enabled=True, min_cluster_size=2, max_distance=0.15),
        [SIGNATURES[8:10]],
    ),
    "more signatures than max_signatures: none merged": (
        MergeSettings(enabled=True, max_signatures=12),
        [],
    ),
}


def groups(merged: dict[str, str]) -> list[list[str]]:
    found: dict[str, list[str]] = {}
    for sig, name in sorted(merged.items()):
        found.setdefault(name, []).append(sig)
    return sorted(g for g in found.values() if len(g) > 1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_merged_groups(case):
    settings, expected = CASES[case]
    merged = merge_signatures(SIGNATURES, settings)
    assert groups(merged) == expected
    # every group is named by its smallest member
    assert all(merged[s] == g[0] for g in expected for s in g)
    assert set(merged) == set(SIGNATURES)


@pytest.mark.parametrize("seed", range(4))
def test_the_same_signatures_in_any_order_and_with_repeats_merge_the_same(seed):
    shuffled = SIGNATURES * 2
    random.Random(seed).shuffle(shuffled)
    settings = MergeSettings(enabled=True)
    assert merge_signatures(shuffled, settings) == merge_signatures(SIGNATURES, settings)


@pytest.mark.parametrize(
    "signatures",
    [[], [TIMEOUT], [TIMEOUT, TIMEOUT_ATTEMPT], ["error:", "error:", "<n>: <n>"]],
)
def test_too_few_or_wordless_signatures_stay_as_they_are(signatures):
    merged = merge_signatures(signatures, MergeSettings(enabled=True))
    assert merged == {s: s for s in signatures}


T = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
EXPOSURE = Exposure(today={"spans": 1000}, before={"spans": 7000}, before_days={"spans": 7})


def occ(sig: str, minutes: int) -> Occurrence:
    kind, message = sig.split(": ", 1)
    return Occurrence("span_status", kind, message, T + timedelta(minutes=minutes), "rt")


def test_a_near_copy_of_a_baseline_mode_is_not_new_when_merging():
    baseline = [occ(s, -600) for s in SIGNATURES if s != TIMEOUT_ATTEMPT]
    today = [occ(TIMEOUT_ATTEMPT, 1), occ(TIMEOUT_ATTEMPT, 2), occ(TIMEOUT, 3)]
    plain = day_modes(today, baseline, EXPOSURE, [])
    assert sorted((r["signature"], r["count"], r["new"]) for r in plain) == [
        (TIMEOUT, 1, False),
        (TIMEOUT_ATTEMPT, 2, True),
    ]
    merged = day_modes(today, baseline, EXPOSURE, [], Judging(merge=MergeSettings(enabled=True)))
    assert [
        (r["signature"], r["count"], r["new"], json.loads(r["member_signatures"])) for r in merged
    ] == [(TIMEOUT, 3, False, [TIMEOUT, TIMEOUT_ATTEMPT])]


def test_merging_settings_come_from_the_delivery_policy(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "delivery.yaml").write_text(
        "failure_modes:\n  merge: {enabled: true, min_cluster_size: 3, max_distance: 0.2}\n"
    )
    assert load_policy(tmp_path).merge == MergeSettings(True, 3, 0.2)
    (tmp_path / "policies" / "delivery.yaml").write_text(
        "failure_modes:\n  merge: {min_cluster_size: 1}\n"
    )
    with pytest.raises(ValueError, match="min_cluster_size must be at least 2"):
        load_policy(tmp_path)
