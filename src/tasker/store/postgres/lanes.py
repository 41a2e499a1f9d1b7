"""How many pooled connections one event loop may use at once: one, until demand lasts.

A connection pool opens another connection whenever a borrower finds none free,
so the brief overlap of an idle worker's heartbeat, poll and schedule check
would keep several connections open for nothing. Lanes open a second (third...)
connection only once statements have waited ``grow_after`` for one, in one wait or
in many short ones close together (a busy worker's claims and completions each wait
a millisecond for the other, hundreds of times a second: on one connection they
would take turns and halve its throughput), and close lanes again once they went
unused for ``idle`` seconds.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncIterator

GROW_AFTER = 0.02   # seconds of waiting for a busy connection (one wait, or several within about
WAIT_MEMORY = 1.0   # this many seconds: older waits fade) before another connection is opened


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
        self.waited = 0.0                      # recent waiting, fading over WAIT_MEMORY
        self.waited_at = time.monotonic()

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
        began = time.monotonic()
        try:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), self.grow_after)
                self._note_wait(time.monotonic() - began)
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

    def _note_wait(self, seconds: float) -> None:
        """Add a wait that ended in a handed-over lane; once recent waits add up to
        ``grow_after``, the next statement that finds every lane busy gets a new one."""
        now = time.monotonic()
        self.waited = self.waited * max(0.0, 1.0 - (now - self.waited_at) / WAIT_MEMORY) + seconds
        self.waited_at = now
        if self.waited >= self.grow_after and self.open < self.limit:
            self.open += 1
            self.waited = 0.0

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
