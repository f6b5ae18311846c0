from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cicl_assets.slo.burn import (
    WORKBOOK_RULES,
    AlertPolicy,
    AlertRule,
    MinuteCounts,
    decide_alert,
    evaluate,
    evaluation_times,
    parse_duration_minutes,
)

T0 = datetime(2026, 11, 5, 0, 0, tzinfo=UTC)


def counts(total_per_minute: list[int], bad_per_minute: list[int]) -> MinuteCounts:
    total = np.array(total_per_minute, dtype=np.int64)
    return MinuteCounts(T0, total - np.array(bad_per_minute, dtype=np.int64), total)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_burn_rate_is_bad_over_total_of_the_window_divided_by_the_budget():
    # 4 days of 10 events a minute; the last hour has 2 bad per minute (20%).
    minutes = 4 * 1440
    total = [10] * minutes
    bad = [0] * (minutes - 60) + [2] * 60
    [rec] = evaluate(counts(total, bad), [at(minutes)], 0.99, AlertPolicy())
    rates = rec["burn_rates"]
    assert rates["5m"] == pytest.approx(0.2 / 0.01)  # 20
    assert rates["1h"] == pytest.approx(20.0)
    assert rates["2h"] == pytest.approx((120 / 1200) / 0.01)  # 10
    assert rates["6h"] == pytest.approx((120 / 3600) / 0.01)
    assert rates["3d"] == pytest.approx((120 / 43200) / 0.01)
    assert rec["events_1h"] == 600 and rec["bad_1h"] == 120
    # Budget window clipped to the four days held: 57,600 events, 576 allowed bad, 120 spent.
    assert rec["total_events"] == 57_600 and rec["bad_events"] == 120
    assert rec["error_budget_events"] == pytest.approx(576)
    assert rec["error_budget_remaining"] == pytest.approx(1 - 120 / 576)
    assert rec["sli"] == pytest.approx(1 - 120 / 57_600)
    assert (rec["alert"], rec["alert_window"]) == ("page", "1h/5m")


def test_ratios_come_from_counts_not_from_averaging_minutes():
    # Minute 1: 1 event, bad. Minute 2: 99 events, all good. Mean of ratios = 50%, truth = 1%.
    [rec] = evaluate(counts([1, 99], [1, 0]), [at(2)], 0.9, AlertPolicy(min_events=1))
    assert rec["burn_rates"]["5m"] == pytest.approx(0.01 / 0.1)


def test_a_rate_equal_to_the_threshold_does_not_alert():
    # target 0.99: a 14.4% bad share burns at exactly 14.4.
    rates = {"1h": 14.4, "5m": 14.4}
    ok = dict.fromkeys(rates, True)
    rule = (AlertRule("page", "1h", "5m", 14.4),)
    assert decide_alert(rates, ok, rule) == ("none", None)
    assert decide_alert({"1h": 14.41, "5m": 14.41}, ok, rule) == ("page", "1h/5m")


def test_exact_threshold_from_counts_does_not_page():
    # 1000 events a minute for 1h, 144 bad a minute: burn exactly 14.4 in 1h and 5m.
    page_only = AlertPolicy(rules=(WORKBOOK_RULES[0],))
    [rec] = evaluate(counts([1000] * 60, [144] * 60), [at(60)], 0.99, page_only)
    assert rec["burn_rates"]["1h"] == 14.4
    assert rec["alert"] == "none"
    [over] = evaluate(counts([1000] * 60, [145] * 60), [at(60)], 0.99, page_only)
    assert over["alert"] == "page"


def test_both_windows_must_burn():
    # Long window hot, short window cold: no page from that rule.
    rates = {"1h": 20.0, "5m": 2.0, "6h": 1.0, "30m": 1.0, "1d": 1.0, "2h": 1.0, "3d": 0.5}
    ok = dict.fromkeys(rates, True)
    assert decide_alert(rates, ok, WORKBOOK_RULES) == ("none", None)


