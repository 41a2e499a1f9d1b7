"""Tasker, on PostgreSQL (``--variant`` store=pg, the default) or SQLite.

The store is chosen by the namespace prefix given by run.py: ``--ns tpg_*`` is a
PostgreSQL schema, ``--ns tsq_*`` a SQLite file in the temp dir.
Variants: ``async`` uses the async API to enqueue (acreate / acreate_many)
instead of the sync one; ``synchandler`` registers a plain ``def`` handler;
``sleep`` an async handler that awaits ``asyncio.sleep(0.001)``, ``syncsleep`` a
``def`` handler that calls ``time.sleep(0.001)`` (benchmarks/handlers.py).
"""
from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import PG_DSN, Driver, WorkerProcess, call, read_records, record  # noqa: E402

from tasker import Tasker  # noqa: E402


def is_sqlite(ns: str) -> bool:
    return ns.startswith("tsq")


def url_for(ns: str, tmp: str) -> str:
    if is_sqlite(ns):
        return f"sqlite:///{os.path.join(tmp, ns + '.db')}"
    return f"{PG_DSN}?schema={ns}"


def make_app(ns: str, tmp: str, variant: str | None = None) -> Tasker:
    app = Tasker(url_for(ns, tmp))
    if variant == "synchandler":
        @app.handler("noop")
        def noop_sync(payload):
            record(payload["i"])
    elif variant == "sleep":
        @app.handler("noop")
        async def sleep_1ms(payload):
            record(payload["i"])
            await asyncio.sleep(0.001)
    elif variant == "syncsleep":
        @app.handler("noop")
        def sleep_1ms_sync(payload):
            record(payload["i"])
            time.sleep(0.001)
    else:
        @app.handler("noop")
        async def noop(payload):
            record(payload["i"])

    @app.handler("tick")
    async def tick(payload, ctx):
        record(ctx.task_id)

    return app


class TaskerDriver(Driver):
    name = "tasker"
    extra_workloads = {"schedule_series": "schedule_series", "schedule_at": "schedule_at", "rss": "rss"}

    async def setup(self, ns: str) -> None:
        self.ns = ns
        self.sqlite = is_sqlite(ns)
        os.makedirs(self.args.tmp, exist_ok=True)
        self.app = make_app(ns, self.args.tmp)
        self.async_api = self.variant == "async"
        if self.async_api:
            await self.app.amigrate()
        else:
            self.app.migrate()
        if self.sqlite:
            self.db = sqlite3.connect(os.path.join(self.args.tmp, ns + ".db"), isolation_level=None)
        else:
            import psycopg
            self.db = await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True)

    async def _count(self, where: str) -> int:
        if self.sqlite:
            return self.db.execute(f"SELECT count(*) FROM tasks WHERE {where}").fetchone()[0]
        cur = await self.db.execute(f"SELECT count(*) FROM {self.ns}.tasks WHERE {where}")
        return (await cur.fetchone())[0]

    async def enqueue_one(self, i: int) -> None:
        if self.async_api:
            await self.app.acreate("noop", {"i": i})
        else:
            self.app.create("noop", {"i": i})

    async def enqueue_batch(self, items: list[int]) -> None:
        payloads = [{"i": i} for i in items]
        if self.async_api:
            await self.app.acreate_many("noop", payloads)
        else:
            self.app.create_many("noop", payloads)

    async def remaining(self) -> int:
        return await self._count("status IN ('queued', 'running')")

    async def succeeded(self) -> int:
        # The public API, as a user would check.
        stats = (await self.app.astats()) if self.async_api else self.app.stats()
        return stats["succeeded"]

    async def teardown(self) -> None:
        if self.async_api:
            await self.app.aclose()
        self.app.close()
        if self.sqlite:
            self.db.close()
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(os.path.join(self.args.tmp, self.ns + ".db" + suffix))
                except FileNotFoundError:
                    pass
        else:
            await self.db.execute(f"DROP SCHEMA IF EXISTS {self.ns} CASCADE")
            await self.db.close()

    # -- worker side -----------------------------------------------------------------

    def worker_main(self, ns: str, concurrency: int) -> None:
        app = make_app(ns, self.args.tmp, self.variant)
        app.run_worker(concurrency=concurrency)  # SIGTERM stops it gracefully

    # -- Tasker-only workloads ------------------------------------------------------------

    async def _started_worker(self, wl: harness.Workloads) -> WorkerProcess:
        w = wl.worker("all")
        self.app.create("noop", {"i": -1})
        deadline = time.time() + harness.STALL_SECONDS
        while not read_records(wl.path("rec")):
            if time.time() > deadline or not w.alive():
                w.stop()
                raise RuntimeError(f"worker did not start:\n{w.tail()}")
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        return w

    async def schedule_series(self, wl: harness.Workloads) -> dict:
        """(e) lateness of a schedule_every(1.0) series: start - fire time, over N ticks."""
        ticks = self.args.ticks
        w = await self._started_worker(wl)
        try:
            series = self.app.schedule_every(1.0, "tick")
            deadline = time.time() + ticks * 1.0 + 30
            while True:
                recs = [r for r in read_records(wl.path("rec")) if r[0] != "-1"]
                if len(recs) >= ticks or time.time() > deadline:
                    break
                await asyncio.sleep(0.1)
            self.app.cancel(series)
        finally:
            w.stop()
        late = []
        for task_id, t_start in recs[:ticks]:
            task = self.app.get(task_id)
            due = task.fire_time or task.run_at
            late.append(t_start - due.timestamp())
        out = harness.summarize_ms(late)
        out.update({"early": sum(1 for x in late if x < 0), "late_over_1s": sum(1 for x in late if x > 1.0),
                    "ok": len(late) == ticks and all(0 <= x <= 1.0 for x in late)})
        return out

    async def schedule_at(self, wl: harness.Workloads) -> dict:
        """(e') schedule_at tasks at known times T (a few ms jitter, 0.25 s apart): start - T."""
        n = self.args.ticks
        w = await self._started_worker(wl)
        try:
            t0 = time.time() + 1.5
            due = {}
            for k in range(n):
                when = t0 + k * 0.25 + random.uniform(0, 0.05)
                task_id = self.app.schedule_at(datetime.fromtimestamp(when, timezone.utc), "tick")
                due[task_id] = when
            starts = await harness.wait_for_starts(wl.path("rec"), due, n, t0 + n * 0.25 + 30, 0.1)
        finally:
            w.stop()
        late = [starts[k] - due[k] for k in due if k in starts]
        out = harness.summarize_ms(late)
        out.update({"missing": n - len(late), "early": sum(1 for x in late if x < 0),
                    "late_over_1s": sum(1 for x in late if x > 1.0),
                    "ok": len(late) == n and all(0 <= x <= 1.0 for x in late)})
        return out

    async def rss(self, wl: harness.Workloads) -> dict:
        """(f) the worker's resident memory over N no-op tasks (VmRSS sampled in the worker)."""
        return await wl.process(rss=True)


if __name__ == "__main__":
    harness.main(TaskerDriver, os.path.abspath(__file__))
