"""flaky_tests and failure_modes over real warehouse tables: one day partition each, with the
rows a person would check by hand, on both warehouses."""

import base64
import json
import shutil
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from cicl_assets.ci.junit.reports import CI_TEST_CASES
from cicl_assets.ci.runs.records import CI_RUNS
from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.infra.tables import INFRA_APPLY_LOGS
from cicl_assets.learning.failure_modes.assets import failure_modes
from cicl_assets.learning.findings import finding_id, group_key
from cicl_assets.learning.flaky.assets import flaky_tests_asset
from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.telemetry.logs_table import OTEL_LOGS
from cicl_assets.telemetry.spans_table import OTEL_SPANS

A, B, C = "a" * 40, "b" * 40, "c" * 40
RETRY, CONFLICT, STABLE = "pkg.RetryTest::once", "tests/test_c.py::test_x", "pkg.StableTest::y"


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def picture(result: dg.ExecuteInProcessResult, node: str, key: str) -> tuple[str, bytes]:
    """The sentence above a metadata picture, and the picture's bytes."""
    [materialization] = result.asset_materializations_for_node(node)
    text = materialization.metadata[key].value
    sentence, image = text.split("\n\n![", 1)
    return sentence, base64.b64decode(image.split("base64,", 1)[1].rstrip(")"))


def resources(warehouse):
    return {"warehouse": warehouse, "cicl_config": CiclConfig(config_dir="config")}


# run id -> (commit, branch, started, {test: status}); r3's tests all fail: the runner broke.
RUNS = {
    "r0": (A, "main", t(1, 9) - timedelta(days=40), {CONFLICT: "failed"}),  # before the lookback
    "r1": (A, "main", t(3, 10), {RETRY: "flaky", CONFLICT: "failed", STABLE: "passed"}),
    "r2": (A, "main", t(3, 11), {RETRY: "passed", CONFLICT: "passed", STABLE: "passed"}),
    "r3": (B, "main", t(4, 10), {RETRY: "failed", CONFLICT: "failed", STABLE: "failed"}),
    "r4": (B, "main", t(4, 12), {RETRY: "passed", CONFLICT: "passed", STABLE: "passed"}),
    "r5": (C, "feature", t(4, 13), {RETRY: "passed", CONFLICT: "failed", STABLE: "passed"}),
}


