"""Retention (handler option ``retention=``): workers delete their types' old finished tasks.

One bounded batch per type and round, so no statement runs over the whole history and no
lock is held long; while a type is behind, rounds follow each other after a short pause;
once every type is caught up, the next round waits ``interval``. Every worker that handles
a type prunes it; on PostgreSQL they share the work (SKIP LOCKED), on SQLite they take turns.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Mapping

from ..limits import RETENTION_BATCH, RETENTION_INTERVAL, RETENTION_PAUSE
from ..store.base import Store

log = logging.getLogger("tasker.worker")


class Retention:
    """Prunes the finished tasks of each type in ``keep`` (type -> seconds kept after finishing)."""

    def __init__(self, store: Store, keep: Mapping[str, float], interval: float = RETENTION_INTERVAL):
        self.store, self.keep = store, dict(keep)
        self.interval, self.batch, self.pause = interval, RETENTION_BATCH, RETENTION_PAUSE
        self.deleted = 0

    async def run(self) -> None:
        failing = False
        while True:
            try:
                behind = await self.round()
                if failing:
                    log.info("retention works again")
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    log.warning("retention failed (%s); will keep trying", exc)
                failing, behind = True, False
            await asyncio.sleep(self.pause if behind else self.interval)

    async def round(self) -> bool:
        """One batch per type; True when some type had a full batch (more may be waiting)."""
        behind = False
        for type, seconds in self.keep.items():
            gone = await self.store.cleanup(seconds, None, type, self.batch, max_batches=1)
            self.deleted += gone
            behind = behind or gone >= self.batch
        return behind
