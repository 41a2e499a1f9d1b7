"""HandlerThreads: sync calls run in daemon threads, their ends reach the event loop in batches."""
from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from tasker.context import TaskContext
from tasker.worker.middleware import for_a_thread
from tasker.worker.threads import HandlerThreads

where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="unset")


def test_calls_run_in_daemon_threads_and_return_their_value_or_exception():
    threads = HandlerThreads(4, "t")

    def boom() -> None:
        raise SystemExit("handlers may raise anything")

    async def main() -> None:
        seen = await asyncio.gather(*(threads.run(lambda: threading.current_thread()) for _ in range(20)))
        assert all(t.daemon and t is not threading.main_thread() for t in seen)
        assert len({t.name for t in seen}) <= 4
        with pytest.raises(SystemExit):
            await threads.run(boom)

    asyncio.run(main())
    threads.shutdown()


def test_many_ends_reach_the_loop_in_few_wake_ups():
    threads = HandlerThreads(2, "t")
    release = threading.Event()

    async def main() -> list:
        calls = [threads.start(release.wait) for _ in range(50)]
        release.set()
        await asyncio.gather(*(call.wait() for call in calls))
        return calls

    calls = asyncio.run(main())
    assert all(call.ended and call.outcome() is True for call in calls)
    threads.shutdown()


def test_a_waiter_may_stop_waiting_before_the_call_ends_and_wait_again():
    threads = HandlerThreads(1, "t")
    release = threading.Event()

    async def main() -> None:
        call = threads.start(release.wait)
        assert not await call.ended_within(0.01)   # a timeout: the call runs on
        again = call.wait()
        release.set()
        await again
        assert call.ended and call.wait().done()   # a late waiter is told at once

    asyncio.run(main())
    threads.shutdown()


def test_a_handler_thread_sees_the_callers_contextvars_and_its_task_context():
    threads = HandlerThreads(1, "t")
    ctx = TaskContext("id", "type", 1, 3, "default")

    async def main() -> tuple:
        where.set("caller")
        return await threads.run(for_a_thread(ctx, lambda: (where.get(), TaskContext.current())))

    assert asyncio.run(main()) == ("caller", ctx)
    threads.shutdown()


def test_a_shut_down_pool_refuses_calls():
    threads = HandlerThreads(1, "t")
    threads.shutdown()

    async def main() -> None:
        with pytest.raises(RuntimeError, match="after the worker stopped"):
            threads.start(lambda: None)

    asyncio.run(main())
