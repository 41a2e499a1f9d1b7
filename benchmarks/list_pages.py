"""Listing pages over a long history on PostgreSQL: the time of each main filter's page and its plan.

    .venv/bin/python benchmarks/list_pages.py                 # 2,000,000 tasks (a few minutes to build)
    .venv/bin/python benchmarks/list_pages.py --rows 10000000 --keep

Builds a synthetic history in its own schema (``list_bench``, dropped afterwards unless
``--keep``; a kept one is reused): mostly succeeded tasks of a few common types and many
rare ones, 2% failed with tracebacks (a tenth of them timeouts), some cancelled, a queued
backlog partly delayed, a few running. Then each listing the dashboard makes runs through
the store's own statement (``list_tasks``, ``count_tasks``), first page and a page deep in
the history, and prints the median of 5 runs and the plan's access paths (EXPLAIN ANALYZE).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import psycopg  # noqa: E402

from tasker import Tasker  # noqa: E402
from tasker.limits import ERROR_SCAN  # noqa: E402
from tasker.store.records import filter_params  # noqa: E402
from tasker.task import TaskFilter  # noqa: E402

SCHEMA = "list_bench"
BASE_MS = 1_700_000_000_000   # the first task's creation time (ms since the epoch); one task every 10 ms after it
BUILD = """
INSERT INTO {schema}.tasks (id, type, payload, status, queue, priority, run_at, attempts, max_attempts, last_error,
                            created_at, started_at, finished_at, worker_id, series_id, fire_time)
SELECT (lpad(to_hex(%(base)s::bigint + g * 10), 12, '0') || '7000' || '8' || lpad(to_hex(g), 15, '0'))::uuid,
       CASE WHEN g %% 2 = 0 THEN 'sendWebhook' WHEN g %% 5 = 1 THEN 'resizeImage' WHEN g %% 7 = 3 THEN 'sendEmail'
            ELSE 'job_' || (g %% %(rare_types)s::int) END,
       jsonb_build_object('n', g, 'url', 'https://example.com/hooks/' || g),
       s.status,
       (ARRAY['default', 'emails', 'media', 'reports', 'webhooks'])[1 + g %% 5],
       0,
       CASE WHEN s.status = 'queued' AND g %% 2 = 0 THEN now() + interval '1 day' ELSE to_timestamp((%(base)s::bigint + g * 10) / 1000.0) END,
       CASE WHEN s.status = 'queued' THEN 0 ELSE 1 END, 3,
       CASE WHEN s.status = 'failed' THEN
            'Traceback (most recent call last):' || chr(10) || '  File "app/tasks.py", line ' || (g %% 400) || ', in handler'
            || chr(10) || repeat('    frame of the call stack' || chr(10), 12)
            || CASE WHEN g / 50 %% 10 = 0 THEN 'TimeoutError: Read timeout after 30 s (' || g || ')'
                    ELSE 'ValueError: bad input ' || md5(g::text) END
            END,
       to_timestamp((%(base)s::bigint + g * 10) / 1000.0),
       CASE WHEN s.status IN ('queued') THEN NULL ELSE to_timestamp((%(base)s::bigint + g * 10) / 1000.0) END,
       CASE WHEN s.status IN ('succeeded', 'failed', 'cancelled') THEN to_timestamp((%(base)s::bigint + g * 10 + 500) / 1000.0) END,
       CASE WHEN s.status = 'running' THEN '00000000-0000-7000-8000-000000000001'::uuid END,
       CASE WHEN g %% 1000 = 7 THEN '00000000-0000-7000-8000-0000000000aa'::uuid END,
       CASE WHEN g %% 1000 = 7 THEN to_timestamp((%(base)s::bigint + g * 10) / 1000.0) END
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g,
     LATERAL (SELECT CASE WHEN g > %(rows)s - 200 THEN (CASE WHEN g %% 4 = 0 THEN 'running' ELSE 'queued' END)
                          WHEN g > %(rows)s - 20000 THEN 'queued'
                          WHEN g %% 50 = 17 THEN 'failed'
                          WHEN g %% 100 = 33 THEN 'cancelled'
                          ELSE 'succeeded' END AS status) AS s
