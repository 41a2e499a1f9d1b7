"""Turning due ticks of recurring series into tasks, on every worker."""
from __future__ import annotations

import time

from ..background import repeat
from ..series import LOOKAHEAD, plan_ticks
from ..store.base import Store


async def materialize(store: Store, lookahead: float = LOOKAHEAD) -> int:
    """One round: insert every tick due within ``lookahead`` (exactly once per tick)."""
    return await store.materialize_schedules(time.time(), lookahead, plan_ticks)


class Maintenance:
    """Runs ``materialize`` about every ``interval`` seconds.

    Ticks are inserted ahead of time as queued tasks with ``run_at`` = the
    tick, so the fetcher's own timer starts them on time; this loop only has
    to run more often than ``LOOKAHEAD``.
    """

    def __init__(self, store: Store, interval: float = LOOKAHEAD / 2):
        self.store = store
        self.interval = interval

    async def run(self) -> None:
        await repeat(lambda: materialize(self.store), self.interval, "enqueueing recurring tasks")
