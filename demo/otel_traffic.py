"""Turns an hour's plan into real SDK spans: gateway, workflow runtime, LLM calls and tool calls."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
)

from demo import story
from demo.otel_sdk import CollectingSpanExporter, SeededIdGenerator, service_tracer
from demo.traffic_plan import WORKFLOW_STEPS, HourPlan, PlannedRun, Running, Step, in_breach

MS = 1_000_000  # nanoseconds per millisecond

SERVER_ADDRESS = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "gcp.gemini": "us-central1-aiplatform.googleapis.com",
}
ERROR_MESSAGES = {
    "RateLimitError": "429 Too Many Requests: rate limit exceeded for model {model}",
    "Timeout": "request to {host} timed out after 30.0s",
    "InternalServerError": "500 Internal Server Error from {host}",
}
HTTP_STATUS = {"RateLimitError": 429, "InternalServerError": 500}
CALL_TIMEOUT_MS = 30_000
MAX_ATTEMPTS = {"rate_limit": 3, "timeout": 2}
# Share of first attempts to the breach provider rate limited during the breach hour.
BREACH_THROTTLE = 0.2


@dataclass
class HourTracers:
    gateway: Tracer
    runtime: Tracer
    genai: Tracer
    tools: Tracer
    exporter: CollectingSpanExporter


def runtime_version(start_ns: int) -> str:
    deploy_ns = int(story.SLOW_DEPLOY_AT.timestamp()) * 1_000_000_000
    if start_ns >= deploy_ns:
        return story.SLOW_DEPLOY_VERSION_AFTER
    return story.SLOW_DEPLOY_VERSION_BEFORE


def hour_tracers(plan: HourPlan) -> HourTracers:
    ids = SeededIdGenerator(f"{plan.seed}:ids:{plan.hour_index}")
    exporter = CollectingSpanExporter()
    hour_ns = int(plan.start.timestamp()) * 1_000_000_000
    runtime = runtime_version(hour_ns)
    return HourTracers(
        gateway=service_tracer(
            "flow-gateway", story.GATEWAY_VERSION, "flow.gateway.http", ids, exporter
        ),
        runtime=service_tracer("workflow-runtime", runtime, "flow.runtime", ids, exporter),
        genai=service_tracer("workflow-runtime", runtime, "flow.runtime.genai", ids, exporter),
        tools=service_tracer(
            "tool-worker", story.TOOL_WORKER_VERSION, "flow.tool_worker", ids, exporter
        ),
        exporter=exporter,
    )


def emit_hour(plan: HourPlan) -> list[ReadableSpan]:
    """All spans of the runs that start in this hour, in the order they ended."""
    tracers = hour_tracers(plan)
    rng = random.Random(f"{plan.seed}:spans:{plan.hour_index}")
    breach_hour = in_breach(plan.start)
    for run in plan.runs:
        _RunEmitter(tracers, rng, run, breach_hour, plan.running or Running()).emit()
    return tracers.exporter.take()


def _remote(span: Span) -> trace.Context:
    """The context a downstream service sees: the caller's span as a remote parent."""
    ctx = span.get_span_context()
    remote = SpanContext(ctx.trace_id, ctx.span_id, is_remote=True, trace_flags=TraceFlags(1))
    return trace.set_span_in_context(NonRecordingSpan(remote))


