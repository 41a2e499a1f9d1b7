"""Browsing a long history and acting on a selection of it (both stores): keyset pages,
filters by type, error text and series, counts, bulk actions under the task rules, and a
series' run-now."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tasker import InputError, TaskStatus
from tasker.limits import BULK_BATCH
from polling import wait_until


def walk(app, limit, **filters):
    """Every page of a listing, following ``next``; the ids in order and the pages' sizes."""
    ids, sizes, after = [], [], None
    while True:
        page = app.page(limit=limit, after=after, **filters)
        ids += [t.id for t in page.tasks]
        sizes.append(len(page.tasks))
        if page.next is None:
            return ids, sizes
        after = page.next


@pytest.fixture
def history(app):
    """Succeeded, failed (with different errors), cancelled, due and delayed tasks of three types."""
    @app.handler("send", max_attempts=1)
    def send(payload):
        if payload.get("error"):
            raise ConnectionError(payload["error"])
        return "sent"

    @app.handler("resize", max_attempts=1)
    def resize(payload):
        raise ValueError("image too LARGE to resize")

    ids = {
        "ok": [app.create("send", {"n": n}) for n in range(4)],
        "timeout": [app.create("send", {"error": f"Read TIMEOUT after {n} s"}) for n in range(3)],
        "refused": [app.create("send", {"error": "connection refused"})],
        "resize": [app.create("resize", {"n": n}) for n in range(2)],
    }
    app.process_queue()
    ids["cancelled"] = [app.create("send", {"n": 9})]
    app.cancel(ids["cancelled"][0])
    ids["delayed"] = [app.create("report", {"n": n}, delay=3600) for n in range(2)]
    ids["due"] = [app.create("report", {"n": 5})]
    return ids


def test_pages_cover_the_history_newest_first_without_gaps_or_repeats(app, history):
    every = [t.id for t in app.list(limit=1000)]
    assert len(every) == 14 and every == sorted(every, reverse=True), "newest first: ids are time-ordered"
    assert walk(app, 4) == (every, [4, 4, 4, 2])
    assert walk(app, 7) == (every, [7, 7]), "a full last page says there is no next"
    sends, _ = walk(app, 3, type="send")
    assert sends == [t.id for t in app.list(type="send", limit=1000)] and len(sends) == 9
    failed, _ = walk(app, 2, status="failed", type="send")
    assert set(failed) == set(history["timeout"] + history["refused"])
    assert app.list(type="send", after=sends[0]) == app.list(type="send")[1:]


def test_a_cursor_survives_deletions_and_new_tasks(app, history):
    first = app.page(limit=5)
    assert app.delete(first.tasks[-1].id)               # the cursor's own task is gone
    app.create("send", {"n": 100})                        # and a newer one arrived
    second = app.page(limit=5, after=first.next)
    every = [t.id for t in app.list(limit=1000)]
    assert [t.id for t in second.tasks] == [i for i in every if i < first.next][:5]
    assert not {t.id for t in first.tasks} & {t.id for t in second.tasks}


def test_error_text_filter_is_a_case_insensitive_substring_of_the_last_error(app, history):
    found = {t.id for t in app.list(error="timeout")}
    assert found == set(history["timeout"])
    assert {t.id for t in app.list(error="Read timeout AFTER 1")} == {history["timeout"][1]}
    assert {t.id for t in app.list(error="large", type="resize")} == set(history["resize"])
    assert app.list(error="large", type="send") == []
    assert app.list(error="no task failed like this") == []
    assert {t.id for t in app.list(error="Error", status="failed")} == set(history["timeout"] + history["refused"] + history["resize"])


