"""TaskContext: what a handler knows about the attempt it is running."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any


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
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    cancel_reason: str | None = field(default=None, repr=False)
    progress_json: str | None = field(default=None, repr=False)
    progress_dirty: bool = field(default=False, repr=False)

    @property
    def cancelled(self) -> bool:
        """True once the task's cancellation (or its timeout, or shutdown) was requested."""
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        """Stop a cooperative sync handler at a safe point."""
        if self._cancel.is_set():
            raise CancelledByRequest(self.cancel_reason or "cancelled")

    def request_cancel(self, reason: str) -> None:
        self.cancel_reason = self.cancel_reason or reason
        self._cancel.set()

    def progress(self, value: Any) -> None:
        """Report progress (any JSON value); visible as ``app.get(id).progress``.

        Cheap to call often: the worker writes the latest value about twice a
        second, and once more with the outcome.

        >>> ctx.progress({"done": 40, "total": 100})
        """
        try:
            self.progress_json = json.dumps(value, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"progress is not JSON-serializable: {exc}") from None
        self.progress_dirty = True

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancellation."""
        return self._cancel.wait(timeout)
