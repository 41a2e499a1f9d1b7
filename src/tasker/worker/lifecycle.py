"""One attempt from start to end: run -> decide -> submit -> report.

Written once, used by the long-running worker and by ``process_queue``
alike: the two differ only in what they do around it (freeing a claim slot,
dropping the outcome of a run whose claim was rescued).
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Callable

from ..outcome import decide
from ..store.records import Outcome
from ..task import TaskStatus
from .completer import Completer
from .events import Events, TaskEvent
from .executor import Attempt, run_admitted

log = logging.getLogger("tasker.worker")


class Lifecycle:
    """Runs attempts within ``gate`` (handler slots), on ``threads`` (sync handlers),
    hands outcomes to ``completer`` and reports them to the log and ``events`` hooks."""

    def __init__(self, gate: asyncio.Semaphore, threads: Executor, completer: Completer, events: Events):
        self.gate = gate
        self.threads = threads
        self.completer = completer
        self.events = events

    async def carry_out(
        self,
        attempt: Attempt,
        after_run: Callable[[Attempt], None] = lambda _attempt: None,
        keep: Callable[[Attempt], bool] = lambda _attempt: True,
    ) -> Outcome | None:
        """Run ``attempt`` and record how it ended. ``after_run`` is called once the handler
        is done (whatever happened); an outcome ``keep`` refuses is dropped (None)."""
        try:
            finished = await run_admitted(attempt, self.gate, self.threads)
        finally:
            after_run(attempt)
        task = attempt.task
        outcome = decide(task, finished, attempt.handler.retry_policy, attempt.ctx.progress_json, attempt.elapsed)
        if not keep(attempt):
            return None
        self.completer.submit(outcome)
        await report(self.events, attempt, outcome, finished.value)
        return outcome


async def report(events: Events, attempt: Attempt, outcome: Outcome, value: object = None) -> None:
    """Log the attempt with its fields, then call the hooks."""
    succeeded = outcome.status is TaskStatus.SUCCEEDED
    if succeeded and not events.hooks["success"] and not log.isEnabledFor(logging.INFO):
        return  # the common case under load: nothing would see the event
    task = attempt.task
    event = TaskEvent(task.id, task.type, task.queue, task.attempts, outcome.status.value, round(attempt.elapsed, 6), value, outcome.error)
    fields = {"task_id": task.id, "task_type": task.type, "attempt": task.attempts, "duration": event.duration, "status": event.status}
    if succeeded:
        log.info("task %s %s attempt %d succeeded in %.3fs", task.type, task.id, task.attempts, event.duration, extra=fields)
        await events.emit("success", event)
        return
    headline = (outcome.error or "").split("\n", 1)[0] or "interrupted; the attempt does not count"
    level = logging.INFO if outcome.refund_attempt else logging.WARNING
    log.log(level, "task %s %s attempt %d -> %s after %.3fs: %s", task.type, task.id, task.attempts, event.status, event.duration, headline, extra=fields)
    if not outcome.refund_attempt:
        await events.emit("failure", event)
