"""Hostile handlers against a real worker process, on both stores: every way a handler can end
becomes a recorded attempt, the process survives, and the tasks after it are not held back."""
from __future__ import annotations

import signal
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from apps.harness import HOSTILE_APP, Db, Spawner, wait_registered
from apps.hostile_app import MAX_RESULT, build
from polling import wait_until
from tasker import Tasker, TaskStatus
from tasker.limits import MAX_DELAY


@pytest.fixture
def spawn(tmp_path: Path):
    spawner = Spawner(tmp_path)
    yield spawner
    spawner.close()


@pytest.fixture
def hostile(store_url: str, app: Tasker):
    """The hostile app in the test process too: tasks get their handlers' options when created."""
    with build(store_url) as producer:
        yield producer


def settled(app: Tasker, ids: list[str], timeout: float, worker=None) -> dict[str, object]:
    """Wait until none of ``ids`` is running or queued to run within a minute; the tasks by id."""
    def done():
        if worker is not None:
            assert worker.alive(), f"the worker died (exit {worker.proc.returncode})"
        tasks = {i: app.get(i) for i in ids}
        soon = datetime.now(timezone.utc).timestamp() + 60
        busy = [t for t in tasks.values() if t.status is TaskStatus.RUNNING or (t.status is TaskStatus.QUEUED and t.run_at.timestamp() <= soon)]
        return tasks if not busy else None

    return wait_until(done, timeout, interval=0.1, message="hostile tasks settled")


def test_hostile_outcomes_are_recorded_and_never_hold_back_later_ones(hostile: Tasker, store_url: str, spawn):
    """A bad outcome (text the store cannot keep, a NaN or endless delay, a result nested too
    deep or too large, an exception whose __str__ raises) is recorded on its own; the good
    tasks created after it all succeed."""
    worker = spawn(store_url, script=HOSTILE_APP, C=4, INTERRUPT_GRACE=1, POLL=0.05)
    wait_registered(Db(store_url), 1)
    made = {
        "surrogate": hostile.create("raise_text", {"text": "surrogate"}),
        "nul": hostile.create("raise_text", {"text": "nul"}),
        "snooze_nan": hostile.create("snooze", {"seconds": "nan"}),
        "snooze_inf": hostile.create("snooze", {"seconds": "inf"}),
        "snooze_huge": hostile.create("snooze", {"seconds": 1e300}),
        "retry_inf": hostile.create("retry_inf"),
        "deep_result": hostile.create("deep_result"),
        "bad_str": hostile.create("bad_str"),
        "huge_result": hostile.create("huge_result"),
        "huge_progress": hostile.create("huge_progress"),
        "long_backoff": hostile.create("long_backoff"),
    }
    good = [hostile.create("ok", {"n": n}) for n in range(40)]
    tasks = settled(hostile, list(made.values()) + good, 60, worker)
    assert all(tasks[i].status is TaskStatus.SUCCEEDED for i in good), {tasks[i].status for i in good}
    by_name = {name: tasks[i] for name, i in made.items()}

    for name in ("surrogate", "nul"):
        task = by_name[name]
        assert task.status is TaskStatus.FAILED and task.attempts == 2, (name, task.status, task.attempts)
        assert "ValueError" in task.last_error and ("\\ud800" in task.last_error or "\\x00" in task.last_error)
    nan = by_name["snooze_nan"]
    assert nan.status is TaskStatus.FAILED and "NaN" in nan.last_error, nan.last_error
    for name in ("snooze_inf", "snooze_huge"):   # clamped: waits a century, attempt not used
        task = by_name[name]
        assert task.status is TaskStatus.QUEUED and task.attempts == 0
        assert task.run_at.year < 9999 and abs((task.run_at - datetime.now(timezone.utc)).total_seconds() - MAX_DELAY) < 120
    retried = by_name["retry_inf"]
    assert retried.status is TaskStatus.QUEUED and retried.attempts == 1 and retried.run_at.year < 9999
    backoff = by_name["long_backoff"]
    assert backoff.status is TaskStatus.QUEUED and backoff.attempts == 1 and backoff.run_at.year < 9999
    assert by_name["deep_result"].status is TaskStatus.FAILED and "nested more than" in by_name["deep_result"].last_error
    assert by_name["bad_str"].status is TaskStatus.FAILED and "BadStr" in by_name["bad_str"].last_error
    huge = by_name["huge_result"]
    assert huge.status is TaskStatus.FAILED and f"the limit is {MAX_RESULT} bytes" in huge.last_error and huge.result is None
    progress = by_name["huge_progress"]
    assert progress.status is TaskStatus.FAILED and "progress is" in progress.last_error

    # Everything reads back, whatever was stored.
    assert len(hostile.list(limit=1000)) == len(made) + len(good)
    assert worker.alive()


