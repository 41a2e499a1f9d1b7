"""The private event loop behind Tasker's sync methods.

The core is asyncio; a sync call runs the same coroutine on a loop that
lives in a daemon thread, so there is one implementation of every operation.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "tasker-loop"):
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
                thread.start()
                self.loop, self.thread = loop, thread
            return self.loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the private loop and wait for it from this thread."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError(
                "a sync Tasker method was called from inside an async handler run by process_queue; "
                "use its async twin (await app.acreate(...), ...)"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        return future.result(timeout)

    def stop(self) -> None:
        with self.lock:
            loop, thread = self.loop, self.thread
            self.loop = self.thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()
