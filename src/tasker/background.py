"""Background duties on an event loop: retrying through outages, repeating, stopping.

The one place that knows how long to wait after a failure (``Backoff``), so
the worker's registration, claims, outcome writes and the PostgreSQL listener
all back off alike; below both the worker and the stores.
"""
from __future__ import annotations

import asyncio
import logging
import random
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")
log = logging.getLogger("tasker.worker")


class Backoff:
    """Jittered exponential delays (+-20 %): ``first``, twice that, ... up to ``cap`` seconds.

    >>> backoff = Backoff()
    >>> while True:
    ...     try:
    ...         return await connect()
    ...     except OSError:
    ...         await backoff.sleep()
    """

    def __init__(self, first: float = 0.05, cap: float = 5.0):
        self.first = first
        self.cap = cap
        self.current = first

    @property
    def failing(self) -> bool:
        """True after a failure, until ``reset``."""
        return self.current > self.first

    def next(self) -> float:
        """The next delay to wait, jittered; each call doubles the one after."""
        delay = self.current * random.uniform(0.8, 1.2)
        self.current = min(self.current * 2, self.cap)
        return delay

    def reset(self) -> None:
        self.current = self.first

    async def sleep(self) -> None:
        await asyncio.sleep(self.next())


async def keep_trying(step: Callable[[], Awaitable[T]], what: str, give_up: Callable[[], bool] = lambda: False) -> T | None:
    """Call ``step`` until it succeeds, backing off after each failure (an outage);
    None if ``give_up()`` turns True first."""
    backoff = Backoff()
    while not give_up():
        try:
            return await step()
        except Exception as exc:
            delay = backoff.next()
            log.warning("%s failed (%s); retrying in %.2fs", what, exc, delay)
            await asyncio.sleep(delay)
    return None


async def repeat(step: Callable[[], Awaitable[object]], interval: float, duty: str) -> None:
    """Call ``step`` about every ``interval`` seconds until cancelled.

    A failing step is logged once when it starts failing and once when it
    recovers, not at every try: an outage should not flood the logs.
    """
    failing = False
    while True:
        try:
            await step()
            if failing:
                log.info("%s works again", duty)
            failing = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not failing:
                log.warning("%s failed (%s); will keep trying", duty, exc)
            failing = True
        await asyncio.sleep(interval * random.uniform(0.8, 1.2))


async def cancel_and_wait(*tasks: asyncio.Task) -> None:
    """Cancel background tasks and wait until they are done.

    Cancels again until each one ends: on Python 3.11 a cancellation that
    lands just as an inner ``asyncio.wait_for`` completes can be swallowed
    (psycopg's pool waits that way), which would leave a loop running forever.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=0.1)
    await asyncio.gather(*tasks, return_exceptions=True)
