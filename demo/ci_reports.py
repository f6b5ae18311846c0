"""Test and coverage reports of a CI run, written the way pytest, cargo-nextest, Maven Surefire,
coverage.py and cargo-llvm-cov write them."""

from __future__ import annotations

import random
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from demo.history_plan import CiRun

PYTEST_TESTS = {
    "flow-gateway": {
        "tests/unit/test_router.py": (
            "test_routes_by_workflow_name",
            "test_priority_queue_preserves_order",
            "test_rejects_unknown_workflow",
        ),
        "tests/unit/test_auth.py": ("test_bearer_token_required", "test_expired_token_is_401"),
        "tests/unit/test_limits.py": ("test_rate_limit_per_tenant", "test_burst_allowance"),
        "tests/integration/test_runs_api.py": ("test_post_run_returns_200", "test_run_timeout_502"),
    },
    "tool-worker": {
        "tests/unit/test_registry.py": ("test_tool_lookup", "test_unknown_tool_is_404"),
        "tests/unit/test_kb_search.py": ("test_top_k", "test_empty_query"),
        "tests/integration/test_ocr.py": ("test_pdf_pages", "test_scanned_invoice"),
    },
}
NEXTEST_TESTS = (
    "engine::retry::tests::backoff_doubles",
    "engine::retry::tests::gives_up_after_max_attempts",
    "engine::steps::tests::runs_steps_in_order",
    "engine::steps::tests::stops_on_failed_step",
    "providers::anthropic::tests::parses_usage",
    "providers::gemini::tests::maps_rate_limit_to_retryable",
    "providers::openai::tests::parses_usage",
    "providers::pool::tests::reuses_connections",
    "telemetry::tests::sets_gen_ai_attributes",
)
NEXTEST_FLAKY = "providers::pool::tests::reuses_connections"
SUREFIRE_CLASS = "com.coditect.tools.erp.VendorLookupClientTest"
SUREFIRE_TESTS = ("findsVendorByVatId", "retriesOnTimeout", "mapsCurrency", "rejectsBlankQuery")
SUREFIRE_FLAKY = "retriesOnTimeout"
SOURCES = {
    "flow-gateway": {"gateway/app.py": 140, "gateway/router.py": 210, "gateway/auth.py": 95},
    "tool-worker": {"worker/registry.py": 120, "worker/kb.py": 160, "worker/ocr.py": 180},
    "workflow-runtime": {
        "src/engine/retry.rs": 150,
        "src/engine/steps.rs": 320,
        "src/providers/pool.rs": 210,
        "src/telemetry.rs": 90,
    },
}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def pytest_junit(run: CiRun, stage: str, rng: random.Random) -> bytes:
    """pytest --junitxml (xunit2): one testsuite named pytest under a testsuites root."""
    cases, failures, total = [], 0, 0.0
    for path, names in PYTEST_TESTS[run.service].items():
        if ("/integration/" in path) != (stage == "integration"):
            continue
        module = path.removesuffix(".py").replace("/", ".")
        for name in names:
            seconds = round(rng.uniform(0.001, 0.4), 3)
            total += seconds
            node = f"{path}::{name}"
            if run.failing_test == node:
                failures += 1
                message = "AssertionError: assert ['b', 'a', 'c'] == ['a', 'b', 'c']"
                body = (
                    f"def {name}():\n        queue = PriorityQueue()\n"
                    "        for item in ('a', 'b', 'c'):\n            queue.put(item, priority=1)\n"
                    "&gt;       assert queue.drain() == ['a', 'b', 'c']\n"
                    f"E       {escape(message)}\n\n{path}:42: AssertionError"
                )
                cases.append(
                    f'<testcase classname="{module}" name="{name}" time="{seconds}">'
                    f"<failure message={quoteattr(message)}>{body}</failure></testcase>"
                )
            else:
                cases.append(f'<testcase classname="{module}" name="{name}" time="{seconds}" />')
    stamp = run.stage(stage).started if run.stage(stage) else run.started
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        f'<testsuite name="pytest" errors="0" failures="{failures}" skipped="0" '
        f'tests="{len(cases)}" time="{total:.3f}" timestamp="{_iso(stamp)}" '
        f'hostname="runner-{run.commit[:6]}">{"".join(cases)}</testsuite></testsuites>'
    ).encode()


def nextest_junit(run: CiRun, rng: random.Random) -> bytes:
    """cargo nextest run --profile ci: JUnit with flakyFailure for tests that passed on retry."""
    stamp = run.stage("unit").started
    flaky = rng.random() < 0.3
    cases, total = [], 0.0
    for name in NEXTEST_TESTS:
        seconds = round(rng.uniform(0.002, 0.8), 3)
        total += seconds
        inner = ""
        if flaky and name == NEXTEST_FLAKY:
            inner = (
                '\n            <flakyFailure message="thread panicked" type="test failure">'
                "thread &apos;providers::pool::tests::reuses_connections&apos; panicked at "
                "src/providers/pool.rs:188:9:\nassertion `left == right` failed\n  left: 2\n"
                " right: 1</flakyFailure>\n        "
            )
        cases.append(
            f'        <testcase name="{name}" classname="flow-runtime" '
            f'timestamp="{_iso(stamp)}" time="{seconds}">{inner}</testcase>'
        )
    uid = f"{run.commit[:8]}-{run.commit[8:12]}-4{run.commit[13:16]}-a{run.commit[17:20]}-{run.commit[20:32]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="nextest-run" tests="{len(cases)}" failures="0" errors="0" '
        f'uuid="{uid}" timestamp="{_iso(stamp)}" time="{total:.3f}">\n'
        f'    <testsuite name="flow-runtime" tests="{len(cases)}" disabled="0" errors="0" '
        f'failures="0">\n' + "\n".join(cases) + "\n    </testsuite>\n</testsuites>\n"
    ).encode()


