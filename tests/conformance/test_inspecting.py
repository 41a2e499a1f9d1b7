"""get, list, cancel, cleanup and stats (both stores)."""
from __future__ import annotations

import asyncio
import time

import pytest

from tasker import TaskStatus
from polling import wait_until


def test_get_unknown_is_none(app):
    assert app.get("01a2b3c4-0000-7000-8000-000000000000") is None


def test_list_filters_and_limit(app):
    for i in range(5):
        app.create("alpha", i, queue="q1")
    for i in range(3):
        app.create("beta", i, queue="q2")
    assert len(app.list()) == 8
    assert {t.type for t in app.list(type="alpha")} == {"alpha"}
    assert len(app.list(queue="q2")) == 3
    assert len(app.list(limit=4)) == 4
    assert app.list(status="running") == []
    assert len(app.list(status=TaskStatus.QUEUED, type="beta", queue="q2")) == 3
    newest_first = [t.payload for t in app.list(type="alpha")]
    assert newest_first == [4, 3, 2, 1, 0]


def test_cancel_queued_task_never_runs(app):
    ran = []

    @app.handler()
    def job(payload):
        ran.append(payload)

    keep, drop = app.create("job", "keep"), app.create("job", "drop")
    assert app.cancel(drop) is True
    task = app.get(drop)
    assert task.status is TaskStatus.CANCELLED and task.finished_at is not None
    app.process_queue()
    assert ran == ["keep"]
    assert app.cancel(drop) is False, "already finished"
    assert app.cancel(keep) is False, "already succeeded"
    assert app.cancel("01a2b3c4-0000-7000-8000-000000000000") is False


def test_cancel_running_task_is_flagged_and_not_retried(app):
    """The running-task interruption itself is exercised with workers; here the durable flag."""
    import threading

    started, release = threading.Event(), threading.Event()

    @app.handler(retry_delay=0)
    def blocking(payload, ctx):
        started.set()
        release.wait(10)
        raise RuntimeError("failed after cancel")

    task_id = app.create("blocking")
    runner = threading.Thread(target=app.process_queue)
    runner.start()
    assert started.wait(10)
    assert app.get(task_id).status is TaskStatus.RUNNING
    assert app.cancel(task_id) is True
    release.set()
    runner.join(10)
    task = app.get(task_id)
    assert task.status is TaskStatus.CANCELLED, "a failure after cancellation is not retried"


def test_cleanup_deletes_only_finished(app):
    @app.handler(max_attempts=1)
    def job(payload):
        if payload == "fail":
            raise RuntimeError("x")

    ok, fail, cancelled = app.create("job", "ok"), app.create("job", "fail"), app.create("job", "c", delay=60)
    queued = app.create("job", "later", delay=60)
    untouched = app.create("nohandler")
    app.cancel(cancelled)
    app.process_queue()
    assert app.cleanup(older_than=3600) == 0, "nothing finished an hour ago"
    time.sleep(0.05)
    assert app.cleanup(older_than=0.01) == 3
    assert app.get(ok) is None and app.get(fail) is None and app.get(cancelled) is None
    assert app.get(queued).status is TaskStatus.QUEUED and app.get(untouched) is not None
    assert app.cleanup() == 0


def test_cleanup_by_status_and_type_and_dry_run(app):
    @app.handler(max_attempts=1)
    def job(payload):
        if payload == "fail":
            raise RuntimeError("x")

    @app.handler()
    def other(payload):
        return None

    ok, fail, other_ok = app.create("job", "ok"), app.create("job", "fail"), app.create("other")
    cancelled, queued = app.create("job", delay=60), app.create("job", delay=60)
    app.cancel(cancelled)
    app.process_queue()
    assert app.cleanup(status="failed", dry_run=True) == 1 and app.get(fail) is not None, "a dry run deletes nothing"
    assert app.cleanup(type="job", dry_run=True) == 3
    assert app.cleanup(older_than="1h", dry_run=True) == 0
    assert app.cleanup(status="succeeded", type="job") == 1
    assert app.get(ok) is None and app.get(other_ok) is not None and app.get(fail) is not None
    assert app.cleanup(status="cancelled") == 1 and app.get(cancelled) is None
    assert app.cleanup(dry_run=True) == 2
    assert app.cleanup() == 2 and app.get(queued).status is TaskStatus.QUEUED


