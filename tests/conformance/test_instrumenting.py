"""Create hooks, headers that travel with a task, and middleware around attempts (both stores)."""
from __future__ import annotations

import asyncio
import threading

import pytest

from tasker import InputError, TaskContext, TaskStatus
from polling import wait_until


def test_create_hooks_add_headers_that_reach_every_attempt(app):
    seen: list[tuple[int, dict]] = []
    afters: list[tuple[list | None, object]] = []

    @app.on_create
    def stamp(creation):
        creation.headers["request_id"] = f"req-{creation.type}-{creation.count}"
        return lambda ids, error: afters.append((ids, error))

    @app.handler("flaky", max_attempts=2, retry_delay=0)
    def flaky(payload, ctx):
        seen.append((ctx.attempt, dict(ctx.headers)))
        if ctx.attempt == 1:
            raise RuntimeError("once")

    task_id = app.create("flaky", {"n": 1})
    assert afters == [([task_id], None)]
    assert app.get(task_id).headers == {"request_id": "req-flaky-1"}
    app.process_queue()
    app.process_queue()
    assert seen == [(1, {"request_id": "req-flaky-1"}), (2, {"request_id": "req-flaky-1"})]
    assert app.get(task_id).status == TaskStatus.SUCCEEDED


def test_create_many_and_async_creates_announce_once_per_call(app):
    creations = []

    @app.on_create
    def remember(creation):
        creations.append((creation.type, creation.count, creation.options))
        creation.headers["batch"] = True

    ids = app.create_many("t", ({"n": n} for n in range(3)), queue="q")   # a generator is counted too
    asyncio.run(app.acreate("t", None, priority=5))
    asyncio.run(app.acreate_many("t", [1, 2]))
    assert creations == [("t", 3, {"queue": "q"}), ("t", 1, {"priority": 5}), ("t", 2, {})]
    assert all(app.get(i).headers == {"batch": True} for i in ids)
    assert app.get(ids[0]).payload == {"n": 0}


def test_a_refused_create_reports_its_error_to_the_hook_and_stores_nothing(app):
    outcomes = []
    app.on_create(lambda creation: (lambda ids, error: outcomes.append((ids, error))))
    with pytest.raises(InputError):
        app.create("t", {"x": 1}, priority="high")
    assert len(outcomes) == 1 and outcomes[0][0] is None and isinstance(outcomes[0][1], InputError)
    assert app.stats()["total"] == 0


def test_a_failing_create_hook_reaches_the_caller_and_stores_nothing(app):
    @app.on_create
    def broken(creation):
        raise LookupError("no tenant")

    with pytest.raises(LookupError, match="no tenant"):
        app.create("t", {})
    assert app.stats()["total"] == 0


def test_headers_must_be_json(app):
    @app.on_create
    def bad(creation):
        creation.headers["when"] = object()

    with pytest.raises(InputError, match="headers"):
        app.create("t", {})
    assert app.stats()["total"] == 0


def test_headers_an_attempt_adds_are_kept_for_the_next(app):
    seen = []

    @app.handler("t", max_attempts=3, retry_delay=0)
    def handler(payload, ctx):
        seen.append(dict(ctx.headers))
        ctx.headers[f"attempt{ctx.attempt}"] = ctx.attempt
        if ctx.attempt < 3:
            raise RuntimeError("again")

    task_id = app.create("t")
    for _ in range(3):
        app.process_queue()
    assert seen == [{}, {"attempt1": 1}, {"attempt1": 1, "attempt2": 2}]
    assert app.get(task_id).headers == {"attempt1": 1, "attempt2": 2, "attempt3": 3}


def test_middleware_wraps_sync_and_async_handlers_outermost_first(app):
    calls: list[str] = []

    @app.middleware
    def outer(ctx, call_next):
        calls.append(f"outer>{ctx.type}")
        try:
            return call_next()
        finally:
            calls.append(f"outer<{ctx.type}")

    @app.middleware
    async def inner(ctx, call_next):
        assert TaskContext.current() is ctx
        calls.append(f"inner>{ctx.type}")
        result = await call_next()
        calls.append(f"inner<{ctx.type}")
        return {"wrapped": result}

    @app.handler("sync")
    def sync_handler(payload, ctx):
        assert TaskContext.current() is ctx
        return payload * 2

    @app.handler("async")
    async def async_handler(payload):
        return payload + 1

    a = app.create("sync", 21)
    b = app.create("async", 41)
    app.process_queue()
    assert app.get(a).result == {"wrapped": 42}
    assert app.get(b).result == {"wrapped": 42}
    for kind in ("sync", "async"):
        assert [c for c in calls if c[6:] == kind] == [f"outer>{kind}", f"inner>{kind}", f"inner<{kind}", f"outer<{kind}"]


def test_middleware_sees_the_handlers_error_and_may_turn_it_into_a_result(app):
    seen = []

    @app.middleware
    async def forgiving(ctx, call_next):
        try:
            return await call_next()
        except ValueError as exc:
            seen.append(str(exc))
            return "forgiven"

    @app.handler("t", max_attempts=1)
    def handler(payload):
        raise ValueError(payload)

    task_id = app.create("t", "bad value")
    app.process_queue()
    assert seen == ["bad value"]
    task = app.get(task_id)
    assert (task.status, task.result) == (TaskStatus.SUCCEEDED, "forgiven")


def test_a_failing_middleware_fails_the_attempt_not_the_worker(app):
    @app.middleware
    def broken(ctx, call_next):
        raise RuntimeError("middleware bug")

    app.register("t", lambda payload: "never", max_attempts=1)
    task_id = app.create("t")
    assert app.process_queue().failed == 1
    assert "middleware bug" in app.get(task_id).last_error


def test_cancel_reaches_an_async_handler_under_a_sync_middleware(app):
    started, cleaned = threading.Event(), threading.Event()

    @app.middleware
    def sync_outer(ctx, call_next):
        return call_next()

    @app.handler("slow", timeout=30)
    async def slow(payload):
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()

    task_id = app.create("slow")
    worker = threading.Thread(target=app.run_worker, kwargs={"concurrency": 1, "poll_interval": 0.05}, daemon=True)
    worker.start()
    try:
        assert started.wait(10)
        assert app.cancel(task_id)
        wait_until(lambda: app.get(task_id).status == TaskStatus.CANCELLED, timeout=10)
        assert cleaned.is_set()
    finally:
        app.stop_workers()
        worker.join(20)
    assert not worker.is_alive()


def test_timeout_reaches_an_async_handler_under_a_sync_middleware(app):
    @app.middleware
    def sync_outer(ctx, call_next):
        return call_next()

    @app.handler("slow", timeout=0.3, max_attempts=1)
    async def slow(payload):
        await asyncio.sleep(60)

    task_id = app.create("slow")
    assert app.process_queue().failed == 1
    assert "exceeded its timeout" in app.get(task_id).last_error


def test_failure_hooks_get_the_handlers_exception_object(app):
    class Declined(Exception):
        def __init__(self, code):
            super().__init__(f"declined ({code})")
            self.code = code

    events = []
    app.on_failure(events.append)
    app.register("pay", lambda payload: (_ for _ in ()).throw(Declined(payload)), max_attempts=2, retry_delay=0)
    app.create("pay", 51)
    app.process_queue()
    app.process_queue()
    assert [e.will_retry for e in events] == [True, False]
    assert all(isinstance(e.exception, Declined) and e.exception.code == 51 for e in events)
    assert events[-1].error.startswith("Declined: declined (51)")
