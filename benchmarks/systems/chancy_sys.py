"""chancy: push / push_many, a Worker on Queue("default", concurrency=10, AsyncExecutor).

Chancy's queue loop fetches only on its polling interval or on a "pushed"
notification, never when a slot frees: with the default polling_interval (5 s)
a pre-filled queue runs 10 jobs per 5 s. We set polling_interval=0.01 (env
BENCH_CHANCY_POLL), its best throughput setting here, and say so in the results.

Tables go to the run's schema through the connection's search_path.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import PG_DSN, Driver, record  # noqa: E402

import psycopg  # noqa: E402
from chancy import Chancy, Job, Queue, Worker  # noqa: E402

POLL = float(os.environ.get("BENCH_CHANCY_POLL", "0.01"))
QUIET = logging.getLogger("bench.chancy")
QUIET.setLevel(logging.WARNING)


async def noop(i: int) -> None:
    record(i)


def dsn(ns: str) -> str:
    return f"{PG_DSN}?options=-csearch_path%3D{ns}"


def job(i: int) -> Job:
    return Job(func="__main__.noop", kwargs={"i": i}, queue="default")


class ChancyDriver(Driver):
    name = "chancy"
    bulk_note = "push_many: one transaction per batch, one INSERT per job inside it"
    # The worker writes finished jobs in a batch about once a second (Worker.send_outgoing_interval).
    completion_lag_s = 1.5

    async def setup(self, ns: str) -> None:
        self.ns = ns
        self.db = await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True)
        await self.db.execute(f"CREATE SCHEMA {ns}")
        self.chancy = Chancy(dsn(ns), log=QUIET)
        await self.chancy.__aenter__()
        await self.chancy.migrate()
        await self.chancy.declare(Queue("default", concurrency=self.args.concurrency,
                                        executor=Chancy.Executor.Async, polling_interval=POLL))

    async def enqueue_one(self, i: int) -> None:
        await self.chancy.push(job(i))

    async def enqueue_batch(self, items: list[int]) -> None:
        async for _refs in self.chancy.push_many([job(i) for i in items], batch_size=len(items)):
            pass

    async def remaining(self) -> int:
        cur = await self.db.execute(
            f"SELECT count(*) FROM {self.ns}.chancy_jobs WHERE state NOT IN ('succeeded', 'failed')")
        return (await cur.fetchone())[0]

    async def succeeded(self) -> int:
        cur = await self.db.execute(f"SELECT count(*) FROM {self.ns}.chancy_jobs WHERE state = 'succeeded'")
        return (await cur.fetchone())[0]

    async def teardown(self) -> None:
        await self.chancy.__aexit__(None, None, None)
        await self.db.execute(f"DROP SCHEMA IF EXISTS {self.ns} CASCADE")
        await self.db.close()

    def worker_main(self, ns: str, concurrency: int) -> None:
        async def main() -> None:
            async with Chancy(dsn(ns), log=QUIET) as chancy:
                async with Worker(chancy, register_signal_handlers=True) as w:
                    await w.wait_for_shutdown()

        asyncio.run(main())


if __name__ == "__main__":
    harness.main(ChancyDriver, os.path.abspath(__file__))