def test_an_error_search_with_a_scan_bound_says_where_it_stopped(app, history):
    """Six tasks have an error; with a budget of two per page the search pages through them."""
    with_errors = [t.id for t in app.list(limit=1000) if t.last_error]
    assert len(with_errors) == 6
    pages, after, found = [], None, []
    while True:
        page = app.page(error="timeout", scan=2, limit=10, after=after)
        pages.append(page)
        found += [t.id for t in page.tasks]
        if page.next is None:
            break
        assert page.scan_limited and page.next in with_errors, "it stopped on a task it read"
        after = page.next
    assert found == sorted(history["timeout"], reverse=True)
    assert len(pages) == 3 and not pages[-1].scan_limited
    unbounded = app.page(error="timeout", limit=2)
    assert len(unbounded.tasks) == 2 and unbounded.next == unbounded.tasks[-1].id and not unbounded.scan_limited


def test_count_matching_and_what_an_action_would_change(app, history):
    assert app.count() == 14
    assert app.count(type="send") == 9
    assert app.count(error="TIMEOUT") == 3
    assert app.count(action="retry") == 7                       # failed (6) and cancelled (1)
    assert app.count(type="send", action="retry") == 5
    assert app.count(action="cancel") == 3                      # queued, due or not
    assert app.count(action="run_now") == 2                     # only delayed ones
    assert app.count(action="delete") == 14
    assert app.count(cap=5) == 5
    assert app.count(ids=history["ok"] + history["timeout"], action="retry") == 3
    newest_ok = history["ok"][-1]
    assert app.count(type="send", status="succeeded", upto=newest_ok) == 4
    assert app.count(type="send", status="succeeded", upto=history["ok"][1]) == 2


def test_bulk_retry_follows_the_rules_and_reports_what_changed(app, history):
    assert app.bulk("retry", type="send", error="timeout") == 3
    for task_id in history["timeout"]:
        task = app.get(task_id)
        assert task.status is TaskStatus.QUEUED and task.max_attempts == 2 and task.finished_at is None
    assert app.get(history["refused"][0]).status is TaskStatus.FAILED
    assert app.bulk("retry", type="send", error="timeout") == 0, "queued now: nothing left to retry"
    assert app.bulk("retry") == 4                                # the other failed and the cancelled one
    assert app.count(action="retry") == 0


def test_bulk_cancel_run_now_and_delete(app, history):
    due_at = app.get(history["due"][0]).run_at
    assert app.bulk("run_now", type="report") == 2
    assert all(app.get(i).run_at < due_at + timedelta(seconds=60) for i in history["delayed"]), "due now, not in an hour"
    assert app.get(history["due"][0]).run_at == due_at, "a task already due keeps its place"
    assert app.count(action="run_now") == 0 and app.count(type="report", status="queued") == 3
    assert app.bulk("cancel", type="report", ids=history["delayed"]) == 2
    assert [app.get(i).status for i in history["delayed"] + history["due"]] == [TaskStatus.CANCELLED] * 2 + [TaskStatus.QUEUED]
    assert app.bulk("delete", status="succeeded") == 4
    assert all(app.get(i) is None for i in history["ok"])
    assert app.bulk("delete", type="nothing-like-it") == 0
    assert app.count() == 10


def test_bulk_goes_in_batches_newest_first_and_stops_at_its_limit(app):
    ids = app.create_many("bulk", [{"n": n} for n in range(BULK_BATCH * 2 + 17)], delay=3600)
    assert app.bulk("cancel", limit=BULK_BATCH + 3) == BULK_BATCH + 3
    cancelled = {t.id for t in app.list(status="cancelled", limit=10_000)}
    assert cancelled == set(ids[-(BULK_BATCH + 3):]), "the newest ones"
    assert app.bulk("cancel") == BULK_BATCH - 3 + 17
    assert app.count(status="queued") == 0


def test_bulk_leaves_out_tasks_newer_than_its_selection(app):
    older = app.create_many("job", [1, 2, 3], delay=60)
    newer = app.create("job", 4, delay=60)
    assert app.bulk("cancel", type="job", upto=older[-1]) == 3
    assert app.get(newer).status is TaskStatus.QUEUED


