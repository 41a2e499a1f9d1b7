"""Writing outcomes back in batches, retrying through database outages."""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, Sequence

from ..background import keep_trying
from ..store.base import Store
from ..store.records import Outcome
from ..task import TaskStatus

log = logging.getLogger("tasker.worker")
MAX_BATCH = 500


class Completer:
    """Outcomes queue up while a write is in flight and go out together in the
    next one, so batches grow with load and an idle worker writes at once."""

    def __init__(self, store: Store, on_written: Callable[[], None] = lambda: None):
        self.store = store
        self.on_written = on_written
        self.pending: list[Outcome] = []
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.writing: list[Outcome] = []

    def tokens(self) -> set[str]:
        """Claim tokens of outcomes not yet written (their tasks still show running)."""
        return {o.claim_token for o in self.pending} | {o.claim_token for o in self.writing}

    def submit(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        self.idle.clear()
        self.wake.set()

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                self.writing = batch
                await self._write(batch)
                self.writing = []
                self.on_written()
            self.idle.set()

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted outcome is written; False if time ran out."""
        try:
            await asyncio.wait_for(self.idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def _write(self, batch: Sequence[Outcome]) -> None:
        # An outage: keep the outcomes and try again until the store takes them.
        applied = set(await keep_trying(lambda: self._write_batch(batch), f"recording {len(batch)} outcomes") or ())
        for outcome in batch:
            if outcome.task_id not in applied:
                # Also seen when a write committed but its answer was lost and the retry found nothing to change.
                log.warning("outcome of task %s not applied: the claim no longer holds (rescued, or already written)", outcome.task_id)

    async def _write_batch(self, batch: Sequence[Outcome]) -> list[str]:
        """The batch in one write; if the store refuses it, each outcome on its own, so that
        one it refuses neither holds back the others nor is retried forever."""
        try:
            return await self.store.complete_tasks(batch)
        except self.store.refusals:
            return [task_id for outcome in batch for task_id in await self._write_alone(outcome)]

    async def _write_alone(self, outcome: Outcome) -> list[str]:
        """One outcome; if the store refuses even that, a plain failure in its place (what the
        handler returned or reported cannot be kept, and running it again would do the same)."""
        try:
            return await self.store.complete_tasks([outcome])
        except self.store.refusals as exc:
            log.error("task %s: the store refused its outcome (%s: %s); recording it as failed", outcome.task_id, type(exc).__name__, exc)
            return await self.store.complete_tasks([refused(outcome, exc)])


def refused(outcome: Outcome, exc: BaseException) -> Outcome:
    """The plainest outcome that says why: failed, with no result or progress, ASCII text."""
    reason = f"{type(exc).__name__}: {exc}".encode("ascii", "backslashreplace").decode("ascii").replace("\x00", "\\x00")
    error = f"TaskerError: the store refused to record this attempt's outcome ({reason[:500]}); recorded as failed"
    return Outcome(outcome.task_id, outcome.claim_token, TaskStatus.FAILED, error=error, duration=outcome.duration)
