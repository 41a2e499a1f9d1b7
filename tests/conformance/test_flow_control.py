"""Flow control on both stores: limits stored and validated, claims within them, debounce."""
from __future__ import annotations

import threading
import time

import pytest

from tasker import InputError, TaskStatus
from polling import wait_until


def run_worker_thread(app, **options):
    thread = threading.Thread(target=app.run_worker, kwargs={"poll_interval": 0.05, **options}, daemon=True)
    thread.start()
    return thread


def stop(app, thread):
    app.stop_workers()
    thread.join(20)
    assert not thread.is_alive()


# -- options and configure_queue -------------------------------------------------------------


@pytest.mark.parametrize("options, field", [
    ({"concurrency_limit": 0}, "concurrency_limit"),
    ({"concurrency_limit": "3"}, "concurrency_limit"),
    ({"rate_limit": "100"}, "rate_limit"),
    ({"rate_limit": "100/d"}, "rate_limit"),
    ({"rate_limit": "0/s"}, "rate_limit"),
    ({"rate_limit": 100}, "rate_limit"),
])
def test_handler_limits_are_checked_at_registration(app, options, field):
    with pytest.raises(InputError, match=field):
        app.register("limited", lambda payload: None, **options)


def test_handler_limits_are_read(app):
    handler = app.register("limited", lambda payload: None, concurrency_limit=3, rate_limit="100/m")
    assert handler.concurrency_limit == 3
    assert handler.rate_limit == (100, 60.0)


def test_configure_queue_is_stored_and_cleared(app):
    app.configure_queue("emails", concurrency_limit=5, rate_limit="20/s")
    app.configure_queue("reports", concurrency_limit=1)
    limits = {(d["scope"], d["name"]): d for d in app.flow_limits()}
    assert limits[("queue", "emails")]["concurrency_limit"] == 5
    assert limits[("queue", "emails")]["rate_limit"] == "20/s"
    assert limits[("queue", "reports")]["rate_limit"] is None
    app.configure_queue("emails", concurrency_limit=2)
    assert {d["name"]: d["concurrency_limit"] for d in app.flow_limits()}["emails"] == 2
    app.configure_queue("emails")
    assert [d["name"] for d in app.flow_limits()] == ["reports"]
    assert [d["name"] for d in app.stats()["flow_limits"]] == ["reports"]


@pytest.mark.parametrize("options, field", [
    ({"concurrency_limit": -1}, "concurrency_limit"),
    ({"rate_limit": "fast"}, "rate_limit"),
    ({"name": ""}, "queue"),
])
def test_configure_queue_refuses_bad_limits_and_stores_nothing(app, options, field):
    arguments = {"name": "emails", **options}
    with pytest.raises(InputError, match=field):
        app.configure_queue(**arguments)
    assert app.flow_limits() == []


def test_partition_key_and_on_conflict_are_checked(app):
    with pytest.raises(InputError, match="on_conflict"):
        app.create("t", 1, unique_key="k", on_conflict="merge")
    with pytest.raises(InputError, match="on_conflict"):
        app.create("t", 1, unique_key="k", on_conflict=3)
    with pytest.raises(InputError, match="partition_key"):
        app.create("t", 1, partition_key="")
    assert app.count() == 0


# -- claims within limits ---------------------------------------------------------------------


def test_queue_concurrency_limit_holds_in_passes(app):
    app.configure_queue("q", concurrency_limit=2)

    @app.handler(queue="q")
    def work(payload):
        return payload

    for n in range(5):
        app.create("work", n)
    assert app.process_queue().claimed == 2
    assert app.process_queue().claimed == 2
    assert app.process_queue().claimed == 1


def test_queue_rate_limit_waits_without_using_attempts(app):
    app.configure_queue("q", rate_limit="3/h")

    @app.handler(queue="q", max_attempts=1)
    def work(payload):
        return payload

    ids = [app.create("work", n) for n in range(5)]
    assert app.process_queue().claimed == 3
    assert app.process_queue().claimed == 0
    waiting = [app.get(i) for i in ids if app.get(i).status is TaskStatus.QUEUED]
    assert len(waiting) == 2 and all(t.attempts == 0 for t in waiting)
    (limit,) = app.flow_limits()
    assert limit["waiting"] == 2 and limit["recent_starts"] == 3


def test_partition_keys_limit_each_key_and_take_turns(app):
    app.configure_queue("q", concurrency_limit=1)

    @app.handler(queue="q")
    def work(payload):
        return payload

    for n in range(20):
        app.create("work", n, partition_key="big")
    small = app.create("work", "small", partition_key="small")
    summary = app.process_queue()
    assert summary.claimed == 2   # one per key
    assert app.get(small).status is TaskStatus.SUCCEEDED


