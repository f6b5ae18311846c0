"""StatusFold: a range's report (counts, latest evaluation per SLO, alert episodes) folded one
day at a time equals the one made from all the range's evaluations at once."""

from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.slo.status import StatusFold, alert_episodes, latest_by_slo

T0 = datetime(2026, 11, 1, 23, 50, tzinfo=UTC)
STEP = timedelta(minutes=5)


def rec(slo: str, step: int, alert: str, rate: float | None = None) -> dict:
    return {
        "slo_name": slo,
        "evaluation_time": T0 + step * STEP,
        "alert": alert,
        "alert_window": "1h" if alert == "page" else ("6h" if alert == "ticket" else None),
        "alert_burn_rate": rate,
    }


# Steps 0-1 are on 2026-11-01, 2 and later on 2026-11-02.
DAY1 = [
    rec("b", 0, "ticket", 3.0),
    rec("a", 0, "none"),
    rec("a", 1, "page", 15.0),
    rec("b", 1, "ticket", 4.0),
]
DAY2 = [
    rec("a", 2, "page", 20.0),  # the page goes on across midnight: one episode
    rec("a", 3, "none"),
    rec("a", 4, "page", 14.5),
    rec("b", 2, "page", 16.0),  # escalates: a new episode
    rec("b", 3, "ticket", 6.0),
]


def ep(slo, alert, first, last, peak):
    window = "1h" if alert == "page" else "6h"
    return {
        "slo_name": slo,
        "alert": alert,
        "alert_window": window,
        "first": T0 + first * STEP,
        "last": T0 + last * STEP,
        "peak_burn_rate": peak,
    }


EPISODES = [
    ep("a", "page", 1, 2, 20.0),
    ep("a", "page", 4, 4, 14.5),
    ep("b", "ticket", 0, 1, 4.0),
    ep("b", "page", 2, 2, 16.0),
    ep("b", "ticket", 3, 3, 6.0),
]


@pytest.mark.parametrize("days", [[DAY1 + DAY2], [DAY1, DAY2], [DAY1, [], DAY2]])
def test_fold_by_day_equals_the_whole_range(days):
    fold = StatusFold()
    for rows in days:
        fold.add(rows)
    everything = DAY1 + DAY2
    assert fold.episodes == EPISODES == alert_episodes(everything)
    assert (fold.rows, fold.paging, fold.ticketing) == (9, 4, 3)
    assert fold.latest == latest_by_slo(everything)
    assert {k: v["evaluation_time"] for k, v in fold.latest.items()} == {
        "a": T0 + 4 * STEP,
        "b": T0 + 3 * STEP,
    }


def test_an_empty_range_reports_nothing():
    fold = StatusFold()
    fold.add([])
    assert (fold.rows, fold.paging, fold.ticketing, fold.latest, fold.episodes) == (
        0,
        0,
        0,
        {},
        [],
    )
