"""Where a Tasker runs in this process: one store per event loop, the private loop behind
sync calls, the threads of ``process_queue`` passes and the running workers.

The core is asyncio and a store's connections belong to one event loop, so
each loop that uses a ``Tasker`` gets its own store. Sync methods run their
async twin on a private loop in a daemon thread (``blocking`` makes such a
twin). After ``fork()`` the child starts afresh: none of this came along
(threads do not survive a fork, and the connections are the parent's sessions).
"""
from __future__ import annotations

import asyncio
import atexit
import functools
import os
import sqlite3
import threading
import weakref
import concurrent.futures
from typing import Any, Callable, Concatenate, Coroutine, ParamSpec, Protocol, Sequence, TypeVar

from .enqueue import NewTask
from .loop import LoopThread
from .store import Store, StoreConfig, open_store
from .worker.supervisor import Supervisor
from .worker.threads import HandlerThreads

P = ParamSpec("P")
R = TypeVar("R")


class Runtime:
    """One ``Tasker``'s stores (one per event loop), private loop thread, pass threads and workers."""

    def __init__(self, config: StoreConfig):
        self.config = config.own_memory()
        # An in-memory database lives while a connection to it is open: this one keeps it for the Tasker's life.
        self.keeper = sqlite3.connect(self.config.target, uri=True, check_same_thread=False) if config.in_memory else None
        self._fresh()
        _RUNTIMES.add(self)

    def _fresh(self) -> None:
        self.loop = LoopThread()
        self.stores: dict[asyncio.AbstractEventLoop, Store] = {}
        self.opening: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}
        self.threads: HandlerThreads | None = None
        self.threads_lock = threading.Lock()
        self.workers = Supervisor()
        self.inline: InlineRunner | None = None   # testing.inline: each created task runs at once

    async def store(self, prepare: bool = True) -> Store:
        """This event loop's store, opened on first use. ``prepare``: migrate a store that
        migrates itself (SQLite), else check the schema is current (PostgreSQL)."""
        loop = asyncio.get_running_loop()
        store = self.stores.get(loop)
        if store is not None:
            return store
        opening = self.opening.get(loop)
        if opening is None:
            opening = self.opening[loop] = asyncio.ensure_future(self.open_store(prepare))
            opening.add_done_callback(lambda _f: self.opening.pop(loop, None))
        return await asyncio.shield(opening)

    async def open_store(self, prepare: bool) -> Store:
        store = open_store(self.config)
        await store.open()
        try:
            if prepare:
                await (store.migrate() if store.migrates_itself else store.check_schema())
        except BaseException:
            await store.close()
            raise
        self.stores[asyncio.get_running_loop()] = store
        return store

    def blocking_store(self) -> Store:
        """The private loop's store, for the calls that skip the hop to that loop (create)."""
        store = self.stores.get(self.loop.loop) if self.loop.loop is not None else None
        return store if store is not None else self.sync(self.store())

    def insert_blocking(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        """``create`` for sync callers. From a thread of a process running a worker (a sync
        handler's): through the worker's own store, on its loop, so that the process keeps to
        one pool of connections. Otherwise through the sync pool, with no hop to any loop."""
        worker = self._worker_elsewhere() if connection is None else None
        if worker is not None:
            ids = _run_on(worker.loop, lambda: worker.store.insert_tasks(tasks))
            if ids is not None:
                return ids
        return self.blocking_store().insert_tasks_blocking(tasks, connection)

    def _worker_elsewhere(self) -> Any:
        """A running worker of this process whose loop is not this thread's, or None."""
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        return next((w for w in list(self.workers.running) if w.loop is not here and w.loop.is_running()), None)

    def sync(self, coro: Coroutine[Any, Any, R]) -> R:
        """Run ``coro`` on the private loop and wait for it."""
        if self.loop.loop is None:
            # Close the private loop's connections at exit rather than leave them to the GC.
            atexit.register(self.close)
        return self.loop.run(coro)

    async def close_loop_store(self) -> Store | None:
        """Close this event loop's store (the caller's own loop keeps working without it)."""
        store = self.stores.pop(asyncio.get_running_loop(), None)
        if store is not None:
            await store.close()
        return store

    def pass_threads(self, size: int) -> HandlerThreads:
        """The threads that run sync handlers during ``process_queue`` passes."""
        with self.threads_lock:
            if self.threads is None:
                self.threads = HandlerThreads(size, "tasker-pass")
            return self.threads

    def close(self) -> None:
        """Close the private loop's store and stop its thread; forget stores of closed loops."""
        if self.loop.loop is not None:
            try:
                self.sync(self.close_loop_store())
            finally:
                self.loop.stop()
        for loop in list(self.stores):
            if loop.is_closed():
                self.stores.pop(loop, None)
        if self.threads is not None:
            self.threads.shutdown(wait=False)
            self.threads = None

    def forget_the_parent(self) -> None:
        """In a forked child: keep the parent's resources untouched (never used, never
        closed: closing would end the parent's sessions) and start afresh on first use."""
        _ABANDONED.append((self.loop, self.stores, self.opening, self.threads))
        self._fresh()


def _run_on(loop: asyncio.AbstractEventLoop, make: Callable[[], Coroutine[Any, Any, R]]) -> R | None:
    """Run a coroutine on another thread's loop and wait; None if that loop stopped first
    (the caller then does the work itself: inserts are idempotent, their ids made here)."""
    coro = make()
    try:
        future = asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError:   # closed meanwhile
        coro.close()
        return None
    while True:
        try:
            return future.result(timeout=1.0)
        except TimeoutError:
            if loop.is_closed() or not loop.is_running():
                future.cancel()
                return None
        except concurrent.futures.CancelledError:   # cancelled as the loop shut down
            return None


_RUNTIMES: "weakref.WeakSet[Runtime]" = weakref.WeakSet()
_ABANDONED: list[Any] = []


def _after_fork_in_child() -> None:
    for runtime in list(_RUNTIMES):
        runtime.forget_the_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


class InlineRunner(Protocol):
    def run_sync(self, ids: list[str]) -> None: ...
    async def run_async(self, ids: list[str]) -> None: ...


class HasRuntime(Protocol):
    runtime: Runtime


S = TypeVar("S", bound=HasRuntime)


def blocking(method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]]) -> Callable[Concatenate[S, P], R]:
    """The sync twin of an async method: the same parameters, docstring and result,
    run on the private loop. ``get = blocking(aget)``."""

    @functools.wraps(method)
    def twin(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.runtime.sync(method(self, *args, **kwargs))

    twin.__name__ = method.__name__.removeprefix("a")
    twin.__qualname__ = twin.__qualname__.rpartition(".")[0] + "." + twin.__name__ if "." in twin.__qualname__ else twin.__name__
    return twin


__all__ = ["Runtime", "blocking"]
