"""What a worker tells operators: its logs (text and JSON lines) and its own /metrics."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from polling import wait_until
from tasker import Tasker, TaskStatus

ROOT = Path(__file__).resolve().parents[2]
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_final_failure_logs_error_with_a_traceback_from_the_users_frame(app, caplog):
    def charge(amount):
        raise ValueError(f"declined {amount}")

    app.register("pay", lambda payload: charge(payload), max_attempts=2, retry_delay=60)
    task_id = app.create("pay", 5)
    with caplog.at_level(logging.INFO, logger="tasker.worker"):
        app.process_queue()
        app.run_now(task_id)
        app.process_queue()
    retry, final = [r for r in caplog.records if r.name == "tasker.worker" and r.levelno >= logging.WARNING]
    assert retry.levelno == logging.WARNING and "retrying in 60s" in retry.getMessage()
    assert retry.next_run_at and retry.status == "queued" and retry.task_id == task_id
    assert final.levelno == logging.ERROR and final.exc_info and final.status == "failed"
    assert isinstance(final.exc_info[1], ValueError)
    frames = [f.filename for f in __import__("traceback").extract_tb(final.exc_info[2])]
    assert frames[0] == __file__, frames          # the user's frame first: no worker plumbing
    stored = app.get(task_id).last_error
    assert "concurrent/futures" not in stored and "tasker/worker" not in stored
    assert "in charge" in stored and stored.startswith("ValueError: declined 5")


def test_a_worker_logs_json_lines_and_serves_its_own_metrics(store_url, tmp_path):
    app = Tasker(store_url)
    app.migrate()
    app.on_create(lambda creation: creation.headers.update(traceparent=TRACEPARENT))
    ok_id = app.create("ok", {"n": 1})
    boom_id = app.create("boom", {"amount": 12}, max_attempts=2, retry_delay=0)   # this process has no handler: its options here
    port = free_port()
    env = {**os.environ, "TASKER_URL": store_url, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tasker", "worker", "tests.apps.observed_app:app", "--log-format", "json",
         "--metrics-port", str(port), "--poll-interval", "0.05"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: app.get(boom_id).status is TaskStatus.FAILED and app.get(ok_id).status is TaskStatus.SUCCEEDED,
                   timeout=30)
        samples = wait_until(lambda: _try_scrape(port), timeout=10)
        attempts = {labels: v for (name, labels), v in samples.items() if name == "tasker_worker_attempts_total"}
        assert attempts[(("outcome", "succeeded"), ("queue", "default"), ("type", "ok"))] == 1
        assert attempts[(("outcome", "retried"), ("queue", "default"), ("type", "boom"))] == 1
        assert attempts[(("outcome", "failed"), ("queue", "default"), ("type", "boom"))] == 1
        runs = samples[("tasker_worker_task_run_seconds_count", (("outcome", "failed"), ("queue", "default"), ("type", "boom")))]
        assert runs == 1
        assert samples[("tasker_worker_task_queue_wait_seconds_count", (("queue", "default"), ("type", "boom")))] == 2
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    app.close()
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]   # every line is one JSON object
    by_message = {line["message"]: line for line in lines}
    final = next(line for line in lines if line.get("status") == "failed")
    assert final["level"] == "ERROR" and final["task_id"] == boom_id and final["task_type"] == "boom"
    assert final["attempt"] == 2 and final["duration"] >= 0 and final["trace_id"] == TRACEPARENT.split("-")[1]
    first_frame = final["exception"].splitlines()[1]
    assert "observed_app.py" in first_frame, final["exception"]
    assert "ValueError: card declined for 12" in final["exception"]
    retry = next(line for line in lines if line.get("status") == "queued")
    assert retry["level"] == "WARNING" and retry["next_run_at"]
    handler_line = by_message["hello from the handler"]
    assert handler_line["logger"] == "shop" and handler_line["task_id"] == ok_id
    assert handler_line["trace_id"] == TRACEPARENT.split("-")[1]


def _try_scrape(port: int) -> dict | None:
    try:
        return scrape(port)
    except OSError:
        return None