@pytest.mark.parametrize("any_warehouse", ["duckdb", "bigquery"], indirect=True)
def test_flaky_tests_of_a_day(any_warehouse):
    warehouse = any_warehouse
    warehouse.append(
        CI_RUNS,
        CI_RUNS.from_records(
            [
                {"pipeline_run_id": run, "commit_sha": sha, "pipeline": "flow-ci",
                 "job_name": "unit", "branch": branch, "started_at": at}
                for run, (sha, branch, at, _) in RUNS.items()
            ]
        ),
    )  # fmt: skip
    warehouse.append(
        CI_TEST_CASES,
        CI_TEST_CASES.from_records(
            [
                {"pipeline_run_id": run, "test_key": key, "status": status,
                 "attempts": 2 if status == "flaky" else 1,
                 "framework": "surefire" if key.startswith("pkg.") else "pytest",
                 # a report without a timestamp is found through its run
                 "timestamp": None if run == "r2" else at}
                for run, (_, _, at, tests) in RUNS.items()
                for key, status in tests.items()
            ]
        ),
    )  # fmt: skip
    result = dg.materialize(
        [flaky_tests_asset], resources=resources(warehouse), partition_key="2026-11-05"
    )
    assert result.success
    sentence, png = picture(result, "flaky_tests", "flaky_history")
    assert sentence.startswith("Each row is one of the flakiest tests")
    assert png.startswith(b"\x89PNG")
    rows = warehouse.query(
        "SELECT as_of, rank, test_key, framework, runs, passes, fails, passed_on_retry, "
        "same_commit_conflicts, failed_runs_caused, default_branch_runs, flip_rate, history, "
        "first_flake_at, last_flake_at, passes_since_last_flake, status, evidence "
        "FROM flaky_tests ORDER BY rank"
    ).to_pylist()
    # CONFLICT failed and passed on commit A in flow-ci/unit (r1, r2); r3 is left out (all
    # failed), r5's failure is another commit on another branch. RETRY passed on retry in r1.
    assert [tuple(r.values()) for r in rows] == [
        (t(6, 0), 1, CONFLICT, "pytest", 4, 2, 2, 0, 1, 1, 3, 0.5, "FPP", t(3, 10), t(3, 10),
         0, "open",
         '{"failed_runs": ["r1"], "retried_in_runs": [], "same_commit_conflicts": '
         f'["{A}@flow-ci/unit"]}}'),
        (t(6, 0), 2, RETRY, "surefire", 4, 3, 0, 1, 0, 0, 3, 0.0, "RPP", t(3, 10), t(3, 10),
         3, "open",
         '{"failed_runs": [], "retried_in_runs": ["r1"], "same_commit_conflicts": []}'),
    ]  # fmt: skip
    # Re-running the day replaces its rows.
    assert dg.materialize(
        [flaky_tests_asset], resources=resources(warehouse), partition_key="2026-11-05"
    ).success
    assert warehouse.row_count("flaky_tests") == 2

    # The run merged one finding per flaky test into cl_findings, keyed like every finding.
    findings = warehouse.query(
        "SELECT finding_id, group_key, kind, status, severity, title, evaluation, partition_day, "
        "data_through FROM cl_findings ORDER BY title"
    ).to_pylist()
    assert [tuple(f.values()) for f in findings] == [
        (finding_id("flaky_test", f"test={RETRY}", "flip_rate", f"test:{RETRY}"),
         group_key(f"test:{RETRY}"), "flaky_test", "open", "medium",
         f"{RETRY} is flaky: 1 passes on retry, 0 failed runs in 30 days", "flaky_tests",
         "2026-11-05", t(6, 0)),
        (finding_id("flaky_test", f"test={CONFLICT}", "flip_rate", f"test:{CONFLICT}"),
         group_key(f"test:{CONFLICT}"), "flaky_test", "open", "medium",
         f"{CONFLICT} is flaky: 0 passes on retry, 1 failed runs in 30 days", "flaky_tests",
         "2026-11-05", t(6, 0)),
    ]  # fmt: skip


def span(at, status, *, trace, error_type=None, message=None, exception=None, version="1.8.0"):
    events = (
        [{"name": "exception", "attributes": {"exception.type": exception[0],
                                              "exception.message": exception[1]}}]
        if exception else []
    )  # fmt: skip
    attrs = {"workflow.name": "invoice-triage"}
    if error_type:
        attrs["error.type"] = error_type
    return {
        "trace_id": trace,
        "span_id": trace[:16],
        "service_name": "rt",
        "service_version": version,
        "start_time": at,
        "end_time": at,
        "status_code": status,
        "status_message": message,
        "span_attributes": json.dumps(attrs),
        "events": json.dumps(events),
        "gen_ai_provider": "anthropic",
    }


SPANS = [
    # baseline: the provider timeout, twice in the week before
    span(t(1, 8), "ERROR", trace="1" * 32, error_type="TimeoutError",
         message="provider 10.0.0.2 timed out after 12s", version="1.7.3"),
    span(t(2, 8), "ERROR", trace="2" * 32, error_type="TimeoutError",
         message="provider 10.0.0.9 timed out after 14s", version="1.7.3"),
    # the day: the timeout once before the deploy, a new exception twice after it, one OK span
    span(t(4, 8, 30), "ERROR", trace="3" * 32, error_type="TimeoutError",
         message="provider 10.0.0.7 timed out after 30s", version="1.7.3"),
    span(t(4, 9, 30), "ERROR", trace="4" * 32,
         exception=("KeyError", "template v8 missing field 'citation'")),
    span(t(4, 9, 40), "ERROR", trace="5" * 32,
         exception=("KeyError", "template v8 missing field 'source'")),
    span(t(4, 9, 50), "OK", trace="6" * 32),
]  # fmt: skip


