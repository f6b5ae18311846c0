"""Coverage reports -> ``ci_coverage``: one row per source file per report plus one total row.

Cobertura XML (coverage.py, Java Cobertura, coverlet, Swift/slather), JaCoCo XML, LCOV
tracefiles and coverage.py JSON. Per-file figures are counted from the lines the report lists;
the total row takes the report's own totals where it states them.
"""

from __future__ import annotations

from collections.abc import Iterable

from cicl_assets.ci.coverage.rows import (
    CI_COVERAGE,
    FileLines,
    coverage_row,
    file_row,
    rate,
    summed,
    with_run_id,
)
from cicl_assets.ci.coverage.xml_reports import (
    detect_cobertura,
    detect_jacoco,
    parse_cobertura,
    parse_jacoco,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat, ParsedRows
from cicl_assets.ingest.json_documents import load_json
from cicl_assets.ingest.text_guards import decode_text
from cicl_assets.ingest.values import parse_int, parse_time
from cicl_assets.warehouse.tables import TableSpec

__all__ = ["CI_COVERAGE", "FORMATS", "TABLES", "parse_lcov"]

# --- LCOV -------------------------------------------------------------------------------------


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
    text = decode_text(data)
    files: dict[str, FileLines] = {}
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
            files.setdefault(current, FileLines(None))
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
        row = file_row("lcov", None, None, path, f)
        s = stated[path]
        # LF/LH etc. are the tool's own counts; trust them for a file named in one record only
        # (coverlet counts a line listed twice, DA:46 in getter and setter, twice).
        if records[path] == 1:
            for key, rate_column, valid, covered in _LCOV_STATED:
                if valid in s and covered in s:
                    row[f"{key}_valid"], row[f"{key}_covered"] = s[valid], s[covered]
                    row[rate_column] = rate(s[covered], s[valid])
        rows.append(row)
    total = coverage_row(
        "lcov",
        None,
        None,
        file=None,
        lines=summed(rows, "lines"),
        branches=summed(rows, "branches"),
        functions=summed(rows, "functions"),
    )
    yield CI_COVERAGE.name, with_run_id([*rows, total], source_file)


# --- coverage.py JSON -------------------------------------------------------------------------


def detect_coveragepy_json(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b'"meta"', b'"files"', b'"totals"')


def _summary_counts(summary: dict) -> dict[str, tuple[int | None, int | None]]:
    return {
        "lines": (
            parse_int(summary.get("num_statements")),
            parse_int(summary.get("covered_lines")),
        ),
        "branches": (
            parse_int(summary.get("num_branches")),
            parse_int(summary.get("covered_branches")),
        ),
    }


def parse_coveragepy_json(data: bytes, source_file: str) -> Iterable[tuple[str, ParsedRows]]:
    doc = load_json(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
        raise ParseError("not a coverage.py JSON report: no 'files' object")
    meta = doc.get("meta") or {}
    version = str(meta.get("version")) if meta.get("version") is not None else None
    stamp = parse_time(meta.get("timestamp"))
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
            coverage_row(
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
    total = coverage_row(
        "coveragepy-json",
        version,
        stamp,
        file=None,
        lines=totals["lines"] if totals["lines"][0] is not None else summed(rows, "lines"),
        branches=totals["branches"]
        if totals["branches"][0] is not None
        else summed(rows, "branches"),
        functions=summed(rows, "functions"),
    )
    yield CI_COVERAGE.name, with_run_id([*rows, total], source_file)


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("cobertura-xml", detect_cobertura, parse_cobertura),
    FileFormat("jacoco-xml", detect_jacoco, parse_jacoco),
    FileFormat("lcov", detect_lcov, parse_lcov),
    FileFormat("coveragepy-json", detect_coveragepy_json, parse_coveragepy_json),
)
TABLES: tuple[TableSpec, ...] = (CI_COVERAGE,)
