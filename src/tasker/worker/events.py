"""Success, failure and idle hooks (tasq's events), called without ever crashing a worker."""
from __future__ import annotations

import asyncio
import inspect
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

log = logging.getLogger("tasker.worker")


@dataclass(frozen=True)
class TaskEvent:
    """What a success or failure hook receives.

    >>> @app.on_failure
    ... def alert(event):
    ...     print(event.task_id, event.type, event.error, event.will_retry)
    """

    task_id: str
    type: str
    queue: str
    attempt: int
    status: str            # the status the task moves to: succeeded, queued (retry), failed, cancelled
    duration: float        # seconds the attempt ran
    result: Any = None
    error: str | None = None   # as stored: the message and traceback
    exception: BaseException | None = field(default=None, repr=False)   # the handler's own exception, if it raised

    @property
    def will_retry(self) -> bool:
        return self.status == "queued"


class Events:
    def __init__(self) -> None:
        self.hooks: dict[str, list[Callable[..., Any]]] = {"success": [], "failure": [], "idle": []}

    def add(self, kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise TypeError(f"on_{kind} needs a callable")
        self.hooks[kind].append(fn)
        return fn

    def remove(self, kind: str, fn: Callable[..., Any]) -> None:
        self.hooks[kind].remove(fn)

    @contextmanager
    def listening(self, kind: str, fn: Callable[..., Any]) -> Iterator[None]:
        """``fn`` is a hook while the block runs."""
        self.add(kind, fn)
        try:
            yield
        finally:
            self.remove(kind, fn)

    async def emit(self, kind: str, *args: Any) -> None:
        for fn in self.hooks[kind]:
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except BaseException:  # a hook's SystemExit must not end the worker either
                log.exception("on_%s hook %r raised; ignored", kind, fn)