def test_ticket_rules_and_page_takes_precedence():
    rates = {"1h": 5.0, "5m": 5.0, "6h": 4.0, "30m": 4.0, "1d": 3.5, "2h": 3.5, "3d": 0.5}
    ok = dict.fromkeys(rates, True)
    assert decide_alert(rates, ok, WORKBOOK_RULES) == ("ticket", "1d/2h")
    rates.update({"6h": 7.0, "30m": 7.0})
    assert decide_alert(rates, ok, WORKBOOK_RULES) == ("page", "6h/30m")


def test_thin_windows_are_insufficient_not_healthy():
    # 2 events a minute: the 5m window holds 10 events, under a minimum of 20.
    policy = AlertPolicy(min_events=20)
    [rec] = evaluate(counts([2] * 4400, [0] * 4400), [at(4400)], 0.99, policy)
    assert rec["insufficient_windows"] == ["5m"]
    # Pages are still judged on 6h/30m and tickets on both rules: healthy.
    assert rec["alert"] == "none"
    # With only the 1h/5m rule, nothing can be judged about pages.
    page_only = AlertPolicy(min_events=20, rules=(WORKBOOK_RULES[0],))
    [thin] = evaluate(counts([2] * 600, [0] * 600), [at(600)], 0.99, page_only)
    assert thin["alert"] == "insufficient_data"
    # A burning window still cannot page when its partner window is thin.
    policy = AlertPolicy(min_events=20, rules=(WORKBOOK_RULES[0],))
    [hot] = evaluate(counts([2] * 600, [0] * 540 + [2] * 60), [at(600)], 0.99, policy)
    assert hot["burn_rates"]["1h"] > 14.4 and hot["alert"] == "insufficient_data"
    # The same traffic with a per-window minimum the 5m window meets: judged, and pages.
    lenient = AlertPolicy(min_events=20, min_events_by_window={"5m": 5}, rules=(WORKBOOK_RULES[0],))
    [paged] = evaluate(counts([2] * 600, [0] * 540 + [2] * 60), [at(600)], 0.99, lenient)
    assert paged["alert"] == "page"


def test_windows_longer_than_the_data_are_not_judged():
    # Ten hours of data with one early failure: the "3d" window is really ten hours long.
    total, bad = [2] * 600, [0] * 600
    bad[30] = 2
    [rec] = evaluate(counts(total, bad), [at(600)], 0.99, AlertPolicy())
    assert rec["insufficient_windows"] == ["1d", "3d"]
    assert rec["alert"] == "insufficient_data"  # no ticket rule can be judged yet
    assert rec["burn_rates"]["3d"] == pytest.approx((2 / 1200) / 0.01)


def test_no_events_at_all_has_no_sli():
    [rec] = evaluate(counts([0] * 10, [0] * 10), [at(10)], 0.99, AlertPolicy())
    assert rec["sli"] is None and rec["alert"] == "insufficient_data"
    assert rec["burn_rates"]["5m"] is None


def test_evaluation_time_is_an_exclusive_end():
    # One bad minute at minute 10: not in the window ending at 10, in the one ending at 11.
    total, bad = [100] * 20, [0] * 20
    bad[10] = 100
    before, after = evaluate(counts(total, bad), [at(10), at(11)], 0.99, AlertPolicy())
    assert before["bad_5m"] == 0 and after["bad_5m"] == 100


def test_evaluation_times_step_over_the_data_and_end_at_its_clock():
    first, last = at(3), at(31)
    times = evaluation_times(first, last, step_minutes=5)
    assert times[0] == at(5) and times[-1] == at(32)
    assert times[-2] == at(30)
    assert evaluation_times(first, last, 5, lookback_hours=0.25)[0] == at(20)
    assert evaluation_times(first, last, 5, lookback_hours=1 / 6) == [at(25), at(30), at(32)]


@pytest.mark.parametrize(
    ("text", "minutes"), [("5m", 5), ("1h", 60), ("3d", 4320), ("2w", 20160), (3600, 60)]
)
def test_durations(text, minutes):
    assert parse_duration_minutes(text) == minutes


def test_bad_durations_are_refused():
    with pytest.raises(ValueError, match="duration"):
        parse_duration_minutes("soon")
    with pytest.raises(ValueError, match="window of 90 s is not a whole number of minutes"):
        parse_duration_minutes(90)
