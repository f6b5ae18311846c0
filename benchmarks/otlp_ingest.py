"""`make bench`: OTLP trace ingestion, file -> rows in DuckDB, against a naive baseline.

Generates >=1M realistic spans once (cached in the temp dir) as protobuf files and as OTLP/JSON
lines files (512 spans per request, 32 requests per file), then measures in this process:

- our path: `ingest_stream` of the otel stream into a fresh DuckDB file, with 1 and 2 workers;
- a naive baseline on a subset: `MessageToDict` + `pandas.json_normalize`, then a DuckDB insert.

Reports spans/s (wall clock) and spans per CPU-second (self + workers, which stays meaningful
on a shared machine), the ratio to the baseline, peak RSS per process (sampled with psutil),
and bytes per span stored (DuckDB file, and the table exported to zstd Parquet). Writes
benchmarks/results/otlp_ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from otlp_synth import TraceFactory, to_json_line  # noqa: E402

from cicl_assets.ingest.runner import ingest_stream  # noqa: E402
from cicl_assets.landing.zone import LandingZone  # noqa: E402
from cicl_assets.telemetry.formats import OTEL_STREAM  # noqa: E402
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse  # noqa: E402

SPANS_PER_REQUEST = 512
REQUESTS_PER_FILE = 32
RESULTS = ROOT / "benchmarks" / "results" / "otlp_ingest.json"
GOALS = {
    "protobuf_1_worker_spans_per_s": 100_000,
    "json_1_worker_spans_per_s": 75_000,
    "scaling_2_workers": 1.8,
    "peak_rss_mb_per_worker": 300,
    "bytes_per_span_stored": 45,
}


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _write_file(args: tuple[Path, int]) -> int:
    """One protobuf file and one JSON lines file holding the same requests."""
    root, index = args
    factory = TraceFactory(seed=1000 + index)
    requests = factory.requests(SPANS_PER_REQUEST)
    batch = [next(requests) for _ in range(REQUESTS_PER_FILE)]
    # Concatenated serialized requests are one valid request holding all their resource spans.
    (root / "pb" / "otel" / f"spans-{index:04d}.pb").write_bytes(
        b"".join(r.SerializeToString() for r in batch)
    )
    (root / "json" / "otel" / f"spans-{index:04d}.jsonl").write_bytes(
        b"".join(to_json_line(r) + b"\n" for r in batch)
    )
    return sum(len(ss.spans) for r in batch for rs in r.resource_spans for ss in rs.scope_spans)


def generate(spans: int) -> tuple[Path, int]:
    files = -(-spans // (SPANS_PER_REQUEST * REQUESTS_PER_FILE))
    root = Path(tempfile.gettempdir()) / f"cicl-otlp-bench-v1-{files}"
    marker = root / "complete.json"
    if marker.exists():
        return root, json.loads(marker.read_text())["spans"]
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("pb", "json"):
        (root / sub / "otel").mkdir(parents=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        total = sum(pool.map(_write_file, [(root, i) for i in range(files)]))
    marker.write_text(json.dumps({"spans": total}))
    say(
        f"generated {total:,} spans in {files} files of each kind ({time.perf_counter() - started:.0f} s) in {root}"
    )
    return root, total


class PeakRss:
    """Samples the RSS of this process and its children; peak per process, in MB."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peaks: dict[int, float] = {}
        # CPU seconds of each child when first and last seen: pool workers are children of
        # the forkserver, so getrusage(RUSAGE_CHILDREN) never counts them.
        self.cpu_first: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        # processes alive before the measurement (an idle forkserver) are not its workers
        before = {p.pid for p in me.children(recursive=True)}
        while not self._stop.is_set():
            for proc in [me, *(p for p in me.children(recursive=True) if p.pid not in before)]:
                try:
                    rss = proc.memory_info().rss / 2**20
                    times = proc.cpu_times()
                except psutil.Error:
                    continue
                self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), rss)
                if proc.pid != me.pid:
                    self.cpu_first.setdefault(proc.pid, times.user + times.system)
                    self.cpu_last[proc.pid] = times.user + times.system
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def children_cpu_s(self) -> float:
        return sum(self.cpu_last[pid] - self.cpu_first[pid] for pid in self.cpu_last)

    @property
    def main_mb(self) -> float:
        return self.peaks.get(os.getpid(), 0.0)

    @property
    def worker_mb(self) -> float:
        workers = [mb for pid, mb in self.peaks.items() if pid != os.getpid()]
        return max(workers, default=0.0)


