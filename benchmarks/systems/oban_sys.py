"""oban (the Python port; Python 3.12): enqueue / enqueue_many, a worker with queues={"default": 10}.

Tables live in the schema named by ``prefix`` (oban's own option).
"""
from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import PG_DSN, Driver, record  # noqa: E402

import psycopg  # noqa: E402
from oban import Oban, worker  # noqa: E402
from oban.schema import install_sql  # noqa: E402
from psycopg_pool import AsyncConnectionPool  # noqa: E402


@worker(queue="default")
class Noop:
    async def process(self, job):
        record(job.args["i"])


async def make_pool(size: int) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(PG_DSN, min_size=1, max_size=size, open=False)
    await pool.open(wait=True)
    return pool


class ObanDriver(Driver):
    name = "oban"

    async def setup(self, ns: str) -> None:
        self.ns = ns
        self.db = await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True)
        await self.db.execute(f"CREATE SCHEMA {ns}")
        await self.db.execute(install_sql(prefix=ns))
        self.pool = await make_pool(4)
        self.oban = Oban(pool=self.pool, prefix=ns, name=f"client-{ns}")  # client mode: no queues

    async def enqueue_one(self, i: int) -> None:
        await self.oban.enqueue(Noop.new({"i": i}))

    async def enqueue_batch(self, items: list[int]) -> None:
        await self.oban.enqueue_many([Noop.new({"i": i}) for i in items])

    async def remaining(self) -> int:
        cur = await self.db.execute(
            f"SELECT count(*) FROM {self.ns}.oban_jobs WHERE state IN ('available', 'scheduled', 'executing', 'retryable')")
        return (await cur.fetchone())[0]

    async def succeeded(self) -> int:
        cur = await self.db.execute(f"SELECT count(*) FROM {self.ns}.oban_jobs WHERE state = 'completed'")
        return (await cur.fetchone())[0]

    async def teardown(self) -> None:
        await self.pool.close()
        await self.db.execute(f"DROP SCHEMA IF EXISTS {self.ns} CASCADE")
        await self.db.close()

    def worker_main(self, ns: str, concurrency: int) -> None:
        async def main() -> None:
            stop = asyncio.Event()
            harness.install_stop_signals(asyncio.get_running_loop(), stop.set)
            pool = await make_pool(10)
            async with Oban(pool=pool, prefix=ns, queues={"default": concurrency}):
                await stop.wait()
            await pool.close()

        asyncio.run(main())


if __name__ == "__main__":
    harness.main(ObanDriver, os.path.abspath(__file__))
