"""Where an OTLP protobuf span's CPU time goes, stage by stage, in microseconds per span.

The bench's own protobuf files (benchmarks/otlp_ingest.py, cached in the temp dir) go through
the steps of `ingest.spool.parse_to_spool` one at a time in this process, each timed in CPU
seconds (`time.process_time`, which a shared machine does not inflate the way it does wall
time); then the parent's side: the days of the spool files and `commit_ingest` of them all, as
one load, into a fresh DuckDB file at one thread (the run's load of the same files), beside a
plain `INSERT ... SELECT FROM read_parquet` of the same files (what DuckDB alone costs).

Each stage counts its best of --rounds rounds. Run it pinned (`taskset -c 0`) for one core.
Writes benchmarks/results/otlp_stages.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from otlp_ingest import generate, say  # noqa: E402

from cicl_assets.ingest.content import Sniff, maybe_gunzip  # noqa: E402
from cicl_assets.ingest.formats import detect_format  # noqa: E402
from cicl_assets.ingest.redact_table import redact_table  # noqa: E402
from cicl_assets.ingest.spool import (  # noqa: E402
    PARQUET_ROW_GROUP,
    SPOOL_COMPRESSION,
    clustered,
    records_to_table,
)
from cicl_assets.ingest.text_guards import check_strings  # noqa: E402
from cicl_assets.telemetry.formats import OTEL_STREAM  # noqa: E402
from cicl_assets.warehouse.batch import IngestBatch, Part, TableLoad, partitions_of  # noqa: E402
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "otlp_stages.json"
WORKER_STAGES = (
    "read, digest, detect",
    "decode",
    "to table",
    "UTF-8 check",
    "redact",
    "cluster (sort)",
    "spool (Parquet)",
)


def worker_stages(paths: list[Path], spool: Path) -> tuple[dict[str, float], list[Path]]:
    """CPU seconds of each step of parse_to_spool over all files; the spool files written."""
    seconds: dict[str, float] = defaultdict(float)
    written = []

    def tick(stage: str, since: float) -> float:
        now = time.process_time()
        seconds[stage] += now - since
        return now

    for index, path in enumerate(paths):
        source = f"otel/{path.name}"
        t = time.process_time()
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        data, _ = maybe_gunzip(data, OTEL_STREAM.max_inflated_bytes)
        fmt = detect_format(OTEL_STREAM.formats, Sniff.of(data))
        assert fmt is not None
        t = tick("read, digest, detect", t)
        writers: dict[str, pq.ParquetWriter] = {}
        for name, parsed in fmt.parse(data, source):
            t = tick("decode", t)
            spec = OTEL_STREAM.table(name)
            table = records_to_table(spec, parsed, source)
            t = tick("to table", t)
            check_strings(table, name)
            t = tick("UTF-8 check", t)
            table = redact_table(table, spec)
            t = tick("redact", t)
            table = clustered(table, spec)
            t = tick("cluster (sort)", t)
            if name not in writers:
                out = spool / f"{index:04d}-{name}.parquet"
                writers[name] = pq.ParquetWriter(out, spec.schema, compression=SPOOL_COMPRESSION)
                if name == "otel_spans":
                    written.append(out)
            writers[name].write_table(table, row_group_size=PARQUET_ROW_GROUP)
            t = tick("spool (Parquet)", t)
        for writer in writers.values():
            writer.close()
        tick("spool (Parquet)", t)
    return seconds, written


def parent_stages(spools: list[Path], scratch: Path) -> dict[str, float]:
    """CPU seconds of the parent's load of the spool files, and of DuckDB's insert alone."""
    spec = next(s for s in OTEL_STREAM.tables if s.name == "otel_spans").with_provenance()
    seconds = {}
    t = time.process_time()
    for path in spools:
        partitions_of(spec, [str(path)])
    seconds["days of the spool files"] = time.process_time() - t
    warehouse = DuckDBWarehouse(path=str(scratch / "load.duckdb"), threads=1)
    warehouse.ensure_table(spec)
    parts = tuple(Part(str(p), f"otel/{p.name}#bench", i) for i, p in enumerate(spools))
    batch = IngestBatch(stream_tables=(spec,), loads=(TableLoad(spec, parts),))
    with warehouse.held():
        t = time.process_time()
        warehouse.commit_ingest(batch)
        seconds["commit_ingest (identity check, insert, commit)"] = time.process_time() - t
    plain = DuckDBWarehouse(path=str(scratch / "plain.duckdb"), threads=1)
    plain.ensure_table(spec)
    names = ", ".join(f'"{n}"' for n in spec.schema.names if n != "carried_by")
    with plain.connect() as con:
        con.execute("SET enable_progress_bar = false")
        t = time.process_time()
        con.execute(
            f"INSERT INTO otel_spans ({names}) SELECT {names} FROM read_parquet(?)",
            [[str(p) for p in spools]],
        )
        seconds["of which DuckDB's insert from Parquet alone"] = time.process_time() - t
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=262_144)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus, spans = generate(args.spans)
    paths = sorted((corpus / "pb" / "otel").glob("*.pb"))
    # warm-up: imports, pandas, the first Arrow calls
    first = paths[0].read_bytes()
    fmt = detect_format(OTEL_STREAM.formats, Sniff.of(first))
    assert fmt is not None
    for _ in fmt.parse(first, "warm"):
        pass
    best: dict[str, float] = {}
    loads = []
    for _ in range(args.rounds):
        scratch = Path(tempfile.mkdtemp(prefix="cicl-stages-"))
        try:
            loads.append(round(os.getloadavg()[0], 2))
            worker, spools = worker_stages(paths, scratch)
            parent = parent_stages(spools, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for stage, value in {**worker, **parent}.items():
            best[stage] = min(best.get(stage, value), value)
    per_span = {stage: round(value / spans * 1e6, 2) for stage, value in best.items()}
    worker_total = sum(per_span[s] for s in WORKER_STAGES)
    parent_total = (
        per_span["days of the spool files"]
        + per_span["commit_ingest (identity check, insert, commit)"]
    )
    say(f"\n{spans:,} protobuf spans, CPU µs per span, best of {args.rounds}, load {loads}")
    say("parse worker")
    for stage in WORKER_STAGES:
        say(f"  {stage:<48}{per_span[stage]:>6.2f}")
    say(f"  {'total':<48}{worker_total:>6.2f}")
    say("parent")
    for stage in per_span:
        if stage not in WORKER_STAGES:
            say(f"  {stage:<48}{per_span[stage]:>6.2f}")
    say(f"  {'total':<48}{parent_total:>6.2f}")
    say(f"both: {worker_total + parent_total:.2f} µs a span")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "spans": spans,
                "rounds": args.rounds,
                "load_avg_1m": loads,
                "cpu_us_per_span": per_span,
                "worker_total": round(worker_total, 2),
                "parent_total": round(parent_total, 2),
            },
            indent=2,
        )
        + "\n"
    )
    say(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
