"""Running one step of a background duty forever, at a jittered interval, through outages."""
from __future__ import annotations

import asyncio
import logging
import random
from typing import Awaitable, Callable

log = logging.getLogger("tasker.worker")


async def repeat(step: Callable[[], Awaitable[None]], interval: float, duty: str) -> None:
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
