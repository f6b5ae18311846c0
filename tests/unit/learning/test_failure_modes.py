from datetime import UTC, date, datetime, timedelta

import pytest

from cicl_assets.learning.failure_modes.assets import sparkline_lines
from cicl_assets.learning.failure_modes.modes import (
    Exposure,
    Judging,
    Occurrence,
    day_modes,
    findings_rows,
)

T = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
DEPLOYS = [
    {"deployment_id": "d0", "service": "rt", "environment": "production",
     "started_at": T - timedelta(days=5), "version": "1.7.3", "commit_sha": "a" * 40},
    {"deployment_id": "d1", "service": "rt", "environment": "production",
     "started_at": T, "version": "1.8.0", "commit_sha": "b" * 40},
]  # fmt: skip


def occ(msg, minutes, service="rt", kind="TimeoutError", trace="t1"):
    return Occurrence("span_status", kind, msg, T + timedelta(minutes=minutes), service,
                      trace_id=trace)  # fmt: skip


# One span in a thousand fails over seven days of baseline; today has a thousand spans.
EXPOSURE = Exposure(today={"spans": 1000}, before={"spans": 7000}, before_days={"spans": 7})


def test_new_mode_after_a_deploy_and_a_steady_one():
    today = [occ(f"template v8 missing field 'citation{i}'", 10 + i) for i in range(5)] + [
        occ("provider 10.0.0.1 timed out after 30s", 5)
    ]
    baseline = [occ("provider 10.0.0.2 timed out after 12s", -600)] * 7
    rows = day_modes(today, baseline, EXPOSURE, DEPLOYS)
    assert sorted(
        (r["signature"], r["count"], r["new"], r["jumped"], r["finding"], r["deployment_id"])
        for r in rows
    ) == [
        ("TimeoutError: provider <ip> timed out after <duration>", 1, False, False, False, "d1"),
        ("TimeoutError: template v8 missing field <str>", 5, True, False, True, "d1"),
    ]
    found = findings_rows(rows, T, T, "2026-11-04")
    assert [(f["kind"], f["deployment_id"], f["service_version"], f["method"]) for f in found] == [
        ("failure_mode", "d1", "1.8.0", "new signature (fisher_exact)")
    ]
    assert found[0]["p_value"] == pytest.approx((1000 / 8000) ** 5, rel=0.05)


def _judged(count, baseline_count, exposure=EXPOSURE, service="rt"):
    today = [occ("disk full", i, service=service) for i in range(count)]
    baseline = [occ("disk full", -600, service=service)] * baseline_count
    [row] = day_modes(today, baseline, exposure, DEPLOYS)
    return row["new"], row["jumped"], row["finding"], row["deployment_id"]


JUDGEMENTS = [
    # (case, today's count, baseline count, exposure, service) -> new, jumped, finding, deploy
    ("new and seen enough", 5, 0, EXPOSURE, "rt", (True, False, True, "d1")),
    ("new but seen fewer than min_count", 4, 0, EXPOSURE, "rt", (True, False, False, "d1")),
    (
        "new but as likely by chance (a baseline as small as today)",
        5, 0, Exposure({"spans": 1000}, {"spans": 1000}, {"spans": 1}), "rt",
        (True, False, False, "d1"),
    ),
    (
        "new on the first day of data: nothing to judge against",
        50, 0, Exposure({"spans": 1000}, {}, {}), "rt", (True, False, False, "d1"),
    ),
    ("jumped after a deploy", 6, 7, EXPOSURE, "rt", (False, True, True, "d1")),
    ("jumped, seen enough, but as likely by chance", 5, 7, EXPOSURE, "rt", (False, True, False, "d1")),
    ("a rise under jump_ratio", 2, 7, EXPOSURE, "rt", (False, False, False, "d1")),
    ("jumped with no deploy in the window", 9, 7, EXPOSURE, "other", (False, True, False, None)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("count", "baseline_count", "exposure", "service", "expected"),
    [c[1:] for c in JUDGEMENTS],
    ids=[c[0] for c in JUDGEMENTS],
)
def test_a_mode_is_a_finding_when_new_or_jumped_seen_enough_and_unlikely_by_chance(
    count, baseline_count, exposure, service, expected
):
    assert _judged(count, baseline_count, exposure, service) == expected


def test_the_baseline_mean_counts_only_days_with_data():
    # Seven baseline days of which two had traffic: 8 failures are 4 a day, not 8/7.
    two_days = Exposure({"spans": 1000}, {"spans": 2000}, {"spans": 2})
    today = [occ("disk full", i) for i in range(6)]
    [row] = day_modes(today, [occ("disk full", -600)] * 8, two_days, DEPLOYS)
    assert (row["baseline_daily_mean"], row["baseline_days"], row["jumped"]) == (4.0, 2, False)


def test_a_deploy_outside_the_attribution_window_is_not_blamed():
    late = [occ("disk full", 60 * 30 + i) for i in range(5)]  # 30 h after d1
    [row] = day_modes(late, [], EXPOSURE, DEPLOYS)
    assert row["deployment_id"] is None
    [row] = day_modes(late, [], EXPOSURE, DEPLOYS, Judging(attribution=timedelta(hours=48)))
    assert row["deployment_id"] == "d1"


def test_a_sparkline_names_the_deploy_its_mode_started_after_on_later_days():
    def day(n: int) -> datetime:
        return datetime(2026, 11, n, tzinfo=UTC)

    history = [
        {"day": day(4), "mode_id": "m1", "count": 40, "new": True,
         "deployment_id": "d1", "service_version": "1.8.0"},
        {"day": day(5), "mode_id": "m1", "count": 55, "new": False,
         "deployment_id": "d1", "service_version": "1.8.0"},
        {"day": day(5), "mode_id": "m2", "count": 3, "new": False,
         "deployment_id": None, "service_version": None},
    ]  # fmt: skip
    top = [{"mode_id": "m1", "signature": "ERROR: no citation <id>"},
           {"mode_id": "m2", "signature": "TimeoutError: timed out"}]  # fmt: skip
    lines = sparkline_lines(top, history, date(2026, 11, 5))
    assert [(label, marked, points[-3:]) for label, points, marked in lines] == [
        (
            "ERROR: no citation <id> - since d1 (1.8.0)",
            date(2026, 11, 4),
            [(date(2026, 11, 3), 0), (date(2026, 11, 4), 40), (date(2026, 11, 5), 55)],
        ),
        (
            "TimeoutError: timed out",
            None,
            [(date(2026, 11, 3), 0), (date(2026, 11, 4), 0), (date(2026, 11, 5), 3)],
        ),
    ]
    assert all(len(points) == 14 for _, points, _ in lines)
