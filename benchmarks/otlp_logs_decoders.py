"""`make bench`: the compiled OTLP protobuf logs decoder against its pure-Python fallback.

Requests shaped as the platform's session logs (demo/session_files.py): per workflow run a
session log line (string body, session.id, enduser.id, workflow.name) and, for a fifth of them,
a `gen_ai.evaluation.result` record (which both paths build in Python: it also fills
`eval_scores`); plus, with --secrets, a record in fifty with a secret-shaped attribute (decoded
again by the fallback's code so it is redacted the same way). Both decoders run in this one
process, alternating for --rounds rounds so they see the same load; the best round of each
counts. The figure is records per CPU-second from the request bytes to Arrow tables of
`otel_logs` (the fallback's dict rows through `TableSpec.from_records`, as the spool builds
them), with the 1-minute load average beside it. Writes benchmarks/results/otlp_logs_decoders.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (  # noqa: E402
    ExportLogsServiceRequest,
)

RESULTS = ROOT / "benchmarks" / "results" / "otlp_logs_decoders.json"
T0 = 1_762_300_800_000_000_000


def session_requests(records: int, per_request: int, secrets: bool, seed: int = 5) -> list[bytes]:
    rng = random.Random(seed)
    out, made = [], 0
    while made < records:
        req = ExportLogsServiceRequest()
        rl = req.resource_logs.add()
        for key, value in (
            ("service.name", "flow-runtime"),
            ("deployment.environment.name", "prod"),
        ):
            rl.resource.attributes.add(key=key).value.string_value = value
        sl = rl.scope_logs.add()
        sl.scope.name = "flow.sessions"
        for _ in range(min(per_request, records - made)):
            at = T0 + made * 1_000_003_117
            made += 1
            if rng.random() < 0.2:
                rec = sl.log_records.add(
                    time_unix_nano=at, severity_number=9, event_name="gen_ai.evaluation.result"
                )
                score = round(rng.gauss(0.8, 0.08), 3)
                rec.attributes.add(key="gen_ai.evaluation.name").value.string_value = "relevance"
                rec.attributes.add(key="gen_ai.evaluation.score.value").value.double_value = score
            else:
                rec = sl.log_records.add(time_unix_nano=at, severity_number=9, severity_text="INFO")
                workflow = rng.choice(("support-reply", "triage", "summarise"))
                rec.body.string_value = f"workflow {workflow} run finished"
                for key, value in (
                    ("session.id", f"sess-{rng.getrandbits(48):012x}"),
                    ("enduser.id", f"user-{rng.randrange(40):03d}@customer.example"),
                    ("workflow.name", workflow),
                ):
                    rec.attributes.add(key=key).value.string_value = value
                rec.attributes.add(key="duration_ms").value.int_value = rng.randrange(50, 9000)
                if secrets and rng.random() < 0.02:
                    rec.attributes.add(key="db.password").value.string_value = "hunter22"
            rec.observed_time_unix_nano = at + 1000
            rec.trace_id, rec.span_id = rng.randbytes(16), rng.randbytes(8)
        out.append(req.SerializeToString())
    return out


def decode(mode: str, requests: list[bytes]) -> tuple[int, float, float]:
    """(otel_logs rows, CPU seconds, load average) of one pass over the requests."""
    from cicl_assets.ingest.spool import records_to_table
    from cicl_assets.telemetry import otlp_logs_compiled
    from cicl_assets.telemetry.logs_table import OTEL_LOGS
    from cicl_assets.telemetry.otlp_logs import parse_logs_protobuf

    load = os.getloadavg()[0]
    rows = 0
    cpu = time.process_time()
    for data in requests:
        if mode == "compiled":
            assert otlp_logs_compiled.check(data)[0] == "ok"
            batches = otlp_logs_compiled.decode_compiled(data)
        else:
            batches = parse_logs_protobuf(data, "otel/x.pb")
        for name, part in batches:
            if name == OTEL_LOGS.name:
                rows += records_to_table(OTEL_LOGS, part, "otel/x.pb").num_rows
    return rows, time.process_time() - cpu, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--per-request", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--secrets", action="store_true")
    args = parser.parse_args()
    from cicl_assets.telemetry import otlp_logs_compiled

    if not otlp_logs_compiled.available():
        sys.exit("the compiled logs decoder is not built (or CICL_COMPILED_DECODERS=off)")
    requests = session_requests(args.records, args.per_request, args.secrets)
    decode("compiled", requests[:1])  # imports, first Arrow calls
    decode("fallback", requests[:1])
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for mode in ("compiled", "fallback"):
            rows, cpu, load = decode(mode, requests)
            assert rows == args.records, (rows, args.records)
            runs.append(
                {
                    "mode": mode,
                    "records_per_cpu_s": round(rows / cpu),
                    "load_avg_1m": round(load, 2),
                }
            )
    best = {
        mode: max((r for r in runs if r["mode"] == mode), key=lambda r: r["records_per_cpu_s"])
        for mode in ("compiled", "fallback")
    }
    ratio = round(best["compiled"]["records_per_cpu_s"] / best["fallback"]["records_per_cpu_s"], 2)
    sys.stdout.write(
        f"{args.records:,} log records ({'with' if args.secrets else 'no'} secrets), best of "
        f"{args.rounds}: compiled {best['compiled']['records_per_cpu_s']:,}/CPU-s (load "
        f"{best['compiled']['load_avg_1m']}), fallback {best['fallback']['records_per_cpu_s']:,}"
        f"/CPU-s (load {best['fallback']['load_avg_1m']}): {ratio}x\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    summary = {"records": args.records, "secrets": args.secrets, "ratio": ratio, "best": best}
    RESULTS.write_text(json.dumps({**summary, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
