"""One heartbeat per worker process, and the rescue of tasks held by dead workers."""
from __future__ import annotations

import logging
from typing import Callable

from ..store.base import Store, WorkerInfo
from .repeat import repeat

log = logging.getLogger("tasker.worker")


class Heartbeat:
    """Every ``interval``: mark this worker alive, pick up cancellation requests
    missed by notification, and re-queue tasks of workers silent past ``lease``.

    Any number of workers may rescue at once: the statement skips rows another
    rescuer holds, and each lost task is re-queued by exactly one of them.
    """

    def __init__(
        self,
        store: Store,
        worker: WorkerInfo,
        interval: float,
        lease: float,
        on_cancel_requests: Callable[[list[str]], None],
        on_rescued: Callable[[list[str]], None],
    ):
        self.store = store
        self.worker = worker
        self.interval = interval
        self.lease = lease
        self.on_cancel_requests = on_cancel_requests
        self.on_rescued = on_rescued

    async def beat(self) -> None:
        cancels = await self.store.heartbeat(self.worker)
        if cancels:
            self.on_cancel_requests(cancels)

    async def rescue(self) -> None:
        rescued = await self.store.rescue_tasks(self.lease)
        if rescued:
            log.warning("rescued %d task(s) from workers silent for over %.1fs: %s", len(rescued), self.lease, ", ".join(rescued[:10]))
            self.on_rescued(rescued)

    async def step(self) -> None:
        await self.beat()
        await self.rescue()

    async def run(self) -> None:
        await repeat(self.step, self.interval, "heartbeat")
