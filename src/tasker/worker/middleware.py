"""The app's middleware around each attempt's handler call: ``mw(ctx, call_next)``, sync or async.

The chain is built per attempt, innermost (the handler) first. An async middleware awaits
``call_next()`` (a sync handler under it runs in a thread, which inherits the middleware's
context: its span, its scope). A sync middleware calls ``call_next()`` in a thread (an async
handler under it runs on the event loop meanwhile, and is cancelled like any other). The whole
chain is async if its outermost part is, so it runs where the executor runs such handlers.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from typing import Any, Callable, Sequence

from ..context import TaskContext
from ..tracebacks import calls_user_code
from .threads import HandlerThreads

Middleware = Callable[[TaskContext, Callable[[], Any]], Any]


def is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


@calls_user_code
def in_context(ctx: TaskContext, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` with ``TaskContext.current()`` answering ``ctx`` (in a copied context: a thread's)."""
    TaskContext.running.set(ctx)
    return fn(*args)


def for_a_thread(ctx: TaskContext, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` as a handler thread runs it: in a copy of the current context (contextvars such as
    logging correlation ids, the span a middleware opened), ``TaskContext.current()`` answering ``ctx``."""
    return functools.partial(contextvars.copy_context().run, in_context, ctx, call)


def chain(call: Callable[[], Any], call_is_async: bool, middlewares: Sequence[Middleware], ctx: TaskContext,
          threads: HandlerThreads, bridged: list[Any]) -> tuple[Callable[[], Any], bool]:
    """``call`` (the handler, bound to its arguments) wrapped in ``middlewares`` (outermost first);
    returns the wrapped call and whether it is a coroutine function. Async handlers a sync
    middleware waits for are put in ``bridged`` (their futures), so an interruption reaches them."""
    for middleware in reversed(middlewares):
        inner, inner_is_async = call, call_is_async
        if is_async(middleware):
            call_next = inner if inner_is_async else functools.partial(_in_thread, inner, ctx, threads)
            call, call_is_async = functools.partial(middleware, ctx, call_next), True
        else:
            call_next = functools.partial(_bridge, inner, asyncio.get_running_loop(), bridged) if inner_is_async else inner
            call, call_is_async = functools.partial(middleware, ctx, call_next), False
    return call, call_is_async


async def _in_thread(call: Callable[[], Any], ctx: TaskContext, threads: HandlerThreads) -> Any:
    """A sync part under an async middleware: awaited, run in a handler thread with this context."""
    return await threads.run(for_a_thread(ctx, call))


@calls_user_code
def _bridge(call: Callable[[], Any], loop: asyncio.AbstractEventLoop, bridged: list[Any]) -> Any:
    """An async part under a sync middleware (called in a thread): run on the loop, wait here."""
    future = asyncio.run_coroutine_threadsafe(call(), loop)
    bridged.append(future)
    return future.result()
