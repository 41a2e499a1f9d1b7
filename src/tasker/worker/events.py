"""Success, failure and idle hooks (tasq's events), called without ever crashing a worker."""
from __future__ import annotations

import asyncio
import inspect
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..limits import DEFAULT_QUEUE

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


@dataclass
class Creation:
    """What a create hook sees of each ``create`` / ``create_many`` / ``defer`` (before anything is
    stored): it may add ``headers``, which travel with the task to its attempts (``ctx.headers``).

    >>> @app.on_create
    ... def stamp(creation):
    ...     creation.headers["request_id"] = current_request_id()
    ...     return lambda ids, error: log.info("created %s", ids)   # optional: called after the insert
    """

    type: str
    payload: Any
    options: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)
    count: int = 1   # tasks in this call (create_many: the batch's size)
    queue: str = DEFAULT_QUEUE   # where they go (the option, or the handler's default queue)
    ids: list[str] | None = None   # what the call stored, once it has


class Events:
    """The app's hooks: after attempts (success, failure), when a worker idles, around creates,
    and the middleware around every attempt."""

    def __init__(self) -> None:
        self.hooks: dict[str, list[Callable[..., Any]]] = {"success": [], "failure": [], "idle": [], "create": []}
        self.middlewares: list[Callable[..., Any]] = []

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

    def creating(self, creation: Creation) -> Callable[[list[str] | None, BaseException | None], None]:
        """Run the create hooks (before the insert); returns what to call after it, with the ids or the error.
        A create hook is the producer's own code: what it raises reaches the caller, nothing stored."""
        afters: list[Callable[[list[str] | None, BaseException | None], None]] = []
        try:
            for hook in self.hooks["create"]:
                done = hook(creation)
                if done is not None:
                    afters.append(done)
        except BaseException as exc:   # the hooks that ran hear that nothing was stored
            for done in reversed(afters):
                done(None, exc)
            raise

        def after(ids: list[str] | None, error: BaseException | None) -> None:
            for done in reversed(afters):   # innermost first, like exiting nested blocks
                done(ids, error)

        return after

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
