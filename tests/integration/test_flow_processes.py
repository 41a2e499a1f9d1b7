"""Flow control across real worker processes (issue 17): the limits hold fleet-wide,
also while a worker is killed and its tasks rescued; partition keys take turns.

Workers are ``tests/apps/worker_app.py`` subprocesses whose ``limited`` handler takes
its limits from the environment and records each run's start and end.
"""
from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from apps.harness import Db, Spawner, wait_all_done, wait_registered
from polling import wait_until
from tasker import Tasker

FAST = {"LEASE": 2.0, "HEARTBEAT": 0.3, "LOGLEVEL": "WARNING"}


@pytest.fixture
def db(app: Tasker, store_url: str):
    d = Db(store_url)
    d.create_executions()
    yield d
    d.close()


@pytest.fixture
def spawn(tmp_path: Path):
    spawner = Spawner(tmp_path)
    yield spawner
    spawner.close()


def most_overlapping(runs: list[tuple[float, float]]) -> int:
    """The most runs in progress at any one instant (an end before a start at the same time)."""
    events = sorted([(start, 1) for start, _ in runs] + [(end, -1) for _, end in runs], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def most_in_window(times: list[float], window: float) -> int:
    """The most of ``times`` within any half-open window of this length."""
    times, most, first = sorted(times), 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - window:
            first += 1
        most = max(most, last - first + 1)
    return most


def runs(db: Db, killed_at: float | None = None) -> list[tuple[float, float]]:
    """Each run's (start, end); a run whose process was killed ended with it."""
    rows = db.rows("SELECT started_at, finished_at FROM executions")
    return [(start, end if end is not None else killed_at) for start, end in rows if end is not None or killed_at]


def test_concurrency_limit_holds_across_processes_and_a_kill(app: Tasker, store_url: str, store_kind: str, db: Db, spawn):
    """4 processes x concurrency 10, a type limited to 3: never more than 3 at once over 500
    tasks, with a worker killed half-way (its tasks count as running until rescued)."""
    if store_kind == "sqlite":
        pytest.skip("PostgreSQL at full size; test_sqlite_processes_share_a_concurrency_limit covers SQLite")
    workers = [spawn(store_url, C=10, FLOW_CONCURRENCY=3, **FAST) for _ in range(4)]
    wait_registered(db, 4)
    ids = app.create_many("limited", [{"seconds": 0.005 + (n % 4) * 0.005} for n in range(500)])
    wait_until(lambda: db.count() >= 200, 60, interval=0.05, message="200 runs")
    killed_at = time.time()
    workers[0].send(signal.SIGKILL)
    workers[0].wait_exit(5)
    wait_all_done(db, 120, workers[1:])

    assert app.count(status="succeeded") == len(ids)
    assert most_overlapping(runs(db, killed_at)) <= 3
    assert most_overlapping(runs(db, killed_at)) == 3, "the limit was never reached: the test shows nothing"


def test_sqlite_processes_share_a_concurrency_limit(app: Tasker, store_url: str, store_kind: str, db: Db, spawn):
    if store_kind != "sqlite":
        pytest.skip("the PostgreSQL case is the test above")
    # One task at a time per process, a limit of 2 across three: reaching 2 at once takes two
    # processes, and the third must be kept out by the limit alone.
    workers = [spawn(store_url, C=1, FLOW_CONCURRENCY=2, **FAST) for _ in range(3)]
    wait_registered(db, 3)
    app.create_many("limited", [{"seconds": 0.05} for _ in range(60)])
    wait_all_done(db, 60, workers)
    assert app.count(status="succeeded") == 60
    assert most_overlapping(runs(db)) == 2
    assert len({pid for (pid,) in db.rows("SELECT DISTINCT pid FROM executions")}) >= 2


def test_rate_limit_holds_across_processes(app: Tasker, store_url: str, store_kind: str, db: Db, spawn):
    """rate_limit="20/s", 200 tasks, 4 processes: no 1-second window holds more than 20 starts,
    and it takes about 10 s, not much longer (workers sleep until the next slot)."""
    if store_kind == "sqlite":
        pytest.skip("PostgreSQL; the SQLite rate limit is covered in tests/conformance/test_flow_control.py")
    workers = [spawn(store_url, C=10, FLOW_RATE="20/s", **FAST) for _ in range(4)]
    wait_registered(db, 4)
    began = time.monotonic()
    app.create_many("limited", [{"seconds": 0.001} for _ in range(200)])
    wait_all_done(db, 60, workers)
    took = time.monotonic() - began

    # The starts as the store stamped them when it handed each task out (handlers begin a few
    # milliseconds later, unevenly, so their own clocks would blur the windows' edges).
    kind = "extract(epoch FROM at)::float8" if store_kind == "postgres" else "at"
    starts = [at for (at,) in db.rows(f"SELECT {kind} FROM flow_starts WHERE name = 'limited'")]
    assert len(starts) == 200 and db.count("attempts = 1") == 200
    assert most_in_window(starts, 1.0) <= 20
    assert took < 20, f"200 starts at 20/s took {took:.1f}s"   # a bound on sleeping past free slots, not a speed test
    print(f"200 tasks at 20/s in {took:.1f}s")


def test_partition_keys_serial_per_key_and_a_small_key_is_not_starved(app: Tasker, store_url: str, db: Db, spawn):
    workers = [spawn(store_url, C=4, FLOW_CONCURRENCY=1, **FAST) for _ in range(2)]
    wait_registered(db, 2)
    big = app.create_many("limited", [{"seconds": 0.05} for _ in range(40)], partition_key="tenant:big")
    other = app.create_many("limited", [{"seconds": 0.05} for _ in range(10)], partition_key="tenant:other")
    wait_until(lambda: db.count() >= 5, 30, interval=0.02, message="the big key under way")
    created = time.time()
    small = app.create("limited", {"seconds": 0.05}, partition_key="tenant:small")
    wait_all_done(db, 60, workers)

    by_key = {"big": big, "other": other, "small": [small]}
    for key, ids in by_key.items():
        marks = ",".join("?" * len(ids))
        rows = db.rows(f"SELECT started_at, finished_at FROM executions WHERE task_id IN ({marks})", tuple(ids))
        assert most_overlapping([(s, e) for s, e in rows]) == 1, f"key {key} ran more than one at once"
    small_start = db.value("SELECT started_at FROM executions WHERE task_id = ?", (small,))
    marks = ",".join("?" * len(big))
    big_meanwhile = db.value(f"SELECT count(*) FROM executions WHERE task_id IN ({marks}) AND started_at > ? AND started_at < ?",
                             (*big, created, small_start))
    assert big_meanwhile <= 2, f"{big_meanwhile} tasks of the big key started before the small key's one"
