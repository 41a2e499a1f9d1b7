"""Running one attempt of one task: its timeout, its cancellation, and observing how it ended
(``outcome.ending_of`` says what that means)."""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence
from ..context import TaskContext
from ..handlers import Handler
from ..limits import DEFAULT_MAX_PAYLOAD_BYTES
from ..outcome import TIMEOUT, Ending, Fail, Finished, ending_of
from ..store.records import ClaimedTask, Unreadable
from .isolation import child_context, run_in_process
from ..tracebacks import calls_user_code
from .middleware import Middleware, chain, for_a_thread
from .threads import HandlerThreads, ThreadCall

log = logging.getLogger("tasker.worker")
# How long an interrupted handler (timeout, cancellation) may take to stop before its attempt
# is recorded anyway and its slot freed: a sync thread that ignores ctx.cancelled, or an
# async handler that swallows its CancelledError, runs on, abandoned.
INTERRUPT_GRACE = 10.0
LEFT_RUNNING: set[asyncio.Future] = set()   # abandoned handlers that have not ended yet


@dataclass
class Attempt:
    """One running attempt; ``interrupt`` is how cancellation, timeouts and shutdown reach it."""

    task: ClaimedTask
    handler: Handler
    ctx: TaskContext
    started: float = field(default_factory=time.monotonic)
    grace: float = INTERRUPT_GRACE
    inner: asyncio.Future | None = None   # the attempt's own task while an async handler runs in it
    lost: bool = False
    waiting: asyncio.Task | None = None   # set while the attempt waits for a handler slot
    admitted: bool = False                # holds a handler slot (a prefetched task may wait for one)
    gate: asyncio.Semaphore | None = None  # the slot it holds, released once
    abandoned: bool = False               # given up on after its grace: recorded, the handler left running
    on_abandoned: Callable[[Finished], None] = lambda _finished: None
    began_at: float | None = None         # wall-clock start of the handler (the queue wait ends there)
    call_is_async: bool = False           # how the handler, with the app's middleware around it, is called
    bridged: list[Any] = field(default_factory=list)   # async handlers a sync middleware waits for
    # Resolves to the outcome once recorded (None if it was dropped), however the attempt ended.
    recorded: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def interrupt(self, reason: str) -> None:
        """Async handlers are cancelled at once; sync ones see ``ctx.cancelled``
        (a process-isolated one is killed). A sync handler keeps its slot until
        its thread returns, so that no second run of the task overlaps it.
        An attempt still waiting for a handler slot stops waiting. An async
        handler still running ``grace`` seconds later is abandoned."""
        self.ctx.request_cancel(reason)
        for future in self.bridged:
            future.cancel()
        if self.waiting is not None:
            self.waiting.cancel()
        elif self.call_is_async and self.inner is not None and not self.inner.done():
            self.inner.cancel()
            asyncio.get_running_loop().call_later(self.grace, self._abandon_if_running, self.inner)

    def _abandon_if_running(self, runner: asyncio.Future) -> None:
        if runner is not self.inner or runner.done() or self.abandoned:
            return   # it stopped, as asked
        log.error("task %s (%s): its async handler ignored its %s for %gs (it swallows CancelledError); "
                  "recording the attempt and leaving the handler running", self.task.id, self.task.type,
                  self.ctx.cancel_reason, self.grace)
        self.abandoned = True
        LEFT_RUNNING.add(runner)   # referenced, so that it is not collected while it runs on
        runner.add_done_callback(LEFT_RUNNING.discard)
        self.release_slot()
        self.on_abandoned(ending_of(self.ctx.cancel_reason, cancelled=True))

    def release_slot(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.release()

    @property
    def wait(self) -> float | None:
        """Seconds from the task's due time to the handler's start (None if it never started)."""
        if self.began_at is None or self.task.run_at is None:
            return None
        return max(0.0, self.began_at - self.task.run_at)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def make_context(task: ClaimedTask, max_progress_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> TaskContext:
    return TaskContext(task.id, task.type, task.attempts, task.max_attempts, task.queue, task.meta,
                       max_progress_bytes=max_progress_bytes, headers=dict(task.headers or {}), series_id=task.series_id)


def handler_call(attempt: Attempt, middlewares: Sequence[Middleware], threads: HandlerThreads) -> Callable[[], Any]:
    """The handler bound to this attempt's payload (and context), the app's middleware around
    it; sets ``attempt.call_is_async``: how the result is called."""
    handler, task, ctx = attempt.handler, attempt.task, attempt.ctx
    if handler.isolation == "process":
        args = (task.payload, child_context(ctx)) if handler.wants_ctx else (task.payload,)
        call: Callable[[], Any] = functools.partial(run_in_process, handler.fn, args, ctx)
    else:
        call = functools.partial(handler.fn, task.payload, ctx) if handler.wants_ctx else functools.partial(handler.fn, task.payload)
    call, attempt.call_is_async = chain(call, handler.is_async, middlewares, ctx, threads, attempt.bridged)
    return call


async def run_admitted(attempt: Attempt, gate: asyncio.Semaphore, threads: HandlerThreads, middlewares: Sequence[Middleware] = (),
                       admit: Callable[[Attempt], Awaitable[None]] | None = None) -> Finished:
    """Wait for a handler slot (a prefetched task waits here), then for ``admit`` (the worker
    makes sure, after a stall of its own, that the claim still holds), then run the attempt."""
    attempt.waiting = runner = asyncio.current_task()
    try:
        await gate.acquire()  # a free gate returns at once, with no chance to be cancelled
    except asyncio.CancelledError:
        if attempt.ctx.cancel_reason is None:
            raise
        _uncancel(runner)
        return ending_of(attempt.ctx.cancel_reason, cancelled=True)
    finally:
        attempt.waiting = None
    attempt.gate = gate
    try:
        if admit is not None:
            await admit(attempt)
        attempt.admitted, attempt.started, attempt.began_at = True, time.monotonic(), time.time()
        return await run_attempt(attempt, threads, middlewares)
    finally:
        attempt.release_slot()


async def run_attempt(attempt: Attempt, threads: HandlerThreads, middlewares: Sequence[Middleware] = ()) -> Finished:
    """Run the handler and say how it ended; never raises for the handler's sake."""
    if attempt.ctx.cancel_reason:  # interrupted before it could start
        return ending_of(attempt.ctx.cancel_reason, cancelled=True)
    for what, value in (("payload", attempt.task.payload), ("meta", attempt.task.meta)):
        if isinstance(value, Unreadable):  # running it again would not make it readable
            return Finished(Ending.RAISED, error=Fail(f"the task's stored {what} cannot be read: {value}"))
    try:
        call = handler_call(attempt, middlewares, threads)
    except Exception as exc:  # a middleware that cannot be applied
        return Finished(Ending.RAISED, error=exc)
    finished = await (_run_inline(attempt, call) if attempt.call_is_async else _run_in_thread(attempt, call, threads))
    if finished.ending is Ending.RETURNED and attempt.elapsed > attempt.task.timeout:
        # It returned, but late: it kept the event loop (or its thread) past the timeout, so no timer could stop it.
        return Finished(Ending.TIMED_OUT)
    return finished


async def _run_in_thread(attempt: Attempt, call: Callable[[], Any], threads: HandlerThreads) -> Finished:
    """A sync handler runs in a handler thread; the attempt waits for its end, or the timeout."""
    try:
        running = threads.start(for_a_thread(attempt.ctx, call))
    except Exception as exc:  # a stopped worker
        return Finished(Ending.RAISED, error=exc)
    if not await running.ended_within(attempt.task.timeout):
        attempt.interrupt(TIMEOUT)
        await _settle(attempt, running)
        return Finished(Ending.TIMED_OUT)
    return ending_of(attempt.ctx.cancel_reason, running.error, running.value)


@calls_user_code
async def _run_inline(attempt: Attempt, call: Callable[[], Any]) -> Finished:
    """An async handler runs inside the attempt's own task (no second task, no waiter):
    ``interrupt`` cancels that task while the handler runs, a timer does so at the timeout."""
    task, ctx = attempt.task, attempt.ctx
    runner = asyncio.current_task()
    assert runner is not None
    timer = asyncio.get_running_loop().call_later(task.timeout, attempt.interrupt, TIMEOUT)
    attempt.inner = runner
    TaskContext.running.set(ctx)   # this task's own context: it runs one attempt
    try:
        value = await call()
    except asyncio.CancelledError:
        if ctx.cancel_reason is None and runner.cancelling():
            raise  # not ours: the loop itself is going away
        _uncancel(runner)
        return ending_of(ctx.cancel_reason, cancelled=True)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt, GeneratorExit... end this attempt, not the worker
        return ending_of(ctx.cancel_reason, exc)
    finally:
        attempt.inner = None
        timer.cancel()
    return ending_of(ctx.cancel_reason, None, value)


def _uncancel(task: asyncio.Task | None) -> None:
    """Forget cancellations this module made and handled (else later awaits in the task misbehave)."""
    while task is not None and task.uncancel() > 0:
        pass


async def _settle(attempt: Attempt, running: ThreadCall) -> None:
    """Let a timed-out sync handler notice ``ctx.cancelled``, bounded, so a retry does not overlap it."""
    if not await running.ended_within(attempt.grace):
        log.error(
            "task %s (%s): its sync handler ignores cancellation and still runs %gs after its timeout; "
            "a retry may overlap it (use isolation='process' for such code)",
            attempt.task.id, attempt.task.type, attempt.grace,
        )