def test_type_limit_stored_by_worker_holds_across_workers(app):
    running, peak, lock = [0], [0], threading.Lock()

    @app.handler(concurrency_limit=2)
    def slow(payload):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    ids = [app.create("slow", n) for n in range(20)]
    threads = [run_worker_thread(app, concurrency=5) for _ in range(2)]
    try:
        wait_until(lambda: all(app.get(i).status is TaskStatus.SUCCEEDED for i in ids), timeout=30)
    finally:
        for thread in threads:
            stop(app, thread)
    assert peak[0] <= 2
    assert {(d["scope"], d["name"], d["concurrency_limit"]) for d in app.flow_limits()} == {("type", "slow", 2)}


def test_unlimited_types_run_beside_limited_ones(app):
    app.configure_queue("slow", concurrency_limit=1)

    @app.handler(queue="slow")
    def limited(payload):
        return payload

    @app.handler()
    def free(payload):
        return payload

    for n in range(3):
        app.create("limited", n)
    for n in range(3):
        app.create("free", n)
    assert app.process_queue().claimed == 4


# -- debounce ---------------------------------------------------------------------------------


def test_replace_while_queued_keeps_one_task_with_the_last_payload(app):
    ids = {app.create("t", n, unique_key="k", on_conflict="replace", delay=60) for n in range(100)}
    assert len(ids) == 1
    (task,) = app.list()
    assert task.payload == 99
    assert app.count() == 1


def test_replace_moves_run_at(app):
    first = app.create("t", 1, unique_key="k", on_conflict="replace", delay=3600)
    again = app.create("t", 2, unique_key="k", on_conflict="replace")
    assert first == again
    task = app.get(first)
    assert task.payload == 2 and task.run_at.timestamp() < time.time() + 60


def test_keep_is_unchanged(app):
    first = app.create("t", 1, unique_key="k")
    assert app.create("t", 2, unique_key="k") == first
    assert app.get(first).payload == 1


def test_replace_after_start_makes_a_new_task(app):
    started, release = threading.Event(), threading.Event()

    @app.handler()
    def t(payload):
        started.set()
        release.wait(10)

    first = app.create("t", 1, unique_key="k", on_conflict="replace")
    thread = threading.Thread(target=app.process_queue, daemon=True)
    thread.start()
    try:
        assert started.wait(10)
        second = app.create("t", 2, unique_key="k", on_conflict="replace")
        assert second != first
        assert app.get(second).status is TaskStatus.QUEUED and app.get(second).payload == 2
        assert app.create("t", 3, unique_key="k", on_conflict="replace") == second
    finally:
        release.set()
        thread.join(10)
    assert app.get(first).status is TaskStatus.SUCCEEDED


def test_a_pass_obeys_its_handlers_limits(app):
    @app.handler(concurrency_limit=1)
    def one_at_a_time(payload):
        return payload

    for n in range(3):
        app.create("one_at_a_time", n)
    assert app.process_queue().claimed == 1
    assert [(d["scope"], d["name"], d["concurrency_limit"]) for d in app.flow_limits()] == [("type", "one_at_a_time", 1)]


def test_a_big_batch_keeps_its_partition_key(app):
    app.configure_queue("q", concurrency_limit=1)

    @app.handler(queue="q")
    def work(payload):
        return payload

    app.create_many("work", list(range(600)), partition_key="a")
    app.create_many("work", list(range(3)), partition_key="b")
    assert app.process_queue().claimed == 2   # one per key, whichever way the batch was written


# -- a task's own limits ----------------------------------------------------------------------


def test_a_tasks_own_concurrency_limit_stands_in_for_its_types(app):
    @app.handler()
    def work(payload):
        return payload

    for n in range(4):
        app.create("work", n, concurrency_limit=2)
    free = app.create("work", "free")
    assert app.process_queue().claimed == 3   # two limited ones, and the one without a limit
    assert app.get(free).status is TaskStatus.SUCCEEDED
    assert app.process_queue().claimed == 2


def test_a_tasks_own_rate_limit(app):
    @app.handler()
    def work(payload):
        return payload

    for n in range(5):
        app.create("work", n, rate_limit="2/h", partition_key="k")
    assert app.process_queue().claimed == 2
    assert app.process_queue().claimed == 0
    assert app.count(status="queued") == 3


def test_a_tasks_own_limits_are_checked(app):
    with pytest.raises(InputError, match="concurrency_limit"):
        app.create("work", 1, concurrency_limit=0)
    with pytest.raises(InputError, match="rate_limit"):
        app.create("work", 1, rate_limit="lots")
    assert app.count() == 0


def test_a_big_batch_keeps_its_own_limits(app):
    @app.handler()
    def work(payload):
        return payload

    app.create_many("work", list(range(600)), concurrency_limit=3)
    assert app.process_queue().claimed == 3
