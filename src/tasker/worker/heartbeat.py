"""One heartbeat per worker process, and the rescue of tasks held by dead workers."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from ..background import repeat
from ..store.base import Store
from ..store.records import HeldClaim, WorkerInfo

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
        on_claims: Callable[[list[HeldClaim], float], None],
        on_rescued: Callable[[list[str]], None],
    ):
        self.store = store
        self.worker = worker
        self.interval = interval
        self.lease = lease
        self.on_claims = on_claims
        self.on_rescued = on_rescued
        self.last_beat = time.monotonic()   # when the last heartbeat was written
        self.rescue_after = 0.0
        self.confirmed = time.monotonic()   # the send time of the last beat whose claims were reconciled
        self.beaten = asyncio.Event()       # set (and replaced) at each reconciled beat

    async def beat(self) -> None:
        """Mark this worker alive; report the claims the store says it holds.

        After a gap of its own (a stall, an outage) longer than half the lease,
        this worker waits one lease before rescuing: its peers were cut off too,
        and their heartbeats have not landed yet.
        """
        sent_at = time.monotonic()
        claims = await self.store.heartbeat(self.worker)
        written_at = time.monotonic()  # a beat stuck behind a lock or an outage counts when it lands
        if written_at - self.last_beat > self.lease / 2:
            self.rescue_after = written_at + self.lease
        self.last_beat = written_at
        self.on_claims(claims, sent_at)
        self.confirmed = sent_at
        self.beaten.set()
        self.beaten = asyncio.Event()

    def stale(self) -> bool:
        """True after a gap of this worker's own (a stall, SIGSTOP, an outage) longer than half the
        lease: its claims may have been rescued meanwhile, and it cannot know until it beats.
        Measured from when the last reconciled beat was sent, not when it landed: a beat in
        flight across the gap brings back claims read before it."""
        return time.monotonic() - self.confirmed > self.lease / 2

    async def reconciled_since(self, since: float) -> None:
        """Wait for a beat sent after ``since`` whose claims have been reconciled."""
        while self.confirmed < since:
            await self.beaten.wait()

    async def rescue(self) -> None:
        if time.monotonic() < self.rescue_after:
            return
        rescued = await self.store.rescue_tasks(self.lease)
        if rescued:
            log.warning("rescued %d task(s) from workers silent for over %.1fs: %s", len(rescued), self.lease, ", ".join(rescued[:10]))
            self.on_rescued(rescued)

    async def step(self) -> None:
        await self.beat()
        await self.rescue()

    async def run(self) -> None:
        await repeat(self.step, self.interval, "heartbeat")