def _cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def measure(label: str, spans: int, work: Callable[[], Any]) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    cpu = _cpu_seconds()
    with PeakRss() as rss:
        started = time.perf_counter()
        work()
        wall = time.perf_counter() - started
    main_cpu = _cpu_seconds() - cpu
    cpu = main_cpu + rss.children_cpu_s
    return {
        "label": label,
        "spans": spans,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        # the parent lists, loads (DuckDB) and records; the workers read, parse and spool
        "cpu_s_main": round(main_cpu, 2),
        "cpu_s_workers": round(rss.children_cpu_s, 2),
        "spans_per_s": round(spans / wall),
        "spans_per_cpu_s": round(spans / cpu) if cpu else None,
        "peak_rss_mb_main": round(rss.main_mb),
        "peak_rss_mb_worker": round(rss.worker_mb) if rss.worker_mb else None,
        "load_avg_1m_before": round(load_before, 2),
    }


def ours(corpus: Path, spans: int, workers: int, scratch: Path, label: str) -> dict[str, Any]:
    db = scratch / f"{label}.duckdb"
    warehouse = DuckDBWarehouse(path=str(db))
    report_box: dict[str, Any] = {}

    def work() -> None:
        report_box["report"] = ingest_stream(
            OTEL_STREAM, LandingZone(uri=str(corpus)), warehouse, run_id=label, workers=workers
        )

    result = measure(label, spans, work)
    report = report_box["report"]
    assert report.files_rejected == 0, [o.error for o in report.rejects]
    assert warehouse.row_count("otel_spans") == spans, "every span must land"
    result["workers"] = workers
    result.update(storage(warehouse, db, spans, scratch / f"{label}.parquet"))
    return result


def storage(warehouse: DuckDBWarehouse, db: Path, spans: int, parquet: Path) -> dict[str, Any]:
    with warehouse.connect() as con:
        con.execute("CHECKPOINT")
        con.execute(
            f"COPY (SELECT * FROM otel_spans) TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)"
        )
    return {
        "duckdb_bytes_per_span": round(db.stat().st_size / spans, 1),
        "parquet_zstd_bytes_per_span": round(parquet.stat().st_size / spans, 1),
    }


def ceiling(run: dict[str, Any]) -> float | None:
    """The best two-worker scaling a run's CPU split allows on two cores (see main)."""
    parse, load = run["cpu_s_workers"], run["cpu_s_main"]
    return round(2 * parse / (parse + load), 2) if parse > load > 0 else None


def baseline(corpus: Path, files: int, scratch: Path) -> dict[str, Any]:
    """The obvious way: protobuf -> dict -> pandas.json_normalize -> DuckDB insert."""
    import duckdb
    import pandas as pd
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    paths = sorted((corpus / "otel").glob("*.pb"))[:files]
    counted = {"spans": 0}

    def work() -> None:
        con = duckdb.connect(str(scratch / "baseline.duckdb"))
        for path in paths:
            request = ExportTraceServiceRequest.FromString(path.read_bytes())
            doc = MessageToDict(request)
            frame = pd.json_normalize(
                doc["resourceSpans"],
                record_path=["scopeSpans", "spans"],
                meta=[["resource", "attributes"]],
                errors="ignore",
            )
            for column in frame.columns:
                if frame[column].dtype == object:
                    frame[column] = frame[column].map(
                        lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v
                    )
            frame["source_file"] = path.name
            con.register("frame", frame)
            if counted["spans"] == 0:
                con.execute("CREATE TABLE spans AS SELECT * FROM frame")
            else:
                con.execute("INSERT INTO spans BY NAME SELECT * FROM frame")
            con.unregister("frame")
            counted["spans"] += len(frame)
        con.close()

    spans = sum(
        len(ss.spans)
        for path in paths
        for rs in ExportTraceServiceRequest.FromString(path.read_bytes()).resource_spans
        for ss in rs.scope_spans
    )
    result = measure("baseline: MessageToDict + json_normalize + DuckDB", spans, work)
    assert counted["spans"] == spans
    return result


