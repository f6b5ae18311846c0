import json
from datetime import UTC, datetime, timedelta

from cicl_assets.learning.breach import BreachContext, decide_breach_runs

T = datetime(2026, 11, 5, 14, 25, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def row(minutes: int, alert: str, slo: str = "workflow-invoice-triage-availability", **extra):
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


def test_a_page_launches_one_run_with_the_breach_in_its_run_config():
    rows = [row(-5, "none"), row(0, "page"), row(5, "page"), row(10, "page")]
    runs, cursor = decide_breach_runs(rows, None, NOW)
    assert len(runs) == 1
    [run] = runs
    assert run.run_key == "slo-breach:workflow-invoice-triage-availability:page:2026-11-05T14"
    config = run.run_config()["ops"]["slo_breach_report"]["config"]
    assert config == {
        "slo_name": "workflow-invoice-triage-availability",
        "alert": "page",
        "alert_window": "1h/5m",
        "evaluation_time": "2026-11-05T14:25:00+00:00",
        "burn_rate": 17.5,
    }
    BreachContext(**config)  # the asset's config class accepts it
    state = json.loads(cursor)
    assert state["last_evaluation_time"] == "2026-11-05T14:35:00+00:00"
    assert state["last_run"]["workflow-invoice-triage-availability"]["alert"] == "page"


def test_the_cursor_hides_rows_already_seen():
    rows = [row(0, "page"), row(5, "page")]
    _, cursor = decide_breach_runs(rows, None, NOW)
    again, same = decide_breach_runs(rows, cursor, NOW)
    assert again == []
    assert json.loads(same)["last_evaluation_time"] == json.loads(cursor)["last_evaluation_time"]


def test_cooldown_holds_back_a_continuing_alert_until_it_expires():
    rows = [row(m, "page") for m in range(0, 125, 5)]
    runs, _ = decide_breach_runs(rows, None, NOW, cooldown=timedelta(hours=1))
    assert [r.evaluation_time for r in runs] == [
        T,
        T + timedelta(minutes=60),
        T + timedelta(minutes=120),
    ]
    assert len({r.run_key for r in runs}) == 3
    fewer, _ = decide_breach_runs(rows, None, NOW, cooldown=timedelta(hours=3))
    assert len(fewer) == 1


def test_cooldown_spans_ticks_through_the_cursor():
    hour = timedelta(hours=1)
    first, cursor = decide_breach_runs([row(0, "page")], None, NOW, hour)
    later, cursor = decide_breach_runs([row(30, "page")], cursor, NOW, hour)
    assert len(first) == 1 and later == []
    after, _ = decide_breach_runs([row(65, "page")], cursor, NOW, hour)
    assert [r.evaluation_time for r in after] == [T + timedelta(minutes=65)]


def test_an_escalation_from_ticket_to_page_is_not_held_back():
    runs, _ = decide_breach_runs([row(0, "ticket"), row(10, "page"), row(20, "ticket")], None, NOW)
    assert [(r.alert, r.evaluation_time) for r in runs] == [
        ("ticket", T),
        ("page", T + timedelta(minutes=10)),
    ]


def test_insufficient_data_and_healthy_rows_never_launch():
    rows = [row(0, "insufficient_data"), row(5, "none"), row(10, "insufficient_data")]
    runs, cursor = decide_breach_runs(rows, None, NOW)
    assert runs == []
    assert json.loads(cursor)["last_evaluation_time"] == "2026-11-05T14:35:00+00:00"


def test_each_slo_has_its_own_cooldown_and_run_keys_are_deterministic():
    rows = [row(0, "page"), row(0, "page", slo="gateway-availability"), row(5, "page")]
    runs, _ = decide_breach_runs(rows, None, NOW)
    keys = sorted(r.run_key for r in runs)
    assert keys == [
        "slo-breach:gateway-availability:page:2026-11-05T14",
        "slo-breach:workflow-invoice-triage-availability:page:2026-11-05T14",
    ]
    again, _ = decide_breach_runs(list(reversed(rows)), None, NOW + timedelta(days=1))
    assert sorted(r.run_key for r in again) == keys
