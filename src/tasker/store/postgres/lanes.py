"""How many pooled connections one event loop may use at once: one, until demand lasts.

A connection pool opens another connection whenever a borrower finds none free,
so the brief overlap of an idle worker's heartbeat, poll and schedule check
would keep several connections open for nothing. Lanes open a second (third...)
connection only for a statement that waited ``grow_after`` for one, and close
lanes again once they went unused for ``idle`` seconds.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncIterator

GROW_AFTER = 0.02   # seconds a statement waits for a busy connection before another is opened


class Lanes:
    """``async with lanes.lane():`` around each use of a pooled connection.

    >>> lanes = Lanes(limit=4, idle=60.0)
    >>> async with lanes.lane():
    ...     async with pool.connection() as conn: ...
    """

    def __init__(self, limit: int, idle: float, grow_after: float = GROW_AFTER):
        self.limit = limit
        self.idle = idle
        self.grow_after = grow_after
        self.open = 1          # lanes in use or ready
        self.busy = 0
        self.waiters: deque[asyncio.Future[None]] = deque()   # each is handed a lane another gives back
        self.all_busy_at = time.monotonic()   # the last time every lane was taken

    @asynccontextmanager
    async def lane(self) -> AsyncIterator[None]:
        await self._take()
        try:
            yield
        finally:
            self._give_back()

    async def _take(self) -> None:
        if self.busy < self.open:
            self._hold()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), self.grow_after)
                return   # handed over
            except asyncio.TimeoutError:
                pass
            if waiter.done():
                return
            if self.open < self.limit:   # demand lasts: one more connection
                self.waiters.remove(waiter)
                self.open += 1
                self._hold()
                return
            await waiter
        except BaseException:
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self._give_back()   # a lane was handed over as this caller gave up: pass it on
            raise

    def _hold(self) -> None:
        self.busy += 1
        if self.busy >= self.open:
            self.all_busy_at = time.monotonic()

    def _give_back(self) -> None:
        """Hand the lane to the first waiter (it stays busy), or free it; a lane no demand
        filled for ``idle`` seconds is closed (the pool closes its connection in time)."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1
        if self.open > 1 and time.monotonic() - self.all_busy_at > self.idle:
            self.open -= 1
            self.all_busy_at = time.monotonic()
