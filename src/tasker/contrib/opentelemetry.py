"""OpenTelemetry tracing and metrics for a Tasker app (``pip install tasker-queue[opentelemetry]``).

``instrument(app)`` adds, on the producer side, a PRODUCER span ``create {type}`` around each
``create`` / ``create_many`` / ``defer`` whose W3C trace context is stored with the task, and,
on the worker side, a CONSUMER span ``process {type}`` around each attempt, a child of that
trace. Attempt 2 and later link to the first attempt's span. Spans carry the messaging
semantic-convention attributes; the ``messaging.client.operation.duration`` and
``messaging.process.duration`` histograms are recorded too. Call it in the producing and in
the worker process alike (once the SDK is configured, or pass the providers).

>>> from tasker.contrib.opentelemetry import instrument
>>> instrument(app)
"""
from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from .. import Creation
from ..app import Tasker
from ..context import TaskContext

SYSTEM = "tasker"
FIRST_ATTEMPT = "tasker.first_attempt"   # header: the first attempt's span, which later attempts link to
_INSTRUMENTED = "_opentelemetry_instrumented"


def instrument(app: Tasker, tracer_provider: trace.TracerProvider | None = None,
               meter_provider: metrics.MeterProvider | None = None) -> None:
    """Trace and measure every create and every attempt of ``app`` (a second call does nothing)."""
    if getattr(app, _INSTRUMENTED, False):
        return
    tracer = trace.get_tracer("tasker", tracer_provider=tracer_provider)
    meter = metrics.get_meter("tasker", meter_provider=meter_provider)
    sending = meter.create_histogram("messaging.client.operation.duration", unit="s",
                                     description="Duration of creating tasks (one create or create_many call)")
    processing = meter.create_histogram("messaging.process.duration", unit="s", description="Duration of task attempts")
    app.on_create(_Producer(tracer, sending))
    app.middleware(_Consumer(tracer, processing))
    setattr(app, _INSTRUMENTED, True)


class _Producer:
    """The create hook: opens the PRODUCER span, stores its context in the headers, ends it once stored."""

    def __init__(self, tracer: trace.Tracer, duration: metrics.Histogram):
        self.tracer, self.duration = tracer, duration

    def __call__(self, creation: Creation) -> Callable[[list[str] | None, BaseException | None], None]:
        attributes: dict[str, Any] = {
            "messaging.system": SYSTEM,
            "messaging.operation.type": "create",
            "messaging.operation.name": "create",
            "messaging.destination.name": creation.queue,
            "tasker.task.type": str(creation.type),
        }
        if creation.count != 1:
            attributes["messaging.batch.message_count"] = creation.count
        span = self.tracer.start_span(f"create {creation.type}", kind=SpanKind.PRODUCER, attributes=attributes)
        active = trace.set_span_in_context(span)
        propagate.inject(creation.headers, context=active)
        token = otel_context.attach(active)   # the insert's own spans (a database driver's) nest under it
        started = time.perf_counter()

        def stored(ids: list[str] | None, error: BaseException | None) -> None:
            measured = {k: attributes[k] for k in ("messaging.system", "messaging.operation.name", "messaging.destination.name")}
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                span.set_attribute("error.type", type(error).__qualname__)
                measured["error.type"] = type(error).__qualname__
            elif ids and len(ids) == 1:
                span.set_attribute("messaging.message.id", ids[0])
            self.duration.record(time.perf_counter() - started, measured)
            otel_context.detach(token)
            span.end()

        return stored


class _Consumer:
    """The middleware: a CONSUMER span per attempt in the creator's trace, linked to the first attempt."""

    def __init__(self, tracer: trace.Tracer, duration: metrics.Histogram):
        self.tracer, self.duration = tracer, duration

    async def __call__(self, ctx: TaskContext, call_next: Callable[[], Awaitable[Any]]) -> Any:
        parent = propagate.extract(ctx.headers)
        links = []
        if ctx.attempt > 1 and FIRST_ATTEMPT in ctx.headers:
            first = trace.get_current_span(propagate.extract({"traceparent": ctx.headers[FIRST_ATTEMPT]})).get_span_context()
            if first.is_valid:
                links.append(Link(first, {"tasker.link": "first attempt"}))
        attributes: dict[str, Any] = {
            "messaging.system": SYSTEM,
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": ctx.queue,
            "messaging.message.id": ctx.task_id,
            "tasker.task.type": ctx.type,
            "tasker.task.attempt": ctx.attempt,
            "tasker.task.max_attempts": ctx.max_attempts,
        }
        span = self.tracer.start_span(f"process {ctx.type}", context=parent, kind=SpanKind.CONSUMER,
                                      attributes=attributes, links=links)
        if ctx.attempt == 1:
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(span))
            if "traceparent" in carrier:
                ctx.headers[FIRST_ATTEMPT] = carrier["traceparent"]
        measured = {k: attributes[k] for k in ("messaging.system", "messaging.operation.name", "messaging.destination.name")}
        token = otel_context.attach(trace.set_span_in_context(span))
        started = time.perf_counter()
        try:
            return await call_next()
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            span.set_attribute("error.type", type(exc).__qualname__)
            measured["error.type"] = type(exc).__qualname__
            raise
        finally:
            self.duration.record(time.perf_counter() - started, measured)
            otel_context.detach(token)
            span.end()
