"""tasker.contrib.sentry with a fake transport: errors with task tags, the creator's trace
continued by the attempt, cron check-ins for series runs; on both stores."""
from __future__ import annotations

import threading

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from polling import wait_until
from tasker import Retry
from tasker.contrib.sentry import instrument, monitor_slug


class Recorder(Transport):
    """Keeps every envelope the SDK would send."""

    items: list[tuple[str, dict]] = []

    def capture_envelope(self, envelope) -> None:
        for item in envelope.items:
            Recorder.items.append((item.headers.get("type") or item.type, item.payload.json or {}))


def sent(kind: str) -> list[dict]:
    return [payload for type, payload in Recorder.items if type == kind]


@pytest.fixture
def sentry(app):
    Recorder.items = []
    sentry_sdk.init(dsn="https://public@sentry.example/1", transport=Recorder, traces_sample_rate=1.0)
    instrument(app)
    instrument(app)   # a second call changes nothing
    yield app
    sentry_sdk.flush()
    sentry_sdk.init()   # no DSN: disabled again for the other tests


def test_handler_errors_are_captured_with_task_tags_in_the_creators_trace(sentry):
    app = sentry

    @app.handler("charge", max_attempts=2, retry_delay=0, queue="billing")
    def charge(payload):
        raise ValueError(f"card {payload} declined")

    with sentry_sdk.start_transaction(op="http.server", name="POST /orders") as request:
        task_id = app.create("charge", 4242)
    app.process_queue()
    app.process_queue()
    sentry_sdk.flush()

    errors = [e for e in sent("event") if e.get("exception")]
    assert len(errors) == 2   # one per attempt
    for attempt, event in enumerate(errors, start=1):
        assert event["exception"]["values"][-1]["type"] == "ValueError"
        assert event["tags"]["tasker.task_id"] == task_id and event["tags"]["tasker.task_type"] == "charge"
        assert event["tags"]["tasker.queue"] == "billing" and event["tags"]["tasker.attempt"] == str(attempt)
        assert event["contexts"]["trace"]["trace_id"] == request.trace_id
    processed = [t for t in sent("transaction") if t["contexts"]["trace"].get("op") == "queue.process"]
    assert len(processed) == 2
    assert {t["contexts"]["trace"]["trace_id"] for t in processed} == {request.trace_id}
    assert processed[0]["transaction"] == "charge" and processed[0]["contexts"]["trace"]["status"] == "internal_error"


def test_flow_control_is_not_an_error_and_success_is_a_transaction(sentry):
    app = sentry

    @app.handler("later", max_attempts=3)
    def later(payload, ctx):
        if ctx.attempt == 1:
            raise Retry(0, "not yet")
        return "done"

    task_id = app.create("later")
    app.process_queue()
    app.run_now(task_id)
    app.process_queue()
    sentry_sdk.flush()
    assert not [e for e in sent("event") if e.get("exception")]
    statuses = [t["contexts"]["trace"]["status"] for t in sent("transaction")]
    assert statuses[-1] == "ok"


def test_series_runs_report_cron_check_ins(sentry):
    app = sentry
    series_runs, plain_runs = [], []

    @app.handler("nightly.report", max_attempts=1)
    def report(payload, ctx):
        if ctx.series_id is None:
            plain_runs.append(payload)
            return
        series_runs.append(payload)
        if len(series_runs) == 2:
            raise RuntimeError("the second run fails")

    app.create("nightly.report", {"plain": True})   # not a series run: no check-in
    app.schedule_every(1.0, "nightly.report", name="Nightly Report", payload={"kind": "sales"})
    worker = threading.Thread(target=app.run_worker, kwargs={"concurrency": 1, "poll_interval": 0.05}, daemon=True)
    worker.start()
    try:
        wait_until(lambda: len(series_runs) >= 2 and plain_runs, timeout=20)
    finally:
        app.stop_workers()
        worker.join(20)
    sentry_sdk.flush()
    slug = monitor_slug("Nightly Report")
    assert slug == "nightly-report"
    check_ins = sent("check_in")
    assert {c["monitor_slug"] for c in check_ins} == {slug}
    by_run: dict[str, list[str]] = {}
    for c in check_ins:
        by_run.setdefault(c["check_in_id"], []).append(c["status"])
    assert list(by_run.values())[:2] == [["in_progress", "ok"], ["in_progress", "error"]]
    assert len(by_run) == len(series_runs)
    first = check_ins[0]
    assert first["monitor_config"]["schedule"] == {"type": "interval", "value": 1, "unit": "minute"}
    assert all(c["duration"] >= 0 for c in check_ins if c["status"] != "in_progress")
    errors = [e for e in sent("event") if e.get("exception")]
    assert [e["exception"]["values"][-1]["type"] for e in errors] == ["RuntimeError"]


def test_slugs_are_what_sentry_accepts():
    assert monitor_slug("Send Weekly Digest!") == "send-weekly-digest"
    assert monitor_slug("billing.charge_cards") == "billing-charge_cards"
    assert monitor_slug("???") == "tasker-series"
    assert len(monitor_slug("x" * 80)) == 50
