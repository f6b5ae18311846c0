"""`make bench`: the compiled OTLP protobuf decoder against its pure-Python fallback, one core.

The same protobuf files as benchmarks/otlp_ingest.py (cached in the temp dir). Each measurement
runs in a fresh process pinned to CPU 0 (`taskset -c 0`; its parse worker inherits the pin)
with DuckDB at one thread, CICL_COMPILED_DECODERS=on or off; the two alternate for --rounds
rounds so both see the same load, and the best round of each counts. Two figures each:

- decode: the file's bytes to `otel_spans` Arrow batches, nothing else (and the peak RSS);
- end to end: `ingest_stream` of the otel stream into a fresh DuckDB file (1 worker), with
  the CPU it took per span in the parent (the DuckDB load) and in the parse worker apart.

Both after a warm-up (one batch decoded, one file ingested into a throwaway DuckDB file), whose
seconds are reported apart (`startup_s`): imports, pandas, the parse workers' forkserver.

Reports spans/s, the compiled/fallback ratio and the 1-minute load average before each run
(the machine may be shared). Writes benchmarks/results/otlp_decoders.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from otlp_ingest import PeakRss, generate, say  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "otlp_decoders.json"
MODES = {"compiled": "on", "fallback": "off"}


def child(mode: str, corpus: Path, spans: int) -> dict[str, Any]:
    """One measurement of each kind in this (pinned) process."""
    from cicl_assets.ingest.runner import ingest_stream
    from cicl_assets.landing.zone import LandingZone
    from cicl_assets.telemetry import otlp_compiled
    from cicl_assets.telemetry.formats import OTEL_STREAM
    from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

    paths = sorted((corpus / "otel").glob("*.pb"))
    # Start-up is timed apart from throughput: the first Arrow call imports pandas, and the
    # forkserver imports the parsers (seconds each where no bytecode cache is written).
    started = time.perf_counter()
    first = paths[0].read_bytes()
    next(iter(otlp_compiled.parse_protobuf_spans(first, paths[0].name)))
    with tempfile.TemporaryDirectory(prefix="cicl-decoders-") as tmp:
        warm = DuckDBWarehouse(path=str(Path(tmp) / "warm.duckdb"), threads=1)
        landing = LandingZone(uri=str(corpus))
        ingest_stream(OTEL_STREAM, landing, warm, workers=1, paths=[f"otel/{paths[0].name}"])
        assert warm.row_count("otel_spans") > 0, "the warm-up ingested nothing"
    startup_s = time.perf_counter() - started
    load_decode = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    decoded = 0
    for path in paths:
        data = path.read_bytes()
        decoded += sum(t.num_rows for _, t in otlp_compiled.parse_protobuf_spans(data, path.name))
    decode_s, decode_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert decoded == spans, (decoded, spans)
    decode_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with tempfile.TemporaryDirectory(prefix="cicl-decoders-") as tmp:
        db = Path(tmp) / "spans.duckdb"
        warehouse = DuckDBWarehouse(path=str(db), threads=1)
        load_e2e = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        with PeakRss() as sampled:
            report = ingest_stream(OTEL_STREAM, LandingZone(uri=str(corpus)), warehouse, workers=1)
        e2e_s, parent_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert report.files_rejected == 0, [o.error for o in report.rejects]
        assert warehouse.row_count("otel_spans") == spans
        with warehouse.connect() as con:
            con.execute("CHECKPOINT")
        stored = db.stat().st_size / spans
    return {
        "mode": mode,
        "compiled_used": otlp_compiled.available(),
        "startup_s": round(startup_s, 1),
        "cpus": sorted(os.sched_getaffinity(0)),
        "decode_spans_per_s": round(spans / decode_s),
        "decode_spans_per_cpu_s": round(spans / decode_cpu),
        "decode_load_avg_1m": round(load_decode, 2),
        "decode_peak_rss_mb": round(decode_rss_mb),
        "e2e_spans_per_s": round(spans / e2e_s),
        # CPU µs a span: the parent (its load thread, and the sampler's own ~0.3) and the worker
        "e2e_cpu_us_parent": round(parent_cpu / spans * 1e6, 2),
        "e2e_cpu_us_worker": round(sampled.children_cpu_s / spans * 1e6, 2),
        "e2e_load_avg_1m": round(load_e2e, 2),
        "duckdb_bytes_per_span": round(stored, 1),
    }


def measure(mode: str, corpus: Path, spans: int) -> dict[str, Any]:
    env = {**os.environ, "CICL_COMPILED_DECODERS": MODES[mode]}
    command = [sys.executable, __file__, "--child", mode, str(corpus), str(spans)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_048_576)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CORPUS", "SPANS"))
    args = parser.parse_args()
    if args.child:
        if not shutil.which("taskset"):
            os.sched_setaffinity(0, {0})
        mode, corpus, spans = args.child
        sys.stdout.write(json.dumps(child(mode, Path(corpus), int(spans))) + "\n")
        return

    corpus, spans = generate(args.spans)
    runs = [measure(mode, corpus / "pb", spans) for _ in range(args.rounds) for mode in MODES]
    best = {
        mode: max((r for r in runs if r["mode"] == mode), key=lambda r: r["e2e_spans_per_s"])
        for mode in MODES
    }
    compiled, fallback = best["compiled"], best["fallback"]
    if not compiled["compiled_used"]:
        say("the compiled decoder is not built: both rows are the fallback")
    summary = {
        "decode_ratio": round(compiled["decode_spans_per_s"] / fallback["decode_spans_per_s"], 2),
        "e2e_ratio": round(compiled["e2e_spans_per_s"] / fallback["e2e_spans_per_s"], 2),
    }
    say(f"\n{spans:,} protobuf spans, one core (CPU 0), DuckDB threads=1, best of {args.rounds}")
    header = (
        f"{'decoder':<10}{'decode/s':>11}{'load':>6}{'RSS MB':>8}{'end to end/s':>14}{'load':>6}"
        f"{'B/span':>8}{'µs parent':>11}{'µs worker':>11}"
    )
    say(header)
    say("-" * len(header))
    for mode, run in best.items():
        say(
            f"{mode:<10}{run['decode_spans_per_s']:>11,}{run['decode_load_avg_1m']:>6}"
            f"{run['decode_peak_rss_mb']:>8}"
            f"{run['e2e_spans_per_s']:>14,}{run['e2e_load_avg_1m']:>6}"
            f"{run['duckdb_bytes_per_span']:>8}"
            f"{run['e2e_cpu_us_parent']:>11}{run['e2e_cpu_us_worker']:>11}"
        )
    say(
        f"compiled / fallback: decode {summary['decode_ratio']}x, end to end {summary['e2e_ratio']}x"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"spans": spans, "summary": summary, "best": best, "runs": runs}, indent=2)
        + "\n"
    )
    say(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
