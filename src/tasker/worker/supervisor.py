"""This process's workers: starting them, stopping them on a signal or a call from any thread."""
from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Awaitable, Callable, Coroutine

from .worker import Worker

log = logging.getLogger("tasker.worker")
LEFTOVER_WAIT = 2.0   # seconds the loop's other tasks get to end once the worker has stopped


def run_in_new_loop(main: Coroutine[object, object, None]) -> None:
    """``asyncio.run(main)``, except that it returns even if some task ignores its cancellation
    (a handler that swallows CancelledError): such tasks are left behind, with a warning,
    instead of holding the process until a second signal."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main)
    finally:
        try:
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.wait(leftovers, timeout=LEFTOVER_WAIT))
            stuck = [task for task in leftovers if not task.done()]
            if stuck:
                log.warning("leaving %d task(s) that ignore cancellation (async handlers swallowing CancelledError)", len(stuck))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


class Supervisor:
    """Tracks the workers running in this process, so that ``stop`` (SIGTERM) reaches
    each of them, including one still starting when the signal came."""

    def __init__(self) -> None:
        self.running: set[Worker] = set()
        self.starting = 0                   # workers between run() and running
        self.early_stops: list[bool] = []   # stop requests that arrived meanwhile

    async def run(self, make: Callable[[], Awaitable[Worker]]) -> None:
        """Make a worker and run it on this event loop until it stops or this is cancelled."""
        self.starting += 1
        try:
            worker = await make()
        finally:
            self.starting -= 1
        self.running.add(worker)
        for now in self.early_stops:  # a signal that came while the worker was starting
            worker.stop(now=now)
        if not self.starting:
            self.early_stops.clear()
        running = asyncio.ensure_future(worker.run())
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            worker.stop(now=True)
            await asyncio.gather(running, return_exceptions=True)
            raise
        finally:
            self.running.discard(worker)

    async def run_with_signals(self, main: Awaitable[None]) -> None:
        """Run ``main`` with SIGINT and SIGTERM stopping the workers (in the main thread only)."""
        loop = asyncio.get_running_loop()
        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
                installed.append(sig)
        try:
            await main
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def stop(self, now: bool = False) -> None:
        """Ask every worker to stop (what SIGTERM does); a second call stops at once. Any thread."""
        if self.starting:
            self.early_stops.append(now)
        for worker in list(self.running):
            worker.stop_from_any_thread(now=now)
