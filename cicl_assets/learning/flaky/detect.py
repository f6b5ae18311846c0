"""Which tests are flaky, from test results joined to their runs.

A test is flaky when the same code gives it both a pass and a fail: a pass on retry inside one
report (the JUnit parser's ``flaky`` status, from Surefire ``flakyFailure``/``rerunFailure``,
pytest-rerunfailures repeats, nextest and Bazel attempts), or a pass and a fail in two runs of
the same commit and the same job configuration. Runs where most tests failed are infrastructure
failures and are left out. The flip rate is over a test's last N runs on the default branch.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

FAIL = ("failed", "error")
PASS = ("passed", "flaky")  # flaky: failed, then passed on a retry in the same report


@dataclass(frozen=True)
class Result:
    test_key: str
    run_id: str
    commit_sha: str | None
    job: str  # pipeline and job name: the job configuration (matrix entry)
    branch: str | None
    at: datetime
    status: str
    attempts: int = 1
    framework: str | None = None


def infrastructure_failures(results: Sequence[Result], share: float) -> set[str]:
    """Runs where at least ``share`` of the tests that ran failed."""
    ran: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        if r.status in FAIL or r.status in PASS:
            ran[r.run_id].append(r.status in FAIL)
    return {
        run for run, fails in ran.items() if len(fails) > 1 and sum(fails) / len(fails) >= share
    }


def flip_rate(outcomes: Sequence[bool]) -> float | None:
    """flips / (runs - 1) over a sequence of pass (True) / fail (False); None under two runs."""
    if len(outcomes) < 2:
        return None
    flips = sum(1 for a, b in pairwise(outcomes) if a != b)
    return round(flips / (len(outcomes) - 1), 4)


def flaky_tests(
    results: Sequence[Result],
    *,
    default_branches: Sequence[str],
    window_runs: int,
    infrastructure_share: float,
    recovery_passes: int,
    recovery_days: int,
    as_of: datetime,
) -> list[dict[str, Any]]:
    """One row per test with flaky evidence, ranked by the failed runs it caused."""
    infra = infrastructure_failures(results, infrastructure_share)
    by_test: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        if r.run_id not in infra and (r.status in FAIL or r.status in PASS):
            by_test[r.test_key].append(r)
    rows = []
    for key, mine in by_test.items():
        mine.sort(key=lambda r: (r.at, r.run_id))
        retried = [r for r in mine if r.status == "flaky"]
        outcomes: dict[tuple, set[bool]] = defaultdict(set)
        for r in mine:
            if r.commit_sha:
                outcomes[(r.commit_sha, r.job)].add(r.status in PASS)
        conflicts = sorted(k for k, seen in outcomes.items() if len(seen) == 2)
        conflict_runs = [r for r in mine if (r.commit_sha, r.job) in set(conflicts)]
        flaked = retried + [r for r in conflict_runs if r.status in FAIL]
        if not flaked:
            continue
        last_flake = max(r.at for r in flaked)
        after = [r for r in mine if r.at > last_flake]
        clean_streak = 0
        for r in after:
            clean_streak = clean_streak + 1 if r.status == "passed" else 0
        recovered = clean_streak >= recovery_passes or as_of - last_flake >= timedelta(
            days=recovery_days
        )
        on_default = [r for r in mine if r.branch in default_branches][-window_runs:]
        history = "".join(
            "F" if r.status in FAIL else ("R" if r.status == "flaky" else "P") for r in on_default
        )
        failed_runs = sorted({r.run_id for r in flaked if r.status in FAIL})
        rows.append(
            {
                "test_key": key,
                "framework": mine[-1].framework,
                "runs": len(mine),
                "passes": sum(1 for r in mine if r.status == "passed"),
                "fails": sum(1 for r in mine if r.status in FAIL),
                "passed_on_retry": len(retried),
                "same_commit_conflicts": len(conflicts),
                "failed_runs_caused": len(failed_runs),
                "default_branch_runs": len(on_default),
                "flip_rate": flip_rate([r.status not in FAIL for r in on_default]),
                "history": history,
                "first_flake_at": min(r.at for r in flaked),
                "last_flake_at": last_flake,
                "passes_since_last_flake": clean_streak,
                "status": "resolved" if recovered else "open",
                "evidence": json.dumps(
                    {
                        "retried_in_runs": [r.run_id for r in retried][-10:],
                        "failed_runs": failed_runs[-10:],
                        "same_commit_conflicts": [f"{c}@{j}" for c, j in conflicts][-10:],
                    },
                    sort_keys=True,
                ),
            }
        )
    rows.sort(key=lambda r: (-r["failed_runs_caused"], -r["passed_on_retry"], r["test_key"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows
