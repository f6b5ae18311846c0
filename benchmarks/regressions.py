"""`make bench`: the regression detectors over a large span table on DuckDB.

Fills otel_spans with ``--spans`` synthetic spans in the three days one day partition reads
(the day and its 48 hours of history), made by SQL in DuckDB so the benchmark measures the
detectors, not ingestion: 3 services, 30 span names, a third of the spans LLM calls of 3
providers, log-normal durations, 1% errors, and a version change of one service half way (an
unrecorded deploy, so every series it emits is compared around it). Then runs
``evaluate_day`` for the last day and reports seconds, peak RSS, series and findings.
Writes benchmarks/results/regressions.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from cicl_assets.learning.regressions.run import evaluate_day  # noqa: E402
from cicl_assets.learning.regressions.thresholds import Thresholds  # noqa: E402
from cicl_assets.telemetry.spans_table import OTEL_SPANS  # noqa: E402
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "regressions.json"
DAY = datetime(2026, 3, 3, tzinfo=UTC)
WINDOW_S = 3 * 86400

# u(k): a uniform in [0, 1) from the row number and a salt, the same on every run.
FILL = """
INSERT INTO otel_spans (trace_id, span_id, parent_span_id, service_name, service_version,
    deployment_environment, span_name, start_time, duration_ms, status_code, gen_ai_provider,
    gen_ai_model, input_tokens, output_tokens, workflow_name)
WITH r AS (
    SELECT i,
           (hash(i, 1) % 1000003) / 1000003.0 AS u1,
           (hash(i, 2) % 1000003) / 1000003.0 AS u2,
           (hash(i, 3) % 1000003) / 1000003.0 AS u3,
           hash(i, 4) % 30 AS name,
           {start} + (hash(i, 5) % {window}) AS ts
    FROM range({spans}) t(i)
)
SELECT md5(CAST(i // 8 AS VARCHAR)), substr(md5(CAST(i AS VARCHAR)), 1, 16),
       CASE WHEN i % 8 = 0 THEN NULL ELSE substr(md5(CAST(i - i % 8 AS VARCHAR)), 1, 16) END,
       'svc-' || CAST(name % 3 AS VARCHAR),
       CASE WHEN name % 3 = 0 AND ts >= {half} THEN '2.0.0' ELSE '1.0.0' END,
       'production',
       CASE WHEN name < 10 THEN 'chat model-' || CAST(name % 3 AS VARCHAR)
            ELSE 'op-' || CAST(name AS VARCHAR) END,
       to_timestamp(ts),
       (100 + 20 * name) * exp(0.35 * sqrt(-2 * ln(greatest(u1, 1e-9))) * cos(2 * pi() * u2)),
       CASE WHEN u3 < 0.01 THEN 'ERROR' ELSE 'OK' END,
       CASE WHEN name < 10 THEN 'provider-' || CAST(name % 3 AS VARCHAR) END,
       CASE WHEN name < 10 THEN 'model-' || CAST(name % 3 AS VARCHAR) END,
       CASE WHEN name < 10 THEN 1000 + hash(i, 6) % 400 END,
       CASE WHEN name < 10 THEN 200 + hash(i, 7) % 200 END,
       CASE WHEN i % 8 = 0 THEN 'workflow-' || CAST(name % 4 AS VARCHAR) END
FROM r
"""


def fill(warehouse: DuckDBWarehouse, spans: int) -> float:
    started = time.perf_counter()
    warehouse.ensure_table(OTEL_SPANS)
    start = int((DAY - timedelta(days=2)).timestamp())
    sql = FILL.format(start=start, window=WINDOW_S, spans=spans, half=start + WINDOW_S // 2)
    warehouse.execute(sql)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    args = parser.parse_args()
    path = Path(args.workdir) / f"cicl-bench-regressions-{args.spans}.duckdb"
    path.unlink(missing_ok=True)
    warehouse = DuckDBWarehouse(path=str(path))
    fill_s = fill(warehouse, args.spans)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    cpu = time.process_time()
    evaluation = evaluate_day(warehouse, DAY, Thresholds())
    result = {
        "spans": args.spans,
        "fill_s": round(fill_s, 1),
        "evaluate_day_s": round(time.perf_counter() - started, 1),
        "evaluate_day_cpu_s": round(time.process_time() - cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_mb": round(rss_before),
        "series": evaluation.series_count,
        "comparisons": len(evaluation.results),
        "findings": len(evaluation.findings),
    }
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
