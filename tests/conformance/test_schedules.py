"""Recurring series on both stores: timing rules, exactly-once ticks, catch-up, cancel, redeploys."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from tasker import Tasker, TaskStatus
from tasker.series import build_spec, plan_ticks
from tasker.enqueue import TaskDefaults
from polling import wait_until

UTC = timezone.utc


def store_of(app):
    """The store behind the sync API (to drive tick materialization with an injected clock)."""
    return app.runtime.sync(app.runtime.store())


def materialize_at(app, now: float, lookahead: float = 2.0) -> int:
    store = store_of(app)
    return app.runtime.sync(store.materialize_schedules(now, lookahead, plan_ticks))


def insert_series(app, every, start: datetime, **options) -> str:
    spec = build_spec(every, options.pop("type", "tick"), None, TaskDefaults(), max_payload_bytes=10**6, now=start, **options)
    return app.runtime.sync(store_of(app).insert_schedule(spec))


def fire_times(app, type="tick") -> list[datetime]:
    return sorted(t.fire_time for t in app.list(type=type, limit=10_000))


def test_schedule_every_lists_the_series(app):
    interval_id = app.schedule_every(60, "tick", {"n": 1}, queue="cron", priority=3)
    cron_id = app.schedule_every("0 9 * * 1-5", "report", timezone="Europe/Paris")
    delta_id = app.schedule_every(timedelta(minutes=5), "sync", mode="after_finish")
    listed = {s.id: s for s in app.schedules()}
    assert set(listed) == {interval_id, cron_id, delta_id}
    assert listed[interval_id].every == 60 and listed[interval_id].queue == "cron" and listed[interval_id].payload == {"n": 1}
    assert listed[cron_id].cron == "0 9 * * 1-5" and listed[cron_id].timezone == "Europe/Paris"
    assert listed[cron_id].next_run_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).hour == 9
    assert listed[delta_id].mode == "after_finish"
    now = datetime.now(UTC)
    assert timedelta(seconds=55) < listed[interval_id].next_run_at - now < timedelta(seconds=65)


@pytest.mark.parametrize("args, kwargs, error, message", [
    (("61 * * * *", "t"), {}, ValueError, "invalid cron expression '61 \\* \\* \\* \\*'"),
    (("* * *", "t"), {}, ValueError, "cron"),
    (("not a cron", "t"), {}, ValueError, "cron"),
    (("0 9 * * *", "t"), {"timezone": "Mars/Base"}, ValueError, "unknown time zone 'Mars/Base'"),
    ((0, "t"), {}, ValueError, "interval must be positive"),
    ((-5, "t"), {}, ValueError, "interval must be positive"),
    ((timedelta(0), "t"), {}, ValueError, "interval must be positive"),
    ((60, "t"), {"timezone": "UTC"}, ValueError, "timezone applies to cron only"),
    ((None, "t"), {}, TypeError, "every must be seconds"),
    (("0 9 * * *", "t"), {"mode": "after_finish"}, ValueError, "after_finish"),
    ((60, "t"), {"mode": "sometimes"}, ValueError, "mode must be one of"),
    ((60, "t"), {"catch_up": 0}, ValueError, "catch_up must be >= 1"),
    ((60, "t"), {"unique_key": "x"}, TypeError, "unknown option"),
    ((60, ""), {}, ValueError, "task type must not be empty"),
    ((60, "t", {"x": object()}), {}, TypeError, "payload is not JSON-serializable"),
])
def test_bad_series_input_stores_nothing(app, args, kwargs, error, message):
    with pytest.raises(error, match=message):
        app.schedule_every(*args, **kwargs)
    assert app.schedules(include_cancelled=True) == []
    assert app.stats()["total"] == 0


def test_bad_periodic_declaration_fails_at_import(app):
    with pytest.raises(ValueError, match="invalid cron expression"):
        @app.periodic("99 * * * *")
        def broken(payload):
            return None


def test_fixed_rate_ticks_run_through_process_queue(app):
    runs = []

    @app.handler()
    def tick(payload, ctx):
        runs.append(ctx.task_id)

    series = app.schedule_every(0.3, "tick")
    wait_until(lambda: app.process_queue().succeeded >= 0 and len(runs) >= 4, timeout=15)
    tasks = [t for t in app.list(type="tick", limit=100) if t.status is TaskStatus.SUCCEEDED]
    assert all(t.series_id == series for t in tasks)
    ticks = sorted(t.fire_time for t in tasks)
    gaps = {round((b - a).total_seconds(), 3) for a, b in zip(ticks, ticks[1:])}
    assert gaps == {0.3}, "one task per tick, none skipped"
    assert all(t.started_at >= t.run_at for t in tasks), "never before its tick"


def test_each_tick_is_inserted_once_however_often_materialized(app):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    insert_series(app, 10, start)
    now = start.timestamp()
    for step in range(200):  # many workers racing look like many rounds at nearly the same instant
        materialize_at(app, now + step * 0.5)
        materialize_at(app, now + step * 0.5)
    ticks = fire_times(app)
    assert len(ticks) == len(set(ticks))
    expected = [start + timedelta(seconds=10 * k) for k in range(1, 11)]
    assert ticks == expected


def test_missed_ticks_default_to_one_catch_up_run(app):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    insert_series(app, 60, start, type="one")
    insert_series(app, 60, start, type="three", catch_up=3)
    materialize_at(app, (start + timedelta(minutes=10, seconds=30)).timestamp())
    assert fire_times(app, "one") == [start + timedelta(minutes=10)]
    assert fire_times(app, "three") == [start + timedelta(minutes=m) for m in (8, 9, 10)]
    materialize_at(app, (start + timedelta(minutes=10, seconds=59)).timestamp())
    assert fire_times(app, "one")[-1] == start + timedelta(minutes=11), "the next tick comes on time again"


def test_cron_with_injected_clock_across_daylight_saving(app):
    # Europe/Berlin springs forward on 2026-03-29 (02:00 -> 03:00) and falls back on 2026-10-25.
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    insert_series(app, "30 2 * * *", start, timezone="Europe/Berlin")
    clock = start.timestamp()
    while clock < datetime(2026, 3, 31, 12, tzinfo=UTC).timestamp():
        materialize_at(app, clock)
        clock += 600
    assert fire_times(app) == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),   # 02:30 CET
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),    # 02:30 does not exist: once, at 03:00 CEST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),   # 02:30 CEST
        datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
    ]


def test_cron_fall_back_fires_once(app):
    start = datetime(2026, 10, 23, 12, tzinfo=UTC)
    insert_series(app, "30 2 * * *", start, timezone="Europe/Berlin")
    clock = start.timestamp()
    while clock < datetime(2026, 10, 26, 12, tzinfo=UTC).timestamp():
        materialize_at(app, clock)
        clock += 600
    assert fire_times(app) == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 happens twice: only the first
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET
    ]


def test_failed_occurrence_retries_without_moving_ticks(app):
    calls = []

    @app.handler(retry_delay=0.05, max_attempts=2)
    def flaky_tick(payload, ctx):
        calls.append((ctx.task_id, ctx.attempt))
        raise RuntimeError("always")

    app.schedule_every(0.4, "flaky_tick")
    wait_until(lambda: app.process_queue() is not None and len({c[0] for c in calls}) >= 3, timeout=15)
    failed = [t for t in app.list(type="flaky_tick", limit=100) if t.status is TaskStatus.FAILED]
    assert failed and all(t.attempts == 2 for t in failed)
    ticks = sorted(t.fire_time for t in app.list(type="flaky_tick", limit=100))
    assert {round((b - a).total_seconds(), 3) for a, b in zip(ticks, ticks[1:])} == {0.4}
    assert app.schedules()[0].status == "active", "a failing occurrence never stops the series"


def test_after_finish_waits_for_the_previous_run(app):
    finished = []

    @app.handler()
    def slow(payload):
        time.sleep(0.3)
        finished.append(time.time())

    app.schedule_every(0.2, "slow", mode="after_finish")
    wait_until(lambda: app.process_queue() is not None and len(finished) >= 3, timeout=20)
    runs = sorted(app.list(type="slow", limit=100), key=lambda t: t.fire_time)
    done = [t for t in runs if t.status is TaskStatus.SUCCEEDED]
    for previous, following in zip(done, done[1:]):
        assert following.fire_time - previous.finished_at >= timedelta(seconds=0.19), "every after the finish"
    assert sum(1 for t in runs if t.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)) <= 1


def test_cancel_series_with_one_run_queued_and_one_running(app):
    started, release = threading.Event(), threading.Event()

    @app.handler()
    def held(payload, ctx):
        started.set()
        release.wait(15)
        return "done"

    series = app.schedule_every(0.5, "held")
    worker = threading.Thread(target=app.run_worker, kwargs={"concurrency": 1, "poll_interval": 0.05})
    worker.start()
    try:
        assert started.wait(15)
        running = app.list(type="held", status="running")
        wait_until(lambda: app.list(type="held", status="queued"), timeout=10, message="a queued next run")
        queued = app.list(type="held", status="queued")
        assert app.cancel(series) is True
        assert app.cancel(series) is False, "already cancelled"
        release.set()
        wait_until(lambda: app.get(running[0].id).status is TaskStatus.SUCCEEDED, timeout=10)
        assert all(app.get(t.id).status is TaskStatus.CANCELLED for t in queued)
        count = len(app.list(type="held", limit=1000))
        materialize_at(app, time.time() + 60)  # a live series would now have 120 more ticks
        assert len(app.list(type="held", limit=1000)) == count
        assert app.schedules() == [] and app.schedules(include_cancelled=True)[0].status == "cancelled"
    finally:
        release.set()
        app.stop_workers()
        worker.join(15)


def test_cancelling_one_occurrence_leaves_the_series(app):
    series = app.schedule_every(30, "tick")
    materialize_at(app, time.time() + 30)
    occurrence = app.list(type="tick")[0]
    assert app.cancel(occurrence.id) is True
    assert app.schedules()[0].id == series and app.schedules()[0].status == "active"


def test_redeploy_keeps_one_series(store_url):
    def deploy():
        app = Tasker(store_url)
        app.migrate()
        runs = []

        @app.periodic(0.3, name="heartbeat_report", max_attempts=1)
        def heartbeat_report(payload, ctx):
            runs.append(ctx.task_id)

        return app, runs

    first, first_runs = deploy()
    thread = threading.Thread(target=first.run_worker, kwargs={"concurrency": 2, "poll_interval": 0.05})
    thread.start()
    wait_until(lambda: len(first_runs) >= 2, timeout=15)
    first.stop_workers()
    thread.join(15)
    first.close()

    second, second_runs = deploy()
    thread = threading.Thread(target=second.run_worker, kwargs={"concurrency": 2, "poll_interval": 0.05})
    thread.start()
    wait_until(lambda: len(second_runs) >= 2, timeout=15)
    second.stop_workers()
    thread.join(15)
    series = second.schedules(include_cancelled=True)
    assert len(series) == 1 and series[0].name == "heartbeat_report"
    ticks = [t.fire_time for t in second.list(type="heartbeat_report", limit=1000)]
    assert len(ticks) == len(set(ticks)), "no tick ran twice across the redeploy"
    second.close()
