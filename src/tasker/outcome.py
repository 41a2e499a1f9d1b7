"""How an attempt ended, and what that means for its task: the outcome rules (pure).

The executor only observes (the handler returned, raised, or was interrupted
and why); ``ending_of`` says which ``Ending`` that is, and ``decide`` maps an
ending to the ``Outcome`` the store writes. The store adds one rule of its
own, because only it knows in time: a cancellation requested while a retry
was on its way wins (``complete_tasks.sql``).
"""
from __future__ import annotations

import enum
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from . import checks
from .context import CancelledByRequest
from .errors import InputError
from .limits import DEFAULT_MAX_PAYLOAD_BYTES, MAX_DELAY
from .retry import RetryDelay, clamped, delay_for, exponential_backoff
from .store.records import ClaimedTask, Outcome
from .task import TaskStatus
from .tracebacks import from_user_frame

MAX_ERROR_CHARS = 8000

# Why an attempt was interrupted, as recorded in ctx.cancel_reason.
CANCEL = "cancelled"
SHUTDOWN = "shutdown"
TIMEOUT = "timeout"
LOST = "lost"          # the claim was rescued from this worker: another run owns the task now


class Snooze(Exception):
    """Raise from a handler to run again after ``seconds`` without using up an attempt.

    >>> raise Snooze(30)
    """

    def __init__(self, seconds: float):
        self.seconds = clamped(seconds)
        super().__init__(f"snoozed for {self.seconds:g}s")


class Fail(Exception):
    """Raise from a handler to fail the task at once, whatever attempts are left.

    >>> raise Fail("the account was deleted; nothing to send")
    """


class Retry(Exception):
    """Raise from a handler to fail this attempt and retry after ``seconds``.

    >>> raise Retry(10, "rate limited")
    """

    def __init__(self, seconds: float, reason: str = "retry requested"):
        super().__init__(reason)
        self.seconds = clamped(seconds)


class Ending(str, enum.Enum):
    RETURNED = "returned"        # the handler returned a value
    RAISED = "raised"            # the handler raised
    TIMED_OUT = "timed_out"      # ran past its timeout
    CANCELLED = "cancelled"      # cancellation was requested and took effect
    INTERRUPTED = "interrupted"  # worker shutdown: run again, attempt refunded
    SNOOZED = "snoozed"          # the handler asked to run later, attempt refunded


@dataclass(frozen=True)
class Finished:
    """How one attempt ended, before deciding what it means."""

    ending: Ending
    value: Any = None
    error: BaseException | None = None
    delay: float | None = None   # snooze or handler-requested retry delay


def ending_of(reason: str | None, error: BaseException | None = None, value: object = None, cancelled: bool = False) -> Finished:
    """How an attempt ended, given why it was interrupted (``reason``, if it was) and what the handler did:
    raised ``error``, returned ``value``, or was ``cancelled`` (its task or future cancelled)."""
    if cancelled or reason in (CANCEL, TIMEOUT):
        # A task whose cancellation was requested ends cancelled, whatever its handler did then.
        return _interrupted(reason, error)
    if error is None:
        return Finished(Ending.RETURNED, value=value)
    if isinstance(error, Snooze):
        return Finished(Ending.SNOOZED, delay=error.seconds)
    if isinstance(error, Retry):
        return Finished(Ending.RAISED, error=error, delay=error.seconds)
    if isinstance(error, CancelledByRequest) and reason:
        return _interrupted(reason, error)
    return Finished(Ending.RAISED, error=error)


def _interrupted(reason: str | None, error: BaseException | None = None) -> Finished:
    if reason == TIMEOUT:
        return Finished(Ending.TIMED_OUT)
    if reason in (SHUTDOWN, LOST):
        return Finished(Ending.INTERRUPTED)
    return Finished(Ending.CANCELLED, error=error if isinstance(error, CancelledByRequest) else None)


def describe_error(error: BaseException | None, fallback: str) -> str:
    """``Type: message`` and the traceback, kept to a bounded size (head and tail), as text
    both stores can keep (a handler's message may hold NUL or lone surrogates)."""
    if error is None:
        return fallback
    try:
        text = "".join(traceback.format_exception(type(error), error, from_user_frame(error.__traceback__))).rstrip()
    except Exception:   # a hostile exception can break even the traceback module
        text = ""
    headline = f"{type(error).__name__}: {_message(error)}"
    text = f"{headline}\n\n{text}" if text else headline
    if len(text) > MAX_ERROR_CHARS:
        half = MAX_ERROR_CHARS // 2
        text = text[:half] + "\n... (truncated) ...\n" + text[-half:]
    return checks.storable_text(text)


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except BaseException as exc:  # its __str__ raised: say so rather than fail the bookkeeping
        return f"<str() of this {type(error).__name__} raised {type(exc).__name__}>"


def decide(task: ClaimedTask, finished: Finished, policy: RetryDelay | None,
           progress_json: str | None = None, duration: float | None = None,
           max_result_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
           no_retry: Callable[[BaseException | None], str | None] = lambda _error: None,
           headers_json: str | None = None) -> Outcome:
    """The one place that maps an ending to an outcome. ``progress_json`` (the handler's
    last report) and ``duration`` (seconds it ran) travel with it, so batching loses neither;
    ``no_retry(error)`` says why a failure is not retried (the handler's retry_on / dont_retry_on)."""
    ending = finished.ending

    def outcome(status: TaskStatus, **fields: Any) -> Outcome:
        return Outcome(task.id, task.claim_token, status, progress_json=progress_json, duration=duration,
                       headers_json=headers_json, **fields)

    if ending is Ending.RETURNED:
        try:
            result_json = "null" if finished.value is None else checks.json_text(finished.value, "result", max_result_bytes, label="handler result")
        except InputError as exc:
            return decide(task, Finished(Ending.RAISED, error=exc.with_traceback(None)), policy, progress_json, duration,
                          max_result_bytes, no_retry, headers_json)
        return outcome(TaskStatus.SUCCEEDED, result_json=result_json)
    if ending is Ending.CANCELLED:
        return outcome(TaskStatus.CANCELLED, error=describe_error(finished.error, "Cancelled: cancellation requested"))
    if ending in (Ending.INTERRUPTED, Ending.SNOOZED):
        return outcome(TaskStatus.QUEUED, retry_in=finished.delay or 0.0, refund_attempt=True)
    fallback = f"TimeoutError: task exceeded its timeout of {task.timeout:g}s"
    error = describe_error(finished.error, fallback) if ending is Ending.RAISED else fallback
    if isinstance(finished.error, Fail):
        return outcome(TaskStatus.FAILED, error=f"{error}\n\n(not retried: the handler raised Fail)")
    reason = no_retry(finished.error)
    if reason is not None:
        return outcome(TaskStatus.FAILED, error=f"{error}\n\n(not retried: {reason})")
    if task.attempts >= task.max_attempts:
        return outcome(TaskStatus.FAILED, error=error)
    retry_in = finished.delay if finished.delay is not None else delay_for(task.attempts, task.retry_delay, policy)
    return outcome(TaskStatus.QUEUED, error=error, retry_in=_storable_delay(retry_in, task.attempts))


def _storable_delay(seconds: float, attempt: int) -> float:
    """A retry delay the store can add to its clock: finite, within 0..MAX_DELAY."""
    if seconds != seconds:   # NaN: no delay can be made of it
        return exponential_backoff(attempt)
    return min(max(seconds, 0.0), MAX_DELAY)