def test_bulk_retry_queues_one_task_per_unique_key(app):
    @app.handler(max_attempts=1)
    def flaky(payload):
        raise RuntimeError("down")

    first = app.create("flaky", 1, unique_key="k")
    app.process_queue()
    second = app.create("flaky", 2, unique_key="k")
    app.process_queue()
    other = app.create("flaky", 3, unique_key="other")
    app.process_queue()
    assert app.count(action="retry") == 3
    assert app.bulk("retry") == 2
    assert [app.get(i).status for i in (first, second, other)] == [TaskStatus.FAILED, TaskStatus.QUEUED, TaskStatus.QUEUED]
    assert app.bulk("retry") == 0, "the key is held by a live task"


def test_bulk_cancel_interrupts_running_tasks_but_not_uncancellable_ones(app):
    started, release = threading.Event(), threading.Event()
    running = []

    @app.handler()
    async def stoppable(payload, ctx):
        import asyncio

        running.append(payload)
        while not ctx.cancelled:
            await asyncio.sleep(0.01)
        return "stopped"

    @app.handler(cancellable=False)
    def steady(payload):
        started.set()
        release.wait(10)
        return "done"

    a, b = app.create("stoppable", 1), app.create("steady", 2)
    thread = threading.Thread(target=app.run_worker, kwargs={"concurrency": 2}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: app.count(status="running") == 2, timeout=10, message="both running")
        assert app.count(action="cancel") == 1
        assert app.bulk("cancel", status="running") == 1
        assert app.bulk("cancel", status="running") == 0, "asked already"
        wait_until(lambda: app.get(a).status is TaskStatus.CANCELLED, timeout=10, message="the running one cancelled")
        assert app.get(b).status is TaskStatus.RUNNING
        assert app.bulk("delete", status="running") == 0
        release.set()
        wait_until(lambda: app.get(b).status is TaskStatus.SUCCEEDED, timeout=10, message="the other finished")
    finally:
        release.set()
        app.stop_workers(now=True)
        thread.join(timeout=15)


def test_series_tasks_and_run_now(app):
    ran = []

    @app.handler()
    def sync(payload):
        ran.append(payload)

    series = app.schedule_every(3600, "sync", {"full": True}, name="hourly-sync", queue="ops")
    other = app.create("sync", {"full": False})
    run = app.run_schedule(series)
    task = app.get(run)
    assert task.series_id == series and task.payload == {"full": True} and task.queue == "ops"
    assert task.status is TaskStatus.QUEUED and task.fire_time is not None
    assert app.run_now(series) is True, "run_now takes a series id, as cancel does"
    runs = app.list(series_id=series)
    assert run in {t.id for t in runs} and other not in {t.id for t in runs} and len(runs) >= 2
    assert app.count(series_id=series.upper()) == len(runs)
    app.process_queue()
    assert ran.count({"full": True}) >= 2
    assert app.cancel(series)
    assert app.run_schedule(series) is None and app.run_now(series) is False
    assert app.run_schedule("01a2b3c4-0000-7000-8000-000000000000") is None
    assert app.run_schedule("not an id") is None


@pytest.mark.parametrize("call, field", [
    (lambda app: app.list(error=""), "error"),
    (lambda app: app.list(error="a\nb"), "error"),
    (lambda app: app.list(series_id="nope"), "series_id"),
    (lambda app: app.page(after="nope"), "after"),
    (lambda app: app.page(scan=0, error="x"), "scan"),
    (lambda app: app.count(ids="not a list"), "ids"),
    (lambda app: app.count(ids=["01a2b3c4-0000-7000-8000-000000000000", "x"]), "ids"),
    (lambda app: app.count(action="explode"), "action"),
    (lambda app: app.bulk("explode"), "action"),
    (lambda app: app.bulk("delete", upto="x"), "upto"),
    (lambda app: app.bulk("delete", limit=0), "limit"),
    (lambda app: app.bulk("delete", ids=["01a2b3c4-0000-7000-8000-000000000000"] * 10_001), "ids"),
])
def test_bad_filters_are_refused_naming_the_field_and_change_nothing(app, call, field):
    kept = app.create("job", 1)
    with pytest.raises(InputError) as refused:
        call(app)
    assert field in {p.field for p in refused.value.problems}
    assert app.get(kept).status is TaskStatus.QUEUED
