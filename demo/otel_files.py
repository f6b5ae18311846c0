"""Writes the simulated traffic into `otel/` as a Collector would: protobuf and OTLP/JSON lines.

Layout: ``otel/YYYY/MM/DD/HH-<service>.<ext>`` with one file per service and hour. The gateway
writes binary ExportTraceServiceRequest files, the tool worker OTLP/JSON lines (one request per
export batch of 512 spans, as the file exporter writes them), and the workflow runtime alternates
between the two by hour, so both formats carry every kind of span. Some files are gzipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from multiprocessing import get_context
from pathlib import Path

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

from demo.landing_writer import WrittenFile, gzip_bytes, write_file
from demo.otel_sdk import encode_request
from demo.otel_traffic import emit_hour
from demo.otlp_json import request_to_json_line, request_to_otlp_json
from demo.session_files import write_sessions
from demo.traffic_plan import HourPlan

EXPORT_BATCH = 512


def file_kind(service: str, hour_index: int) -> str:
    """The extension a service's file of a given hour is written with."""
    if service == "flow-gateway":
        return "pb.gz" if hour_index % 3 == 2 else "pb"
    if service == "tool-worker":
        return "jsonl.gz" if hour_index % 4 == 3 else "jsonl"
    return "jsonl" if hour_index % 2 == 0 else "pb"


def _batches(spans: Sequence[ReadableSpan]) -> Iterator[Sequence[ReadableSpan]]:
    for start in range(0, len(spans), EXPORT_BATCH):
        yield spans[start : start + EXPORT_BATCH]


def encode_file(spans: Sequence[ReadableSpan], kind: str) -> bytes:
    if kind.startswith("pb"):
        data = encode_request(spans).SerializeToString(deterministic=True)
    else:
        data = b"".join(request_to_json_line(encode_request(batch)) for batch in _batches(spans))
    return gzip_bytes(data) if kind.endswith(".gz") else data


def write_hour(job: tuple[str, HourPlan]) -> tuple[list[WrittenFile], int]:
    """Emit one hour of traffic and write its files. Returns the files and the span count."""
    root, plan = job
    spans = emit_hour(plan)
    by_service: dict[str, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        by_service[str(span.resource.attributes["service.name"])].append(span)
    folder = plan.start.strftime("otel/%Y/%m/%d/%H")
    written = []
    for service in sorted(by_service):
        kind = file_kind(service, plan.hour_index)
        data = encode_file(by_service[service], kind)
        written.append(write_file(Path(root), f"{folder}-{service}.{kind}", data))
    written += write_sessions(Path(root), plan, spans)
    return written, len(spans)


def write_traffic(root: Path, plans: list[HourPlan], workers: int) -> tuple[list[WrittenFile], int]:
    """Write every hour, in parallel processes when ``workers`` > 1 (output does not depend on it)."""
    jobs = [(str(root), plan) for plan in plans]
    if workers <= 1:
        results = [write_hour(job) for job in jobs]
    else:
        # Fresh interpreters: forked children would inherit SDK fork hooks that add process ids.
        with get_context("spawn").Pool(workers) as pool:
            results = pool.map(write_hour, jobs, chunksize=4)
            # Let the workers exit on their own before the pool is left: terminate() can kill a
            # worker holding the task queue's lock and leave the others waiting on it forever.
            pool.close()
            pool.join()
    files = [f for written, _ in results for f in written]
    return files, sum(count for _, count in results)


def _truncated_protobuf(request: ExportTraceServiceRequest) -> bytes:
    """A prefix of a valid request that protobuf refuses to parse (a cut inside a field)."""
    data = request.SerializeToString(deterministic=True)
    for cut in range(len(data) * 2 // 3, len(data)):
        try:
            ExportTraceServiceRequest.FromString(data[:cut])
        except Exception:
            return data[:cut]
    raise ValueError("no truncation point makes the request unparseable")


def write_broken(root: Path, plan: HourPlan) -> list[WrittenFile]:
    """Files a real landing zone gets now and then: a cut-off upload and a corrupted document."""
    spans = emit_hour(plan)[:40]
    request = encode_request(spans)
    document = request_to_otlp_json(request)
    span = next(
        scope["spans"][-1]
        for resource in document["resourceSpans"]
        for scope in resource["scopeSpans"]
        if scope.get("spans")
    )
    span["traceId"] = "zz" + span["traceId"][2:]
    return [
        write_file(root, "otel/broken/upload-interrupted.pb", _truncated_protobuf(request)),
        write_file(root, "otel/broken/bad-trace-id.jsonl", orjson.dumps(document) + b"\n"),
        write_file(root, "otel/broken/not-otlp.json", b'{"message": "collector started"}\n'),
    ]