"""
CASES = [
    ("every task", {}),
    ("status=failed", {"status": "failed"}),
    ("status=succeeded", {"status": "succeeded"}),
    ("status=queued", {"status": "queued"}),
    ("status=running", {"status": "running"}),
    ("type=sendWebhook (half of all)", {"type": "sendWebhook"}),
    ("type=job_5 (rare)", {"type": "job_5"}),
    ("type=job_5 status=failed", {"type": "job_5", "status": "failed"}),
    ("type=sendWebhook status=failed", {"type": "sendWebhook", "status": "failed"}),
    ("queue=reports", {"queue": "reports"}),
    ("series", {"series_id": "00000000-0000-7000-8000-0000000000aa"}),
    ("error~timeout", {"error": "timeout"}),
    ("error~timeout status=failed type=sendWebhook", {"error": "TIMEOUT", "status": "failed", "type": "sendWebhook"}),
    ("error~no such text (scan bound)", {"error": "no such text anywhere"}),
]


def build(dsn: str, rows: int) -> None:
    app = Tasker(_with_schema(dsn, SCHEMA))
    app.migrate()
    app.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        have = conn.execute(f"SELECT count(*) FROM {SCHEMA}.tasks").fetchone()[0]
        if have == rows:
            return
        conn.execute(f"TRUNCATE {SCHEMA}.tasks CASCADE")
        started = time.monotonic()
        step = 250_000
        for first in range(1, rows + 1, step):
            conn.execute(BUILD.format(schema=SCHEMA), {"first": first, "last": min(first + step - 1, rows), "rows": rows, "base": BASE_MS, "rare_types": 997})
            print(f"  built {min(first + step - 1, rows):,} rows ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        conn.execute(f"VACUUM ANALYZE {SCHEMA}.tasks")


def _with_schema(dsn: str, schema: str) -> str:
    return dsn + ("&" if "?" in dsn else "?") + f"schema={schema}"


async def measure(dsn: str, explain: bool) -> None:
    app = Tasker(_with_schema(dsn, SCHEMA))
    store = await app.runtime.store()
    async with await psycopg.AsyncConnection.connect(dsn) as conn:   # a cursor half-way back in time
        cur = await conn.execute(f"SELECT id::text FROM {SCHEMA}.tasks ORDER BY id OFFSET (SELECT count(*) / 2 FROM {SCHEMA}.tasks) LIMIT 1")
        deep = (await cur.fetchone())[0]
    print(f"| listing (100 a page) | first page | deep page | count (cap 100,000) | plan |\n|---|---|---|---|---|")
    for label, filters in CASES:
        selection = TaskFilter(**filters)
        scan = ERROR_SCAN if selection.error else None
        first = await _median(lambda: store.list_tasks(selection, None, 100, scan))
        later = await _median(lambda: store.list_tasks(selection, deep, 100, scan))
        counted = await _median(lambda: store.count_tasks(selection, None, 100_000), runs=3)
        rows = scan or 100 + 1   # what the store reads: the page and one more, unless an error search's budget
        plan = await _plan(dsn, store.q["list_tasks"], {**filter_params(selection), "after": None, "limit": 100, "scan": rows}) if explain else ""
        print(f"| {label} | {first:.1f} ms | {later:.1f} ms | {counted:.0f} ms | {plan} |")
    await app.aclose()


async def _median(call, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _plan(dsn: str, sql: str, params: dict) -> str:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params, prepare=False)
        lines = [row[0] for row in await cur.fetchall()]
    scans = [re.sub(r"\s+\(cost.*", "", line).strip(" ->") for line in lines if re.search(r" Scan |Sort  \(", line)]
    return "; ".join(dict.fromkeys(scans))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the schema (and reuse it next time)")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()
    build(args.dsn, args.rows)
    try:
        asyncio.run(measure(args.dsn, not args.no_explain))
    finally:
        if not args.keep:
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


if __name__ == "__main__":
    main()
