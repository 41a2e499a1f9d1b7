"""Tasker in a Starlette or FastAPI application: a lifespan that opens and closes it with the
application, optionally runs an embedded worker, and runs a mounted dashboard's lifespan too
(Starlette runs only the outer application's).

>>> from fastapi import FastAPI
>>> from tasker.contrib.starlette import lifespan
>>> from tasker.web import create_app
>>> dashboard = create_app(tasks, token=os.environ["TASKER_DASHBOARD_TOKEN"])
>>> api = FastAPI(lifespan=lifespan(tasks, worker=True, mounted=[dashboard]))
>>> api.mount("/tasker", dashboard)
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Callable, Iterable, Sequence

from ..app import Tasker


def lifespan(
    tasks: Tasker,
    *,
    worker: bool = False,
    concurrency: int | None = None,
    queues: Sequence[str] | dict[str, int] | None = None,
    migrate: bool = False,
    mounted: Iterable[Any] = (),
    **worker_options: Any,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan for ``Starlette(lifespan=...)`` / ``FastAPI(lifespan=...)``.

    ``migrate``: create or upgrade the schema at startup. ``worker``: run a worker on the
    application's event loop (``concurrency``, ``queues`` and the options of ``arun_worker``),
    stopped gracefully at shutdown. ``mounted``: Starlette apps mounted inside (the dashboard)
    whose own lifespans should run too. At shutdown the Tasker's connections are closed.
    """

    if worker and not tasks.handlers:
        # Said now, not after the application has started serving with no worker behind it.
        raise RuntimeError("lifespan(worker=True) needs handlers: define the tasks (@tasks.task / @tasks.handler) before the lifespan")

    @contextlib.asynccontextmanager
    async def span(app: Any) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(tasks.aclose)
            if migrate:
                await tasks.amigrate()
            for inner in mounted:
                await stack.enter_async_context(inner.router.lifespan_context(inner))
            if worker:
                job = asyncio.create_task(tasks.arun_worker(concurrency or tasks.concurrency, queues, **worker_options))
                stack.push_async_callback(_stop, job)
            yield

    return span


async def _stop(job: asyncio.Task[None]) -> None:
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job


__all__ = ["lifespan"]