def surefire_report(run: CiRun, rng: random.Random) -> bytes:
    """Maven Surefire TEST-*.xml with rerunFailingTestsCount: a flaky test shows flakyFailure."""
    flaky = rng.random() < 0.4
    cases, total = [], 0.0
    for name in SUREFIRE_TESTS:
        seconds = round(rng.uniform(0.01, 1.2), 3)
        total += seconds
        if flaky and name == SUREFIRE_FLAKY:
            cases.append(
                f'  <testcase name="{name}" classname="{SUREFIRE_CLASS}" time="{seconds}">\n'
                '    <flakyFailure message="Read timed out" type="java.net.SocketTimeoutException">\n'
                "      <stackTrace>java.net.SocketTimeoutException: Read timed out\n"
                "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)\n"
                f"\tat {SUREFIRE_CLASS}.{name}(VendorLookupClientTest.java:71)\n"
                "</stackTrace>\n"
                "      <system-out>GET /vendors?vat=DE811907980 attempt 1</system-out>\n"
                "    </flakyFailure>\n  </testcase>"
            )
        else:
            cases.append(
                f'  <testcase name="{name}" classname="{SUREFIRE_CLASS}" time="{seconds}"/>'
            )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/'
        'xsd/surefire-test-report-3.0.xsd" version="3.0" '
        f'name="{SUREFIRE_CLASS}" time="{total:.3f}" tests="{len(cases)}" errors="0" '
        'skipped="0" failures="0">\n'
        '  <properties>\n    <property name="java.version" value="21.0.5"/>\n'
        '    <property name="maven.version" value="3.9.9"/>\n  </properties>\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    ).encode()


def _hits(run: CiRun, rng: random.Random) -> dict[str, list[int]]:
    coverage = rng.uniform(0.72, 0.9)
    return {
        path: [rng.randint(1, 40) if rng.random() < coverage else 0 for _ in range(lines)]
        for path, lines in SOURCES[run.service].items()
    }


def cobertura_xml(run: CiRun, rng: random.Random) -> bytes:
    """coverage.py `coverage xml` (Cobertura layout, line coverage)."""
    files = _hits(run, rng)
    valid = sum(len(h) for h in files.values())
    covered = sum(1 for h in files.values() for x in h if x)
    stamp = int(run.stage("unit").finished.timestamp() * 1000)
    classes = []
    for path, hits in files.items():
        rate = sum(1 for x in hits if x) / len(hits)
        lines = "".join(f'<line number="{i + 1}" hits="{x}"/>' for i, x in enumerate(hits))
        name = path.rsplit("/", 1)[1]
        classes.append(
            f'<class name="{name}" filename="{path}" complexity="0" line-rate="{rate:.4f}" '
            f'branch-rate="0"><methods/><lines>{lines}</lines></class>'
        )
    package = next(iter(files)).split("/")[0]
    return (
        '<?xml version="1.0" ?>\n'
        f'<coverage version="7.6.4" timestamp="{stamp}" lines-valid="{valid}" '
        f'lines-covered="{covered}" line-rate="{covered / valid:.4f}" branches-covered="0" '
        'branches-valid="0" branch-rate="0" complexity="0">\n'
        f"\t<sources>\n\t\t<source>/workspace/{IMAGE_DIR[run.service]}</source>\n\t</sources>\n"
        f'\t<packages>\n\t\t<package name="{package}" line-rate="{covered / valid:.4f}" '
        f'branch-rate="0" complexity="0">\n\t\t\t<classes>{"".join(classes)}</classes>\n'
        "\t\t</package>\n\t</packages>\n</coverage>\n"
    ).encode()


IMAGE_DIR = {"flow-gateway": "gateway", "tool-worker": "tool-worker", "workflow-runtime": "runtime"}


def lcov_info(run: CiRun, rng: random.Random) -> bytes:
    """cargo llvm-cov --lcov: one record per source file."""
    out = []
    for path, hits in _hits(run, rng).items():
        out += ["TN:", f"SF:/workspace/runtime/{path}"]
        fn_line = 3
        name = path.rsplit("/", 1)[1].removesuffix(".rs")
        out += [f"FN:{fn_line},_RNvCs{name}", f"FNDA:{max(hits[fn_line - 1], 1)},_RNvCs{name}"]
        out += ["FNF:1", "FNH:1"]
        out += [f"DA:{i + 1},{x}" for i, x in enumerate(hits)]
        out += [f"LF:{len(hits)}", f"LH:{sum(1 for x in hits if x)}", "end_of_record"]
    return ("\n".join(out) + "\n").encode()


def test_reports(run: CiRun, rng: random.Random) -> dict[str, bytes]:
    """File name -> content of the test and coverage reports the run's stages left behind."""
    files: dict[str, bytes] = {}
    unit, integration = run.stage("unit"), run.stage("integration")
    if run.service == "workflow-runtime":
        files["junit-nextest.xml"] = nextest_junit(run, rng)
        files["lcov.info"] = lcov_info(run, rng)
        return files
    files["junit-unit.xml"] = pytest_junit(run, "unit", rng)
    if integration and integration.status != "skipped":
        files["junit-integration.xml"] = pytest_junit(run, "integration", rng)
    if unit and unit.status == "success":
        files["coverage.xml"] = cobertura_xml(run, rng)
    if run.service == "tool-worker":
        files[f"surefire-reports/TEST-{SUREFIRE_CLASS}.xml"] = surefire_report(run, rng)
    return files
