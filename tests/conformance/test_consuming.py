"""Consuming with process_queue: ordering, handler-less types, retries, timeouts, results (both stores)."""
from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest

from tasker import TaskContext, TaskStatus


def test_success_stores_result_and_times(app):
    @app.handler()
    def add(payload):
        return {"sum": payload["a"] + payload["b"]}

    task_id = app.create("add", {"a": 2, "b": 3})
    summary = app.process_queue()
    assert (summary.succeeded, summary["failed"], summary.retried) == (1, 0, 0)
    task = app.get(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.result == {"sum": 5}
    assert task.attempts == 1
    assert task.started_at is not None and task.finished_at >= task.started_at


def test_handler_styles(app):
    seen = []

    @app.handler("sync1")
    def sync1(payload):
        seen.append(("sync1", payload))

    @app.handler("sync2")
    def sync2(payload, ctx):
        assert isinstance(ctx, TaskContext)
        seen.append(("sync2", ctx.type, ctx.attempt, ctx.cancelled, ctx.task_id))

    @app.handler("async1")
    async def async1(payload):
        await asyncio.sleep(0)
        seen.append(("async1", payload))

    @app.handler()
    async def async2(payload, ctx):
        seen.append(("async2", ctx.attempt))

    app.register("registered", lambda payload: seen.append(("registered", payload)))
    ids = {name: app.create(name, name) for name in ("sync1", "sync2", "async1", "async2", "registered")}
    assert app.process_queue().succeeded == 5
    assert ("sync1", "sync1") in seen and ("async1", "async1") in seen and ("async2", 1) in seen
    assert ("sync2", "sync2", 1, False, ids["sync2"]) in seen
    assert ("registered", "registered") in seen


def test_priority_then_due_time_order(app):
    order = []

    @app.handler()
    def job(payload):
        order.append(payload)

    app.concurrency = 1
    app.create("job", "low-old", priority=0, run_at=time.time() - 30)
    app.create("job", "high", priority=10)
    app.create("job", "low-new", priority=0, run_at=time.time() - 10)
    app.create("job", "mid", priority=5)
    app.create("job", "future", priority=99, delay=3600)
    app.process_queue()
    assert order == ["high", "mid", "low-old", "low-new"]


def test_never_runs_before_run_at(app):
    ran = []

    @app.handler()
    def job(payload):
        ran.append(time.time())

    task_id = app.create("job", delay=1.0)
    due = app.get(task_id).run_at.timestamp()
    assert app.process_queue().claimed == 0
    deadline = time.monotonic() + 10
    while not ran and time.monotonic() < deadline:
        app.process_queue()
        time.sleep(0.02)
    assert ran and ran[0] >= due


def test_types_without_handler_stay_queued(app):
    @app.handler()
    def mine(payload):
        return None

    other = app.create("somebody_elses", {"x": 1})
    mine = app.create("mine")
    for _ in range(3):
        app.process_queue()
    assert app.get(mine).status is TaskStatus.SUCCEEDED
    task = app.get(other)
    assert task.status is TaskStatus.QUEUED and task.attempts == 0 and task.last_error is None


def test_batch_size_limits_a_pass(app):
    @app.handler()
    def job(payload):
        return None

    app.create_many("job", list(range(12)))
    assert app.process_queue(batch_size=5).claimed == 5
    assert app.stats()["queued"] == 7
    assert app.process_queue(batch_size=100).succeeded == 7


def test_retry_then_fail_keeps_last_error(app):
    @app.handler(max_attempts=3, retry_delay=0)
    def flaky(payload):
        raise RuntimeError(f"nope {payload}")

    task_id = app.create("flaky", "x")
    results = [app.process_queue() for _ in range(3)]
    assert [(r.retried, r.failed) for r in results] == [(1, 0), (1, 0), (0, 1)]
    task = app.get(task_id)
    assert task.status is TaskStatus.FAILED and task.attempts == 3
    assert task.last_error.startswith("RuntimeError: nope x")
    assert "Traceback" in task.last_error and "flaky" in task.last_error
    assert app.process_queue().claimed == 0


def test_error_text_is_bounded(app):
    @app.handler(max_attempts=1)
    def loud(payload):
        raise ValueError("y" * 100_000)

    task_id = app.create("loud")
    app.process_queue()
    error = app.get(task_id).last_error
    assert error.startswith("ValueError: yyy") and len(error) < 9000 and "truncated" in error


def test_fail_once_then_succeed(app):
    @app.handler(retry_delay=0)
    def flaky(payload, ctx):
        if ctx.attempt == 1:
            raise ConnectionError("first try fails")
        return "ok"

    task_id = app.create("flaky")
    app.process_queue()
    task = app.get(task_id)
    assert task.status is TaskStatus.QUEUED and task.attempts == 1 and "first try fails" in task.last_error
    app.process_queue()
    task = app.get(task_id)
    assert (task.status, task.attempts, task.result) == (TaskStatus.SUCCEEDED, 2, "ok")


def test_retry_delay_postpones_the_next_attempt(app):
    @app.handler(retry_delay=timedelta(seconds=60))
    def slow_retry(payload):
        raise RuntimeError("x")

    task_id = app.create("slow_retry")
    before = time.time()
    app.process_queue()
    task = app.get(task_id)
    assert task.status is TaskStatus.QUEUED
    assert 55 < task.run_at.timestamp() - before < 65
    assert app.process_queue().claimed == 0


def test_callable_and_per_task_retry_delay(app):
    @app.handler(retry_delay=lambda attempt: 100 * attempt)
    def policy(payload):
        raise RuntimeError("x")

    by_policy = app.create("policy")
    per_task = app.create("policy", retry_delay=500)
    before = time.time()
    app.process_queue()
    assert 95 < app.get(by_policy).run_at.timestamp() - before < 110
    assert 495 < app.get(per_task).run_at.timestamp() - before < 510


def test_default_backoff_is_exponential_with_jitter(app):
    @app.handler()
    def failing(payload):
        raise RuntimeError("x")

    ids = app.create_many("failing", list(range(20)))
    before = time.time()
    app.process_queue()
    delays = [app.get(i).run_at.timestamp() - before for i in ids]
    assert all(0.5 < d < 2.0 for d in delays), delays
    assert len({round(d, 3) for d in delays}) > 1, "jitter spreads retries"


def test_timeout_is_a_failed_attempt_async(app):
    cleaned = threading.Event()

    @app.handler(timeout=0.3, max_attempts=1)
    async def hang(payload):
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.set()

    task_id = app.create("hang")
    started = time.monotonic()
    assert app.process_queue().failed == 1
    assert time.monotonic() - started < 5
    task = app.get(task_id)
    assert task.status is TaskStatus.FAILED and "TimeoutError" in task.last_error and "0.3s" in task.last_error
    assert cleaned.is_set()


def test_async_handler_swallowing_its_timeout_still_times_out(app):
    @app.handler(timeout=0.3, max_attempts=1)
    async def stubborn(payload, ctx):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return {"claims": "success"}  # the timeout is what stopped it: not a success

    task_id = app.create("stubborn")
    assert app.process_queue().failed == 1
    task = app.get(task_id)
    assert task.status is TaskStatus.FAILED and "TimeoutError" in task.last_error and task.result is None


def test_async_handler_raising_its_own_errors_named_like_ours(app):
    @app.handler(max_attempts=1)
    async def own_timeout(payload):
        raise TimeoutError("upstream took too long")

    task_id = app.create("own_timeout")
    assert app.process_queue().failed == 1
    assert "upstream took too long" in app.get(task_id).last_error


def test_timeout_sync_handler_sees_cancelled(app):
    observed = threading.Event()

    @app.handler(timeout=0.3, retry_delay=0)
    def spin(payload, ctx):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if ctx.cancelled:
                observed.set()
                return
            time.sleep(0.01)

    task_id = app.create("spin", timeout=0.2)
    assert app.process_queue().retried == 1
    assert observed.wait(5)
    task = app.get(task_id)
    assert task.status is TaskStatus.QUEUED and "TimeoutError" in task.last_error


def test_result_that_is_not_json_is_a_failed_attempt(app):
    @app.handler(max_attempts=1)
    def weird(payload):
        return object()

    task_id = app.create("weird")
    app.process_queue()
    task = app.get(task_id)
    assert task.status is TaskStatus.FAILED and "not JSON-serializable" in task.last_error


def test_hostile_payloads_never_crash_a_pass(app):
    @app.handler(max_attempts=1)
    def strict(payload):
        return payload["key"].upper()

    ids = [app.create("strict", p) for p in (None, 5, "s", [1], {"key": None}, {"key": "ok"})]
    summary = app.process_queue()
    assert summary.claimed == 6 and summary.succeeded == 1 and summary.failed == 5
    assert app.get(ids[-1]).result == "OK"


def test_concurrent_passes_in_one_process_never_double_run(app):
    runs = []
    lock = threading.Lock()

    @app.handler()
    def job(payload):
        with lock:
            runs.append(payload)
        time.sleep(0.001)

    app.create_many("job", list(range(200)))

    async def race():
        return await asyncio.gather(*(app.aprocess_queue(batch_size=50) for _ in range(6)))

    summaries = asyncio.run(race())
    leftover = app.process_queue(batch_size=500)
    assert sum(s.succeeded for s in summaries) + leftover.succeeded == 200
    assert sorted(runs) == list(range(200))
    asyncio.run(app.aclose())


def test_result_waits_for_terminal_state(app):
    from tasker import TaskCancelledError, TaskFailedError

    @app.handler(max_attempts=1)
    def double(payload):
        if payload < 0:
            raise ValueError("negative")
        return payload * 2

    ok, bad, cancelled = app.create("double", 21), app.create("double", -1), app.create("double", 1, delay=60)
    app.cancel(cancelled)
    threading.Thread(target=app.process_queue).start()
    assert app.result(ok, timeout=10) == 42
    with pytest.raises(TaskFailedError, match="negative"):
        app.result(bad, timeout=10)
    with pytest.raises(TaskCancelledError):
        app.result(cancelled, timeout=1)
    with pytest.raises(TimeoutError):
        app.result(app.create("double", 1, delay=60), timeout=0.1)


@pytest.mark.parametrize("result", ["nul \x00 inside", {"k": "\ud800"}, float("nan")])
def test_result_a_store_cannot_keep_fails_the_attempt_alone(app, result):
    @app.handler(max_attempts=1)
    async def odd(payload):
        return result if payload == "odd" else "fine"

    odd_id = app.create("odd", "odd")
    fine_ids = app.create_many("odd", ["a", "b", "c"])
    summary = app.process_queue()
    assert (summary.succeeded, summary.failed) == (3, 1)
    assert app.get(odd_id).status is TaskStatus.FAILED and "result" in app.get(odd_id).last_error
    assert all(app.get(i).result == "fine" for i in fine_ids)