@pytest.mark.parametrize("any_warehouse", ["duckdb", "bigquery"], indirect=True)
def test_failure_modes_of_a_day(any_warehouse, tmp_path):
    warehouse = any_warehouse
    warehouse.append(
        DEPLOYMENTS,
        DEPLOYMENTS.from_records(
            [
                {"deployment_id": "d0", "service": "rt", "environment": "production",
                 "version": "1.7.3", "commit_sha": A, "started_at": t(1, 6) - timedelta(days=2)},
                {"deployment_id": "d1", "service": "rt", "environment": "production",
                 "version": "1.8.0", "commit_sha": B, "started_at": t(4, 9)},
                {"deployment_id": "s1", "service": "rt", "environment": "staging",
                 "version": "1.8.1", "commit_sha": C, "started_at": t(4, 9, 35)},
            ]
        ),
    )  # fmt: skip
    warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(SPANS))
    warehouse.append(
        OTEL_LOGS,
        OTEL_LOGS.from_records(
            [
                {"time": t(4, 10), "severity_number": 17, "severity_text": "ERROR",
                 "body": "db pool exhausted after 5000 ms", "service_name": "rt",
                 "service_version": "1.8.0", "trace_id": "7" * 32},
                {"time": t(4, 10, 5), "severity_number": 13, "severity_text": "WARN",
                 "body": "slow query", "service_name": "rt"},
            ]
        ),
    )  # fmt: skip
    warehouse.append(
        CI_TEST_CASES,
        CI_TEST_CASES.from_records(
            [
                {"pipeline_run_id": "r9", "test_key": CONFLICT, "status": "failed",
                 "failure_type": "AssertionError", "message": "assert 3 == 4",
                 "details": 'Traceback\n  File "tests/test_c.py", line 12, in test_x\n',
                 "timestamp": t(4, 11)},
                {"pipeline_run_id": "r9", "test_key": STABLE, "status": "passed",
                 "timestamp": t(4, 11)},
            ]
        ),
    )  # fmt: skip
    warehouse.append(
        INFRA_APPLY_LOGS,
        INFRA_APPLY_LOGS.from_records(
            [
                {"apply_id": "ap1", "environment": "production", "applied_at": t(4, 7),
                 "error": "Error: Quota 'NVIDIA_L4_GPUS' exceeded. Limit: 8.0 in region "
                          "us-central1."},
                {"apply_id": "ap1", "environment": "production", "applied_at": t(4, 7),
                 "error": None},
            ]
        ),
    )  # fmt: skip
    result = dg.materialize(
        [failure_modes], resources=resources(warehouse), partition_key="2026-11-04"
    )
    assert result.success
    sentence, png = picture(result, "failure_modes", "mode_sparklines")
    assert sentence.startswith("Daily counts over the last 14 days of the day's top failure")
    assert png.startswith(b"\x89PNG")
    rows = warehouse.query(
        "SELECT day, signature, member_signatures, sources, count, baseline_daily_mean, "
        "first_seen_at, last_seen_at, services, workflows, providers, versions, example_trace_ids, "
        "example_tests, new, jumped, deployment_id, service_version, service_name "
        "FROM failure_modes ORDER BY signature"
    ).to_pylist()
    assert [tuple(r.values()) for r in rows] == [
        (t(4, 0), 'AssertionError: assert <n> == <n> File <str>, line <n>, in test_x',
         '["AssertionError: assert <n> == <n> File <str>, line <n>, in test_x"]', "test", 1, 0.0, t(4, 11), t(4, 11), "[]", "[]", "[]", "[]", "[]", f'["{CONFLICT}"]',
         True, False, None, None, None),
        (t(4, 0), "ERROR: db pool exhausted after <duration>",
         '["ERROR: db pool exhausted after <duration>"]', "log", 1, 0.0, t(4, 10),
         t(4, 10), '["rt"]', "[]", "[]", '["1.8.0"]', f'["{"7" * 32}"]', "[]",
         True, False, "d1", "1.8.0", "rt"),
        (t(4, 0), "KeyError: template v8 missing field <str>",
         '["KeyError: template v8 missing field <str>"]', "span_exception", 2, 0.0,
         t(4, 9, 30), t(4, 9, 40), '["rt"]', '["invoice-triage"]', '["anthropic"]',
         '["1.8.0"]', f'["{"4" * 32}", "{"5" * 32}"]', "[]", True, False, "d1", "1.8.0", "rt"),
        (t(4, 0), "TimeoutError: provider <ip> timed out after <duration>",
         '["TimeoutError: provider <ip> timed out after <duration>"]', "span_status", 1,
         1.0, t(4, 8, 30), t(4, 8, 30), '["rt"]', '["invoice-triage"]', '["anthropic"]',
         '["1.7.3"]', f'["{"3" * 32}"]', "[]", False, False, None, None, "rt"),
        (t(4, 0), "apply_error: Error: Quota <str> exceeded. Limit: <n> in region "
         "us-central1.", '["apply_error: Error: Quota <str> exceeded. Limit: <n> in region '
         'us-central1."]', "infra_apply", 1, 0.0, t(4, 7), t(4, 7), '["infra/production"]',
         "[]", "[]", "[]", "[]", "[]", True, False, None, None, "infra/production"),
    ]  # fmt: skip

    # The timeout's baseline is the two days that had spans (one a day), and d0 is older than
    # the attribution window. Each mode is seen once or twice: with the shipped policy
    # (min_count 5) none is a finding.
    judged = warehouse.query(
        "SELECT signature, baseline_days, exposure, baseline_exposure, finding FROM failure_modes "
        "ORDER BY signature"
    ).to_pylist()
    assert [tuple(r.values()) for r in judged] == [
        ("AssertionError: assert <n> == <n> File <str>, line <n>, in test_x", 0, 2, 0, False),
        ("ERROR: db pool exhausted after <duration>", 0, 2, 0, False),
        ("KeyError: template v8 missing field <str>", 2, 4, 2, False),
        ("TimeoutError: provider <ip> timed out after <duration>", 2, 4, 2, False),
        ("apply_error: Error: Quota <str> exceeded. Limit: <n> in region us-central1.", 0, 2, 0,
         False),
    ]  # fmt: skip
    assert warehouse.query("SELECT COUNT(*) AS n FROM cl_findings").to_pylist() == [{"n": 0}]

    # A policy that raises a mode seen twice, at p <= 0.5: the new exception after d1 (p = 6/15:
    # both of 6 spans' failures among today's 4) is a finding in d1's group; the log, test and
    # apply modes have no baseline day of their source to be judged against.
    lenient = tmp_path / "config"
    shutil.copytree("config", lenient)
    (lenient / "policies" / "delivery.yaml").write_text(
        "failure_modes: {min_count: 2, max_p: 0.5}\n"
    )
    config = CiclConfig(config_dir=str(lenient))
    assert dg.materialize(
        [failure_modes],
        resources={"warehouse": warehouse, "cicl_config": config},
        partition_key="2026-11-04",
    ).success
    findings = warehouse.query(
        "SELECT deployment_id, group_key, method, evaluation, change_at, p_value FROM cl_findings "
        "WHERE kind = 'failure_mode' ORDER BY title"
    ).to_pylist()
    assert [tuple(f.values()) for f in findings] == [
        ("d1", group_key("deploy:d1"), "new signature (fisher_exact)", "failure_modes",
         t(4, 9, 30), pytest.approx(6 / 15)),
    ]  # fmt: skip

    # A range of days is one run that gives each day what a run of that day alone gives: the
    # lenient policy's days 2 and 4 one by one, then the same days in one run.
    def modes() -> list[tuple]:
        return [
            tuple(r.values())
            for r in warehouse.query(
                "SELECT day, signature, count, baseline_daily_mean, new, jumped, finding "
                "FROM failure_modes ORDER BY day, signature"
            ).to_pylist()
        ]

    lenient_resources = {"warehouse": warehouse, "cicl_config": config}
    for day in ("2026-11-02", "2026-11-03"):
        assert dg.materialize(
            [failure_modes], resources=lenient_resources, partition_key=day
        ).success
    one_by_one = modes()
    warehouse.execute("DELETE FROM failure_modes WHERE day >= @lo", {"lo": t(1, 0)})
    ranged = dg.materialize(
        [failure_modes],
        resources=lenient_resources,
        tags=range_tags(date(2026, 11, 2), date(2026, 11, 4)),
    )
    assert ranged.success
    assert modes() == one_by_one
    assert [r[:3] for r in modes()] == [
        (t(2, 0), "TimeoutError: provider <ip> timed out after <duration>", 1),
        *[(t(4, 0), r["signature"], r["count"]) for r in rows],
    ]
    assert ranged.asset_materializations_for_node("failure_modes")[-1].metadata[
        "modes_today"
    ].value == len(rows)
