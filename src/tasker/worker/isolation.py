"""Running a sync handler in a child process that can be killed.

For code that never checks ``ctx.cancelled`` (CPU-bound loops, C extensions
holding the GIL): cancellation or a timeout kills the process. The cost: a
fresh interpreter per attempt (``spawn``, tens of milliseconds plus the import
of the handler's module), the handler must be importable at module level, and
payload, result and errors cross a pipe (JSON values only, as always).
"""
from __future__ import annotations

import multiprocessing
import traceback
from typing import Any, Callable

from ..context import CancelledByRequest, TaskContext

POLL_SECONDS = 0.02
SPAWN = multiprocessing.get_context("spawn")


class HandlerProcessError(Exception):
    """The handler raised in its child process; the message carries its traceback."""


def _child(fn: Callable[..., Any], args: tuple[Any, ...], conn: Any) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as exc:  # report everything; the parent decides what it means
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
        conn.send(("error", f"{type(exc).__name__}: {exc}\n\n{text}"))
    finally:
        conn.close()


def child_context(ctx: TaskContext) -> TaskContext:
    """A picklable copy for the child (cancellation reaches it by being killed)."""
    return TaskContext(ctx.task_id, ctx.type, ctx.attempt, ctx.max_attempts, ctx.queue, ctx.meta)


def run_in_process(fn: Callable[..., Any], args: tuple[Any, ...], ctx: TaskContext) -> Any:
    """Blocks (in a worker thread) until the child answers, dies, or ``ctx`` is cancelled."""
    receiver, sender = SPAWN.Pipe(duplex=False)
    process = SPAWN.Process(target=_child, args=(fn, args, sender), daemon=True, name=f"tasker-{ctx.task_id}")
    process.start()
    sender.close()
    try:
        while not receiver.poll(POLL_SECONDS):
            if ctx.cancelled:
                raise CancelledByRequest(ctx.cancel_reason or "cancelled")
            if not process.is_alive() and not receiver.poll(0):
                raise HandlerProcessError(f"handler process exited with code {process.exitcode} before answering")
        try:
            kind, value = receiver.recv()
        except EOFError:   # the pipe closed with nothing in it: the child died (os._exit, a signal)
            process.join(5)
            raise HandlerProcessError(f"handler process exited with code {process.exitcode} before answering") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
    if kind == "error":
        raise HandlerProcessError(value)
    return value
