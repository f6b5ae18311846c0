import json
from datetime import UTC, date, datetime, timedelta

import pytest

from cicl_assets.delivery.bands import (
    change_failure_rate_band,
    deployment_frequency_band,
    lead_time_band,
    recovery_band,
)
from cicl_assets.delivery.dora import CommitTime, deploy_facts
from cicl_assets.delivery.incidents import Incident, incidents_from_status
from cicl_assets.delivery.metrics import period_rows


def t(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def deploy(dep_id, start, status="succeeded", service="api", env="production", **extra):
    return {
        "deployment_id": dep_id,
        "service": service,
        "environment": env,
        "version": None,
        "commit_sha": extra.pop("commit_sha", None),
        "status": status,
        "started_at": start,
        "finished_at": start + timedelta(minutes=10),
        "rollback_of": extra.pop("rollback_of", None),
    }


def page(slo, start, end, service="api"):
    return Incident(slo, service, start, end)


def summary(rows):
    return [
        (r["deployment_id"], r["change_failed"], r["failure_causes"], r["recovery_h"]) for r in rows
    ]


# case -> (deploys, incidents, [(id, failed, causes, recovery_h)], unattributed incident keys)
CASES = {
    "a deploy with two incidents counts once": (
        [deploy("d1", t(2, 9)), deploy("d2", t(4, 9))],
        [page("lat", t(2, 10), t(2, 11)), page("avail", t(2, 12), t(2, 12, 30))],
        [("d1", True, "incident", 2.5), ("d2", False, None, None)],
        [],
    ),
    "an incident with no deploy before it": (
        [deploy("d1", t(2, 9))],
        [page("lat", t(1, 10), t(1, 11))],
        [("d1", False, None, None)],
        ["lat@2026-11-01T10:00:00+00:00"],
    ),
    "an incident past the window is nobody's": (
        [deploy("d1", t(2, 9))],
        [page("lat", t(3, 9, 30), t(3, 10))],
        [("d1", False, None, None)],
        ["lat@2026-11-03T09:30:00+00:00"],
    ),
    "an incident of another service is not the deploy's": (
        [deploy("d1", t(2, 9))],
        [page("lat", t(2, 10), t(2, 11), service="web")],
        [("d1", False, None, None)],
        ["lat@2026-11-02T10:00:00+00:00"],
    ),
    "the latest deploy before an incident takes it": (
        [deploy("d1", t(2, 9)), deploy("d2", t(2, 12))],
        [page("lat", t(2, 13), t(2, 14))],
        [("d1", False, None, None), ("d2", True, "incident", 1.0)],
        [],
    ),
    "a rollback of a rollback: both rolled-back deploys failed": (
        [
            deploy("d1", t(2, 9), status="rolled_back"),
            deploy("d2", t(2, 10), rollback_of="d1"),
            deploy("d3", t(2, 11), rollback_of="d2"),
        ],
        [],
        [
            ("d1", True, "rollback", 1.0),
            ("d2", True, "rollback", 1.0),
            ("d3", False, None, None),
        ],
        [],
    ),
    "a failed deploy recovers with the next good deploy": (
        [deploy("d1", t(2, 9), status="failed"), deploy("d2", t(2, 15))],
        [],
        [("d1", True, "failed_deploy", 6.0), ("d2", False, None, None)],
        [],
    ),
    "a failed deploy with no good deploy after is unrecovered": (
        [deploy("d1", t(2, 9), status="error")],
        [],
        [("d1", True, "failed_deploy", None)],
        [],
    ),
    "a rolled-back deploy that also paged counts once": (
        [deploy("d1", t(2, 9), status="rolled_back"), deploy("d2", t(2, 9, 40), rollback_of="d1")],
        [page("lat", t(2, 9, 20), t(2, 9, 50))],
        [("d1", True, "incident,rollback", 0.6667), ("d2", False, None, None)],
        [],
    ),
    "an incident recovers at the next good deploy when it comes before the alert's end": (
        [deploy("d1", t(2, 9)), deploy("d2", t(2, 11))],
        [page("lat", t(2, 10), t(2, 14))],
        [("d1", True, "incident", 1.1667), ("d2", False, None, None)],
        [],
    ),
    "an incident recovers at the alert's end when no good deploy comes before it": (
        [deploy("d1", t(2, 9)), deploy("d2", t(2, 16))],
        [page("lat", t(2, 10), t(2, 14))],
        [("d1", True, "incident", 4.0), ("d2", False, None, None)],
        [],
    ),
    "a failed deploy does not recover at the next failed one": (
        [
            deploy("d1", t(2, 9), status="failed"),
            deploy("d2", t(2, 10), status="failed"),
            deploy("d3", t(2, 12)),
        ],
        [],
        [
            ("d1", True, "failed_deploy", 3.0),
            ("d2", True, "failed_deploy", 2.0),
            ("d3", False, None, None),
        ],
        [],
    ),
    "a rollback of a rollback that paged: each deploy counts once": (
        [
            deploy("d1", t(2, 9), status="rolled_back"),
            deploy("d2", t(2, 10), rollback_of="d1"),
            deploy("d3", t(2, 11), rollback_of="d2"),
        ],
        [page("lat", t(2, 10, 20), t(2, 10, 30)), page("avail", t(2, 10, 25), t(2, 12))],
        [
            ("d1", True, "rollback", 1.0),
            # failed at its end (10:10), both pages over by the rollback's end (11:10)
            ("d2", True, "incident,rollback", 1.0),
            ("d3", False, None, None),
        ],
        [],
    ),
    "staging deploys take no incidents": (
        [deploy("s1", t(2, 9), env="staging")],
        [page("lat", t(2, 10), t(2, 11))],
        [("s1", False, None, None)],
        ["lat@2026-11-02T10:00:00+00:00"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_change_failures(case):
    deploys, incidents, expected, unattributed = CASES[case]
    rows, nobody = deploy_facts(deploys, incidents, {}, timedelta(hours=24))
    assert summary(rows) == expected
    assert [i.key for i in nobody] == unattributed


def test_change_failure_rate_never_exceeds_one():
    deploys, incidents, _, _ = CASES["a deploy with two incidents counts once"]
    rows, nobody = deploy_facts(deploys[:1], incidents, {}, timedelta(hours=24))
    [week] = [r for r in period_rows(rows, nobody, date(2026, 11, 2)) if r["period"] == "week"]
    assert (week["deployments"], week["failed_deployments"], week["change_failure_rate"]) == (
        1,
        1,
        1.0,
    )
    assert json.loads(week["failure_causes"]) == {"incident": 1}


def c(sha, day, hour, repo="o/r", branch="main", known=True):
    at = t(day, hour)
    return CommitTime(sha, repo, branch, at if known else None, at)


LEAD_CASES = {
    "first commit since the previous deploy": (
        [c("a" * 40, 1, 8), c("b" * 40, 2, 8), c("c" * 40, 2, 12), c("d" * 40, 3, 7)],
        [("a" * 40, 1), ("d" * 40, 3)],
        # a deploy at 1st 09:00 (+10 min): 1h10m after a; d's change began with b on the 2nd
        [(1.1667, "first_commit"), (25.1667, "first_commit")],
    ),
    "previous deploy's commit time unknown": (
        [c("a" * 40, 1, 8, known=False), c("b" * 40, 2, 8), c("d" * 40, 3, 7)],
        [("a" * 40, 1), ("d" * 40, 3)],
        [(1.1667, "deployed_commit_first_seen"), (2.1667, "deployed_commit")],
    ),
    "commit no record names": (
        [],
        [("e" * 40, 1)],
        [(None, "unknown")],
    ),
    "other branches do not start the change": (
        [c("b" * 40, 2, 1, branch="feature/x"), c("d" * 40, 3, 7)],
        [("d" * 40, 3)],
        [(2.1667, "first_commit")],
    ),
}


@pytest.mark.parametrize("case", sorted(LEAD_CASES))
def test_lead_time(case):
    commits, deployed, expected = LEAD_CASES[case]
    deploys = [deploy(f"d{i}", t(day, 9), commit_sha=sha) for i, (sha, day) in enumerate(deployed)]
    rows, _ = deploy_facts(deploys, [], {x.sha: x for x in commits})
    assert [(r["lead_time_h"], r["lead_time_from"]) for r in rows] == expected


def test_pages_of_one_slo_close_together_are_one_incident():
    rows = [
        {"slo_name": "a", "service": "api", "evaluation_time": t(5, 14, m), "alert": "page"}
        for m in (30, 35, 40, 50, 55)
    ] + [
        {"slo_name": "a", "service": "api", "evaluation_time": t(5, 16), "alert": "page"},
        {"slo_name": "a", "service": "api", "evaluation_time": t(5, 15), "alert": "ticket"},
        {"slo_name": "b", "service": "api", "evaluation_time": t(5, 14, 35), "alert": "page"},
    ]
    assert incidents_from_status(rows) == [
        Incident("a", "api", t(5, 14, 30), t(5, 14, 55)),
        Incident("a", "api", t(5, 16), t(5, 16)),
        Incident("b", "api", t(5, 14, 35), t(5, 14, 35)),
    ]


BANDS = [
    (deployment_frequency_band, 2.0, "elite"),
    (deployment_frequency_band, 1.0, "elite"),
    (deployment_frequency_band, 0.5, "high"),
    (deployment_frequency_band, 1 / 7, "high"),
    (deployment_frequency_band, 0.1, "medium"),
    (deployment_frequency_band, 0.01, "low"),
    (lead_time_band, 23.9, "elite"),
    (lead_time_band, 24.0, "high"),
    (lead_time_band, 200.0, "medium"),
    (lead_time_band, 800.0, "low"),
    (change_failure_rate_band, 0.0, "elite"),
    (change_failure_rate_band, 0.075, "elite"),
    (change_failure_rate_band, 0.12, "medium"),
    (change_failure_rate_band, 0.25, "high"),
    (change_failure_rate_band, 1.0, "low"),
    (recovery_band, 0.5, "elite"),
    (recovery_band, 5.0, "high"),
    (recovery_band, 30.0, "low"),
    (recovery_band, None, None),
]


@pytest.mark.parametrize(("band", "value", "expected"), BANDS)
def test_bands(band, value, expected):
    assert band(value) == expected


# case -> (deploys, incidents,
#          [(service, deployments, failed, rate, band, incidents_without_deploy)] of the week)
PERIOD_CASES = {
    "an incident with no deploy is reported, not a failed change": (
        [deploy("d1", t(2, 9)), deploy("d2", t(3, 9))],
        [page("lat", t(4, 10), t(4, 11))],
        [("api", 2, 0, 0.0, "elite", 1)],
    ),
    "a deploy with two incidents is one failed change": (
        [deploy("d1", t(2, 9)), deploy("d2", t(4, 9))],
        [page("lat", t(2, 10), t(2, 11)), page("avail", t(2, 12), t(2, 12, 30))],
        [("api", 2, 1, 0.5, "low", 0)],
    ),
    "a rollback of a rollback: two failed changes of three": (
        [
            deploy("d1", t(2, 9), status="rolled_back"),
            deploy("d2", t(2, 10), rollback_of="d1"),
            deploy("d3", t(2, 11), rollback_of="d2"),
        ],
        [],
        [("api", 3, 2, 0.6667, "low", 0)],
    ),
    "an incident of a service with no deploy gets a row of its own": (
        [deploy("d1", t(2, 9))],
        [page("lat", t(2, 10), t(2, 11), service="web"), page("x", t(3, 1), t(3, 2), None)],
        [
            ("(unknown)", 0, 0, None, None, 1),
            ("api", 1, 0, 0.0, "elite", 0),
            ("web", 0, 0, None, None, 1),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(PERIOD_CASES))
def test_change_failure_rate_of_the_week(case):
    deploys, incidents, expected = PERIOD_CASES[case]
    rows, nobody = deploy_facts(deploys, incidents, {}, timedelta(hours=24))
    week = [r for r in period_rows(rows, nobody, date(2026, 11, 6)) if r["period"] == "week"]
    assert [
        (
            r["service"],
            r["deployments"],
            r["failed_deployments"],
            r["change_failure_rate"],
            r["change_failure_rate_band"],
            r["incidents_without_deploy"],
        )
        for r in week
    ] == expected
