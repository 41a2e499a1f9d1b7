"""pgqueuer (asyncpg driver, its default): Queries.enqueue, QueueManager worker.

Concurrency 10 in one worker: ``QueueManager.run(batch_size=5, max_concurrent_tasks=10)``
(pgqueuer requires max_concurrent_tasks >= 2 x batch_size). Completed jobs are
deleted from the queue table and logged, so "remaining" is the queue table's size.
"""
from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import PG_DSN, Driver, record  # noqa: E402

import asyncpg  # noqa: E402
from pgqueuer.db import AsyncpgDriver  # noqa: E402
from pgqueuer.models import Job  # noqa: E402
from pgqueuer.qm import QueueManager  # noqa: E402
from pgqueuer.queries import Queries  # noqa: E402

BATCH_SIZE = int(os.environ.get("BENCH_PGQ_BATCH", "5"))
MODE = os.environ.get("BENCH_PGQ_MODE", "global")


async def connect(ns: str) -> asyncpg.Connection:
    return await asyncpg.connect(PG_DSN, server_settings={"search_path": ns})


class PgqueuerDriver(Driver):
    name = "pgqueuer"

    async def setup(self, ns: str) -> None:
        self.ns = ns
        admin = await asyncpg.connect(PG_DSN)
        await admin.execute(f"CREATE SCHEMA {ns}")
        await admin.close()
        self.conn = await connect(ns)
        self.q = Queries(AsyncpgDriver(self.conn))
        await self.q.install()
        self.stat = await connect(ns)

    async def enqueue_one(self, i: int) -> None:
        await self.q.enqueue("noop", str(i).encode(), 0)

    async def enqueue_batch(self, items: list[int]) -> None:
        await self.q.enqueue(["noop"] * len(items), [str(i).encode() for i in items], [0] * len(items))

    async def concurrent_producer(self) -> PgqueuerDriver:
        # An asyncpg connection runs one statement at a time: a second enqueuer needs its own.
        producer = PgqueuerDriver(self.args)
        producer.conn = producer.stat = await connect(self.ns)
        producer.q = Queries(AsyncpgDriver(producer.conn))
        return producer

    async def remaining(self) -> int:
        return await self.stat.fetchval("SELECT count(*) FROM pgqueuer")

    async def succeeded(self) -> int:
        logged = await self.stat.fetchval("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
        aggregated = await self.stat.fetchval(
            "SELECT coalesce(sum(count), 0) FROM pgqueuer_statistics WHERE status = 'successful'")
        return max(logged, aggregated)

    async def teardown(self) -> None:
        await self.stat.execute(f"DROP SCHEMA IF EXISTS {self.ns} CASCADE")

    async def close(self) -> None:
        await self.conn.close()
        await self.stat.close()   # a no-op when it is conn (a concurrent producer's)

    def worker_main(self, ns: str, concurrency: int) -> None:
        async def main() -> None:
            conn = await connect(ns)
            qm = QueueManager(Queries(AsyncpgDriver(conn)))

            # MODE "global" (default): max_concurrent_tasks caps this worker at `concurrency`.
            # MODE "entrypoint": the entrypoint's concurrency_limit does (enforced in SQL).
            limit = concurrency if MODE == "entrypoint" else 0

            @qm.entrypoint("noop", concurrency_limit=limit)
            async def noop(job: Job) -> None:
                record(job.payload.decode())

            harness.install_stop_signals(asyncio.get_running_loop(), qm.shutdown.set)
            await qm.run(batch_size=BATCH_SIZE if MODE != "entrypoint" else concurrency,
                         max_concurrent_tasks=concurrency if MODE != "entrypoint" else None,
                         dequeue_timeout=timedelta(seconds=30))
            await conn.close()

        asyncio.run(main())


if __name__ == "__main__":
    harness.main(PgqueuerDriver, os.path.abspath(__file__))
