"""Writing handlers' progress reports while they run, batched and fenced."""
from __future__ import annotations

from typing import Callable, Iterable

from ..store.base import Store
from .executor import Attempt
from .repeat import repeat


class ProgressWriter:
    """Every ``interval``: one write with the latest report of each attempt that made one."""

    def __init__(self, store: Store, attempts: Callable[[], Iterable[Attempt]], interval: float = 0.5):
        self.store = store
        self.attempts = attempts
        self.interval = interval

    async def flush(self) -> None:
        items = []
        for attempt in list(self.attempts()):
            ctx = attempt.ctx
            if ctx.progress_dirty and ctx.progress_json is not None:
                ctx.progress_dirty = False
                items.append((attempt.task.id, attempt.task.claim_token, ctx.progress_json))
        if items:
            await self.store.save_progress(items)

    async def run(self) -> None:
        # Best effort: the outcome carries the last report anyway.
        await repeat(self.flush, self.interval, "saving progress")
