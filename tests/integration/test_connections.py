"""How many PostgreSQL connections a process holds, counted in pg_stat_activity by the
``application_name`` each test gives its process: an idle ``tasker worker`` holds at most 2
(LISTEN and one pooled), a busy one at most 1 + ``pool_size`` (its sync handlers' creates
included), a producer none until it creates a task."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from apps.harness import pg_url_with
from polling import wait_until
from stores import drop_schema
from tasker import Tasker

APP = '''
import asyncio
from tasker import Tasker

app = Tasker()

@app.handler("nap")
async def nap(payload):
    await asyncio.sleep(payload["seconds"])

@app.handler("spawn")
def spawn(payload):   # a sync handler creating tasks: through the worker's own pool
    app.create_many("nap", [{"seconds": 0.01}] * 3)
    app.create("nap", {"seconds": 0.01})
'''


@pytest.fixture
def schema(pg_url: str):
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    drop_schema(pg_url, name)


def held(pg_url: str, application_name: str) -> int:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)).fetchone()[0]


def most_held(pg_url: str, application_name: str, seconds: float) -> int:
    """The most connections held at any of a few dozen looks over ``seconds``."""
    most, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        most = max(most, held(pg_url, application_name))
        time.sleep(0.05)
    return most


def start_worker(url: str, tmp_path: Path) -> subprocess.Popen:
    (tmp_path / "connapp.py").write_text(APP)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), TASKER_URL=url)
    return subprocess.Popen([sys.executable, "-m", "tasker", "worker", "connapp:app", "-c", "10", "--log-level", "WARNING"],
                            env=env, cwd=tmp_path)


def test_a_worker_holds_two_connections_idle_and_one_plus_its_pool_busy(pg_url: str, schema: str, tmp_path: Path):
    name = f"w_{schema}"
    url = pg_url_with(pg_url, schema=schema, application_name=name, pool_size="2")
    producer = Tasker(url.replace(name, f"p_{schema}"))
    producer.migrate()
    worker = start_worker(url, tmp_path)
    try:
        wait_until(lambda: held(pg_url, name) >= 2, 20, interval=0.05, message="the worker connected")
        # At once, unless a loaded machine slowed its first statements past 20 ms (then the
        # extra connections close one per 10 s).
        wait_until(lambda: held(pg_url, name) <= 2, 40, interval=0.1, message="the idle worker at 2 connections")
        idle = most_held(pg_url, name, 3.0)   # a poll or two (every 2 s), maybe a heartbeat (5 s)
        producer.create_many("spawn", [{}] * 100)
        producer.create_many("nap", [{"seconds": 0.05}] * 300)
        busy = most_held(pg_url, name, 2.0)
        assert producer.count(status="succeeded", type="spawn") > 0, "the worker did not get to work while it was watched"
    finally:
        worker.terminate()
        worker.wait(20)
        producer.close()
    print(f"connections held: idle {idle}, busy {busy} (pool_size=2)")
    assert idle <= 2
    assert busy <= 1 + 2


def test_a_producer_connects_on_first_use(pg_url: str, schema: str):
    name = f"p_{schema}"
    Tasker(pg_url_with(pg_url, schema=schema)).migrate()
    producer = Tasker(pg_url_with(pg_url, schema=schema, application_name=name))
    try:
        assert held(pg_url, name) == 0
        producer.create("nap", {"seconds": 0})
        after_create = held(pg_url, name)
        producer.create_many("nap", [{"seconds": 0}] * 100)
        after_many = held(pg_url, name)
    finally:
        producer.close()
    print(f"producer connections: before use 0, after create {after_create}, after create_many {after_many}")
    # The schema check (the async pool's) and the insert (the sync pool's): each pool's one.
    assert after_create <= 2 and after_many <= 2
    assert held(pg_url, name) == 0, "close() left connections open"
