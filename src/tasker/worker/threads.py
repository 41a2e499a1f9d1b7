"""The threads that run sync handlers (and sync middleware) for event loops.

Made for many short calls, since a ``def`` handler should cost about what an ``async def``
one does. A call is one queue entry: an idle thread takes it, and a busy thread takes the
next one as soon as it is done, without sleeping in between. The ends of calls reach their
loop in batches: one wake-up of the loop for every call that ended meanwhile, and no
``concurrent.futures.Future`` chained to an asyncio one per call.

The threads are daemon threads: the standard ThreadPoolExecutor's are joined at interpreter
exit, so one sync handler that ignores cancellation would keep a stopped worker alive past
its grace period. Daemon threads end with the process instead.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from typing import Any, Callable


class ThreadCall:
    """``fn()`` in a handler thread, as its event loop sees it (everything but ``fn``'s run
    happens on the loop). ``ended`` says the thread is done with it; ``outcome()`` then
    returns its value or raises its exception."""

    __slots__ = ("fn", "ended", "value", "error", "waiters")

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.ended = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.waiters: list[asyncio.Future] = []

    def wait(self) -> "asyncio.Future[None]":
        """A future resolved once the call ends (at once if it has). The caller may resolve
        it first, to stop waiting (a timer at the timeout); cancelling it does not stop the call."""
        waiter = asyncio.get_running_loop().create_future()
        if self.ended:
            waiter.set_result(None)
        else:
            self.waiters.append(waiter)
        return waiter

    async def ended_within(self, seconds: float) -> bool:
        """Wait for the call to end, up to ``seconds``; whether it did (it runs on if not)."""
        waiter = self.wait()
        timer = asyncio.get_running_loop().call_later(seconds, _stop_waiting, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
        return self.ended

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value

    def run(self) -> None:
        """Call ``fn`` here (a handler thread), keeping what it returned or raised."""
        try:
            self.value = self.fn()
        except BaseException as exc:  # the caller decides what the handler's exception means
            self.error = exc

    def finish(self) -> None:
        """On the loop: the call has run; wake whoever waits for it."""
        self.ended = True
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


def _stop_waiting(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Inbox:
    """Calls that ended, on their way to one event loop: the first to arrive schedules the
    hand-over, the others join it."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.lock = threading.Lock()
        self.ended: list[ThreadCall] = []

    def put(self, call: ThreadCall) -> None:
        with self.lock:
            self.ended.append(call)
            if len(self.ended) > 1:
                return   # a hand-over is scheduled and has not taken the list yet
        try:
            self.loop.call_soon_threadsafe(self._hand_over)
        except RuntimeError:
            pass   # the loop has closed: nothing waits for these calls any more

    def _hand_over(self) -> None:
        with self.lock:
            ended, self.ended = self.ended, []
        for call in ended:
            call.finish()


class HandlerThreads:
    """Up to ``size`` daemon threads, started as calls arrive, shared by any event loops."""

    def __init__(self, size: int, name: str):
        self.size = size
        self.name = name
        self.work: queue.SimpleQueue[tuple[ThreadCall, _Inbox] | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.idle = 0
        self.lock = threading.Lock()
        self.closed = False
        self.inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Inbox] = weakref.WeakKeyDictionary()

    def start(self, fn: Callable[[], Any]) -> ThreadCall:
        """Run ``fn()`` in one of the threads; called on an event loop, which hears of its end."""
        if self.closed:
            raise RuntimeError("cannot run handlers after the worker stopped")
        loop = asyncio.get_running_loop()
        inbox = self.inboxes.get(loop)
        if inbox is None:
            inbox = self.inboxes[loop] = _Inbox(loop)
        call = ThreadCall(fn)
        self.work.put((call, inbox))
        with self.lock:
            if self.idle:
                self.idle -= 1   # that thread will take it
            elif len(self.threads) < self.size:
                thread = threading.Thread(target=self._serve, name=f"{self.name}-{len(self.threads)}", daemon=True)
                self.threads.append(thread)
                thread.start()
        return call

    async def run(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` in one of the threads, awaited: its value, or its exception raised here."""
        call = self.start(fn)
        await call.wait()
        return call.outcome()

    def _serve(self) -> None:
        while True:
            item = self.work.get()
            if item is None:
                return
            call, inbox = item
            call.run()
            inbox.put(call)
            with self.lock:
                self.idle += 1

    def shutdown(self, wait: bool = True) -> None:
        self.closed = True
        for _ in self.threads:
            self.work.put(None)
        if wait:
            for thread in self.threads:
                thread.join()
