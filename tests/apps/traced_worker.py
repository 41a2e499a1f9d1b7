"""A traced worker process for the OpenTelemetry test: ``python tests/apps/traced_worker.py OUT``.

Runs a worker on ``TASKER_URL`` with ``instrument(app)`` and the SDK's in-memory span exporter
and metric reader until SIGTERM, then writes what they hold to the JSON file OUT.

- ``hello``: creates a ``child`` task (a producer span inside the consumer span), returns.
- ``flaky``: fails its first attempt, succeeds on the next.
- ``child``: returns.
"""
from __future__ import annotations

import json
import os
import signal
import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tasker import Tasker
from tasker.contrib.opentelemetry import instrument

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from otel_dump import dump_metrics, dump_spans  # noqa: E402

spans = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
reader = InMemoryMetricReader()
app = Tasker(os.environ["TASKER_URL"])
instrument(app, tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader]))


@app.handler("hello")
def hello(payload):
    app.create("child", {"from": payload})
    return "hi"


@app.handler("flaky", retry_delay=0)
async def flaky(payload, ctx):
    if ctx.attempt == 1:
        raise ConnectionError("first attempt fails")
    return "second time lucky"


@app.handler("child")
def child(payload):
    return None


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: app.stop_workers())
    app.run_worker(concurrency=4, poll_interval=0.05)
    with open(sys.argv[1], "w") as out:
        json.dump({"spans": dump_spans(spans), "metrics": dump_metrics(reader)}, out)
