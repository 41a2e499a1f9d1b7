"""One attempt from start to end: run -> decide -> submit -> report.

Written once, used by the long-running worker and by ``process_queue``
alike: the two differ only in what they do around it (freeing a claim slot,
dropping the outcome of a run whose claim was rescued).

Every way an attempt can end is recorded, once: the handler returned or
raised (anything, ``SystemExit`` included), was interrupted, or ignored its
interruption past its grace (then it is abandoned: recorded at once, its
coroutine or thread left to run on, its eventual end ignored).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timezone
from typing import Awaitable, Callable

from ..limits import DEFAULT_MAX_PAYLOAD_BYTES
from ..logs import trace_id_of
from ..outcome import Finished, decide, describe_error
from ..store.records import Outcome
from ..task import TaskStatus
from ..tracebacks import from_user_frame
from .completer import Completer
from .events import Events, TaskEvent
from .executor import Attempt, run_admitted
from .threads import HandlerThreads

log = logging.getLogger("tasker.worker")


class Lifecycle:
    """Runs attempts within ``gate`` (handler slots), on ``threads`` (sync handlers),
    hands outcomes to ``completer`` and reports them to the log and ``events`` hooks."""

    def __init__(self, gate: asyncio.Semaphore, threads: HandlerThreads, completer: Completer, events: Events,
                 max_result_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES, admit: Callable[[Attempt], Awaitable[None]] | None = None,
                 observe: Callable[[Attempt, Outcome], None] | None = None):
        self.admit = admit
        self.observe = observe   # the worker's own metrics, if it serves them
        self.gate = gate
        self.threads = threads
        self.completer = completer
        self.events = events
        self.max_result_bytes = max_result_bytes
        self.recording: set[asyncio.Task] = set()   # the bookkeeping of abandoned attempts

    async def carry_out(
        self,
        attempt: Attempt,
        after_run: Callable[[Attempt], None] = lambda _attempt: None,
        keep: Callable[[Attempt], bool] = lambda _attempt: True,
    ) -> None:
        """Run ``attempt`` and record how it ended; ``attempt.recorded`` resolves to the outcome
        (None if ``keep`` refused it). ``after_run`` is called once the handler is done or
        abandoned, whatever happened."""
        attempt.on_abandoned = lambda finished: self._record_later(attempt, finished, after_run, keep)
        try:
            finished = await run_admitted(attempt, self.gate, self.threads, self.events.middlewares, self.admit)
        except BaseException:
            if not attempt.abandoned:
                after_run(attempt)
                _settle(attempt, None)
            raise
        if not attempt.abandoned:   # else it was recorded when it was given up on
            await self._record(attempt, finished, after_run, keep)

    def _record_later(self, attempt: Attempt, finished: Finished, after_run: Callable[[Attempt], None],
                      keep: Callable[[Attempt], bool]) -> None:
        task = asyncio.ensure_future(self._record(attempt, finished, after_run, keep))
        self.recording.add(task)
        task.add_done_callback(self.recording.discard)

    async def _record(self, attempt: Attempt, finished: Finished, after_run: Callable[[Attempt], None],
                      keep: Callable[[Attempt], bool]) -> None:
        after_run(attempt)
        outcome = self._decide(attempt, finished)._replace(wait=attempt.wait)
        if not keep(attempt):
            _settle(attempt, None)
            return
        self.completer.submit(outcome)
        _settle(attempt, outcome)
        if self.observe is not None:
            self.observe(attempt, outcome)
        await report(self.events, attempt, outcome, finished.value, finished.error)

    def _decide(self, attempt: Attempt, finished: Finished) -> Outcome:
        task = attempt.task
        try:
            handler, ctx = attempt.handler, attempt.ctx
            added = ctx.headers != (task.headers or {})   # kept for the next attempts
            return decide(task, finished, handler.retry_policy, ctx.progress_json, attempt.elapsed, self.max_result_bytes,
                          handler.no_retry_reason, json.dumps(ctx.headers) if added else None)
        except BaseException as exc:  # a bug or a hostile value: the attempt is still recorded, as failed
            log.exception("task %s: could not decide the outcome of attempt %d", task.id, task.attempts)
            error = describe_error(exc, "") + "\n\n(recorded as a failure: the outcome of this attempt could not be decided)"
            return Outcome(task.id, task.claim_token, TaskStatus.FAILED, error=error, duration=attempt.elapsed)


def _settle(attempt: Attempt, outcome: Outcome | None) -> None:
    if not attempt.recorded.done():
        attempt.recorded.set_result(outcome)


async def report(events: Events, attempt: Attempt, outcome: Outcome, value: object = None, error: BaseException | None = None) -> None:
    """Log the attempt with its fields (a final failure at ERROR with its traceback, a retry at
    WARNING with when it runs again), then call the hooks."""
    succeeded = outcome.status is TaskStatus.SUCCEEDED
    if succeeded and not events.hooks["success"] and not log.isEnabledFor(logging.INFO):
        return  # the common case under load: nothing would see the event
    task = attempt.task
    event = TaskEvent(task.id, task.type, task.queue, task.attempts, outcome.status.value, round(attempt.elapsed, 6), value,
                      outcome.error, error)
    fields = {"task_id": task.id, "task_type": task.type, "queue": task.queue, "attempt": task.attempts,
              "duration": event.duration, "status": event.status, "trace_id": trace_id_of(attempt.ctx.headers)}
    what = f"task {task.type} {task.id} attempt {task.attempts}/{task.max_attempts}"
    if succeeded:
        log.info("%s succeeded in %.3fs", what, event.duration, extra=fields)
        await events.emit("success", event)
        return
    headline = (outcome.error or "").split("\n", 1)[0] or "interrupted"
    if outcome.status is TaskStatus.QUEUED:
        fields["next_run_at"] = next_run = datetime.fromtimestamp(time.time() + outcome.retry_in, timezone.utc).isoformat(timespec="seconds")
        if outcome.refund_attempt:   # shutdown or snooze: the attempt does not count
            log.info("%s ended after %.3fs without using its try; runs again in %gs (at %s): %s",
                     what, event.duration, outcome.retry_in, next_run, headline, extra=fields)
            return
        log.warning("%s failed after %.3fs; retrying in %gs (at %s): %s", what, event.duration, outcome.retry_in, next_run,
                    headline, extra=fields)
    elif outcome.status is TaskStatus.CANCELLED:
        log.info("%s cancelled after %.3fs: %s", what, event.duration, headline, extra=fields)
    else:
        log.error("%s failed for good after %.3fs: %s", what, event.duration, headline, extra=fields,
                  exc_info=(type(error), error, from_user_frame(error.__traceback__)) if error is not None else None)
    await events.emit("failure", event)
