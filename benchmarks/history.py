"""A long history on PostgreSQL: what reading it costs, and what it costs the workers.

    .venv/bin/python benchmarks/history.py                    # 10,000,000 tasks (about 10 minutes to build)
    .venv/bin/python benchmarks/history.py --rows 1000000 --keep

Builds the synthetic history of ``list_pages.py`` (mostly succeeded, 2% failed with
tracebacks, a queued backlog, a few running) in its own schema, the newest tasks finishing
now at 100 a second, so the dashboard's last hour holds 360,000 of them. The history is
written at schema version 6 (before the tallies) and then upgraded, so the upgrade of an
existing history is timed too. Then, each the median of 7 calls:

- the facade's reads: ``stats``, ``tallies``, ``list`` and ``page`` by each main filter,
  ``count``, ``activity``;
- the dashboard's pages and ``/metrics``, served in-process (no network);
- processing: no-op tasks through an in-process worker at concurrency 10, on this history
  (its queued and running tasks deleted first) and on an empty schema, interleaved, as a ratio;
  then on the history again while ``app.cleanup`` deletes the tasks older than a day.

The schema is dropped afterwards unless ``--keep``; a kept one of the same size is reused.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from list_pages import BUILD, _median as timed_median  # noqa: E402
from tasker import Tasker  # noqa: E402
from tasker.store import open_store, parse_url  # noqa: E402
from tasker.web import create_app  # noqa: E402

SCHEMA = "history_bench"
EMPTY = "history_bench_empty"
BEFORE_TALLIES = 6          # the schema version the history is written at, then upgraded from
RATE_MS = 10                # one task every 10 ms: 100 a second
STEP = 250_000
RUNS = 7
RARE_TYPES = 47          # besides three common types: 50 in all, each on one queue or more


def with_schema(dsn: str, schema: str) -> str:
    return dsn + ("&" if "?" in dsn else "?") + f"schema={schema}"


async def build(dsn: str, rows: int) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.tasks",))
        if (await cur.fetchone())[0]:
            cur = await conn.execute(f"SELECT count(*) FROM {SCHEMA}.tasks")
            if (await cur.fetchone())[0] == rows:
                print(f"reusing the kept history of {rows:,} tasks", file=sys.stderr)
                return
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    store = open_store(parse_url(with_schema(dsn, SCHEMA)))
    await store.open()
    await store.migrate_to(BEFORE_TALLIES)
    base = int(time.time() * 1000) - rows * RATE_MS
    started = time.monotonic()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for first in range(1, rows + 1, STEP):
            last = min(first + STEP - 1, rows)
            await conn.execute(BUILD.format(schema=SCHEMA), {"first": first, "last": last, "rows": rows, "base": base, "rare_types": RARE_TYPES})
            print(f"  built {last:,} rows ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        await conn.execute(f"VACUUM ANALYZE {SCHEMA}.tasks")
    upgrade = time.monotonic()
    versions = await store.migrate_to(None)
    print(f"\nUpgrading the history from version {BEFORE_TALLIES} to {max(versions)} (tallies seeded from it, "
          f"list indexes built): {time.monotonic() - upgrade:.1f} s\n")
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"VACUUM ANALYZE {SCHEMA}.tasks")
    await store.close()


async def median_ms(call: Callable[[], Awaitable[Any]], runs: int = RUNS) -> float:
    await call()   # warm: plans cached, pages in shared buffers
    return await timed_median(call, runs)


async def reads(dsn: str) -> list[tuple[str, float]]:
    app = Tasker(with_schema(dsn, SCHEMA))
    deep = (await app.apage(limit=100)).next
    calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("app.stats()", app.astats),
        ("app.tallies()", app.atallies),
        ("app.activity() (last hour)", app.aactivity),
        ("app.list(limit=100)", lambda: app.alist(limit=100)),
        ("app.list(status='failed')", lambda: app.alist("failed", limit=100)),
        ("app.list(status='queued')", lambda: app.alist("queued", limit=100)),
        ("app.list(type='sendWebhook')", lambda: app.alist(type="sendWebhook", limit=100)),
        ("app.list(type='job_5') (rare)", lambda: app.alist(type="job_5", limit=100)),
        ("app.list(type='sendWebhook', status='failed')", lambda: app.alist("failed", "sendWebhook", limit=100)),
        ("app.list(queue='reports')", lambda: app.alist(queue="reports", limit=100)),
        ("app.page(after=…) (second page)", lambda: app.apage(limit=100, after=deep)),
        ("app.page(error='timeout')", lambda: app.apage(limit=100, error="timeout")),
        ("app.count(status='failed')", lambda: app.acount("failed")),
    ]
    found = [(label, await median_ms(call)) for label, call in calls]
    web = create_app(app)
    transport = httpx.ASGITransport(app=web, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for path in ("/", "/tasks", "/tasks?status=failed", "/tasks?type=job_5", "/tasks?error=timeout",
                     "/schedules", "/workers", "/metrics", "/api/stats", "/api/tasks?limit=100"):
            async def get(path: str = path) -> None:
                response = await client.get(path)
                response.raise_for_status()
            found.append((f"GET {path}", await median_ms(get)))
    await app.aclose()
    return found


async def process(dsn: str, schema: str, n: int) -> float:
    """Tasks a second through an in-process worker at concurrency 10, ``n`` no-op tasks."""
    app = Tasker(with_schema(dsn, schema))
    done = asyncio.Event()
    finished = 0

    @app.handler("bench_noop")
    async def noop(payload: Any) -> None:
        nonlocal finished
        finished += 1
        if finished == n:
            done.set()

    # Each run starts as a long-lived table would between autovacuum passes: the empty one
    # afresh, the history vacuumed (earlier runs' dead rows gone from the due index).
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        if schema == EMPTY:
            await conn.execute(f"DROP SCHEMA IF EXISTS {EMPTY} CASCADE")
        else:
            await conn.execute(f"VACUUM ANALYZE {schema}.tasks")
    await app.amigrate()
    await app.acreate_many("bench_noop", [{"i": i} for i in range(n)])
    started = time.perf_counter()
    worker = asyncio.create_task(app.arun_worker(concurrency=10))
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    app.stop_workers()
    await worker
    await app.aclose()
    return n / elapsed


async def processing(dsn: str, n: int, reps: int) -> tuple[list[float], list[float]]:
    # The history's own queued and running tasks (types no worker here handles) go first: the
    # comparison is about the finished history. A due backlog of unhandled types costs each
    # claim a walk past it, however long the history (README, "Scaling").
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"DELETE FROM {SCHEMA}.tasks WHERE status NOT IN ('succeeded', 'failed', 'cancelled')")
        await conn.execute(f"VACUUM ANALYZE {SCHEMA}.tasks")   # as autovacuum would, before the runs
    on_history, on_empty = [], []
    for _ in range(reps):
        on_empty.append(await process(dsn, EMPTY, n))
        on_history.append(await process(dsn, SCHEMA, n))
    return on_history, on_empty


async def during_cleanup(dsn: str, n: int, reps: int) -> tuple[list[float], int, float]:
    """Processing on the history while another client deletes its tasks older than a day
    (the oldest fifth or so) through app.cleanup, in its bounded batches."""
    cleaner = Tasker(with_schema(dsn, SCHEMA))
    started = time.perf_counter()
    cleanup = asyncio.create_task(cleaner.acleanup(older_than=86_400))
    rates = [await process(dsn, SCHEMA, n) for _ in range(reps)]
    deleted = await cleanup
    elapsed = time.perf_counter() - started
    await cleaner.aclose()
    return rates, deleted, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--tasks", type=int, default=20_000, help="no-op tasks per processing run")
    parser.add_argument("--reps", type=int, default=3, help="processing runs on each schema, interleaved")
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the history (and reuse it next time)")
    args = parser.parse_args()
    asyncio.run(build(args.dsn, args.rows))
    try:
        found = asyncio.run(reads(args.dsn))
        print(f"| with {args.rows:,} tasks stored | median of {RUNS} |\n|---|---|")
        for label, ms in found:
            print(f"| `{label}` | {ms:.1f} ms{'' if ms < 100 else ' (over 100 ms)'} |")
        history, empty = asyncio.run(processing(args.dsn, args.tasks, args.reps))
        print(f"\nProcessing {args.tasks:,} no-op tasks, concurrency 10, {args.reps} interleaved runs each:")
        print(f"  empty table:   {', '.join(f'{r:,.0f}' for r in empty)} tasks/s (median {statistics.median(empty):,.0f})")
        print(f"  {args.rows:,} stored: {', '.join(f'{r:,.0f}' for r in history)} tasks/s "
              f"(median {statistics.median(history):,.0f})")
        print(f"  ratio: ×{statistics.median(history) / statistics.median(empty):.2f}")
        during, deleted, took = asyncio.run(during_cleanup(args.dsn, args.tasks, args.reps))
        print(f"  on the history while app.cleanup(older_than=1 day) runs: {', '.join(f'{r:,.0f}' for r in during)} tasks/s "
              f"(×{statistics.median(during) / statistics.median(history):.2f} of the history without it); "
              f"the cleanup deleted {deleted:,} tasks in {took:.0f} s ({deleted / took:,.0f}/s)")
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {EMPTY} CASCADE")
            if not args.keep:
                conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


if __name__ == "__main__":
    main()
