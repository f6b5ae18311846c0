"""Which findings explain a breach: under way in its window, about its culprit."""

from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.learning.breach import Breach
from cicl_assets.learning.breach_findings import (
    culprits,
    explaining_findings,
    findings_markdown,
)

AT = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
BREACH = Breach(
    slo_name="gateway-latency",
    alert="page",
    evaluation_time=AT.isoformat(),
    alert_window="1h/5m",
)


def report(dimension: str, value: str, share: float) -> dict:
    return {"dimension": dimension, "value": value, "share_of_bad": share}


REPORT = [
    report("operation", "chat", 0.95),
    report("provider", "anthropic", 0.9),
    report("provider", "openai", 0.1),
    report("model", "claude-sonnet", 0.4),
    report("service_version", "1.8.0", 1.0),
    report("workflow", "(none)", 1.0),
    report("error_type", "TimeoutError", 0.8),
]


def finding(name: str, change: timedelta, resolved: timedelta | None = None, **dims) -> dict:
    return {
        "finding_id": name,
        "kind": "latency_regression",
        "status": "open" if resolved is None else "resolved",
        "severity": dims.pop("severity", "high"),
        "title": f"title of {name}",
        "change_at": AT + change,
        "resolved_at": None if resolved is None else AT + resolved,
        "gen_ai_provider": None,
        "gen_ai_model": None,
        "operation": None,
        "workflow": None,
        "service_version": None,
        **dims,
    }


def test_culprits_are_the_values_carrying_half_the_bad_events():
    # model at 40% is not one; "(none)" names nothing; error_type has no finding column, and
    # the service version, which every event after a deploy carries, is left out.
    assert culprits(REPORT) == {"operation": "chat", "gen_ai_provider": "anthropic"}


@pytest.mark.parametrize(
    ("candidate", "explains"),
    [
        (finding("slowdown", -timedelta(hours=1), gen_ai_provider="anthropic"), True),
        (finding("days-old", -timedelta(days=2), operation="chat"), True),
        (finding("other-provider", -timedelta(hours=1), gen_ai_provider="openai"), False),
        (finding("after-the-breach", timedelta(minutes=5), gen_ai_provider="anthropic"), False),
        (
            finding(
                "recovered-before-window",
                -timedelta(hours=5),
                -timedelta(hours=2),
                gen_ai_provider="anthropic",
            ),
            False,
        ),
        (
            finding(
                "recovered-in-window",
                -timedelta(hours=5),
                -timedelta(minutes=30),
                gen_ai_provider="anthropic",
            ),
            True,
        ),
        (finding("model-below-the-bar", -timedelta(hours=1), gen_ai_model="claude-sonnet"), False),
        (finding("no-dimension", -timedelta(hours=1)), False),
        (finding("same-version", -timedelta(hours=1), service_version="1.8.0"), False),
    ],
)
def test_a_finding_explains_a_breach(candidate, explains):
    assert bool(explaining_findings(REPORT, [candidate], BREACH)) is explains


def test_worst_first_and_a_line_each_with_its_id():
    found = explaining_findings(
        REPORT,
        [
            finding("b", -timedelta(hours=2), operation="chat", severity="medium"),
            finding("a", -timedelta(hours=1), gen_ai_provider="anthropic"),
        ],
        BREACH,
    )
    assert [f["finding_id"] for f in found] == ["a", "b"]
    assert findings_markdown(found) == (
        "The findings that explain this breach:\n\n"
        "- `a` (latency_regression, open): title of a\n"
        "- `b` (latency_regression, open): title of b"
    )
    assert explaining_findings([report("provider", "x", 0.3)], found, BREACH) == []
    assert findings_markdown([]) == "_no finding in `cl_findings` explains this breach_"
