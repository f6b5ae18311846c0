"""The ``ci_coverage`` table and the row building every coverage parser shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from cicl_assets.ci.values import pipeline_run_id_from_path, to_json
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
class FileLines:
    """Per-line facts of one source file, merged across the classes/records naming it."""

    package: str | None
    hits: dict[int, int] = field(default_factory=dict)
    branches: dict[int, tuple[int, int]] = field(default_factory=dict)  # line -> (valid, covered)
    missing_branches: list[list[int | str]] = field(default_factory=list)
    functions: dict[str, int] = field(default_factory=dict)  # name -> hits

    def add_line(self, number: int, hits: int) -> None:
        self.hits[number] = max(hits, self.hits.get(number, 0))


def rate(covered: int | None, valid: int | None) -> float | None:
    if covered is None or not valid:
        return None
    return covered / valid


def coverage_row(
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
        "line_rate": rate(lines[1], lines[0]) if lines[0] is not None else line_rate,
        "branches_valid": branches[0],
        "branches_covered": branches[1],
        "branch_rate": rate(branches[1], branches[0]) if branches[0] is not None else branch_rate,
        "functions_valid": functions[0],
        "functions_covered": functions[1],
        "function_rate": rate(functions[1], functions[0]),
        "missing_lines": to_json(missing_lines) if missing_lines else None,
        "missing_branches": to_json(missing_branches) if missing_branches else None,
        "report_timestamp": stamp,
    }


def file_row(
    fmt: str, version: str | None, stamp: datetime | None, path: str, f: FileLines
) -> dict:
    branch_valid = sum(v for v, _ in f.branches.values())
    branch_cov = sum(c for _, c in f.branches.values())
    return coverage_row(
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


def with_run_id(rows: list[dict], source_file: str) -> list[dict]:
    run_id = pipeline_run_id_from_path(source_file)
    for row in rows:
        row["pipeline_run_id"] = run_id
    return rows


def summed(rows: list[dict], key: str) -> tuple[int | None, int | None]:
    valid = [r[f"{key}_valid"] for r in rows if r[f"{key}_valid"] is not None]
    covered = [r[f"{key}_covered"] for r in rows if r[f"{key}_covered"] is not None]
    return (sum(valid), sum(covered)) if valid else (None, None)
