"""A pool of daemon threads for sync handlers.

The standard ThreadPoolExecutor's threads are joined at interpreter exit, so
one sync handler that ignores cancellation would keep a stopped worker alive
past its grace period. Daemon threads end with the process instead.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Executor, Future
from typing import Any, Callable


class DaemonThreadPool(Executor):
    """Up to ``size`` daemon threads, started as work arrives."""

    def __init__(self, size: int, name: str):
        self.size = size
        self.name = name
        self.work: queue.SimpleQueue = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.idle = 0
        self.lock = threading.Lock()
        self.closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if self.closed:
            raise RuntimeError("cannot run handlers after the worker stopped")
        future: Future = Future()
        self.work.put((future, fn, args, kwargs))
        with self.lock:
            if self.idle == 0 and len(self.threads) < self.size:
                thread = threading.Thread(target=self._serve, name=f"{self.name}-{len(self.threads)}", daemon=True)
                self.threads.append(thread)
                thread.start()
            else:
                self.idle -= 1 if self.idle else 0
        return future

    def _serve(self) -> None:
        while True:
            item = self.work.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # the caller decides what the handler's exception means
                    future.set_exception(exc)
            with self.lock:
                self.idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.closed = True
        for _ in self.threads:
            self.work.put(None)
        if wait:
            for thread in self.threads:
                thread.join()
