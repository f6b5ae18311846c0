"""JUnit XML test reports -> ``ci_test_cases`` (one row per test case result).

Reads the dialects real tools write: ``<testsuites>`` or a bare ``<testsuite>`` root, nested
suites, pytest, Maven Surefire reruns (``flakyFailure``/``rerunFailure``), jest-junit,
go-junit-report/gotestsum, cargo-nextest, Catch2, Bazel, ScalaTest, TestNG, PHPUnit. A test
case written several times in one file (pytest-rerunfailures) becomes one row with ``attempts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

import pyarrow as pa

from cicl_assets.ci.values import cap_text, pipeline_run_id_from_path, to_json
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat, ParsedRows
from cicl_assets.ingest.redact import redact_field, redact_text
from cicl_assets.ingest.safe_xml import attr, local_name, parse_xml
from cicl_assets.ingest.values import parse_int, parse_seconds, parse_time
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

TEST_STATUSES = ("passed", "failed", "error", "skipped", "flaky")
SUITE_SEPARATOR = " > "
MESSAGE_CAP = 1024
PROPERTIES_CAP = 4096

CI_TEST_CASES = TableSpec(
    name="ci_test_cases",
    description=(
        "One row per test case result in a JUnit XML report of a pipeline run; a test case "
        "re-run within one report is one row with its number of attempts."
    ),
    schema=pa.schema(
        [
            ("pipeline_run_id", pa.string()),
            ("suite", pa.string()),
            ("classname", pa.string()),
            ("name", pa.string()),
            ("test_key", pa.string()),
            ("file", pa.string()),
            ("line", pa.int64()),
            ("status", pa.string()),
            ("duration_s", pa.float64()),
            ("message", pa.string()),
            ("failure_type", pa.string()),
            ("details", pa.string()),
            ("attempts", pa.int64()),
            ("framework", pa.string()),
            ("properties", pa.string()),
            ("timestamp", UTC_TS),
            ("source_file", pa.string()),
        ]
    ),
    time_column="timestamp",
    identity=("pipeline_run_id", "suite", "test_key"),
    cluster_by=("pipeline_run_id", "status"),
    json_columns=("properties",),
    column_docs={
        "pipeline_run_id": "the <id> of ci/<id>/ the report was found in",
        "suite": f"nested suite names joined by '{SUITE_SEPARATOR}' (<testsuites> excluded)",
        "test_key": "classname::name, stable across runs (for flakiness over time)",
        "status": "passed | failed | error | skipped | flaky (failed, then passed on a rerun)",
        "duration_s": "seconds over all attempts; null when absent or negative",
        "details": "failure/error body or stack trace, capped at 8 KiB, secrets redacted",
        "attempts": "executions of the test in this report, reruns included",
        "framework": "test tool recognised from the report (pytest, surefire, jest, go, ...)",
        "properties": "JSON object of the case's <property> values and the suite's (minus JVM "
        "system properties)",
    },
)

# Surefire dumps the JVM's system properties into every suite; they describe the build machine,
# not the test, and would repeat kilobytes on every row.
_JVM_PROPERTY_PREFIXES = (
    "java.", "javax.", "sun.", "jdk.", "user.", "os.", "file.", "path.", "line.", "awt.",
    "native.", "idea.", "jna.", "maven.", "classworlds.", "library.", "guice.", "basedir",
    "localRepository", "env.",
)  # fmt: skip
_RERUN_TAGS = ("rerunFailure", "rerunError")
_FLAKY_TAGS = ("flakyFailure", "flakyError")
_NOT_RUN = {"notrun", "disabled", "skipped", "ignored", "suppressed"}


@dataclass
class _Attempt:
    """One <testcase> element as written."""

    suite: str | None
    classname: str | None
    name: str | None
    file: str | None
    line: int | None
    status: str
    duration: float | None
    message: str | None
    failure_type: str | None
    details: str | None
    executions: int
    timestamp: datetime | None
    properties: dict[str, str] = field(default_factory=dict)


def _text(el: Element) -> str | None:
    text = "".join(el.itertext()).strip()
    return text or None


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def _outcome(el: Element) -> tuple[str, Element | None, int]:
    """(status, the element explaining it, executions) of one <testcase>."""
    children = [(local_name(c.tag), c) for c in el]
    by_tag: dict[str, list[Element]] = {}
    for tag, child in children:
        by_tag.setdefault(tag, []).append(child)
    reruns = sum(len(by_tag.get(t, [])) for t in _RERUN_TAGS)
    flakes = sum(len(by_tag.get(t, [])) for t in _FLAKY_TAGS)
    for tag, status in (("error", "error"), ("failure", "failed")):
        if tag in by_tag:
            return status, by_tag[tag][0], 1 + reruns
    if reruns:  # rerun elements without a first failure: still never passed
        first = next(c for t, c in children if t in _RERUN_TAGS)
        return ("error" if local_name(first.tag) == "rerunError" else "failed"), first, 1 + reruns
    if flakes:
        first = next(c for t, c in children if t in _FLAKY_TAGS)
        return "flaky", first, 1 + flakes
    if "skipped" in by_tag:
        return "skipped", by_tag["skipped"][0], 1
    marker = (el.get("status") or el.get("result") or "").strip().lower()
    if marker in _NOT_RUN:
        return "skipped", None, 1
    return "passed", None, 1


def _explanation(el: Element | None) -> tuple[str | None, str | None, str | None]:
    """(message, type, details) of a failure/error/skipped/flaky/rerun element."""
    if el is None:
        return None, None, None
    trace = next((c for c in el if local_name(c.tag) == "stackTrace"), None)
    body = _text(trace) if trace is not None else (el.text or "").strip() or None
    message = attr(el, "message") or _first_line(body)
    if message and len(message) > MESSAGE_CAP:
        message = cap_text(message, MESSAGE_CAP)
    message = redact_text(message) if message else message
    return message, attr(el, "type"), cap_text(redact_text(body) if body else body)


def _properties(el: Element) -> dict[str, str]:
    props: dict[str, str] = {}
    for block in el:
        if local_name(block.tag) != "properties":
            continue
        for prop in block:
            name = attr(prop, "name")
            if local_name(prop.tag) != "property" or not name:
                continue
            value = prop.get("value")
            if value is None:
                value = (prop.text or "").strip()
            props[name] = redact_field(name, value) or ""
    return props


def _suite_properties(el: Element) -> dict[str, str]:
    return {
        k: v
        for k, v in _properties(el).items()
        if not k.startswith(_JVM_PROPERTY_PREFIXES) and not k.endswith("class.path")
    }


def _walk(
    suite: Element, path: tuple[str, ...], props: dict[str, str], stamp: datetime | None
) -> Iterator[_Attempt]:
    name = attr(suite, "name")
    path = (*path, name) if name else path
    props = {**props, **_suite_properties(suite)}
    stamp = parse_time(attr(suite, "timestamp")) or stamp
    suite_name = SUITE_SEPARATOR.join(path) or None
    for child in suite:
        tag = local_name(child.tag)
        if tag == "testsuite":
            yield from _walk(child, path, props, stamp)
        elif tag == "testcase":
            status, why, executions = _outcome(child)
            message, failure_type, details = _explanation(why)
            yield _Attempt(
                suite=suite_name,
                classname=attr(child, "classname") or attr(child, "class"),
                name=attr(child, "name"),
                file=attr(child, "file") or (why is not None and attr(why, "file")) or None,
                line=parse_int(
                    attr(child, "line") or (why is not None and attr(why, "line")) or None
                ),
                status=status,
                duration=parse_seconds(attr(child, "time") or attr(child, "duration")),
                message=message,
                failure_type=failure_type,
                details=details,
                executions=executions,
                timestamp=parse_time(attr(child, "timestamp")) or stamp,
                properties={**props, **_properties(child)},
            )


def _merge(attempts: list[_Attempt]) -> tuple[_Attempt, int]:
    """Repeats of one test case in a file: flaky if it both failed and passed, else the last."""
    if len(attempts) == 1:
        return attempts[0], attempts[0].executions
    outcomes = [a.status for a in attempts]
    failed = [a for a in attempts if a.status in ("failed", "error", "flaky")]
    passed = any(s in ("passed", "flaky") for s in outcomes)
    final = attempts[-1]
    if failed and passed:
        status, why = "flaky", failed[-1]
    elif failed:
        status, why = final.status, final
    else:
        status, why = final.status, final
    durations = [a.duration for a in attempts if a.duration is not None]
    merged = _Attempt(
        suite=final.suite,
        classname=final.classname,
        name=final.name,
        file=final.file,
        line=final.line,
        status=status,
        duration=sum(durations) if durations else None,
        message=why.message,
        failure_type=why.failure_type,
        details=why.details,
        executions=0,
        timestamp=attempts[0].timestamp,
        properties=final.properties,
    )
    return merged, sum(a.executions for a in attempts)


def _cap_properties(props: dict[str, str]) -> str | None:
    if not props:
        return None
    text = to_json(props)
    if text is not None and len(text) <= PROPERTIES_CAP:
        return text
    kept: dict[str, str] = {}
    for key in sorted(props):
        kept[key] = props[key]
        if len(to_json(kept) or "") > PROPERTIES_CAP - 40:
            kept.pop(key)
            break
    kept["_truncated"] = f"{len(props) - len(kept)} more properties"
    return to_json(kept)


# --- framework recognition --------------------------------------------------------------------

_XMLRUNNER_SUITE = re.compile(r"-\d{14}$")
_JS_TEST_FILE = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")


def detect_framework(root: Element, head: bytes) -> str:
    """The tool that wrote the report, from markers each one leaves."""
    suites = [e for e in root.iter() if local_name(e.tag) == "testsuite"]
    cases = [e for e in root.iter() if local_name(e.tag) == "testcase"]
    prop_names = {e.get("name") for e in root.iter() if local_name(e.tag) == "property"}
    suite_names = {s.get("name") or "" for s in suites}
    tags = {local_name(e.tag) for e in root.iter()}
    if b"org.testng" in head or b"TestNG" in head:
        return "testng"
    if local_name(root.tag) == "testsuites" and root.get("name") == "nextest-run":
        return "nextest"
    if "go.version" in prop_names:
        return "go"
    if "pytest" in suite_names or any(
        (s.get("type") or "").startswith("pytest.")
        for s in root.iter()
        if local_name(s.tag) == "skipped"
    ):
        return "pytest"
    if (root.get("name") or "").startswith("jest") or any(
        _JS_TEST_FILE.search(n.replace("\\", "/")) for n in suite_names
    ):
        return "jest"
    if b"scalatest" in head or b"scala-library" in head:
        return "scalatest"
    if b"surefire" in head or tags & {*_FLAKY_TAGS, *_RERUN_TAGS}:
        return "surefire"
    if any(c.get("status") is not None and c.get("duration") is not None for c in cases):
        return "bazel"
    if any(s.get("hostname") == "tbd" for s in suites):
        return "catch2"
    if any(c.get("assertions") is not None for c in cases):
        return "phpunit"
    if any(_XMLRUNNER_SUITE.search(n) for n in suite_names):
        return "python-unittest"
    return "junit"


# --- the formats --------------------------------------------------------------------------------


def _root_name(sniff: Sniff) -> str | None:
    if sniff.head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with BOM (.NET and Windows tools)
        text = sniff.head[: len(sniff.head) // 2 * 2].decode("utf-16", "replace")
        sniff = Sniff(text.encode("utf-8"))
    return sniff.xml_root() if sniff.looks_xml else None


def detect_junit(sniff: Sniff) -> bool:
    return _root_name(sniff) in ("testsuites", "testsuite")


def parse_junit(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    root = parse_xml(data)
    kind = local_name(root.tag)
    if kind == "testsuites":
        top: list[Element] = [c for c in root if local_name(c.tag) == "testsuite"]
        stray = [c for c in root if local_name(c.tag) == "testcase"]
        if stray:  # a few writers put cases straight under <testsuites>
            wrapper = Element("testsuite")
            wrapper.extend(stray)
            top.append(wrapper)
    elif kind == "testsuite":
        top = [root]
    else:
        raise ParseError(f"root element <{kind}> is not <testsuites> or <testsuite>")
    framework = detect_framework(root, data[:65536])
    run_id = pipeline_run_id_from_path(source_file)
    groups: dict[tuple[str | None, ...] | int, list[_Attempt]] = {}
    for suite in top:
        for attempt in _walk(suite, (), {}, parse_time(attr(root, "timestamp"))):
            # Only a named case can be recognised as a repeat; nameless ones stay apart.
            key = (attempt.suite, attempt.classname, attempt.name) if attempt.name else len(groups)
            groups.setdefault(key, []).append(attempt)
    rows = []
    for attempts in groups.values():
        case, executions = _merge(attempts)
        classname, name = case.classname, case.name
        rows.append(
            {
                "pipeline_run_id": run_id,
                "suite": case.suite,
                "classname": classname,
                "name": name,
                "test_key": f"{classname or ''}::{name or ''}",
                "file": case.file,
                "line": case.line,
                "status": case.status,
                "duration_s": case.duration,
                "message": case.message,
                "failure_type": case.failure_type,
                "details": case.details,
                "attempts": executions,
                "framework": framework,
                "properties": _cap_properties(case.properties),
                "timestamp": case.timestamp,
            }
        )
    yield CI_TEST_CASES.name, rows


def detect_nunit(sniff: Sniff) -> bool:
    return _root_name(sniff) in ("test-run", "test-results")


def parse_nunit(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    root = parse_xml(data)
    version = (
        "NUnit 3 XML (test-run)"
        if local_name(root.tag) == "test-run"
        else ("NUnit 2 XML (test-results)")
    )
    raise ParseError(
        f"{version}, not JUnit; convert with the nunit3-junit.xslt transform of "
        "nunit/nunit-transforms (nunit3-console --result=junit.xml;transform=nunit3-junit.xslt) "
        "or have the runner write JUnit XML"
    )


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("junit-xml", detect_junit, parse_junit),
    FileFormat("nunit-xml", detect_nunit, parse_nunit),
)
TABLES: tuple[TableSpec, ...] = (CI_TEST_CASES,)
