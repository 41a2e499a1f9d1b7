"""tasker.contrib.opentelemetry across two processes: the producer here, a worker in a subprocess,
each with the SDK's in-memory exporter; the consumer spans continue the producer's trace."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_dump import dump_metrics, dump_spans
from polling import wait_until
from tasker import InputError, Tasker, TaskStatus
from tasker.contrib.opentelemetry import instrument

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def traced(store_url):
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = Tasker(store_url)
    app.migrate()
    instrument(app, tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]))
    instrument(app, tracer_provider=provider)   # a second call changes nothing
    yield app, provider, spans, reader
    app.close()


def test_consumer_spans_continue_the_creators_trace_across_processes(traced, store_url, tmp_path):
    app, provider, spans, reader = traced
    with provider.get_tracer("test").start_as_current_span("POST /signup"):
        hello = app.create("hello", "ada", queue="emails")
        flaky = app.create("flaky", None, max_attempts=3, retry_delay=0)
    out = tmp_path / "worker.json"
    worker = subprocess.Popen([sys.executable, str(ROOT / "tests" / "apps" / "traced_worker.py"), str(out)],
                              env={**os.environ, "TASKER_URL": store_url}, cwd=ROOT)
    try:
        wait_until(lambda: app.get(hello).status is TaskStatus.SUCCEEDED and app.get(flaky).status is TaskStatus.SUCCEEDED
                   and app.stats()["succeeded"] == 3, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    remote = json.loads(out.read_text())
    here = {s["name"]: s for s in dump_spans(spans)}
    request, create_hello = here["POST /signup"], here["create hello"]
    assert create_hello["kind"] == "PRODUCER" and create_hello["parent_id"] == request["span_id"]
    assert create_hello["attributes"] == {"messaging.system": "tasker", "messaging.operation.type": "create",
                                          "messaging.operation.name": "create", "messaging.destination.name": "emails",
                                          "tasker.task.type": "hello", "messaging.message.id": hello}

    process_hello = next(s for s in remote["spans"] if s["name"] == "process hello")
    assert process_hello["kind"] == "CONSUMER"
    assert process_hello["trace_id"] == request["trace_id"] and process_hello["parent_id"] == create_hello["span_id"]
    assert process_hello["attributes"]["messaging.message.id"] == hello
    assert process_hello["attributes"]["messaging.destination.name"] == "emails"
    assert process_hello["attributes"]["messaging.system"] == "tasker"
    create_child = next(s for s in remote["spans"] if s["name"] == "create child")
    assert create_child["parent_id"] == process_hello["span_id"] and create_child["trace_id"] == request["trace_id"]
    process_child = next(s for s in remote["spans"] if s["name"] == "process child")
    assert process_child["parent_id"] == create_child["span_id"]

    first, second = sorted((s for s in remote["spans"] if s["name"] == "process flaky"),
                           key=lambda s: s["attributes"]["tasker.task.attempt"])
    assert first["status"] == "ERROR" and "exception" in first["events"]
    assert first["attributes"]["error.type"] == "ConnectionError"
    assert second["status"] != "ERROR" and second["links"] == [first["span_id"]]
    assert first["parent_id"] == second["parent_id"] == here["create flaky"]["span_id"]

    processed = remote["metrics"]["messaging.process.duration"]
    assert sum(p["count"] for p in processed) == 4       # hello, child, flaky twice
    assert any(p["attributes"].get("error.type") == "ConnectionError" for p in processed)
    sent = dump_metrics(reader)["messaging.client.operation.duration"]
    assert sum(p["count"] for p in sent) == 2
    assert {p["attributes"]["messaging.destination.name"] for p in sent} == {"emails", "default"}


def test_a_refused_create_ends_its_span_in_error_and_a_batch_is_one_span(traced):
    app, provider, spans, reader = traced
    with pytest.raises(InputError):
        app.create("hello", {}, priority="urgent")
    ids = app.create_many("hello", [1, 2, 3])
    refused, batch = dump_spans(spans)
    assert refused["status"] == "ERROR" and refused["attributes"]["error.type"] == "InvalidType"
    assert batch["attributes"]["messaging.batch.message_count"] == 3
    assert {app.get(i).headers["traceparent"].split("-")[2] for i in ids} == {batch["span_id"]}