@pytest.mark.parametrize("handler", ["base", "base_sync"])
def test_a_base_exception_from_a_handler_is_a_failed_attempt_not_a_dead_worker(hostile: Tasker, store_url: str, spawn, handler: str):
    worker = spawn(store_url, script=HOSTILE_APP, C=4, POLL=0.05)
    wait_registered(Db(store_url), 1)
    ids = {kind: hostile.create(handler, {"kind": kind}) for kind in ("exit", "keyboard", "generator", "custom")}
    after = hostile.create("ok")
    tasks = settled(hostile, [*ids.values(), after], 30, worker)
    for kind, task_id in ids.items():
        task = tasks[task_id]
        assert task.status is TaskStatus.FAILED and task.attempts == 1, (kind, task.status)
        assert {"exit": "SystemExit", "keyboard": "KeyboardInterrupt", "generator": "GeneratorExit", "custom": "Boom"}[kind] in task.last_error
    assert tasks[after].status is TaskStatus.SUCCEEDED
    time.sleep(0.3)  # give a dying process the time to be seen dead
    assert worker.alive()


def test_a_handler_swallowing_cancellation_is_timed_out_and_shutdown_stays_prompt(hostile: Tasker, store_url: str, spawn):
    """Past its timeout (1 s) plus the grace (1 s) the attempt is recorded as timed out and its
    slot freed; SIGTERM then stops the worker within its grace period, leaving the coroutine."""
    worker = spawn(store_url, script=HOSTILE_APP, C=1, INTERRUPT_GRACE=1, GRACE=2, POLL=0.05)
    wait_registered(Db(store_url), 1)
    stuck = hostile.create("swallow")
    after = hostile.create("ok")   # concurrency 1: it can only run once the stuck slot is freed
    tasks = settled(hostile, [stuck, after], 30, worker)
    assert tasks[stuck].status is TaskStatus.FAILED and "timeout of 1s" in tasks[stuck].last_error
    assert tasks[after].status is TaskStatus.SUCCEEDED
    another = hostile.create("swallow_long")
    wait_until(lambda: hostile.get(another).status is TaskStatus.RUNNING, 10, message="the second swallower runs")
    worker.send(signal.SIGTERM)
    took = worker.wait_exit(15)
    assert took < 2 + 5, f"shutdown took {took:.1f}s with a grace period of 2s"
    # Given back at shutdown, unspent (it was interrupted by the stop, not by its own fault).
    assert hostile.get(another).status is TaskStatus.QUEUED and hostile.get(another).attempts == 0


def test_an_async_handler_blocking_the_loop_past_its_timeout_is_not_a_success(hostile: Tasker, store_url: str, spawn):
    worker = spawn(store_url, script=HOSTILE_APP, C=2, POLL=0.05)
    wait_registered(Db(store_url), 1)
    blocked = hostile.create("block_loop")
    task = settled(hostile, [blocked], 30, worker)[blocked]
    assert task.status is TaskStatus.FAILED and "timeout of 0.5s" in task.last_error and task.result is None


def test_results_and_progress_have_a_size_limit(store_url: str):
    """In-process, through process_queue: the limit is max_result_bytes (like max_payload_bytes)."""
    with Tasker(store_url, max_result_bytes=100) as small:
        small.migrate()

        @small.handler(max_attempts=1)
        def big(payload):
            return "y" * 200

        @small.handler(max_attempts=1)
        def fits(payload, ctx):
            ctx.progress("z" * 60)
            return "y" * 50

        @small.handler(max_attempts=1)
        def chatty(payload, ctx):
            ctx.progress("z" * 200)

        first, second, third = small.create("big"), small.create("fits"), small.create("chatty")
        small.process_queue()
        assert small.get(first).status is TaskStatus.FAILED and "the limit is 100 bytes" in small.get(first).last_error
        assert small.get(second).result == "y" * 50 and small.get(second).progress == "z" * 60
        assert small.get(third).status is TaskStatus.FAILED and "progress is 202 bytes" in small.get(third).last_error
