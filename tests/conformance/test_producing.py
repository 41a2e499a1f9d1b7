"""Producing tasks: create, schedule, unique keys, meta, payload round trips (both stores)."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from tasker import TaskStatus


def test_create_returns_str_id_and_stores_everything(app):
    task_id = app.create("sendWebhook", {"url": "https://example.com", "n": [1, 2.5, None, True]},
                         priority=5, queue="hooks", max_attempts=7, timeout=12, meta={"tenant": "acme", "rid": 42})
    assert isinstance(task_id, str)
    task = app.get(task_id)
    assert task.id == task_id
    assert task.type == "sendWebhook"
    assert task.payload == {"url": "https://example.com", "n": [1, 2.5, None, True]}
    assert task.status is TaskStatus.QUEUED and task.status == "queued"
    assert (task.attempts, task.max_attempts, task.priority, task.queue) == (0, 7, 5, "hooks")
    assert task.timeout == 12
    assert task.meta == {"tenant": "acme", "rid": 42}
    assert task.started_at is None and task.finished_at is None and task.result is None
    assert task.created_at.tzinfo is not None and task.run_at.tzinfo is not None
    assert abs(task.run_at - datetime.now(timezone.utc)) < timedelta(seconds=5)


@pytest.mark.parametrize("payload", [None, 0, -3, 1.5, "text", "ünïcødé ✓ \u2028", [], {}, [1, [2, [3]]],
                                     {"nested": {"a": [1, {"b": None}]}}, True, False, 2**53])
def test_payload_round_trips_exactly(app, payload):
    assert app.get(app.create("echo", payload)).payload == payload


def test_defaults(app):
    task = app.get(app.create("plain"))
    assert (task.max_attempts, task.priority, task.queue, task.timeout, task.payload) == (3, 0, "default", 300, None)


def test_handler_options_are_task_defaults(app):
    @app.handler("configured", max_attempts=5, timeout=60, queue="slow", priority=3)
    def configured(payload):
        return None

    task = app.get(app.create("configured"))
    assert (task.max_attempts, task.timeout, task.queue, task.priority) == (5, 60, "slow", 3)
    task = app.get(app.create("configured", max_attempts=1, queue="fast"))
    assert (task.max_attempts, task.queue) == (1, "fast")


def test_schedule_at_and_in(app):
    at = datetime.now(timezone.utc) + timedelta(hours=1)
    task = app.get(app.schedule_at(at, "later", {"x": 1}))
    assert abs(task.run_at - at) < timedelta(milliseconds=5)
    naive = datetime(2030, 1, 2, 3, 4, 5)
    assert app.get(app.schedule_at(naive, "later")).run_at == naive.replace(tzinfo=timezone.utc)
    epoch = time.time() + 600
    assert abs(app.get(app.schedule_at(epoch, "later")).run_at.timestamp() - epoch) < 0.01
    task = app.get(app.schedule_in(timedelta(minutes=10), "later"))
    assert timedelta(minutes=9) < task.run_at - datetime.now(timezone.utc) < timedelta(minutes=11)
    task = app.get(app.schedule_in(30, "later"))
    assert timedelta(seconds=25) < task.run_at - datetime.now(timezone.utc) < timedelta(seconds=35)


def test_create_with_run_at_and_delay(app):
    task = app.get(app.create("later", delay=120))
    assert task.run_at > datetime.now(timezone.utc) + timedelta(seconds=100)
    other_zone = datetime(2031, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert app.get(app.create("later", run_at=other_zone)).run_at == other_zone


def test_unique_key_returns_existing_while_queued_or_running(app):
    @app.handler()
    def once(payload):
        return payload

    first = app.create("once", 1, unique_key="report:7")
    assert app.create("once", 2, unique_key="report:7") == first
    assert app.get(first).payload == 1
    assert app.stats()["total"] == 1
    other = app.create("once", 3, unique_key="report:8")
    assert other != first
    app.process_queue()
    assert app.get(first).status is TaskStatus.SUCCEEDED
    again = app.create("once", 4, unique_key="report:7")
    assert again != first, "a finished task no longer holds its key"


def test_unique_key_after_cancel_is_free(app):
    first = app.create("once", unique_key="k")
    assert app.cancel(first)
    assert app.create("once", unique_key="k") != first


def test_create_many_returns_ids_in_order(app):
    ids = app.create_many("bulk", [{"i": i} for i in range(250)], queue="bulk", priority=2)
    assert len(ids) == len(set(ids)) == 250
    assert [app.get(i).payload["i"] for i in ids[:5]] == [0, 1, 2, 3, 4]
    assert app.get(ids[-1]).payload == {"i": 249}
    assert app.stats()["by_queue"]["bulk"]["queued"] == 250
    assert app.create_many("bulk", []) == []


TRICKY_PAYLOADS = [
    {"path": "C:\\temp\\new", "tab": "a\tb", "lines": "1\n2\r\n3", "quote": "\"'"},
    "\\N", "\\", "\\t literally", "ünïcødé ✓ \u2028 \u0085", None, [1.5, -2, True], {"\\": "\\\\"},
]


@pytest.mark.parametrize("count", [3, 120])   # small batches and bulk ones (COPY on PostgreSQL) alike
def test_create_many_keeps_every_field(app, count):
    payloads = [TRICKY_PAYLOADS[i % len(TRICKY_PAYLOADS)] for i in range(count)]
    when = datetime(2031, 5, 4, 3, 2, 1, 500000, tzinfo=timezone.utc)
    ids = app.create_many("back\\slash type", payloads, queue="q\\1", priority=-7, max_attempts=9, timeout=2.5,
                          retry_delay=1.25, meta={"m": "x\\y"}, run_at=when)
    assert ids == sorted(ids), "ids of one batch are time-ordered, in payload order"
    for task_id, payload in zip(ids, payloads):
        task = app.get(task_id)
        assert task.payload == payload
        assert (task.type, task.queue, task.priority, task.max_attempts, task.timeout) == ("back\\slash type", "q\\1", -7, 9, 2.5)
        assert task.meta == {"m": "x\\y"} and task.run_at == when and task.status is TaskStatus.QUEUED


@pytest.mark.parametrize("count", [3, 120])
def test_create_many_due_now_uses_the_store_clock(app, count):
    before = datetime.now(timezone.utc)
    ids = app.create_many("bulkNow", list(range(count)), delay=None)
    run_ats = {app.get(i).run_at for i in (ids[0], ids[-1])}
    assert all(abs(r - before) < timedelta(seconds=5) for r in run_ats)
    delayed = app.create_many("bulkLater", list(range(count)), delay=3600)
    assert app.get(delayed[-1]).run_at - before > timedelta(minutes=59)


def test_async_twins(app):
    asyncio.run(_async_twins(app))


async def _async_twins(app):
    task_id = await app.acreate("asyncMade", {"a": 1})
    assert (await app.aget(task_id)).payload == {"a": 1}
    later = await app.aschedule_in(60, "asyncMade")
    at = await app.aschedule_at(datetime.now(timezone.utc) + timedelta(hours=1), "asyncMade")
    ids = await app.acreate_many("asyncMade", [1, 2, 3])
    assert len(await app.alist(type="asyncMade")) == 6
    assert await app.acancel(later) and await app.acancel(at)
    assert (await app.astats())["cancelled"] == 2
    assert (await app.acleanup()) == 2
    assert len(ids) == 3
    await app.aclose()


def test_sync_create_from_many_threads_at_once(app):
    import threading

    ids, errors = [], []

    def produce(n):
        try:
            mine = [app.create("fromThread", {"thread": n, "i": i}) for i in range(40)]
            mine += app.create_many("fromThread", [{"thread": n, "bulk": i} for i in range(60)])
            ids.extend(mine)
        except Exception as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(ids) == len(set(ids)) == 800
    assert app.stats()["queued"] == 800


def test_a_forked_child_uses_the_app_without_touching_the_parents_connections(app):
    """gunicorn --preload and multiprocessing's fork: the child starts afresh; the parent carries on."""
    import os
    import signal

    from polling import wait_until

    app.create("beforeFork")
    assert app.create_many("beforeFork", list(range(60)))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the id it made, then leave without running the parent's teardown
        code = 1
        try:
            child_id = app.create("inChild", {"pid": os.getpid()})
            app.create_many("inChild", list(range(60)))
            app.close()
            os.write(write_end, child_id.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        status = wait_until(lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, timeout=30, message="the forked child to finish")
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    child_id = os.read(read_end, 100).decode()
    os.close(read_end)
    assert status and child_id, "the child could not create its task"
    assert app.get(child_id).payload == {"pid": pid}
    assert app.get(app.create("afterFork")).type == "afterFork"   # the parent's connections still work
    assert len(app.list(type="inChild", limit=1000)) == 61


@pytest.mark.parametrize("shape", ["one", "batch", "unique", "depends"])
def test_an_insert_repeated_after_its_answer_was_lost_stores_nothing_twice(app, shape):
    """Ids are made by the client, so a create that is sent again (its connection died after the
    commit) finds its own rows and returns their ids: no duplicate, no error, no second link."""
    from tasker.enqueue import TaskDefaults, build_new_task, build_new_tasks

    first = app.create("dep")
    options = {"unique": {"unique_key": "k"}, "depends": {"depends_on": [first]}}.get(shape, {})
    tasks = (build_new_tasks("t", [{"n": n} for n in range(3)], TaskDefaults(), **options) if shape == "batch"
             else [build_new_task("t", {"n": 0}, TaskDefaults(), **options)])
    store = app.runtime.sync(app.runtime.store())
    once = app.runtime.sync(store.insert_tasks(tasks))
    again = app.runtime.sync(store.insert_tasks(tasks))
    assert once == again == [t.id for t in tasks]
    assert app.stats()["total"] == 1 + len(tasks)
    if shape == "depends":
        assert app.get(once[0]).pending_dependencies == 1
