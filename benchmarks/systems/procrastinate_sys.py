"""procrastinate 3 (psycopg connector): defer_async / batch_defer_async, run_worker_async(concurrency=10)."""
from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import PG_DSN, Driver, record  # noqa: E402

import procrastinate  # noqa: E402
import psycopg  # noqa: E402


def make_app(ns: str) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(conninfo=PG_DSN, kwargs={"options": f"-c search_path={ns}"})
    app = procrastinate.App(connector=connector)

    @app.task(name="noop", queue="default")
    async def noop(i: int) -> None:
        record(i)

    app.noop = noop
    return app


class ProcrastinateDriver(Driver):
    name = "procrastinate"

    async def setup(self, ns: str) -> None:
        self.ns = ns
        self.db = await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True)
        await self.db.execute(f"CREATE SCHEMA {ns}")
        await self.db.execute(f"SET search_path = {ns}")
        self.app = make_app(ns)
        await self.app.open_async()
        await self.app.schema_manager.apply_schema_async()

    async def enqueue_one(self, i: int) -> None:
        await self.app.noop.defer_async(i=i)

    async def enqueue_batch(self, items: list[int]) -> None:
        await self.app.noop.batch_defer_async(*({"i": i} for i in items))

    async def remaining(self) -> int:
        cur = await self.db.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
        return (await cur.fetchone())[0]

    async def succeeded(self) -> int:
        cur = await self.db.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'")
        return (await cur.fetchone())[0]

    async def teardown(self) -> None:
        await self.app.close_async()
        await self.db.execute(f"DROP SCHEMA IF EXISTS {self.ns} CASCADE")
        await self.db.close()

    def worker_main(self, ns: str, concurrency: int) -> None:
        async def main() -> None:
            app = make_app(ns)
            async with app.open_async():
                # Its own SIGTERM/SIGINT handling stops it gracefully.
                await app.run_worker_async(concurrency=concurrency, install_signal_handlers=True)

        asyncio.run(main())


if __name__ == "__main__":
    harness.main(ProcrastinateDriver, os.path.abspath(__file__))
