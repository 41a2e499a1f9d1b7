"""Producers and workers through a real PgBouncer in transaction mode (tests/pgbouncer.py):
no session state and no server-side prepared statements reach it, LISTEN is either off
(workers poll) or on a separate direct URL; the schema is migrated through the direct URL."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from pgbouncer import PgBouncerUnavailable, start_pgbouncer
from polling import wait_until
from stores import drop_schema, with_schema
from tasker import Tasker

APP = '''
from tasker import Tasker

app = Tasker()

@app.handler("echo")
def echo(payload):
    return payload
'''
N = 300


@pytest.fixture(scope="module")
def bouncer(pg_url: str):
    try:
        running = start_pgbouncer(pg_url)
    except PgBouncerUnavailable as exc:
        pytest.skip(f"no PgBouncer: {exc}")
    yield running
    running.stop()


@pytest.fixture
def schema(pg_url: str):
    name = f"t_{uuid.uuid4().hex[:16]}"
    Tasker(with_schema(pg_url, name)).migrate()   # DDL through the direct URL
    yield name
    drop_schema(pg_url, name)


def start_workers(url: str, tmp_path: Path, count: int, *options: str) -> list[subprocess.Popen]:
    (tmp_path / "bounced.py").write_text(APP)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    return [subprocess.Popen([sys.executable, "-m", "tasker", "worker", "bounced:app", "--url", url, "-c", "5",
                              "--log-level", "WARNING", *options], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(count)]


def stop(workers: list[subprocess.Popen]) -> str:
    """Stop the workers gracefully; their output (warnings, errors)."""
    for worker in workers:
        worker.terminate()
    return "".join(worker.communicate(timeout=30)[0].decode(errors="replace") for worker in workers)


def statuses(pg_url: str, schema: str) -> dict[str, int]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        return dict(conn.execute(f'SELECT status, count(*) FROM "{schema}".tasks GROUP BY status').fetchall())


def run_batch(app: Tasker, pg_url: str, schema: str) -> list[str]:
    """Single creates (past psycopg's prepare threshold of 5), a COPY batch, async reads."""
    ids = [app.create("echo", {"n": n}) for n in range(20)]
    ids += app.create_many("echo", [{"n": n} for n in range(20, N)])
    wait_until(lambda: statuses(pg_url, schema) == {"succeeded": N}, 60, interval=0.1,
               message=f"{N} tasks done through PgBouncer")
    assert app.get(ids[0]).result == {"n": 0} and app.get(ids[-1]).result == {"n": N - 1}
    assert app.stats()["succeeded"] == N
    return ids


def test_workers_poll_through_pgbouncer_with_listen_off(pg_url: str, bouncer, schema: str, tmp_path: Path):
    url = bouncer.url(schema=schema, listen="off")
    app = Tasker(url)
    workers = start_workers(url, tmp_path, 2)
    try:
        run_batch(app, pg_url, schema)
    finally:
        output = stop(workers)
        app.close()
    assert "prepared statement" not in output and "Traceback" not in output, output
    assert all(w.returncode == 0 for w in workers), output


def test_workers_listen_on_a_direct_url_beside_pgbouncer(pg_url: str, bouncer, schema: str, tmp_path: Path):
    """With a poll of 60 s, only a notification on the direct LISTEN connection can wake the
    idle workers in time for the wait below."""
    url = bouncer.url(schema=schema, listen_url=quote(pg_url, safe=""))
    app = Tasker(bouncer.url(schema=schema), listen_url=pg_url)
    workers = start_workers(url, tmp_path, 2, "--poll-interval", "60")
    try:
        wait_until(lambda: _listening(pg_url, schema) == 2, 20, interval=0.05, message="both workers LISTEN")
        time.sleep(0.2)   # past the claims every worker makes on start
        started = time.monotonic()
        task_id = app.create("echo", {"n": -1})
        assert app.result(task_id, timeout=10) == {"n": -1}
        assert time.monotonic() - started < 10
        run_batch_rest = [app.create("echo", {"n": n}) for n in range(9)]
        wait_until(lambda: statuses(pg_url, schema) == {"succeeded": 10}, 30, interval=0.1, message="all done")
        assert len(run_batch_rest) == 9
    finally:
        output = stop(workers)
        app.close()
    assert "prepared statement" not in output and "Traceback" not in output, output


def _listening(pg_url: str, schema: str) -> int:
    """Direct connections that LISTEN to this schema's channel (PgBouncer's never do)."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND client_port IS NOT NULL",
                            (f'LISTEN "tasker.{schema}"%',)).fetchone()[0]
