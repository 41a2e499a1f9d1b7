"""TaskContext: what a handler knows about the attempt it is running."""
from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import checks
from .limits import DEFAULT_MAX_PAYLOAD_BYTES


_EVENT_MADE = threading.Lock()


class CancelledByRequest(Exception):
    """Raised by ``ctx.raise_if_cancelled()`` once cancellation was requested."""


@dataclass
class TaskContext:
    """Passed as the second argument to handlers that accept one.

    >>> @app.handler()
    ... def export(payload, ctx):
    ...     for chunk in chunks(payload):
    ...         ctx.raise_if_cancelled()
    ...         write(chunk)
    """

    task_id: str
    type: str
    attempt: int
    max_attempts: int
    queue: str
    meta: dict | None = None
    max_progress_bytes: int = field(default=DEFAULT_MAX_PAYLOAD_BYTES, repr=False)
    # What travels with the task for instrumentation (trace context...); what an attempt adds is kept for the next.
    headers: dict[str, Any] = field(default_factory=dict, repr=False)
    series_id: str | None = None   # the recurring series this is a run of, if any
    running: ClassVar[contextvars.ContextVar["TaskContext"]] = contextvars.ContextVar("tasker_task_context")
    _cancel: threading.Event | None = field(default=None, repr=False)   # made when a thread first waits
    cancel_reason: str | None = field(default=None, repr=False)
    progress_json: str | None = field(default=None, repr=False)
    progress_dirty: bool = field(default=False, repr=False)

    @classmethod
    def current(cls) -> "TaskContext":
        """The context of the task running here (a function task has no ``ctx`` parameter).
        LookupError outside a task.

        >>> @app.task()
        ... def export(report_id: int) -> None:
        ...     TaskContext.current().progress({"done": 0})
        """
        try:
            return cls.running.get()
        except LookupError:
            raise LookupError("TaskContext.current() is only known inside a running task") from None

    @property
    def cancelled(self) -> bool:
        """True once the task's cancellation (or its timeout, or shutdown) was requested."""
        return self.cancel_reason is not None

    def raise_if_cancelled(self) -> None:
        """Stop a cooperative sync handler at a safe point."""
        if self.cancel_reason is not None:
            raise CancelledByRequest(self.cancel_reason)

    def request_cancel(self, reason: str) -> None:
        self.cancel_reason = self.cancel_reason or reason
        event = self._cancel
        if event is not None:
            event.set()

    def progress(self, value: Any) -> None:
        """Report progress (any JSON value); visible as ``app.get(id).progress``.

        Cheap to call often: the worker writes the latest value about twice a
        second, and once more with the outcome.

        >>> ctx.progress({"done": 40, "total": 100})
        """
        self.progress_json = checks.json_text(value, "progress", self.max_progress_bytes)
        self.progress_dirty = True

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancellation."""
        with _EVENT_MADE:
            if self._cancel is None:
                self._cancel = threading.Event()
        # Checked after the event exists: a request made before it was seen here.
        return self.cancel_reason is not None or self._cancel.wait(timeout)
