from datetime import UTC, date, datetime, timedelta

from cicl_assets.learning.failure_modes.assets import sparkline_lines
from cicl_assets.learning.failure_modes.modes import Occurrence, day_modes, findings_rows

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


def test_new_mode_after_a_deploy_and_a_steady_one():
    today = [occ(f"template v8 missing field 'citation{i}'", 10 + i) for i in range(3)] + [
        occ("provider 10.0.0.1 timed out after 30s", 5)
    ]
    baseline = [occ("provider 10.0.0.2 timed out after 12s", -600)] * 7
    rows = day_modes(today, baseline, 7, DEPLOYS, jump_ratio=3.0, min_count=5)
    assert sorted(
        (r["signature"], r["count"], r["new"], r["jumped"], r["deployment_id"]) for r in rows
    ) == [
        ("TimeoutError: provider <ip> timed out after <duration>", 1, False, False, "d1"),
        ("TimeoutError: template v8 missing field <str>", 3, True, False, "d1"),
    ]
    found = findings_rows(rows, T, T, "2026-11-04")
    assert [(f["kind"], f["deployment_id"], f["service_version"], f["method"]) for f in found] == [
        ("failure_mode", "d1", "1.8.0", "new signature")
    ]


def test_a_jump_needs_ratio_and_count():
    baseline = [occ("disk full", -600)] * 7  # one a day
    for n, jumped in ((2, False), (4, False), (5, True)):
        rows = day_modes([occ("disk full", i) for i in range(n)], baseline, 7, DEPLOYS, 3.0, 5)
        assert [r["jumped"] for r in rows] == [jumped]


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
