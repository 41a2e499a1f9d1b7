"""Writing outcomes back in batches, retrying through database outages."""
from __future__ import annotations

import asyncio
import logging
from typing import Sequence

from ..background import keep_trying
from ..store.base import Store
from ..store.records import Outcome

log = logging.getLogger("tasker.worker")
MAX_BATCH = 500


class Completer:
    """Outcomes queue up while a write is in flight and go out together in the
    next one, so batches grow with load and an idle worker writes at once."""

    def __init__(self, store: Store):
        self.store = store
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
        applied = set(await keep_trying(lambda: self.store.complete_tasks(batch), f"recording {len(batch)} outcomes") or ())
        for outcome in batch:
            if outcome.task_id not in applied:
                # Also seen when a write committed but its answer was lost and the retry found nothing to change.
                log.warning("outcome of task %s not applied: the claim no longer holds (rescued, or already written)", outcome.task_id)
