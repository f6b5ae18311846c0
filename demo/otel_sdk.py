"""OpenTelemetry SDK wiring for the simulation: seeded ids, fixed resources, a collecting exporter.

Nothing here reads the clock or the environment: ids come from a seeded generator, resources are
built from explicit attributes (``Resource.create`` would merge OTEL_RESOURCE_ATTRIBUTES and
process details), and the sampler and limits are fixed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Tracer

from demo import story

SEMCONV_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


class SeededIdGenerator(IdGenerator):
    """Trace and span ids from a seeded generator, so a seed always yields the same ids."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)

    def generate_span_id(self) -> int:
        span_id = 0
        while span_id == 0:
            span_id = self._rng.getrandbits(64)
        return span_id

    def generate_trace_id(self) -> int:
        trace_id = 0
        while trace_id == 0:
            trace_id = self._rng.getrandbits(128)
        return trace_id

    def is_trace_id_random(self) -> bool:
        return True


class CollectingSpanExporter(SpanExporter):
    """Keeps finished spans in memory until they are taken and encoded as OTLP."""

    def __init__(self) -> None:
        self._spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def take(self) -> list[ReadableSpan]:
        spans, self._spans = self._spans, []
        return spans

    def shutdown(self) -> None:
        self._spans = []


def encode_request(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """The OTLP request an exporter would send for these spans."""
    return encode_spans(spans)


def service_resource(service: str, version: str) -> Resource:
    return Resource(
        {
            "service.name": service,
            "service.namespace": "coditect-flow",
            "service.version": version,
            "deployment.environment.name": story.ENVIRONMENT,
            "cloud.provider": "gcp",
            "cloud.region": "us-central1",
            "k8s.cluster.name": "gke-prod",
            "k8s.namespace.name": "flow",
            "k8s.deployment.name": service,
        },
        schema_url=SEMCONV_SCHEMA_URL,
    )


def service_tracer(
    service: str,
    version: str,
    scope: str,
    id_generator: IdGenerator,
    exporter: CollectingSpanExporter,
) -> Tracer:
    """A tracer of one service at one version whose spans end up in ``exporter``."""
    provider = TracerProvider(
        sampler=ALWAYS_ON,
        resource=service_resource(service, version),
        shutdown_on_exit=False,
        id_generator=id_generator,
        span_limits=SpanLimits(
            max_attributes=128,
            max_events=128,
            max_links=128,
            max_event_attributes=128,
            max_link_attributes=128,
            max_attribute_length=4096,
        ),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer(scope, version, schema_url=SEMCONV_SCHEMA_URL)