def warm_up(corpus: Path) -> None:
    """Pay one-time costs (lazy imports, starting the forkserver) before anything is timed."""
    with tempfile.TemporaryDirectory(prefix="cicl-otlp-warm-") as tmp:
        landing = Path(tmp) / "landing" / "otel"
        landing.mkdir(parents=True)
        for name in ("pb", "json"):
            first = sorted((corpus / name / "otel").iterdir())[0]
            shutil.copy(first, landing / first.name)
        warehouse = DuckDBWarehouse(path=f"{tmp}/warm.duckdb")
        ingest_stream(OTEL_STREAM, LandingZone(uri=f"{tmp}/landing"), warehouse, workers=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_048_576)
    parser.add_argument("--baseline-files", type=int, default=4)
    args = parser.parse_args()

    corpus, spans = generate(args.spans)
    warm_up(corpus)
    say(f"cpu cores: {os.cpu_count()}, load average now: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="cicl-otlp-bench-") as tmp:
        scratch = Path(tmp)
        runs = [
            ours(corpus / "pb", spans, 1, scratch, "protobuf, 1 worker"),
            ours(corpus / "pb", spans, 2, scratch, "protobuf, 2 workers"),
            ours(corpus / "json", spans, 1, scratch, "OTLP/JSON lines, 1 worker"),
            ours(corpus / "json", spans, 2, scratch, "OTLP/JSON lines, 2 workers"),
        ]
        base = baseline(corpus / "pb", args.baseline_files, scratch)
    for run in runs:
        run["ratio_to_baseline"] = round(run["spans_per_s"] / base["spans_per_s"], 1)
    pb1, pb2, js1, js2 = runs
    summary = {
        "protobuf_1_worker_spans_per_s": pb1["spans_per_s"],
        "json_1_worker_spans_per_s": js1["spans_per_s"],
        "scaling_2_workers_protobuf": round(pb2["spans_per_s"] / pb1["spans_per_s"], 2),
        "scaling_2_workers_json": round(js2["spans_per_s"] / js1["spans_per_s"], 2),
        # the otel stream is isolated: workers parse even with one, the parent only loads
        "peak_rss_mb_per_parsing_worker": max(r["peak_rss_mb_worker"] or 0 for r in runs),
        "peak_rss_mb_parsing_workers_of_2": max(
            r["peak_rss_mb_worker"] or 0 for r in runs if r["workers"] > 1
        ),
        "peak_rss_mb_loading_parent": max(r["peak_rss_mb_main"] for r in runs),
        # Two workers on two cores can at best run (parse + load) CPU in half the wall time; one
        # worker already loads on the second core while it parses, so the ratio is capped at
        # 2 * parse / (parse + load) however the load is arranged.
        "scaling_2_workers_ceiling_protobuf": ceiling(pb2),
        "scaling_2_workers_ceiling_json": ceiling(js2),
        "bytes_per_span_stored_parquet": pb1["parquet_zstd_bytes_per_span"],
        "bytes_per_span_stored_duckdb": pb1["duckdb_bytes_per_span"],
    }
    header = (
        f"{'path':<52}{'spans':>10}{'wall s':>8}{'spans/s':>10}{'/cpu-s':>10}"
        f"{'x base':>8}{'RSS main':>10}{'RSS wkr':>9}{'B/span':>8}{'load':>6}"
    )
    say()
    say(header)
    say("-" * len(header))
    for run in [*runs, base]:
        worker = run.get("peak_rss_mb_worker")
        say(
            f"{run['label']:<52}{run['spans']:>10,}{run['wall_s']:>8}{run['spans_per_s']:>10,}"
            f"{run['spans_per_cpu_s'] or 0:>10,}{run.get('ratio_to_baseline', 1.0):>8}"
            f"{run['peak_rss_mb_main']:>10}{worker if worker else '-':>9}"
            f"{run.get('parquet_zstd_bytes_per_span', '-'):>8}{run['load_avg_1m_before']:>6}"
        )
    say()
    say("B/span: the table exported as zstd Parquet; the DuckDB file holds "
        f"{pb1['duckdb_bytes_per_span']} bytes/span")  # fmt: skip
    for kind, one, two in (("protobuf", pb1, pb2), ("JSON lines", js1, js2)):
        say(
            f"{kind}, 2 workers: {two['spans_per_s'] / one['spans_per_s']:.2f}x one worker; CPU s "
            f"loading {two['cpu_s_main']} vs parsing {two['cpu_s_workers']}: "
            + (f"at most {ceiling(two)}x on 2 cores" if ceiling(two) else "loading bounds it")
        )
    say("goals: " + ", ".join(f"{k} {v}" for k, v in GOALS.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "cpu_count": os.cpu_count(),
                "spans": spans,
                "spans_per_request": SPANS_PER_REQUEST,
                "requests_per_file": REQUESTS_PER_FILE,
                "summary": summary,
                "goals": GOALS,
                "runs": runs,
                "baseline": base,
            },
            indent=2,
        )
        + "\n"
    )
    say(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
