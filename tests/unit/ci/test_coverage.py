import json
from datetime import UTC, datetime

import pytest

from cicl_assets.ci.coverage.formats import CI_COVERAGE, parse_lcov
from cicl_assets.ingest.content import ParseError
from tests.unit.ci.corpus import manifest_names, parse_bytes, parse_fixture

# Per report: format, file rows, total (lines valid/covered, branches valid/covered,
# functions valid/covered). Totals are the report's own root figures, which the per-file rows
# must add up to.
EXPECTED = {
    "coveragepy__coverage.xml": ("cobertura-xml", 1, (5, 4, 2, 1, None, None)),
    "reportgen-cobertura__Cobertura2.1.1.xml": ("cobertura-xml", 7, (36, 24, 4, 1, 17, 8)),
    "reportgen-cobertura__Cobertura_coverlet.xml": ("cobertura-xml", 18, (255, 156, 14, 9, 66, 34)),
    "reportgen-jacoco__JaCoCo0.8.3.xml": ("jacoco-xml", 7, (38, 26, 4, 1, 18, 9)),
    "reportgen-lcov-coverlet__lcov.info": ("lcov", 15, (199, 124, 8, 5, 57, 27)),
    "coveragepy7__coverage.json": ("coveragepy-json", 3, (20, 13, 8, 2, 5, 4)),
    "coveragepy7__coverage.lcov": ("lcov", 3, (20, 13, 8, 2, 5, 4)),
    "coveragepy7__coverage.xml": ("cobertura-xml", 3, (20, 13, 8, 2, None, None)),
}
FIGURES = (
    "lines_valid",
    "lines_covered",
    "branches_valid",
    "branches_covered",
    "functions_valid",
    "functions_covered",
)


def test_every_coverage_fixture_has_an_expectation():
    assert sorted(manifest_names("coverage")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_coverage_fixture(name):
    fmt_name, file_rows, total_figures = EXPECTED[name]
    fmt, tables = parse_fixture("coverage", name)
    assert fmt == fmt_name
    rows = tables["ci_coverage"]
    files = [r for r in rows if not r["is_total"]]
    (total,) = [r for r in rows if r["is_total"]]
    assert len(files) == file_rows
    assert total["file"] is None
    assert tuple(total[k] for k in FIGURES) == total_figures
    for key in ("lines", "branches"):
        assert sum(r[f"{key}_valid"] for r in files) == total[f"{key}_valid"]
        assert sum(r[f"{key}_covered"] for r in files) == total[f"{key}_covered"]
    assert total["line_rate"] == pytest.approx(total_figures[1] / total_figures[0])
    assert all(r["pipeline_run_id"] == "run-1" for r in rows)
    CI_COVERAGE.from_records(rows)


def _by_file(name):
    rows = parse_fixture("coverage", name)[1]["ci_coverage"]
    return {r["file"]: r for r in rows}


def test_coveragepy_cobertura_keeps_missing_lines_and_branches():
    row = _by_file("coveragepy__coverage.xml")["y.py"]
    assert (row["lines_valid"], row["lines_covered"], row["line_rate"]) == (5, 4, 0.8)
    assert json.loads(row["missing_lines"]) == [5]
    assert json.loads(row["missing_branches"]) == [[2, 5]]
    assert row["report_timestamp"] == datetime(2018, 8, 21, 11, 3, 43, 448000, tzinfo=UTC)
    assert row["tool_version"] == "5.0a2"


def test_coverlet_condition_coverage_is_summed_per_file():
    rows = _by_file("reportgen-cobertura__Cobertura_coverlet.xml")
    assert sum(r["branches_valid"] for f, r in rows.items() if f) == 14
    # 11 classes (generic/async state machines) share one file: their 30 distinct lines are
    # merged into one row, 5 of them hit
    merged = rows["GenericAsyncClass.cs"]
    assert (merged["lines_valid"], merged["lines_covered"]) == (30, 5)
    assert len(json.loads(merged["missing_lines"])) == 25


def test_jacoco_files_are_package_qualified():
    rows = _by_file("reportgen-jacoco__JaCoCo0.8.3.xml")
    sub = rows["test/sub/Sub.java"]
    assert (sub["package"], sub["lines_valid"], sub["lines_covered"]) == ("test/sub", 3, 0)
    assert json.loads(sub["missing_lines"]) == [3, 5, 9]
    assert rows[None]["report_timestamp"] == datetime(2018, 9, 29, 15, 21, 2, 781000, tzinfo=UTC)


def test_lcov_uses_the_tools_own_counts():
    rows = _by_file("reportgen-lcov-coverlet__lcov.info")
    analyzer = rows["C:\\temp\\AnalyzerTestClass.cs"]
    # coverlet lists DA:46 twice (getter and setter) and counts it twice in LF
    assert (analyzer["lines_valid"], analyzer["lines_covered"]) == (12, 0)
    assert (analyzer["functions_valid"], analyzer["functions_covered"]) == (5, 0)
    assert rows["C:\\temp\\AsyncClass.cs"]["line_rate"] == 1.0


def test_coveragepy_json_per_file_and_functions():
    rows = _by_file("coveragepy7__coverage.json")
    unused = rows["pkg/unused.py"]
    assert (unused["lines_valid"], unused["lines_covered"]) == (4, 1)
    assert json.loads(unused["missing_lines"]) == [2, 3, 4]
    assert (unused["functions_valid"], unused["functions_covered"]) == (1, 0)
    assert rows["pkg/shapes.py"]["missing_branches"] == "[[2, 4], [4, 5], [4, 6], [10, 12]]"
    assert rows["pkg/__init__.py"]["line_rate"] is None  # no statements: no rate, not 0 or 1


def test_lcov_errors_name_the_line():
    with pytest.raises(ParseError, match="line 3: DA: not a number"):
        list(parse_lcov(b"TN:\nSF:a.py\nDA:x,1\nend_of_record\n", "ci/r/lcov.info"))
    with pytest.raises(ParseError, match="line 1: DA: record data before any SF"):
        list(parse_lcov(b"DA:1,1\n", "ci/r/lcov.info"))


def test_lcov_same_file_in_two_records_is_merged():
    data = b"SF:a.py\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\nSF:a.py\nDA:2,3\nend_of_record\n"
    rows = next(iter(parse_lcov(data, "ci/r/lcov.info")))[1]
    a = next(r for r in rows if r["file"] == "a.py")
    assert (a["lines_valid"], a["lines_covered"]) == (2, 2)


def test_jacoco_with_an_entity_declaration_is_refused():
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<report name="&x;"><sessioninfo id="a" start="1" dump="2"/></report>'
    )
    with pytest.raises(ParseError, match="DOCTYPE/entity declarations are not allowed"):
        parse_bytes(doc, "ci/r/jacoco.xml")


def test_cobertura_billion_laughs_is_refused():
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE coverage [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<coverage line-rate="&b;"/>'
    )
    with pytest.raises(ParseError, match="entity 'a' is declared"):
        parse_bytes(doc, "ci/r/coverage.xml")
