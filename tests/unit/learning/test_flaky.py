from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.learning.findings import CL_FINDINGS
from cicl_assets.learning.flaky.assets import findings_rows
from cicl_assets.learning.flaky.detect import (
    Result,
    flaky_tests,
    flip_rate,
    infrastructure_failures,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ("", None),
        ("P", None),
        ("PP", 0.0),
        ("PF", 1.0),
        ("PFPF", 1.0),
        ("PPPF", 0.3333),
        ("PPFFPP", 0.4),
        ("FFFF", 0.0),
    ],
)
def test_flip_rate(outcomes, expected):
    assert flip_rate([c == "P" for c in outcomes]) == expected


def results(run: str, statuses: str, **kw) -> list[Result]:
    """One result per character: P passed, F failed, E error, S skipped, R flaky."""
    word = {"P": "passed", "F": "failed", "E": "error", "S": "skipped", "R": "flaky"}
    return [
        Result(f"t{i}", run, kw.get("sha", "a" * 40), kw.get("job", "ci/unit"), "main", T0, word[c])
        for i, c in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("runs", "share", "expected"),
    [
        ({"r1": "PPPP", "r2": "FFFP"}, 0.5, {"r2"}),
        ({"r1": "PPFF"}, 0.5, {"r1"}),  # exactly at the threshold
        ({"r1": "PPPF"}, 0.5, set()),
        ({"r1": "FFFP"}, 0.8, set()),
        ({"r1": "F"}, 0.5, set()),  # one test is no evidence of a broken runner
        ({"r1": "FFSS"}, 0.5, {"r1"}),  # skipped tests did not run
        ({"r1": "RRPP"}, 0.5, set()),  # passed on retry is a pass
    ],
)
def test_infrastructure_exclusion(runs, share, expected):
    rows = [r for run, statuses in runs.items() for r in results(run, statuses)]
    assert infrastructure_failures(rows, share) == expected


def run(key, run_id, hour, status, sha="a" * 40, job="ci/unit", branch="main"):
    return Result(key, run_id, sha, job, branch, T0 + timedelta(hours=hour), status)


def detect(rows, **kw):
    params = dict(
        default_branches=("main",),
        window_runs=20,
        infrastructure_share=0.5,
        recovery_passes=3,
        recovery_days=14,
        as_of=T0 + timedelta(days=2),
    )
    params.update(kw)
    return flaky_tests(rows, **params)


def test_flaky_tests_ranked_by_failed_runs_caused():
    rows = [
        # passes on retry twice; never fails a run
        run("retry", "r1", 1, "flaky"),
        run("retry", "r2", 2, "passed"),
        run("retry", "r3", 3, "flaky"),
        # same commit and job: fails then passes, twice
        run("conflict", "r1", 1, "failed"),
        run("conflict", "r2", 2, "passed"),
        run("conflict", "r3", 3, "failed", sha="b" * 40),
        run("conflict", "r4", 4, "passed", sha="b" * 40),
        # different job configurations of one commit: not the same code path
        run("matrix", "r1", 1, "failed", job="ci/unit-py3.11"),
        run("matrix", "r2", 2, "passed", job="ci/unit-py3.12"),
        # fails on every run of its branch: broken, not flaky
        run("broken", "f1", 1, "failed", sha="c" * 40, branch="feature"),
        run("broken", "f2", 2, "failed", sha="d" * 40, branch="feature"),
    ]
    # Few tests per run here: a threshold no run reaches keeps every run.
    found = detect(rows, infrastructure_share=0.9)
    assert [
        (
            r["rank"],
            r["test_key"],
            r["failed_runs_caused"],
            r["passed_on_retry"],
            r["same_commit_conflicts"],
            r["flip_rate"],
            r["history"],
            r["status"],
        )
        for r in found
    ] == [
        (1, "conflict", 2, 0, 2, 1.0, "FPFP", "open"),
        (2, "retry", 0, 2, 0, 0.0, "RPR", "open"),
    ]


@pytest.mark.parametrize(
    ("after", "as_of_days", "expected"),
    [
        ("PPP", 2, ("resolved", 3)),  # three consecutive passes
        ("PPFP", 2, ("open", 1)),  # ... a plain failure restarts the count
        ("PP", 2, ("open", 2)),
        ("", 15, ("resolved", 0)),  # two weeks without a flake
    ],
)
def test_recovery(after, as_of_days, expected):
    rows = [run("t", "r0", 0, "flaky")] + [
        run("t", f"r{i + 1}", i + 1, "passed" if c == "P" else "failed", sha=f"{i:040x}")
        for i, c in enumerate(after)
    ]
    [row] = detect(rows, as_of=T0 + timedelta(days=as_of_days))
    assert (row["status"], row["passes_since_last_flake"]) == expected


def test_infrastructure_failures_do_not_make_a_test_flaky():
    rows = [
        run("a", "r1", 1, "passed"),
        run("b", "r1", 1, "passed"),
        run("a", "r2", 2, "failed"),  # the whole run failed: the runner, not the test
        run("b", "r2", 2, "failed"),
    ]
    assert detect(rows) == []


def test_findings_rows_are_cl_findings_shaped_and_stable():
    [row] = detect([run("t", "r1", 1, "flaky")])
    [finding] = findings_rows([row], T0 + timedelta(days=2), "2026-11-02")
    again = findings_rows(
        detect([run("t", "r1", 1, "flaky"), run("t", "r2", 5, "flaky")]), T0, "2026-11-03"
    )
    assert finding["finding_id"] == again[0]["finding_id"]
    assert (finding["kind"], finding["status"], finding["metric"], finding["title"]) == (
        "flaky_test",
        "open",
        "flip_rate",
        "t is flaky: 1 passes on retry, 0 failed runs in 30 days",
    )
    assert set(finding) == set(CL_FINDINGS.schema.names)
