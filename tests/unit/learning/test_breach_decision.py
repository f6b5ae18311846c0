import json
from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.learning.breach import Breach, decide_breaches

T = datetime(2026, 11, 5, 14, 25, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
INVOICE = "workflow-invoice-triage-availability"


def row(minutes: int, alert: str, slo: str = INVOICE, **extra):
    return {
        "slo_name": slo,
        "evaluation_time": T + timedelta(minutes=minutes),
        "alert": alert,
        "alert_window": {"page": "1h/5m", "ticket": "1d/2h"}.get(alert),
        "alert_burn_rate": 17.5 if alert == "page" else None,
        "burn_rate_1h": 17.5,
        "error_budget_remaining": 0.4,
        **extra,
    }


def reviewed(minutes: int, alert: str, slo: str = INVOICE) -> Breach:
    return Breach.from_status_row(row(minutes, alert, slo))


def decide(rows, done=(), cursor=None, cooldown=timedelta(hours=12)):
    return decide_breaches(rows, list(done), cursor, NOW, cooldown)


def test_a_page_launches_one_run_with_the_breach_in_its_run_config():
    rows = [row(-5, "none"), row(0, "page"), row(5, "page"), row(10, "page")]
    breaches, cursor = decide(rows)
    assert len(breaches) == 1
    [breach] = breaches
    assert breach.key == "slo-breach:workflow-invoice-triage-availability:page:2026-11-05T14"
    config = breach.run_config()["ops"]["slo_breach_report"]["config"]
    assert config == {
        "slo_name": "workflow-invoice-triage-availability",
        "alert": "page",
        "alert_window": "1h/5m",
        "evaluation_time": "2026-11-05T14:25:00+00:00",
        "burn_rate": 17.5,
        "error_budget_remaining": 0.4,
    }
    assert Breach(**config) == breach  # the asset's config is the breach itself
    assert breach.tags("slo_breach_sensor") == {
        "cicl/slo": INVOICE,
        "cicl/alert": "page",
        "cicl/alert_window": "1h/5m",
        "cicl/evaluation_time": "2026-11-05T14:25:00+00:00",
        "cicl/breach_key": breach.key,
        "cicl/decided_by": "slo_breach_sensor",
        # the run covers the days of the breach window (one day here)
        "dagster/asset_partition_range_start": "2026-11-05",
        "dagster/asset_partition_range_end": "2026-11-05",
    }
    assert breach.breach_id == f"{INVOICE}:page:2026-11-05T14:25:00+00:00"
    assert (breach.long_window, breach.window_start) == (timedelta(hours=1), T - timedelta(hours=1))
    state = json.loads(cursor)
    assert state["last_evaluation_time"] == "2026-11-05T14:35:00+00:00"
    assert state["last_run"][INVOICE] == {
        "alert": "page",
        "evaluation_time": "2026-11-05T14:25:00+00:00",
        "key": breach.key,
    }


def test_the_cursor_hides_rows_already_seen():
    rows = [row(0, "page"), row(5, "page")]
    _, cursor = decide(rows)
    again, same = decide(rows, cursor=cursor)
    assert again == []
    assert json.loads(same)["last_evaluation_time"] == json.loads(cursor)["last_evaluation_time"]


def test_cooldown_holds_back_a_continuing_alert_until_it_expires():
    rows = [row(m, "page") for m in range(0, 125, 5)]
    breaches, _ = decide(rows, cooldown=timedelta(hours=1))
    assert [b.at for b in breaches] == [T, T + timedelta(minutes=60), T + timedelta(minutes=120)]
    assert len({b.key for b in breaches}) == 3
    fewer, _ = decide(rows, cooldown=timedelta(hours=3))
    assert len(fewer) == 1


def test_cooldown_spans_ticks_through_the_cursor():
    hour = timedelta(hours=1)
    first, cursor = decide([row(0, "page")], cooldown=hour)
    later, cursor = decide([row(30, "page")], cursor=cursor, cooldown=hour)
    assert len(first) == 1 and later == []
    after, _ = decide([row(65, "page")], cursor=cursor, cooldown=hour)
    assert [b.at for b in after] == [T + timedelta(minutes=65)]


def test_an_escalation_from_ticket_to_page_is_not_held_back():
    breaches, _ = decide([row(0, "ticket"), row(10, "page"), row(20, "ticket")])
    assert [(b.alert, b.at) for b in breaches] == [
        ("ticket", T),
        ("page", T + timedelta(minutes=10)),
    ]


def test_insufficient_data_and_healthy_rows_never_launch():
    rows = [row(0, "insufficient_data"), row(5, "none"), row(10, "insufficient_data")]
    breaches, cursor = decide(rows)
    assert breaches == []
    assert json.loads(cursor)["last_evaluation_time"] == "2026-11-05T14:35:00+00:00"


def test_each_slo_has_its_own_cooldown_and_keys_are_deterministic():
    rows = [row(0, "page"), row(0, "page", slo="gateway-availability"), row(5, "page")]
    breaches, _ = decide(rows)
    keys = sorted(b.key for b in breaches)
    assert keys == [
        "slo-breach:gateway-availability:page:2026-11-05T14",
        "slo-breach:workflow-invoice-triage-availability:page:2026-11-05T14",
    ]
    again, _ = decide_breaches(list(reversed(rows)), [], None, NOW + timedelta(days=1))
    assert sorted(b.key for b in again) == keys


HOUR = timedelta(hours=1)
HISTORY = [row(m, "page") for m in range(0, 185, 5)]  # a page every 5 minutes for 3 hours


# (breaches the warehouse records as reviewed, with a one-hour cooldown: evaluation minutes of
# the breaches decided from the whole history and an empty cursor)
REVIEWED = [
    ([], [0, 60, 120, 180]),
    # Everything a first pass decided is reviewed: nothing is left, whatever the cursor.
    ([reviewed(0, "page"), reviewed(60, "page"), reviewed(120, "page"), reviewed(180, "page")], []),
    # The first review's run failed before writing its report: the breach is asked for again,
    # and the later ones still count their cooldown from the reviews that happened.
    ([reviewed(60, "page"), reviewed(120, "page"), reviewed(180, "page")], [0]),
    # A review of 14:40 (by hand) moves the next one to an hour after it.
    ([reviewed(15, "page")], [75, 135]),
    # Another SLO's reviews change nothing here.
    ([reviewed(0, "page", slo="gateway-availability")], [0, 60, 120, 180]),
]


@pytest.mark.parametrize(("done", "expected_minutes"), REVIEWED)
def test_reviewed_breaches_are_not_asked_for_again_and_set_the_cooldown(done, expected_minutes):
    breaches, _ = decide(HISTORY, done, cooldown=HOUR)
    assert [b.at for b in breaches] == [T + timedelta(minutes=m) for m in expected_minutes]


def test_a_review_asked_for_but_not_written_yet_is_not_asked_for_twice():
    first, cursor = decide(HISTORY[:3], cooldown=HOUR)
    assert [b.at for b in first] == [T]
    # The run is still going (nothing reviewed yet); the next tick's rows are within its hour.
    second, cursor = decide(HISTORY[3:10], cursor=cursor, cooldown=HOUR)
    assert second == []


def test_a_breach_is_described_in_words():
    assert reviewed(0, "page").describe() == (
        f"{INVOICE} page at 2026-11-05T14:25:00+00:00, burn rate 17.5 on 1h/5m"
    )
