"""Does merging near-identical failure signatures earn its keep? Counts the failure modes of the
sample corpus's error-bearing files and of a demo warehouse with the masking rules alone and with
TF-IDF + HDBSCAN merging on top, and lists every merge for a person to judge.

    python benchmarks/failure_mode_merging.py --corpus ../shared/corpus [--warehouse w.duckdb]

The warehouse is one the demo was ingested into (its spans, logs, test cases and apply logs).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from cicl_assets.ci.junit.reports import parse_junit, parse_nunit
from cicl_assets.learning.failure_modes.assets import (
    ERROR_SEVERITY,
    read_occurrences,
    span_occurrences,
    test_occurrence,
)
from cicl_assets.learning.failure_modes.merge import MergeSettings, merge_signatures
from cicl_assets.learning.failure_modes.modes import Occurrence
from cicl_assets.learning.failure_modes.signature import signature
from cicl_assets.telemetry.formats import parse_json_traces, parse_logs_json

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _rows(parsed) -> list[dict]:
    out = []
    for _table, rows in parsed:
        out.extend(rows.to_pylist() if isinstance(rows, pa.Table) else rows)
    return out


def corpus_occurrences(corpus: Path) -> list[Occurrence]:
    found: list[Occurrence] = []
    for path in sorted((corpus / "junit").glob("*.xml")):
        for parse in (parse_junit, parse_nunit):
            try:
                rows = _rows(parse(path.read_bytes(), path.name))
            except Exception:  # the broken samples are meant to fail
                continue
            for r in rows:
                if r.get("status") in ("failed", "error"):
                    found.append(test_occurrence({**r, "timestamp": r["timestamp"] or EPOCH}))
            break
    for path in sorted((corpus / "otlp-traces").glob("*.json")):
        data = path.read_bytes()
        try:
            for r in _rows(parse_json_traces(data, path.name)):
                if r.get("status_code") == "ERROR":
                    found.extend(span_occurrences({**r, "events": _json(r.get("events"))}))
        except Exception:  # not this kind of file
            pass
        try:
            for r in _rows(parse_logs_json(data, path.name)):
                if (r.get("severity_number") or 0) >= ERROR_SEVERITY:
                    found.append(Occurrence("log", r.get("severity_text"), r.get("body"), EPOCH))
        except Exception:  # not this kind of file
            pass
    return found


def _json(value) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def measure(name: str, occurrences: list[Occurrence], settings: MergeSettings) -> dict:
    sigs = Counter(signature(o.error_type, o.message) for o in occurrences)
    merged = merge_signatures(sigs, settings)
    modes = Counter(merged[s] for s in sigs.elements())
    groups: dict[str, list[str]] = {}
    for sig, rep in sorted(merged.items()):
        if sig != rep:
            groups.setdefault(rep, [rep]).append(sig)
    return {
        "input": name,
        "failures": len(occurrences),
        "signatures": len(sigs),
        "modes_after_merge": len(modes),
        "merges": groups,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--warehouse", help="a DuckDB file the demo was ingested into")
    parser.add_argument("--min-cluster-size", type=int, default=MergeSettings.min_cluster_size)
    parser.add_argument("--max-distance", type=float, default=MergeSettings.max_distance)
    args = parser.parse_args(argv)
    settings = MergeSettings(True, args.min_cluster_size, args.max_distance)
    results = [measure("corpus", corpus_occurrences(args.corpus), settings)]
    if args.warehouse:
        from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

        warehouse = DuckDBWarehouse(path=args.warehouse)
        occ = read_occurrences(warehouse, EPOCH, datetime(2100, 1, 1, tzinfo=UTC))
        results.append(measure("demo", occ, settings))
    json.dump(results, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
