"""Spans landed the way production's arrive: an OTLP/protobuf export file under ``otel/`` of a
landing zone, ingested by the otel stream (so ``ingested_files`` records the days it holds)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from cicl_assets.ingest.runner import IngestReport, ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.base import Warehouse

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LANDED_BEFORE_S = 60.0


def _nanos(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1) * 1000


def spans_request(
    service: str,
    environment: str,
    name: str,
    starts: list[datetime],
    duration: timedelta = timedelta(milliseconds=40),
) -> ExportTraceServiceRequest:
    """One OK server span of ``service`` starting at each of ``starts``, each its own trace."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for key, value in (("service.name", service), ("deployment.environment.name", environment)):
        rs.resource.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    scope = rs.scope_spans.add()
    for n, at in enumerate(starts, start=1):
        span = scope.spans.add(
            trace_id=n.to_bytes(16, "big"),
            span_id=n.to_bytes(8, "big"),
            name=name,
            start_time_unix_nano=_nanos(at),
            end_time_unix_nano=_nanos(at + duration),
        )
        span.status.code = Status.STATUS_CODE_OK
    return req


def land_and_ingest(
    warehouse: Warehouse, landing: Path, relative: str, request: ExportTraceServiceRequest
) -> IngestReport:
    """Write ``request`` to ``landing``/otel/``relative`` and ingest that file, landed a minute
    before, as production's files land before a run lists them: a file listed within seconds of
    its write is not trusted unchanged later (ingest.listing.RACY_WINDOW_S) and would be read
    again by the next run."""
    path = landing / "otel" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(request.SerializeToString(deterministic=True))
    landed = time.time() - LANDED_BEFORE_S
    os.utime(path, (landed, landed))
    return ingest_stream(
        OTEL_STREAM, LandingZone(uri=str(landing)), warehouse, paths=[f"otel/{relative}"]
    )