class _RunEmitter:
    """One workflow run across the gateway, the runtime and the tool worker."""

    def __init__(
        self,
        tracers: HourTracers,
        rng: random.Random,
        run: PlannedRun,
        breach: bool,
        running: Running,
    ):
        self.t = tracers
        self.running = running
        self.rng = rng
        self.run = run
        self.breach = breach
        self.version = runtime_version(run.start_ns)
        self.run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.base = {"workflow.name": run.workflow, "workflow.run.id": self.run_id}

    def ms(self, median: float, sigma: float) -> int:
        return int(median * math.exp(self.rng.gauss(0.0, sigma)) * MS)

    def emit(self) -> None:
        run, rng = self.run, self.rng
        steps = WORKFLOW_STEPS[run.workflow]
        providers = [self._pick_provider(s) for s in steps]
        failing = self._failing_step(steps, providers)
        route = "/v1/workflows/{name}/runs"
        now = run.start_ns
        gateway = self.t.gateway.start_span(
            f"POST {route}",
            kind=SpanKind.SERVER,
            start_time=now,
            attributes={
                "http.request.method": "POST",
                "http.route": route,
                "url.path": f"/v1/workflows/{run.workflow}/runs",
                "url.scheme": "https",
                "server.address": "flow.coditect.example",
                "server.port": 443,
                "network.protocol.version": "2",
                "user_agent.original": rng.choice(
                    ("flow-sdk-python/1.12.0", "flow-sdk-ts/0.19.2", "workbench/3.2.0")
                ),
                **self.base,
            },
        )
        now += self.ms(3, 0.4)
        workflow_run = self.t.runtime.start_span(
            "workflow.run",
            context=_remote(gateway),
            kind=SpanKind.INTERNAL,
            start_time=now,
            attributes={**self.base, "workflow.steps": len(steps)},
        )
        failed_error = ""
        for index, step in enumerate(steps):
            now += self.ms(2, 0.5)
            now, error = self._step(workflow_run, step, providers[index], index == failing, now)
            if error:
                failed_error = error
                break
        now += self.ms(1.5, 0.5)
        if failed_error:
            workflow_run.set_attribute("error.type", failed_error)
            workflow_run.set_status(Status(StatusCode.ERROR, f"step failed: {failed_error}"))
        workflow_run.end(end_time=now)
        now += self.ms(2, 0.4)
        gateway.set_attribute("http.response.status_code", 502 if failed_error else 200)
        if failed_error:
            gateway.set_attribute("error.type", "502")
            gateway.set_status(Status(StatusCode.ERROR))
        gateway.end(end_time=now)

    def _pick_provider(self, step: Step) -> str:
        if step.kind != "llm":
            return ""
        mix = self.running.providers(self.run.workflow, step)
        names = [p for p, _ in mix]
        return self.rng.choices(names, weights=[w for _, w in mix])[0]

    def _failing_step(self, steps: tuple[Step, ...], providers: list[str]) -> int:
        failure = self.run.failure
        if failure == "rate_limit":
            return providers.index(story.BREACH_PROVIDER)
        if failure == "timeout":
            return self.rng.choice([i for i, s in enumerate(steps) if s.kind == "llm"])
        if failure == "tool_error":
            return self.rng.choice([i for i, s in enumerate(steps) if s.kind == "tool"])
        return -1

    def _step(
        self, parent: Span, step: Step, provider: str, fails: bool, now: int
    ) -> tuple[int, str]:
        span = self.t.runtime.start_span(
            f"step {step.name}",
            context=trace.set_span_in_context(parent),
            kind=SpanKind.INTERNAL,
            start_time=now,
            attributes={
                **self.base,
                "workflow.step.name": step.name,
                "workflow.step.kind": step.kind,
            },
        )
        now += self.ms(1, 0.5)
        if step.kind == "llm":
            now, error = self._llm_call(span, step, provider, fails, now)
        else:
            now, error = self._tool_call(span, step, fails, now)
        now += self.ms(1, 0.5)
        if error:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=now)
        return now, error

    def _llm_call(
        self, parent: Span, step: Step, provider: str, fails: bool, now: int
    ) -> tuple[int, str]:
        profile = story.PROVIDERS[provider]
        model = str(profile["model"])
        host = SERVER_ADDRESS[provider]
        median = float(profile["latency_ms"])
        if provider == story.SLOW_PROVIDER and self.version == story.SLOW_DEPLOY_VERSION_AFTER:
            median *= story.SLOW_FACTOR
        transient = float(profile["error_rate"])
        if self.breach and provider == story.BREACH_PROVIDER:
            transient = BREACH_THROTTLE
        attempts = MAX_ATTEMPTS["timeout" if self.run.failure == "timeout" else "rate_limit"]
        previous: Span | None = None
        error = ""
        for attempt in range(attempts):
            if fails:
                error = "RateLimitError" if self.run.failure == "rate_limit" else "Timeout"
            elif attempt == 0 and self.rng.random() < transient:
                error = self._transient_error(provider)
            else:
                error = ""
            attributes: dict = {
                **self.base,
                "workflow.step.name": step.name,
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
                "gen_ai.request.max_tokens": 4096,
                "gen_ai.request.temperature": 0.2,
                "server.address": host,
                "server.port": 443,
            }
            if attempt:
                attributes["http.request.resend_count"] = attempt
            links = [Link(previous.get_span_context(), {"link.kind": "retry"})] if previous else []
            span = self.t.genai.start_span(
                f"chat {model}",
                context=trace.set_span_in_context(parent),
                kind=SpanKind.CLIENT,
                start_time=now,
                attributes=attributes,
                links=links,
            )
            if error:
                if error == "Timeout":
                    now += CALL_TIMEOUT_MS * MS
                else:
                    now += self.ms(180, 0.5)
                message = ERROR_MESSAGES[error].format(model=model, host=host)
                if error in HTTP_STATUS:
                    span.set_attribute("http.response.status_code", HTTP_STATUS[error])
                span.set_attribute("error.type", error)
                span.add_event(
                    "exception",
                    {"exception.type": error, "exception.message": message},
                    timestamp=now,
                )
                span.set_status(Status(StatusCode.ERROR, message))
            else:
                input_tokens = max(16, int(step.input_tokens * math.exp(self.rng.gauss(0, 0.4))))
                output_tokens = max(1, int(step.output_tokens * math.exp(self.rng.gauss(0, 0.5))))
                now += self.ms(median, 0.35)
                span.set_attributes(
                    {
                        "gen_ai.response.model": model,
                        "gen_ai.response.id": f"resp_{self.rng.getrandbits(64):016x}",
                        "gen_ai.response.finish_reasons": ("stop",),
                        "gen_ai.usage.input_tokens": input_tokens,
                        "gen_ai.usage.output_tokens": output_tokens,
                    }
                )
            span.end(end_time=now)
            if not error:
                return now, ""
            previous = span
            if attempt + 1 < attempts:
                now += self.ms(400 * 2**attempt, 0.3)  # backoff before the retry
        return now, error

    def _transient_error(self, provider: str) -> str:
        if self.breach and provider == story.BREACH_PROVIDER:
            return "RateLimitError"
        return self.rng.choices(
            ("RateLimitError", "Timeout", "InternalServerError"), weights=(0.6, 0.15, 0.25)
        )[0]

    def _tool_call(self, parent: Span, step: Step, fails: bool, now: int) -> tuple[int, str]:
        now += self.ms(1.5, 0.4)  # network hop to the tool worker
        span = self.t.tools.start_span(
            f"execute_tool {step.tool}",
            context=_remote(parent),
            kind=SpanKind.SERVER,
            start_time=now,
            attributes={
                **self.base,
                "workflow.step.name": step.name,
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": step.tool,
                "gen_ai.tool.type": "function",
            },
        )
        now += self.ms(step.tool_latency_ms, 0.5)
        error = ""
        if fails:
            error = "ToolExecutionError"
            message = f"{step.tool}: upstream returned 503 Service Unavailable"
            span.set_attribute("error.type", error)
            span.add_event(
                "exception",
                {"exception.type": error, "exception.message": message},
                timestamp=now,
            )
            span.set_status(Status(StatusCode.ERROR, message))
        span.end(end_time=now)
        return now + self.ms(1.5, 0.4), error
