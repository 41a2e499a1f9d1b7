"""Operator actions and views on both stores: retry, run now, delete, workers, activity."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from tasker import TaskStatus
from polling import wait_until


def test_retry_a_failed_task_gives_one_more_attempt(app):
    calls = []

    @app.handler(max_attempts=1)
    def fragile(payload, ctx):
        calls.append(ctx.attempt)
        if len(calls) == 1:
            raise RuntimeError("first time")
        return "ok"

    task_id = app.create("fragile")
    app.process_queue()
    assert app.get(task_id).status is TaskStatus.FAILED
    assert app.retry(task_id) is True
    task = app.get(task_id)
    assert task.status is TaskStatus.QUEUED and task.max_attempts == 2 and task.finished_at is None
    app.process_queue()
    task = app.get(task_id)
    assert (task.status, task.attempts, task.result) == (TaskStatus.SUCCEEDED, 2, "ok")
    assert calls == [1, 2]
    assert app.retry(task_id) is False, "a succeeded task is not retried"
    assert app.retry("01a2b3c4-0000-7000-8000-000000000000") is False


def test_retry_a_cancelled_task_and_unique_keys(app):
    first = app.create("job", unique_key="k", delay=60)
    app.cancel(first)
    holder = app.create("job", unique_key="k", delay=60)
    assert app.retry(first) is False, "another live task holds its key"
    app.cancel(holder)
    assert app.retry(first) is True and app.get(first).status is TaskStatus.QUEUED


def test_run_now_and_delete(app):
    ran = []

    @app.handler()
    def job(payload):
        ran.append(payload)

    later = app.create("job", "later", delay=3600)
    assert app.process_queue().claimed == 0
    assert app.run_now(later) is True
    app.process_queue()
    assert ran == ["later"]
    assert app.run_now(later) is False, "only queued tasks"
    queued = app.create("job", "never", delay=3600)
    assert app.delete(queued) is True and app.get(queued) is None
    assert app.delete(later) is True and app.delete(later) is False


def test_delete_refuses_a_running_task(app):
    started, release = threading.Event(), threading.Event()

    @app.handler()
    def held(payload):
        started.set()
        release.wait(10)

    task_id = app.create("held")
    runner = threading.Thread(target=app.process_queue)
    runner.start()
    try:
        assert started.wait(10)
        assert app.delete(task_id) is False
    finally:
        release.set()
        runner.join(10)
    assert app.get(task_id).status is TaskStatus.SUCCEEDED


def test_workers_are_listed_with_heartbeats(app):
    @app.handler()
    def job(payload):
        return None

    assert app.workers() == []
    thread = threading.Thread(target=app.run_worker, kwargs={"concurrency": 3, "queues": ["a", "b"]}, daemon=True)
    thread.start()
    try:
        workers = wait_until(app.workers, timeout=10)
        assert workers[0].concurrency == 3 and workers[0].queues == "a,b" and workers[0].running == 0
        assert workers[0].last_seen >= workers[0].started_at
    finally:
        app.stop_workers()
        thread.join(10)
    assert app.workers() == [], "a stopped worker unregisters"


def test_activity(app):
    @app.handler(max_attempts=1)
    def job(payload):
        if payload == "bad":
            raise RuntimeError("x")

    app.create_many("job", ["ok"] * 4 + ["bad"])
    app.create("unhandled", "waiting", queue="slow", run_at=time.time() - 30)
    app.process_queue(batch_size=5)
    activity = app.activity(window=600)
    totals = {}
    for minute, status, count in activity["throughput"]:
        assert minute % 60 == 0
        totals[status] = totals.get(status, 0) + count
    assert totals == {"succeeded": 4, "failed": 1}
    assert 25 < activity["oldest_queued_age"]["slow"] < 60
    assert len(activity["recent"]) == 5
    assert all(run >= 0 and wait >= 0 for _queue, _status, run, wait in activity["recent"])


def test_each_failed_attempt_keeps_its_error(app):
    @app.handler(max_attempts=3, retry_delay=0)
    def flaky(payload, ctx):
        if ctx.attempt < 3:
            raise ValueError(f"attempt {ctx.attempt} broke")
        return "ok"

    task_id = app.create("flaky")
    for _ in range(3):
        app.process_queue()
    task = app.get(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert [e["attempt"] for e in task.errors] == [1, 2]
    assert task.errors[0]["error"].startswith("ValueError: attempt 1 broke") and "Traceback" in task.errors[0]["error"]
    assert task.errors[0]["at"] <= task.errors[1]["at"] <= task.finished_at


def test_attempt_history_keeps_the_most_recent_twenty(app):
    @app.handler(max_attempts=25, retry_delay=0)
    def hopeless(payload, ctx):
        raise RuntimeError(f"try {ctx.attempt}")

    task_id = app.create("hopeless")
    while app.process_queue().claimed:
        pass
    task = app.get(task_id)
    assert task.status is TaskStatus.FAILED and task.attempts == 25
    assert [e["attempt"] for e in task.errors] == list(range(6, 26))


def test_started_at_is_when_the_handler_started_not_the_claim(app):
    @app.handler()
    def nap(payload):
        time.sleep(0.2)

    app.concurrency = 1
    first, second = app.create("nap", 1), app.create("nap", 2)
    app.process_queue()  # claims both at once; the second waits for the only slot
    a, b = app.get(first), app.get(second)
    assert b.started_at >= a.finished_at - timedelta(milliseconds=50)
    assert all(timedelta(seconds=0.19) <= t.finished_at - t.started_at < timedelta(seconds=1) for t in (a, b))


def test_retention_prunes_finished_tasks_of_its_type_in_batches(app, monkeypatch):
    """retention=: a worker deletes its type's finished tasks that long after they finished,
    one bounded batch at a time; other types, and unfinished tasks, stay."""
    import threading
    from datetime import timedelta

    from polling import wait_until
    from tasker import TaskStatus
    from tasker.worker import retention

    app.register("short_lived", lambda payload: None, retention=timedelta(seconds=0.3))
    app.register("kept", lambda payload: None)
    short = app.create_many("short_lived", range(25))
    kept = app.create_many("kept", range(5))
    later = app.create("short_lived", "not yet", delay=3600)
    app.process_queue()
    assert app.stats()["succeeded"] == 30
    monkeypatch.setattr(retention, "RETENTION_BATCH", 10)   # three rounds to catch up
    monkeypatch.setattr(retention, "RETENTION_PAUSE", 0.01)
    worker = threading.Thread(target=app.run_worker, kwargs={"poll_interval": 0.05, "retention_interval": 0.1}, daemon=True)
    try:
        worker.start()
        wait_until(lambda: all(app.get(i) is None for i in short), timeout=15)
    finally:
        app.stop_workers()
        worker.join(20)
    assert all(app.get(i).status is TaskStatus.SUCCEEDED for i in kept)
    assert app.get(later).status is TaskStatus.QUEUED
    assert app.stats()["succeeded"] == 5


def test_retention_must_be_a_positive_duration(app):
    import pytest

    from tasker import InputError

    for bad in (0, -1, "a week"):
        with pytest.raises((InputError, TypeError), match="retention"):
            app.register("t", lambda payload: None, retention=bad)
