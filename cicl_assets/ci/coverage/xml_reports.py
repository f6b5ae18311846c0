"""Cobertura and JaCoCo XML coverage reports -> ``ci_coverage`` rows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree.ElementTree import Element

from cicl_assets.ci.coverage.rows import (
    CI_COVERAGE,
    FileLines,
    coverage_row,
    file_row,
    summed,
    with_run_id,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import ParsedRows
from cicl_assets.ingest.safe_xml import attr, local_name, parse_xml
from cicl_assets.ingest.values import parse_float, parse_int, parse_time

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
    stamp = parse_time(attr(root, "timestamp"))
    files: dict[str, FileLines] = {}
    for package in root.iter("package"):
        package_name = attr(package, "name")
        for cls in package.iter("class"):
            path = attr(cls, "filename") or attr(cls, "name")
            if not path:
                raise ParseError(f"<class> in package {package_name!r} has no filename or name")
            f = files.setdefault(path, FileLines(package_name))
            lines_el = next((c for c in cls if local_name(c.tag) == "lines"), None)
            # A class's <lines> repeats its methods' lines; read methods only when it is absent.
            line_els = list(lines_el) if lines_el is not None else list(cls.iter("line"))
            for line in line_els:
                number = parse_int(line.get("number"))
                if number is None:
                    raise ParseError(f"{path}: <line> without a number")
                f.add_line(number, parse_int(line.get("hits")) or 0)
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
                method_hits = [parse_int(x.get("hits")) or 0 for x in method.iter("line")]
                f.functions[name] = max(method_hits, default=0)
    rows = [file_row("cobertura", version, stamp, p, f) for p, f in files.items()]
    lines = (parse_int(attr(root, "lines-valid")), parse_int(attr(root, "lines-covered")))
    branches = (parse_int(attr(root, "branches-valid")), parse_int(attr(root, "branches-covered")))
    total = coverage_row(
        "cobertura",
        version,
        stamp,
        file=None,
        lines=lines if lines[0] is not None else summed(rows, "lines"),
        branches=branches if branches[0] is not None else summed(rows, "branches"),
        functions=summed(rows, "functions"),
        line_rate=parse_float(attr(root, "line-rate")),
        branch_rate=parse_float(attr(root, "branch-rate")),
    )
    yield CI_COVERAGE.name, with_run_id([*rows, total], source_file)


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
            missed, covered = parse_int(c.get("missed")) or 0, parse_int(c.get("covered")) or 0
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
    stamp = parse_time(session.get("start")) if session is not None else None
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
                parse_int(ln.get("nr"))
                for ln in sf.iter("line")
                if (parse_int(ln.get("ci")) or 0) == 0 and (parse_int(ln.get("mi")) or 0) > 0
            ]
            rows.append(
                coverage_row(
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
    total = coverage_row(
        "jacoco",
        None,
        stamp,
        file=None,
        lines=counters.get("LINE") or summed(rows, "lines"),
        branches=counters.get("BRANCH") or summed(rows, "branches"),
        functions=counters.get("METHOD") or summed(rows, "functions"),
    )
    yield CI_COVERAGE.name, with_run_id([*rows, total], source_file)
