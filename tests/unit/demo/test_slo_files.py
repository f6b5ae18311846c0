from datetime import timedelta

from cicl_assets.slo.reports import parse
from demo import story
from demo.slo_files import POLICY_STEPS, SLOS, write_slo_reports


def _rows(tmp_path):
    files = write_slo_reports(tmp_path, story.SEED)
    return [
        row
        for f in files
        for _, rows in parse((tmp_path / f.path).read_bytes(), f.path)
        for row in rows
    ]


def test_one_report_per_slo_policy_step_and_hour_and_they_parse(tmp_path):
    rows = _rows(tmp_path)
    hours = int((story.TRAFFIC_END - story.TRAFFIC_START).total_seconds() // 3600)
    assert len(rows) == hours * len(SLOS) * len(POLICY_STEPS)
    assert {r["service_name"] for r in rows} == {"workbench-ui"}
    for r in rows:
        assert r["good_events_count"] + r["bad_events_count"] > 0
        assert (
            abs(
                r["sli_measurement"]
                - r["good_events_count"] / (r["good_events_count"] + r["bad_events_count"])
            )
            < 1e-6
        )


def test_the_ui_alerts_only_while_a_window_covers_the_breach_hour(tmp_path):
    rows = [r for r in _rows(tmp_path) if r["alert"]]
    assert sorted((r["timestamp_human"], r["error_budget_policy_step_name"]) for r in rows) == [
        (story.BREACH_END, "1 hour"),
        (story.BREACH_END, "12 hours"),
        (story.BREACH_END + timedelta(hours=9), "12 hours"),
    ]
    longest_alerting_window = timedelta(hours=12)
    for r in rows:
        assert story.BREACH_END <= r["timestamp_human"] < story.BREACH_END + longest_alerting_window
