import json
from datetime import UTC, datetime

import pytest

from cicl_assets.ingest.content import ParseError
from cicl_assets.slo.external_counts import spread
from cicl_assets.slo.sli_counts import parse
from cicl_assets.slo.spec_table import spec_rows
from cicl_assets.slo.specs import parse_specs

ROW = {
    "slo": "checkout-availability",
    "window_start": "2026-11-05T14:00:00Z",
    "window_end": "2026-11-05T14:05:00Z",
    "good": 4990,
    "total": "5000",
}


def test_a_count_line_becomes_one_row():
    [(table, rows)] = list(parse((json.dumps(ROW) + "\n").encode(), "slo/c.jsonl"))
    assert table == "slo_sli_counts"
    assert rows == [
        {
            "slo_name": "checkout-availability",
            "objective": "",
            "window_start": datetime(2026, 11, 5, 14, tzinfo=UTC),
            "window_end": datetime(2026, 11, 5, 14, 5, tzinfo=UTC),
            "good": 4990,
            "total": 5000,
        }
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"good": 5001}, "line 1: need 0 <= good <= total, found good=5001 total=5000"),
        ({"good": -1}, "need 0 <= good <= total, found good=-1"),
        ({"window_end": "2026-11-05T13:00:00Z"}, "window_end 2026-11-05T13:00:00+00:00 is not"),
        ({"window_end": "2026-11-07T14:00:00Z"}, "an interval is at most a day long"),
        ({"slo": ""}, "slo must be the SLO's name"),
        ({"objective": 3}, "objective must be text"),
        ({"total": None} | {"window_start": None}, "window_start"),
    ],
)
def test_bad_lines_reject_the_file_with_the_rule(change, message):
    row = {k: v for k, v in {**ROW, **change}.items() if v is not None}
    with pytest.raises(ParseError) as refused:
        list(parse(json.dumps(row).encode(), "slo/c.jsonl"))
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("start", "end", "good", "total", "expected"),
    [
        # 7 good of 10 over 3 minutes: remainders on the first minutes, sums exact.
        ("14:00:00", "14:03:00", 7, 10, [(0, 3, 4), (1, 2, 3), (2, 2, 3)]),
        # An interval shorter than a minute is that minute.
        ("14:00:20", "14:00:40", 1, 2, [(0, 1, 2)]),
        # Minutes without events are left out.
        ("14:00:00", "14:04:00", 0, 2, [(0, 0, 1), (1, 0, 1)]),
    ],
)
def test_an_interval_is_spread_evenly_over_its_minutes(start, end, good, total, expected):
    begin = datetime.fromisoformat(f"2026-11-05T{start}+00:00")
    got = spread(begin, datetime.fromisoformat(f"2026-11-05T{end}+00:00"), good, total)
    first = begin.replace(second=0)
    assert [(int((m - first).total_seconds() // 60), g, t) for m, g, t in got] == expected


def test_slo_specs_rows_say_where_events_come_from_and_why_not():
    sloth = """
version: prometheus/v1
service: checkout
slos:
  - name: availability
    objective: 99.5
    sli: {events: {error_query: a, total_query: b}}
    alerting: {ticket_alert: {disable: true}}
"""
    [listed] = spec_rows(parse_specs({"checkout.yaml": sloth}))
    assert listed == {
        "source_file": "slos/checkout.yaml",
        "format": "prometheus/v1",
        "service": "checkout",
        "slo_name": "checkout-availability",
        "objective": "",
        "evaluation_name": "checkout-availability",
        "target": 0.995,
        "budget_window": "30d",
        "budgeting_method": "Occurrences",
        "time_slice_window": None,
        "time_slice_target": None,
        "alerting": "sloth-no-ticket: page 1h/5m > 14.4, page 6h/30m > 6",
        "sli_kind": "availability",
        "sli_source": None,
        "span_filter": None,
        "evaluable": False,
        "reason": "SLO checkout-availability: the SLI is Prometheus queries (sli.events); map it "
        "to spans or to external counts with an SliMapping in config/slos",
    }
