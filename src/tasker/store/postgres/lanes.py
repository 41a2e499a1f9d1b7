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
from contextlib import asynccontextmanager
from typing import AsyncIterator

GROW_AFTER = 0.02   # seconds a statement waits for a busy connection before another is opened


class Lanes:
    """``async with lanes.lane():`` around each use of a pooled connection.

    >>> lanes = Lanes(limit=4)
    >>> async with lanes.lane():
    ...     async with pool.connection() as conn: ...
    """

    def __init__(self, limit: int, idle: float, grow_after: float = GROW_AFTER):
        self.limit = limit
        self.idle = idle
        self.grow_after = grow_after
        self.open = 1          # lanes in use or ready
        self.busy = 0
        self.freed = asyncio.Condition()
        self.all_busy_at = time.monotonic()   # the last time every lane was taken

    @asynccontextmanager
    async def lane(self) -> AsyncIterator[None]:
        await self._take()
        try:
            yield
        finally:
            await self._give_back()

    async def _take(self) -> None:
        async with self.freed:
            if self.busy >= self.open:
                try:
                    await asyncio.wait_for(self.freed.wait_for(lambda: self.busy < self.open), self.grow_after)
                except asyncio.TimeoutError:
                    if self.open < self.limit:
                        self.open += 1   # demand lasts: one more connection
                    else:
                        await self.freed.wait_for(lambda: self.busy < self.open)
            self.busy += 1
            if self.busy >= self.open:
                self.all_busy_at = time.monotonic()

    async def _give_back(self) -> None:
        async with self.freed:
            self.busy -= 1
            if self.open > 1 and time.monotonic() - self.all_busy_at > self.idle:
                self.open -= 1   # a lane unused for a while: the pool closes its connection in time
                self.all_busy_at = time.monotonic()
            self.freed.notify()
