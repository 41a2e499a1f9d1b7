"""Mapping how an attempt ended to what is written back (pure)."""
from __future__ import annotations

import enum
import traceback
from dataclasses import dataclass
from typing import Any

from .enqueue import storable_json
from .retry import RetryDelay, delay_for
from .store.base import ClaimedTask, Outcome
from .task import TaskStatus

MAX_ERROR_CHARS = 8000


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


def describe_error(error: BaseException | None, fallback: str) -> str:
    """``Type: message`` and the traceback, kept to a bounded size (head and tail)."""
    if error is None:
        return fallback
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()
    headline = f"{type(error).__name__}: {error}"
    text = f"{headline}\n\n{text}" if text else headline
    if len(text) <= MAX_ERROR_CHARS:
        return text
    half = MAX_ERROR_CHARS // 2
    return text[:half] + "\n... (truncated) ...\n" + text[-half:]


def decide(task: ClaimedTask, finished: Finished, policy: RetryDelay | None) -> Outcome:
    """The one place that maps an ending to an outcome."""
    ending = finished.ending
    if ending is Ending.RETURNED:
        try:
            result_json = "null" if finished.value is None else storable_json(finished.value, "handler result")
        except (TypeError, ValueError) as exc:
            return decide(task, Finished(Ending.RAISED, error=exc.with_traceback(None)), policy)
        return Outcome(task.id, task.claim_token, TaskStatus.SUCCEEDED, result_json=result_json)
    if ending is Ending.CANCELLED:
        return Outcome(task.id, task.claim_token, TaskStatus.CANCELLED, error=describe_error(finished.error, "Cancelled: cancellation requested"))
    if ending in (Ending.INTERRUPTED, Ending.SNOOZED):
        return Outcome(task.id, task.claim_token, TaskStatus.QUEUED, retry_in=finished.delay or 0.0, refund_attempt=True)
    fallback = f"TimeoutError: task exceeded its timeout of {task.timeout:g}s"
    error = describe_error(finished.error, fallback) if ending is Ending.RAISED else fallback
    if task.attempts >= task.max_attempts:
        return Outcome(task.id, task.claim_token, TaskStatus.FAILED, error=error)
    retry_in = finished.delay if finished.delay is not None else delay_for(task.attempts, task.retry_delay, policy)
    return Outcome(task.id, task.claim_token, TaskStatus.QUEUED, error=error, retry_in=retry_in)
