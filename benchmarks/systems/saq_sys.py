"""saq on Redis (a reference, not PostgreSQL): queue.enqueue, Worker(concurrency=10).

saq has no bulk-enqueue call: a "batch" is 1,000 enqueue calls in flight at once
(asyncio.gather), which pipelines them over the connection pool.
Each run uses a fresh queue name; its keys are deleted afterwards.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import REDIS_URL, Driver, record  # noqa: E402

from saq import Queue, Worker  # noqa: E402


async def noop(ctx, *, i: int) -> None:
    record(i)


class SaqDriver(Driver):
    name = "saq"
    bulk_note = "no bulk API: 1,000 concurrent enqueue calls per batch (asyncio.gather)"

    async def setup(self, ns: str) -> None:
        self.ns = ns
        self.queue = Queue.from_url(REDIS_URL, name=ns)
        await self.queue.connect()

    async def enqueue_one(self, i: int) -> None:
        await self.queue.enqueue("noop", i=i)

    async def enqueue_batch(self, items: list[int]) -> None:
        await asyncio.gather(*(self.queue.enqueue("noop", i=i) for i in items))

    async def remaining(self) -> int:
        return await self.queue.count("incomplete")

    async def _job_keys(self) -> list[bytes]:
        return [k async for k in self.queue.redis.scan_iter(match=f"saq:job:{self.ns}:*", count=1000)]

    async def succeeded(self) -> int:
        keys = await self._job_keys()
        done = 0
        for start in range(0, len(keys), 1000):
            for raw in await self.queue.redis.mget(keys[start:start + 1000]):
                if raw and json.loads(raw).get("status") == "complete":
                    done += 1
        return done

    async def teardown(self) -> None:
        keys = await self._job_keys()
        keys += [k async for k in self.queue.redis.scan_iter(match=f"saq:{self.ns}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await self.queue.redis.delete(*keys[start:start + 1000])

    async def close(self) -> None:
        await self.queue.disconnect()

    def worker_main(self, ns: str, concurrency: int) -> None:
        async def main() -> None:
            queue = Queue.from_url(REDIS_URL, name=ns)
            worker = Worker(queue, functions=[noop], concurrency=concurrency)
            await worker.start()  # installs its own SIGTERM/SIGINT handlers

        asyncio.run(main())


if __name__ == "__main__":
    harness.main(SaqDriver, os.path.abspath(__file__))