@pytest.mark.parametrize("bad, message", [
    ({"status": "queued"}, "finished status"),
    ({"status": "bogus"}, "unknown status"),
    ({"older_than": "soon"}, "'soon' is not a duration"),
    ({"type": ""}, "type must not be empty"),
])
def test_cleanup_refuses_bad_filters(app, bad, message):
    done = app.create("x")
    app.cancel(done)
    with pytest.raises(ValueError, match=message):
        app.cleanup(**bad)
    assert app.get(done) is not None


def test_cleanup_deletes_batch_after_batch(app):
    ids = app.create_many("x", list(range(7)))
    for task_id in ids:
        app.cancel(task_id)

    async def sweep():
        store = await app.runtime.store()
        try:
            counted = await store.count_cleanup(None, "cancelled", "x")
            return counted, await store.cleanup(None, "cancelled", "x", 2)
        finally:
            await app.aclose()

    assert asyncio.run(sweep()) == (7, 7), "four batches of at most 2"
    assert all(app.get(task_id) is None for task_id in ids)


def test_stats_by_status_and_queue(app):
    @app.handler()
    def job(payload):
        return None

    app.create("job", queue="a")
    app.create("job", queue="a", delay=60)
    app.create("job", queue="b", delay=60)
    app.process_queue()
    stats = app.stats()
    assert stats["succeeded"] == 1 and stats["queued"] == 2 and stats["total"] == 3
    assert stats["by_status"]["succeeded"] == 1
    assert stats["by_queue"]["a"] == {"queued": 1, "running": 0, "succeeded": 1, "failed": 0, "cancelled": 0}
    assert stats["by_queue"]["b"]["queued"] == 1


def test_context_manager_closes(store_url):
    from tasker import Tasker

    with Tasker(store_url) as app:
        app.migrate()
        task_id = app.create("x")
        wait_until(lambda: app.get(task_id) is not None)


def test_stats_stay_exact_through_every_way_in_and_out(app, store_url):
    """stats() reads finished counts from tallies and departures, not the history: after every
    path that finishes a task or takes one out, they equal a count of the stored rows."""
    from apps.harness import Db
    from tasker.ids import new_id

    db = Db(store_url)

    def stored() -> dict:
        counts: dict = {}
        for queue, status, n in db.rows("SELECT queue, status, count(*) FROM tasks GROUP BY queue, status"):
            counts.setdefault(queue, {})[status] = n
        return counts

    def check() -> None:
        reported = {q: {s: n for s, n in by.items() if n} for q, by in app.stats()["by_queue"].items()}
        assert {q: by for q, by in reported.items() if by} == stored()

    app.register("ok", lambda payload: payload)
    app.register("bad", lambda payload: 1 / 0, max_attempts=1)
    app.register("flaky", lambda payload: 1 / 0, max_attempts=2, retry_delay=0)
    ok = app.create_many("ok", range(5), queue="a")
    bad = [app.create("bad", n, queue="b") for n in range(3)]
    flaky = app.create("flaky", queue="b")
    queued_cancel = app.create("ok", 9, delay=3600, queue="c")
    parent = app.create("bad", "parent", queue="c")
    child = app.create("ok", "child", depends_on=[parent], queue="c")
    check()
    app.process_queue()
    app.process_queue()
    app.cancel(queued_cancel)
    check()
    assert app.get(child).status is TaskStatus.CANCELLED          # its dependency failed
    assert app.get(flaky).status is TaskStatus.FAILED

    app.retry(bad[0])                                              # failed -> queued: leaves the finished
    app.retry(queued_cancel)
    check()
    app.delete(ok[0])
    app.delete(bad[1])
    check()
    assert app.cleanup(type="ok") >= 3
    check()
    app.process_queue()                                            # the retried ones finish again
    check()

    async def lose_a_claim():
        store = await app.runtime.store()
        await store.claim_tasks(new_id(), ["ok"], None, 1)          # a worker that then vanishes
        await store.rescue_tasks(0.001)
    app.create("ok", "lost", queue="d", max_attempts=1)
    asyncio.run(lose_a_claim())
    check()
    assert app.cleanup() > 0
    check()
    assert all(n == 0 for s, n in app.stats()["by_status"].items() if s != "queued")
    db.close()
