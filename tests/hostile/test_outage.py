"""The application's side of a PostgreSQL restart: its next calls go through (the pool drops
the connections the server closed before using them), and exiting without close() is quiet."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import timedelta

import pytest

import pg_server
from apps.harness import pg_url_with
from tasker import Tasker, TaskStatus


@pytest.fixture(scope="module")
def throwaway_pg():
    """A private PostgreSQL server this module may restart at will."""
    try:
        server = pg_server.start_throwaway_server()
    except pg_server.PostgresUnavailable as exc:
        pytest.skip(f"cannot start a throwaway PostgreSQL server: {exc}")
    yield server
    server.stop()


def test_every_public_method_works_right_after_a_restart(throwaway_pg):
    url = pg_url_with(throwaway_pg.url, schema="t_restart_calls")
    app = Tasker(url)
    app.migrate()

    @app.handler()
    def echo(payload):
        return payload

    # Fill both pools (the sync one for create, the loop's for the rest) with several connections.
    done = app.create("echo", 1)
    app.process_queue()
    failed = app.create("nohandler")
    async def six_at_once() -> None:
        await asyncio.gather(*(app.astats() for _ in range(6)))

    app.runtime.sync(six_at_once())
    for _ in range(3):
        app.create_many("echo", [1, 2])

    throwaway_pg.restart()

    calls = {
        "create": lambda: app.create("echo", {"after": "restart"}),
        "create_many": lambda: app.create_many("echo", [{"n": n} for n in range(60)]),
        "schedule_at": lambda: app.schedule_at(time.time() + 3600, "echo"),
        "schedule_in": lambda: app.schedule_in(timedelta(hours=1), "echo"),
        "schedule_every": lambda: app.schedule_every(3600, "echo"),
        "get": lambda: app.get(done),
        "list": lambda: app.list(),
        "stats": lambda: app.stats(),
        "schedules": lambda: app.schedules(),
        "workers": lambda: app.workers(),
        "activity": lambda: app.activity(),
        "result": lambda: app.result(done, timeout=5),
        "cancel": lambda: app.cancel(failed),
        "retry": lambda: app.retry(failed),
        "run_now": lambda: app.run_now(failed),
        "delete": lambda: app.delete(failed),
        "pause_queue": lambda: app.pause_queue("q"),
        "resume_queue": lambda: app.resume_queue("q"),
        "process_queue": lambda: app.process_queue(),
        "cleanup": lambda: app.cleanup(older_than=3600),
        "migrate": lambda: app.migrate(),
        "acreate": lambda: app.runtime.sync(app.acreate("echo", 2)),
        "aget": lambda: app.runtime.sync(app.aget(done)),
    }
    failures = {}
    for name, call in calls.items():
        try:
            call()
        except Exception as exc:  # collect them all, then report
            failures[name] = f"{type(exc).__name__}: {exc}"
    app.close()
    assert not failures, failures


def test_a_never_closed_app_exits_quietly_without_losing_a_write(throwaway_pg, tmp_path):
    url = pg_url_with(throwaway_pg.url, schema="t_atexit")
    with Tasker(url) as app:
        app.migrate()
    script = "from tasker import Tasker; import sys; app = Tasker(sys.argv[1]); app.create('t'); app.stats()"
    result = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    with Tasker(url) as app:
        assert app.stats()["queued"] == 1 and app.list()[0].status is TaskStatus.QUEUED
