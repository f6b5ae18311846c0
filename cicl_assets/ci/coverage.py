"""Coverage reports -> ``ci_coverage``: one row per source file per report plus one total row.

Cobertura XML (coverage.py, Java Cobertura, coverlet, Swift/slather), JaCoCo XML, LCOV
tracefiles and coverage.py JSON. Per-file figures are counted from the lines the report lists;
the total row takes the report's own totals where it states them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

import pyarrow as pa

from cicl_assets.ci.safe_xml import attr, local_name, parse_xml
from cicl_assets.ci.values import pipeline_run_id_from_path, to_float, to_int, to_json, to_time
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat, ParsedRows
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

CI_COVERAGE = TableSpec(
    name="ci_coverage",
    description=(
        "One row per source file per coverage report of a pipeline run, plus one total row per "
        "report (is_total = true, file = null)."
    ),
    schema=pa.schema(
        [
            ("pipeline_run_id", pa.string()),
            ("format", pa.string()),
            ("tool_version", pa.string()),
            ("is_total", pa.bool_()),
            ("package", pa.string()),
            ("file", pa.string()),
            ("lines_valid", pa.int64()),
            ("lines_covered", pa.int64()),
            ("line_rate", pa.float64()),
            ("branches_valid", pa.int64()),
            ("branches_covered", pa.int64()),
            ("branch_rate", pa.float64()),
            ("functions_valid", pa.int64()),
            ("functions_covered", pa.int64()),
            ("function_rate", pa.float64()),
            ("missing_lines", pa.string()),
            ("missing_branches", pa.string()),
            ("report_timestamp", UTC_TS),
            ("source_file", pa.string()),
        ]
    ),
    time_column="report_timestamp",
    cluster_by=("pipeline_run_id", "is_total"),
    json_columns=("missing_lines", "missing_branches"),
    column_docs={
        "format": "cobertura | jacoco | lcov | coveragepy-json",
        "file": "source path as the report names it; null on the total row",
        "line_rate": "lines_covered / lines_valid (0..1); null when there are no lines",
        "missing_lines": "JSON list of line numbers never executed",
        "missing_branches": "JSON list of [line, target] (coverage.py) or [line, block, branch] "
        "(LCOV) pairs not taken",
    },
)


@dataclass
class _File:
    """Per-line facts of one source file, merged across the classes/records naming it."""

    package: str | None
    hits: dict[int, int] = field(default_factory=dict)
    branches: dict[int, tuple[int, int]] = field(default_factory=dict)  # line -> (valid, covered)
    missing_branches: list[list[int | str]] = field(default_factory=list)
    functions: dict[str, int] = field(default_factory=dict)  # name -> hits

    def add_line(self, number: int, hits: int) -> None:
        self.hits[number] = max(hits, self.hits.get(number, 0))


def _rate(covered: int | None, valid: int | None) -> float | None:
    if covered is None or not valid:
        return None
    return covered / valid


def _row(
    fmt: str,
    version: str | None,
    stamp: datetime | None,
    *,
    file: str | None,
    package: str | None = None,
    lines: tuple[int | None, int | None] = (None, None),
    branches: tuple[int | None, int | None] = (None, None),
    functions: tuple[int | None, int | None] = (None, None),
    missing_lines: list[int] | None = None,
    missing_branches: list[list[int | str]] | None = None,
    line_rate: float | None = None,
    branch_rate: float | None = None,
) -> dict[str, Any]:
    return {
        "format": fmt,
        "tool_version": version,
        "is_total": file is None,
        "package": package,
        "file": file,
        "lines_valid": lines[0],
        "lines_covered": lines[1],
        "line_rate": _rate(lines[1], lines[0]) if lines[0] is not None else line_rate,
        "branches_valid": branches[0],
        "branches_covered": branches[1],
        "branch_rate": _rate(branches[1], branches[0]) if branches[0] is not None else branch_rate,
        "functions_valid": functions[0],
        "functions_covered": functions[1],
        "function_rate": _rate(functions[1], functions[0]),
        "missing_lines": to_json(missing_lines) if missing_lines else None,
        "missing_branches": to_json(missing_branches) if missing_branches else None,
        "report_timestamp": stamp,
    }


def _file_row(fmt: str, version: str | None, stamp: datetime | None, path: str, f: _File) -> dict:
    branch_valid = sum(v for v, _ in f.branches.values())
    branch_cov = sum(c for _, c in f.branches.values())
    return _row(
        fmt,
        version,
        stamp,
        file=path,
        package=f.package,
        lines=(len(f.hits), sum(1 for h in f.hits.values() if h > 0)),
        branches=(branch_valid, branch_cov) if f.branches else (0, 0),
        functions=(len(f.functions), sum(1 for h in f.functions.values() if h > 0))
        if f.functions
        else (None, None),
        missing_lines=sorted(n for n, h in f.hits.items() if h == 0),
        missing_branches=f.missing_branches,
    )


def _with_run(rows: list[dict], source_file: str) -> list[dict]:
    run_id = pipeline_run_id_from_path(source_file)
    for row in rows:
        row["pipeline_run_id"] = run_id
    return rows


def _totals(rows: list[dict], key: str) -> tuple[int | None, int | None]:
    valid = [r[f"{key}_valid"] for r in rows if r[f"{key}_valid"] is not None]
    covered = [r[f"{key}_covered"] for r in rows if r[f"{key}_covered"] is not None]
    return (sum(valid), sum(covered)) if valid else (None, None)


# --- Cobertura --------------------------------------------------------------------------------

_CONDITION = re.compile(r"\((\d+)\s*/\s*(\d+)\)")


def detect_cobertura(sniff: Sniff) -> bool:
    return sniff.looks_xml and sniff.xml_root() == "coverage"


def parse_cobertura(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    # Cobertura writers may put <!DOCTYPE coverage SYSTEM "...coverage-04.dtd"> first; the
    # doctype is admitted, entity declarations are not (see safe_xml.parse_xml).
    root = parse_xml(data, allow_doctype=True)
    if local_name(root.tag) != "coverage":
        raise ParseError(f"root element <{local_name(root.tag)}> is not Cobertura <coverage>")
    version = attr(root, "version")
    stamp = to_time(attr(root, "timestamp"))
    files: dict[str, _File] = {}
    for package in root.iter("package"):
        package_name = attr(package, "name")
        for cls in package.iter("class"):
            path = attr(cls, "filename") or attr(cls, "name")
            if not path:
                raise ParseError(f"<class> in package {package_name!r} has no filename or name")
            f = files.setdefault(path, _File(package_name))
            lines_el = next((c for c in cls if local_name(c.tag) == "lines"), None)
            # A class's <lines> repeats its methods' lines; read methods only when it is absent.
            line_els = list(lines_el) if lines_el is not None else list(cls.iter("line"))
            for line in line_els:
                number = to_int(line.get("number"))
                if number is None:
                    raise ParseError(f"{path}: <line> without a number")
                f.add_line(number, to_int(line.get("hits")) or 0)
                if (line.get("branch") or "").lower() == "true":
                    m = _CONDITION.search(line.get("condition-coverage") or "")
                    if m:
                        f.branches[number] = (int(m.group(2)), int(m.group(1)))
                    targets = line.get("missing-branches")  # coverage.py's extension
                    for target in (targets or "").split(","):
                        if target.strip().lstrip("-").isdigit():
                            f.missing_branches.append([number, int(target)])
            for method in cls.iter("method"):
                name = f"{attr(cls, 'name') or ''}.{attr(method, 'name') or ''}"
                method_hits = [to_int(x.get("hits")) or 0 for x in method.iter("line")]
                f.functions[name] = max(method_hits, default=0)
    rows = [_file_row("cobertura", version, stamp, p, f) for p, f in files.items()]
    lines = (to_int(attr(root, "lines-valid")), to_int(attr(root, "lines-covered")))
    branches = (to_int(attr(root, "branches-valid")), to_int(attr(root, "branches-covered")))
    total = _row(
        "cobertura",
        version,
        stamp,
        file=None,
        lines=lines if lines[0] is not None else _totals(rows, "lines"),
        branches=branches if branches[0] is not None else _totals(rows, "branches"),
        functions=_totals(rows, "functions"),
        line_rate=to_float(attr(root, "line-rate")),
        branch_rate=to_float(attr(root, "branch-rate")),
    )
    yield CI_COVERAGE.name, _with_run([*rows, total], source_file)


# --- JaCoCo -----------------------------------------------------------------------------------


def detect_jacoco(sniff: Sniff) -> bool:
    return (
        sniff.looks_xml
        and sniff.xml_root() == "report"
        and (
            sniff.contains(b"JACOCO")
            or sniff.contains(b"<sessioninfo")
            or sniff.contains(b"<counter")
        )
    )


def _counters(el: Element) -> dict[str, tuple[int, int]]:
    """Direct <counter> children: type -> (valid, covered)."""
    out = {}
    for c in el:
        if local_name(c.tag) == "counter":
            missed, covered = to_int(c.get("missed")) or 0, to_int(c.get("covered")) or 0
            out[c.get("type") or "?"] = (missed + covered, covered)
    return out


def _counter_pair(counters: dict[str, tuple[int, int]], kind: str, zero: bool = True):
    return counters.get(kind, (0, 0) if zero else (None, None))


def parse_jacoco(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    # JaCoCo always writes <!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">
    # without entity declarations: forbidding every DTD would refuse every JaCoCo report, so the
    # doctype is admitted while entities and external references stay forbidden.
    root = parse_xml(data, allow_doctype=True)
    if local_name(root.tag) != "report":
        raise ParseError(f"root element <{local_name(root.tag)}> is not JaCoCo <report>")
    session = next(root.iter("sessioninfo"), None)
    stamp = to_time(session.get("start")) if session is not None else None
    rows = []
    for package in root.iter("package"):
        package_name = attr(package, "name")
        for sf in package:
            if local_name(sf.tag) != "sourcefile":
                continue
            name = attr(sf, "name") or "?"
            path = f"{package_name}/{name}" if package_name else name
            counters = _counters(sf)
            missing = [
                to_int(ln.get("nr"))
                for ln in sf.iter("line")
                if (to_int(ln.get("ci")) or 0) == 0 and (to_int(ln.get("mi")) or 0) > 0
            ]
            rows.append(
                _row(
                    "jacoco",
                    None,
                    stamp,
                    file=path,
                    package=package_name,
                    lines=_counter_pair(counters, "LINE"),
                    branches=_counter_pair(counters, "BRANCH"),
                    functions=_counter_pair(counters, "METHOD"),
                    missing_lines=[n for n in missing if n is not None],
                )
            )
    counters = _counters(root)
    total = _row(
        "jacoco",
        None,
        stamp,
        file=None,
        lines=counters.get("LINE") or _totals(rows, "lines"),
        branches=counters.get("BRANCH") or _totals(rows, "branches"),
        functions=counters.get("METHOD") or _totals(rows, "functions"),
    )
    yield CI_COVERAGE.name, _with_run([*rows, total], source_file)


# --- LCOV -------------------------------------------------------------------------------------

_LCOV_START = re.compile(rb"^\s*(TN|SF):", re.M)


def detect_lcov(sniff: Sniff) -> bool:
    head = sniff.head.lstrip()
    return head[:3] in (b"TN:", b"SF:") and (sniff.contains(b"SF:") and b"\x00" not in head)


def _lcov_ints(value: str, count: int, lineno: int, tag: str) -> list[str]:
    parts = value.split(",", count - 1)
    if len(parts) < count:
        raise ParseError(
            f"line {lineno}: {tag}: expects {count} comma-separated fields, got {value!r}"
        )
    return parts


_LCOV_STATED = (
    ("lines", "line_rate", "LF", "LH"),
    ("branches", "branch_rate", "BRF", "BRH"),
    ("functions", "function_rate", "FNF", "FNH"),
)


def parse_lcov(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    text = data.decode("utf-8-sig", "replace")
    files: dict[str, _File] = {}
    stated: dict[str, dict[str, int]] = {}
    records: dict[str, int] = {}
    current: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "end_of_record":
            current = None
            continue
        tag, _, value = line.partition(":")
        if tag == "SF":
            current = value
            records[current] = records.get(current, 0) + 1
            files.setdefault(current, _File(None))
            stated[current] = {}
            continue
        if tag in ("TN", "VER"):
            continue
        if current is None:
            raise ParseError(f"line {lineno}: {tag}: record data before any SF: line")
        f = files[current]
        try:
            if tag == "DA":
                number, hits = _lcov_ints(value, 2, lineno, tag)[:2]
                f.add_line(int(number), int(float(hits.split(",")[0])))
            elif tag == "BRDA":
                number, block, branch, taken = _lcov_ints(value, 4, lineno, tag)
                valid, covered = f.branches.get(int(number), (0, 0))
                hit = taken.strip() not in ("-", "0")
                f.branches[int(number)] = (valid + 1, covered + (1 if hit else 0))
                if not hit:
                    # lcov 2 and coverage.py name branches with text ("jump to line 4").
                    f.missing_branches.append([int(number), block.strip(), branch.strip()])
            elif tag == "FNDA":
                hits, name = _lcov_ints(value, 2, lineno, tag)
                f.functions[name] = max(int(hits), f.functions.get(name, 0))
            elif tag == "FN":
                name = _lcov_ints(value, 2, lineno, tag)[-1]
                f.functions.setdefault(name, 0)
            elif tag in ("LF", "LH", "BRF", "BRH", "FNF", "FNH"):
                stated[current][tag] = int(value)
        except ValueError:
            raise ParseError(f"line {lineno}: {tag}: not a number in {value!r}") from None
    if not files:
        raise ParseError("no SF: (source file) records found in the LCOV tracefile")
    rows = []
    for path, f in files.items():
        row = _file_row("lcov", None, None, path, f)
        s = stated[path]
        # LF/LH etc. are the tool's own counts; trust them for a file named in one record only
        # (coverlet counts a line listed twice, DA:46 in getter and setter, twice).
        if records[path] == 1:
            for key, rate, valid, covered in _LCOV_STATED:
                if valid in s and covered in s:
                    row[f"{key}_valid"], row[f"{key}_covered"] = s[valid], s[covered]
                    row[rate] = _rate(s[covered], s[valid])
        rows.append(row)
    total = _row(
        "lcov",
        None,
        None,
        file=None,
        lines=_totals(rows, "lines"),
        branches=_totals(rows, "branches"),
        functions=_totals(rows, "functions"),
    )
    yield CI_COVERAGE.name, _with_run([*rows, total], source_file)


# --- coverage.py JSON -------------------------------------------------------------------------


def detect_coveragepy_json(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b'"meta"', b'"files"', b'"totals"')


def _summary_counts(summary: dict) -> dict[str, tuple[int | None, int | None]]:
    return {
        "lines": (to_int(summary.get("num_statements")), to_int(summary.get("covered_lines"))),
        "branches": (to_int(summary.get("num_branches")), to_int(summary.get("covered_branches"))),
    }


def parse_coveragepy_json(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ParseError(f"invalid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
        raise ParseError("not a coverage.py JSON report: no 'files' object")
    meta = doc.get("meta") or {}
    version = str(meta.get("version")) if meta.get("version") is not None else None
    stamp = to_time(meta.get("timestamp"))
    rows = []
    for path, entry in doc["files"].items():
        if not isinstance(entry, dict):
            raise ParseError(f"files[{path!r}] is not an object")
        counts = _summary_counts(entry.get("summary") or {})
        functions = entry.get("functions")
        fn_counts: tuple[int | None, int | None] = (None, None)
        if isinstance(functions, dict):
            named = [
                v.get("summary") or {} for k, v in functions.items() if k and isinstance(v, dict)
            ]
            named = [s for s in named if (s.get("num_statements") or 0) > 0]
            fn_counts = (len(named), sum(1 for s in named if (s.get("covered_lines") or 0) > 0))
        rows.append(
            _row(
                "coveragepy-json",
                version,
                stamp,
                file=path,
                package=path.rsplit("/", 1)[0] if "/" in path else None,
                lines=counts["lines"],
                branches=counts["branches"],
                functions=fn_counts,
                missing_lines=entry.get("missing_lines"),
                missing_branches=entry.get("missing_branches"),
            )
        )
    totals = _summary_counts(doc.get("totals") or {})
    total = _row(
        "coveragepy-json",
        version,
        stamp,
        file=None,
        lines=totals["lines"] if totals["lines"][0] is not None else _totals(rows, "lines"),
        branches=totals["branches"]
        if totals["branches"][0] is not None
        else _totals(rows, "branches"),
        functions=_totals(rows, "functions"),
    )
    yield CI_COVERAGE.name, _with_run([*rows, total], source_file)


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("cobertura-xml", detect_cobertura, parse_cobertura),
    FileFormat("jacoco-xml", detect_jacoco, parse_jacoco),
    FileFormat("lcov", detect_lcov, parse_lcov),
    FileFormat("coveragepy-json", detect_coveragepy_json, parse_coveragepy_json),
)
TABLES: tuple[TableSpec, ...] = (CI_COVERAGE,)
