"""Writing handlers' progress reports while they run, batched and fenced."""
from __future__ import annotations

from typing import Callable, Iterable

from ..background import repeat
from ..store.base import Store
from ..store.records import ProgressReport
from .executor import Attempt


class ProgressWriter:
    """Every ``interval``: one write with the latest report of each attempt that made one."""

    def __init__(self, store: Store, attempts: Callable[[], Iterable[Attempt]], interval: float = 0.5):
        self.store = store
        self.attempts = attempts
        self.interval = interval

    async def flush(self) -> None:
        reports = []
        for attempt in list(self.attempts()):
            ctx = attempt.ctx
            if ctx.progress_dirty and ctx.progress_json is not None:
                ctx.progress_dirty = False
                reports.append(ProgressReport(attempt.task.id, attempt.task.claim_token, ctx.progress_json))
        if reports:
            await self.store.save_progress(reports)

    async def run(self) -> None:
        # Best effort: the outcome carries the last report anyway.
        await repeat(self.flush, self.interval, "saving progress")
