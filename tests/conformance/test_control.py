"""Task control on both stores: dependencies, pause/resume, priorities per queue, snooze, retry, progress, cancellation."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tasker import Retry, Snooze, TaskCancelledError, TaskStatus, UnknownTaskError
from polling import wait_until


def run_worker_thread(app, **options):
    thread = threading.Thread(target=app.run_worker, kwargs={"poll_interval": 0.05, **options}, daemon=True)
    thread.start()
    return thread


def stop(app, thread):
    app.stop_workers()
    thread.join(20)
    assert not thread.is_alive()


# -- dependencies ---------------------------------------------------------------------------


def test_chain_waits_and_runs_in_order(app):
    order = []

    @app.handler()
    def step(payload):
        order.append(payload)

    a = app.create("step", "a")
    b = app.create("step", "b", depends_on=[a])
    c = app.create("step", "c", depends_on=[b])
    assert app.get(b).pending_dependencies == 1
    for _ in range(4):
        app.process_queue()
    assert order == ["a", "b", "c"]
    assert all(app.get(t).status is TaskStatus.SUCCEEDED for t in (a, b, c))


def test_chain_where_b_fails_cancels_c(app):
    @app.handler(max_attempts=1)
    def step(payload):
        if payload == "b":
            raise RuntimeError("b broke")

    a = app.create("step", "a")
    b = app.create("step", "b", depends_on=[a])
    c = app.create("step", "c", depends_on=[b])
    d = app.create("step", "d", depends_on=[c])
    for _ in range(4):
        app.process_queue()
    assert app.get(a).status is TaskStatus.SUCCEEDED
    assert app.get(b).status is TaskStatus.FAILED
    task_c, task_d = app.get(c), app.get(d)
    assert task_c.status is TaskStatus.CANCELLED and task_c.attempts == 0
    assert task_c.last_error == f"Cancelled: dependency {b} failed"
    assert task_d.status is TaskStatus.CANCELLED and task_d.last_error == f"Cancelled: dependency {c} cancelled"


def test_waits_for_every_dependency(app):
    @app.handler()
    def step(payload):
        return payload

    slow = app.create("step", "slow", delay=0.3)
    fast = app.create("step", "fast")
    joined = app.create("step", "joined", depends_on=[slow, fast])
    app.process_queue()
    assert app.get(fast).status is TaskStatus.SUCCEEDED
    assert app.get(joined).status is TaskStatus.QUEUED and app.get(joined).pending_dependencies == 1
    wait_until(lambda: app.process_queue() is not None and app.get(joined).status is TaskStatus.SUCCEEDED, timeout=10)


def test_cancelling_a_dependency_cancels_dependents(app):
    a = app.create("step", "a", delay=60)
    b = app.create("step", "b", depends_on=[a])
    assert app.cancel(a)
    assert app.get(b).status is TaskStatus.CANCELLED and a in app.get(b).last_error


def test_depending_on_finished_tasks(app):
    @app.handler(max_attempts=1)
    def step(payload):
        if payload == "bad":
            raise RuntimeError("x")

    good, bad = app.create("step", "good"), app.create("step", "bad")
    app.process_queue()
    ready = app.create("step", "ready", depends_on=[good])
    doomed = app.create("step", "doomed", depends_on=[good, bad])
    assert app.get(ready).pending_dependencies == 0
    assert app.get(doomed).status is TaskStatus.CANCELLED
    assert app.get(doomed).last_error == f"Cancelled: dependency {bad} failed"
    app.process_queue()
    assert app.get(ready).status is TaskStatus.SUCCEEDED


def test_unknown_dependency_is_an_error_and_stores_nothing(app):
    real = app.create("step")
    with pytest.raises(UnknownTaskError, match="01a2b3c4-0000-7000-8000-000000000000"):
        app.create("step", depends_on=[real, "01a2b3c4-0000-7000-8000-000000000000"])
    with pytest.raises(ValueError, match="depends_on has 'nope', which is not a task id"):
        app.create("step", depends_on=["nope"])
    with pytest.raises(TypeError, match="depends_on must be a list"):
        app.create("step", depends_on=real)
    assert app.stats()["total"] == 1


def test_dependency_release_wakes_a_worker(app):
    runs = []

    @app.handler()
    def step(payload):
        runs.append((payload, time.monotonic()))

    thread = run_worker_thread(app, concurrency=2, poll_interval=5.0)  # the slow poll must not be what wakes it
    try:
        a = app.create("step", "a")
        app.create("step", "b", depends_on=[a])
        wait_until(lambda: len(runs) == 2, timeout=10)
        assert runs[1][1] - runs[0][1] < 2.0
    finally:
        stop(app, thread)


@pytest.mark.parametrize("how", ["create", "create_many small", "create_many bulk"])
def test_new_tasks_wake_an_idle_worker(app, how):
    ran = []

    @app.handler()
    def job(payload):
        ran.append(payload)

    idle = threading.Event()
    app.on_idle(lambda: idle.set())
    app.create("job", "warm-up")
    thread = run_worker_thread(app, concurrency=4, poll_interval=60.0)  # the poll must not be what wakes it
    try:
        assert idle.wait(10) and ran == ["warm-up"]
        count = {"create": 1, "create_many small": 5, "create_many bulk": 200}[how]
        if how == "create":
            app.create("job", 0)
        else:
            app.create_many("job", list(range(count)))
        wait_until(lambda: len(ran) == count + 1, timeout=20)
    finally:
        stop(app, thread)


def test_prefetched_tasks_wait_for_a_slot_can_be_cancelled_and_go_back_unspent_at_stop(app):
    """Short tasks make a worker claim ahead of its handler slots; what it holds
    but has not started is cancellable at once and returned untouched at stop."""
    release = threading.Event()
    started = []

    @app.handler()
    async def quick(payload):
        started.append(payload)

    @app.handler()
    async def slow(payload):
        started.append(payload)
        while not release.is_set():
            await asyncio.sleep(0.01)

    app.create_many("quick", [f"warm-{n}" for n in range(80)])
    thread = run_worker_thread(app, concurrency=2)
    try:
        wait_until(lambda: len(started) == 80, timeout=20)
        slow_ids = app.create_many("slow", ["slow-1", "slow-2"])
        wait_until(lambda: "slow-1" in started and "slow-2" in started, timeout=10)
        held = app.create_many("quick", [f"held-{n}" for n in range(8)])
        # Both handler slots are busy; the worker still claims ahead (3 x concurrency).
        wait_until(lambda: app.stats()["running"] == 8, timeout=10)
        prefetched = [i for i in held if app.get(i).status is TaskStatus.RUNNING]
        assert len(prefetched) == 6 and not any(p.startswith("held") for p in started)

        assert app.cancel(prefetched[0])
        wait_until(lambda: app.get(prefetched[0]).status is TaskStatus.CANCELLED, timeout=10)

        app.stop_workers()
        wait_until(lambda: all(app.get(i).status is TaskStatus.QUEUED for i in prefetched[1:]), timeout=10)
        assert all(app.get(i).attempts == 0 for i in prefetched[1:])
        assert all(app.get(i).status is TaskStatus.RUNNING for i in slow_ids)   # still in their grace period
        assert not any(p.startswith("held") for p in started)
    finally:
        release.set()
        thread.join(20)
    assert not thread.is_alive()
    assert all(app.get(i).status is TaskStatus.SUCCEEDED for i in slow_ids)


# -- queues and priorities ------------------------------------------------------------------


def test_pause_and_resume_a_queue(app):
    ran = []

    @app.handler()
    def job(payload):
        ran.append(payload)

    app.pause_queue("emails")
    app.create("job", "email", queue="emails")
    app.create("job", "report", queue="reports")
    app.process_queue()
    assert ran == ["report"]
    assert app.stats()["paused_queues"] == ["emails"]
    app.resume_queue("emails")
    app.process_queue()
    assert ran == ["report", "email"]
    assert app.stats()["paused_queues"] == []
    with pytest.raises(ValueError, match="queue must not be empty"):
        app.pause_queue("")


def test_paused_queue_holds_for_running_workers(app):
    ran = []

    @app.handler()
    def job(payload):
        ran.append(payload)

    thread = run_worker_thread(app, concurrency=2)
    try:
        app.pause_queue("q")
        app.create("job", 1, queue="q")
        app.create("job", "other", queue="default")
        wait_until(lambda: "other" in ran, timeout=10)
        assert 1 not in ran
        app.resume_queue("q")
        wait_until(lambda: 1 in ran, timeout=10)
    finally:
        stop(app, thread)


def test_per_queue_limits_on_a_worker(app):
    active = {"emails": 0, "reports": 0}
    peak = {"emails": 0, "reports": 0}
    lock = threading.Lock()

    @app.handler()
    async def work(payload):
        with lock:
            active[payload] += 1
            peak[payload] = max(peak[payload], active[payload])
        await asyncio.sleep(0.05)
        with lock:
            active[payload] -= 1

    app.create_many("work", ["emails"] * 20, queue="emails")
    app.create_many("work", ["reports"] * 6, queue="reports")
    thread = run_worker_thread(app, concurrency=10, queues={"emails": 3, "reports": 1})
    try:
        wait_until(lambda: app.stats()["succeeded"] == 26, timeout=20)
    finally:
        stop(app, thread)
    assert peak == {"emails": 3, "reports": 1}


def test_priority_within_a_queue_on_a_worker(app):
    order = []

    @app.handler()
    def job(payload):
        order.append(payload)

    for n in range(5):
        app.create("job", f"low{n}", priority=0)
    app.create("job", "urgent", priority=100)
    thread = run_worker_thread(app, concurrency=1)
    try:
        wait_until(lambda: len(order) == 6, timeout=10)
    finally:
        stop(app, thread)
    assert order[0] == "urgent"


# -- snooze, retry, progress ----------------------------------------------------------------


def test_snooze_runs_later_without_using_an_attempt(app):
    snoozes = []

    @app.handler(max_attempts=1)
    def patient(payload, ctx):
        if len(snoozes) < payload["snoozes"]:
            snoozes.append(ctx.attempt)
            raise Snooze(0.05)
        return "done"

    task_id = app.create("patient", {"snoozes": 1})
    app.process_queue()
    task = app.get(task_id)
    assert task.status is TaskStatus.QUEUED and task.attempts == 0 and task.run_at.timestamp() > time.time() - 1
    wait_until(lambda: app.process_queue() is not None and app.get(task_id).status is not TaskStatus.QUEUED, timeout=5)
    assert app.get(task_id).status is TaskStatus.SUCCEEDED and app.get(task_id).attempts == 1
    assert snoozes == [1], "the snoozed run did not count as an attempt"


def test_retry_with_a_given_delay(app):
    @app.handler(retry_delay=3600)
    def rate_limited(payload):
        raise Retry(120, "rate limited, try in 2 minutes")

    task_id = app.create("rate_limited")
    before = time.time()
    app.process_queue()
    task = app.get(task_id)
    assert task.status is TaskStatus.QUEUED and task.attempts == 1
    assert 115 < task.run_at.timestamp() - before < 125
    assert "rate limited" in task.last_error


def test_progress_is_visible_while_running_and_after(app):
    reported, release = threading.Event(), threading.Event()

    @app.handler()
    def export(payload, ctx):
        ctx.progress({"done": 1, "total": 3})
        reported.set()
        release.wait(10)
        ctx.progress({"done": 3, "total": 3})

    task_id = app.create("export")
    thread = run_worker_thread(app, concurrency=1)
    try:
        assert reported.wait(10)
        wait_until(lambda: app.get(task_id).progress == {"done": 1, "total": 3}, timeout=5)
        release.set()
        wait_until(lambda: app.get(task_id).status is TaskStatus.SUCCEEDED, timeout=10)
        assert app.get(task_id).progress == {"done": 3, "total": 3}
    finally:
        release.set()
        stop(app, thread)


def test_progress_must_be_json(app):
    @app.handler(max_attempts=1)
    def bad(payload, ctx):
        ctx.progress(object())

    task_id = app.create("bad")
    app.process_queue()
    assert "progress is not JSON-serializable" in app.get(task_id).last_error


# -- cancelling running tasks ---------------------------------------------------------------


def test_cancel_running_async_handler_runs_its_finally(app):
    started, cleaned = threading.Event(), threading.Event()

    @app.handler(max_attempts=5)
    async def long_async(payload):
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()

    task_id = app.create("long_async")
    thread = run_worker_thread(app, concurrency=1)
    try:
        assert started.wait(10)
        requested = time.monotonic()
        assert app.cancel(task_id) is True
        wait_until(lambda: app.get(task_id).status is TaskStatus.CANCELLED, timeout=5)
        assert time.monotonic() - requested < 1.5
        assert cleaned.is_set()
        task = app.get(task_id)
        assert task.attempts == 1 and task.finished_at is not None
        with pytest.raises(TaskCancelledError):
            app.result(task_id, timeout=1)
    finally:
        stop(app, thread)


def test_cancel_running_cooperative_sync_handler(app):
    started, cleaned = threading.Event(), threading.Event()

    @app.handler(max_attempts=5)
    def long_sync(payload, ctx):
        started.set()
        try:
            for _ in range(6000):
                ctx.raise_if_cancelled()
                time.sleep(0.01)
        finally:
            cleaned.set()

    task_id = app.create("long_sync")
    thread = run_worker_thread(app, concurrency=1)
    try:
        assert started.wait(10)
        requested = time.monotonic()
        assert app.cancel(task_id)
        wait_until(lambda: app.get(task_id).status is TaskStatus.CANCELLED, timeout=5)
        assert time.monotonic() - requested < 1.5
        assert cleaned.is_set() and app.get(task_id).attempts == 1
    finally:
        stop(app, thread)


def test_cancel_running_cpu_bound_process_isolated_handler(app, tmp_path):
    from apps import isolated

    marker = tmp_path / "started"
    app.register("spin_forever", isolated.spin_forever, isolation="process")
    task_id = app.create("spin_forever", {"marker": str(marker)})
    thread = run_worker_thread(app, concurrency=1)
    try:
        wait_until(marker.exists, timeout=20, message="the child process started")
        pid = int(marker.read_text())
        requested = time.monotonic()
        assert app.cancel(task_id)
        wait_until(lambda: app.get(task_id).status is TaskStatus.CANCELLED, timeout=5)
        assert time.monotonic() - requested < 1.5
        wait_until(lambda: not isolated.alive(pid), timeout=5, message="the child process was killed")
    finally:
        stop(app, thread)


def test_process_isolated_handler_results_errors_and_timeouts(app, tmp_path):
    from apps import isolated

    app.register("square", isolated.square, isolation="process")
    app.register("explode", isolated.explode, isolation="process", max_attempts=1)
    app.register("spin_forever", isolated.spin_forever, isolation="process", timeout=1, max_attempts=1)
    ok, bad = app.create("square", 7), app.create("explode", "boom")
    marker = tmp_path / "spin"
    slow = app.create("spin_forever", {"marker": str(marker)})
    app.process_queue()
    assert app.get(ok).result == 49
    assert app.get(bad).status is TaskStatus.FAILED and "ValueError: boom" in app.get(bad).last_error
    assert app.get(slow).status is TaskStatus.FAILED and "timeout of 1s" in app.get(slow).last_error
    # The child writes its pid once it runs; on a loaded machine starting the interpreter can
    # take the whole timeout, and the child is then killed before it writes anything.
    if marker.exists():
        wait_until(lambda: not isolated.alive(int(marker.read_text())), timeout=5, message="the timed-out child was killed")


def test_process_isolation_is_for_sync_handlers(app):
    async def handler(payload):
        return None

    with pytest.raises(ValueError, match="isolation='process' is for sync handlers"):
        app.register("a", handler, isolation="process")
    with pytest.raises(ValueError, match="isolation must be"):
        app.register("b", lambda p: None, isolation="fiber")


def test_a_running_task_of_a_non_cancellable_type_is_not_interrupted(app):
    """content-sources' list of cancellable task types: cancel returns False for a running
    non-cancellable task, which finishes; a queued one is still cancelled."""
    started, release = threading.Event(), threading.Event()

    @app.handler(cancellable=False)
    async def snapshot(payload):
        started.set()
        while not release.is_set():
            await asyncio.sleep(0.01)
        return "complete"

    running = app.create("snapshot")
    thread = run_worker_thread(app, concurrency=1)
    try:
        assert started.wait(10)
        queued = app.create("snapshot")
        assert app.cancel(running) is False
        assert app.get(running).status is TaskStatus.RUNNING and not app.get(running).cancel_requested
        assert app.cancel(queued) is True and app.get(queued).status is TaskStatus.CANCELLED
        release.set()
        assert app.result(running, timeout=10) == "complete"
    finally:
        stop(app, thread)


def test_queued_types_that_no_live_worker_handles_show_in_stats(app):
    @app.handler()
    def handled(payload):
        pass

    app.create("handled")
    app.create("misspeled")
    app.create("misspeled")
    assert app.stats()["unhandled_types"] == {"handled": 1, "misspeled": 2}   # no worker at all yet
    thread = run_worker_thread(app, concurrency=1)
    try:
        wait_until(lambda: app.stats()["unhandled_types"] == {"misspeled": 2}, timeout=10)
        assert app.workers()[0].types == ["handled"]
    finally:
        stop(app, thread)
