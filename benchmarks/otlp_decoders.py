"""`make bench`: the compiled OTLP decoders against their pure-Python fallbacks, one core.

The same protobuf and OTLP/JSON lines files as benchmarks/otlp_ingest.py (cached in the temp
dir). Each measurement
runs in a fresh process pinned to CPU 0 (`taskset -c 0`; its parse worker inherits the pin)
with DuckDB at one thread, CICL_COMPILED_DECODERS=on or off; the two alternate for --rounds
rounds so both see the same load, and the best round of each counts. Two figures each:

- decode: the file's bytes to `otel_spans` Arrow batches, nothing else (and the peak RSS);
- decode: the file's bytes to `otel_spans` Arrow batches, nothing else (and the peak RSS);
- end to end: `ingest_stream` of the otel stream into a fresh DuckDB file (1 worker), with
  the CPU it took per span in the parent (the DuckDB load) and in the parse worker apart;
- the same two for the JSON lines files (`json_` figures; decode measured after the protobuf
  files, so its peak RSS is not its own).

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
    from cicl_assets.telemetry.otlp_json_compiled import parse_json_spans
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

    def end_to_end(root: Path) -> dict[str, float]:
        """Ingesting the otel files under ``root``: spans/s, the load before, bytes a span and
        the CPU µs a span of the parent and of the parse worker."""
        with tempfile.TemporaryDirectory(prefix="cicl-decoders-") as tmp:
            db = Path(tmp) / "spans.duckdb"
            warehouse = DuckDBWarehouse(path=str(db), threads=1)
            load = os.getloadavg()[0]
            started, cpu = time.perf_counter(), time.process_time()
            with PeakRss() as sampled:
                report = ingest_stream(
                    OTEL_STREAM, LandingZone(uri=str(root)), warehouse, workers=1
                )
            seconds, parent_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert report.files_rejected == 0, [o.error for o in report.rejects]
            assert warehouse.row_count("otel_spans") == spans
            with warehouse.connect() as con:
                con.execute("CHECKPOINT")
            return {
                "spans_per_s": spans / seconds,
                "load": load,
                "stored": db.stat().st_size / spans,
                # the parent's load thread, and the sampler's own ~0.3
                "cpu_us_parent": parent_cpu / spans * 1e6,
                "cpu_us_worker": sampled.children_cpu_s / spans * 1e6,
            }

    e2e = end_to_end(corpus)

    json_root = corpus.parent / "json"
    json_paths = sorted((json_root / "otel").glob("*.jsonl"))
    next(iter(parse_json_spans(json_paths[0].read_bytes(), json_paths[0].name)))
    load_json = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    decoded = 0
    for path in json_paths:
        data = path.read_bytes()
        decoded += sum(t.num_rows for _, t in parse_json_spans(data, path.name))
    json_s, json_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert decoded == spans, (decoded, spans)
    json_e2e = end_to_end(json_root)
    return {
        "mode": mode,
        "compiled_used": otlp_compiled.available(),
        "startup_s": round(startup_s, 1),
        "cpus": sorted(os.sched_getaffinity(0)),
        "decode_spans_per_s": round(spans / decode_s),
        "decode_spans_per_cpu_s": round(spans / decode_cpu),
        "decode_load_avg_1m": round(load_decode, 2),
        "decode_peak_rss_mb": round(decode_rss_mb),
        "e2e_spans_per_s": round(e2e["spans_per_s"]),
        "e2e_cpu_us_parent": round(e2e["cpu_us_parent"], 2),
        "e2e_cpu_us_worker": round(e2e["cpu_us_worker"], 2),
        "e2e_load_avg_1m": round(e2e["load"], 2),
        "duckdb_bytes_per_span": round(e2e["stored"], 1),
        "json_decode_spans_per_s": round(spans / json_s),
        "json_decode_spans_per_cpu_s": round(spans / json_cpu),
        "json_decode_load_avg_1m": round(load_json, 2),
        "json_e2e_spans_per_s": round(json_e2e["spans_per_s"]),
        "json_e2e_cpu_us_parent": round(json_e2e["cpu_us_parent"], 2),
        "json_e2e_cpu_us_worker": round(json_e2e["cpu_us_worker"], 2),
        "json_e2e_load_avg_1m": round(json_e2e["load"], 2),
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
        f"{key}_ratio": round(compiled[f"{key}_spans_per_s"] / fallback[f"{key}_spans_per_s"], 2)
        for key in ("decode", "e2e", "json_decode", "json_e2e")
    }
    summary["json_decode_cpu_ratio"] = round(
        compiled["json_decode_spans_per_cpu_s"] / fallback["json_decode_spans_per_cpu_s"], 2
    )
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
    say(
        f"\nthe same spans as OTLP/JSON lines, {len(list((corpus / 'json' / 'otel').iterdir()))} files"
    )
    header = (
        f"{'reader':<10}{'decode/s':>11}{'/CPU-s':>10}{'load':>6}{'end to end/s':>14}{'load':>6}"
    )
    say(header)
    say("-" * len(header))
    for mode, run in best.items():
        say(
            f"{mode:<10}{run['json_decode_spans_per_s']:>11,}"
            f"{run['json_decode_spans_per_cpu_s']:>10,}{run['json_decode_load_avg_1m']:>6}"
            f"{run['json_e2e_spans_per_s']:>14,}{run['json_e2e_load_avg_1m']:>6}"
        )
    say(
        f"compiled / fallback: decode {summary['json_decode_ratio']}x "
        f"({summary['json_decode_cpu_ratio']}x per CPU-second), "
        f"end to end {summary['json_e2e_ratio']}x"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"spans": spans, "summary": summary, "best": best, "runs": runs}, indent=2)
        + "\n"
    )
    say(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
