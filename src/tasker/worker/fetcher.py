"""Claiming due tasks into free slots; woken by notifications, a timer and a jittered poll."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Callable, Sequence

from ..background import Backoff
from ..limits import FLOW_LIMITS_REFRESH
from ..store.base import Store
from ..store.records import ClaimedTask, Wakeup

log = logging.getLogger("tasker.worker")
MIN_SLEEP = 0.002


class Slots:
    """Claimed tasks this worker may hold, globally and per queue.

    ``queues`` is None (any queue), a list (those queues, sharing the global
    limit) or a dict ``{name: limit}`` (each queue capped, all within the global limit).
    ``prefetch`` more than ``concurrency`` may be held (claimed, waiting for a
    handler slot) when tasks are short: claims then come in bigger batches and
    handlers never wait on a claim's round trip.
    """

    def __init__(self, concurrency: int, queues: Sequence[str] | dict[str, int] | None):
        self.concurrency = concurrency
        self.limits = dict(queues) if isinstance(queues, dict) else None
        self.names = list(queues) if queues is not None else None
        self.busy: dict[str, int] = {}
        self.total = 0
        self.prefetch = 0

    @property
    def free(self) -> int:
        return self.concurrency + self.prefetch - self.total

    @property
    def refill_at(self) -> int:
        """Free slots worth a claim statement: one without prefetch; with it, a batch, claimed
        while a slot's worth of tasks still waits for each handler slot (so none idles on
        the claim's round trip)."""
        return max(1, self.prefetch - self.concurrency) if self.prefetch else 1

    def plan(self) -> list[tuple[list[str] | None, int]]:
        """What to claim now: ``(queues filter, how many)`` pairs, each one statement."""
        free = self.free
        if free <= 0:
            return []
        if self.limits is None:
            return [(self.names, free)]
        plan: list[tuple[list[str] | None, int]] = []
        for name, limit in self.limits.items():
            take = min(limit - self.busy.get(name, 0), free)
            if take > 0:
                plan.append(([name], take))
                free -= take
        return plan

    def take(self, queue: str) -> None:
        self.busy[queue] = self.busy.get(queue, 0) + 1
        self.total += 1

    def release(self, queue: str) -> bool:
        """Free a slot; True when that made a claim worth making."""
        queue_was_full = self.limits is not None and self.busy.get(queue, 0) >= self.limits.get(queue, 0)
        self.busy[queue] -= 1
        self.total -= 1
        return queue_was_full or self.free == self.refill_at


class FlowView:
    """Which of this worker's types and queues are under flow limits, as last read.

    Only a hint: the store's claims read the limits themselves, so a stale view never
    breaks a limit; it decides whether a limited claim is worth a statement."""

    def __init__(self, types: Sequence[str], queues: Sequence[str] | None):
        self.types = set(types)
        self.queues = None if queues is None else set(queues)
        self.limited_types: set[str] = set()
        self.limited_queues: set[str] = set()
        self.read_at = -1e9

    @property
    def active(self) -> bool:
        return bool(self.limited_types or self.limited_queues)

    def due(self, now: float) -> bool:
        return now - self.read_at >= FLOW_LIMITS_REFRESH

    def update(self, names: Sequence[tuple[str, str]], now: float) -> None:
        self.read_at = now
        self.limited_types = {n for scope, n in names if scope == "type" and n in self.types}
        self.limited_queues = {n for scope, n in names if scope == "queue" and (self.queues is None or n in self.queues)}


class Fetcher:
    """Claims only as many tasks as there are free slots, then sleeps until the
    earliest of: a notification, a freed slot, the next known ``run_at``, the poll."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        types: Sequence[str],
        slots: Slots,
        poll_interval: float,
        start: Callable[[ClaimedTask], None],
        on_drained: Callable[[], None],
    ):
        self.store = store
        self.worker_id = worker_id
        self.types = list(types)
        self.slots = slots
        self.poll_interval = poll_interval
        self.start = start
        self.on_drained = on_drained
        self.wake = asyncio.Event()
        self.stopping = False
        self.claiming = False   # a claim statement is on its way: its rows may not be started yet
        self.flow = FlowView(self.types, slots.names)
        # Whether a limited claim may find something: after it came back short, not until a
        # wake-up, a limited task's end, a timer or the view's refresh (each round otherwise
        # pays a locked statement that unlimited work does not need).
        self.limited_due = True
        self.limited_ended = False

    def hint(self, wakeup: Wakeup) -> None:
        if self.slots.names is None or wakeup.queue is None or wakeup.queue in self.slots.names:
            self.limited_due = True
            self.wake.set()

    def slot_freed(self, queue: str) -> None:
        if self.slots.release(queue):
            self.wake.set()

    def task_ended(self, type: str, queue: str) -> None:
        # Types whose tasks carry limits of their own are among limited_types (limited_names.sql).
        if type in self.flow.limited_types or queue in self.flow.limited_queues:
            self.limited_ended = True

    def outcomes_written(self) -> None:
        """A limited task ends for the store when its outcome is written (until then it counts
        as running): the moment to claim the next one, rather than the next poll."""
        if self.limited_ended:
            self.limited_ended = False
            self.limited_due = True
            self.wake.set()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()

    async def run(self) -> None:
        backoff = Backoff()
        while not self.stopping:
            self.wake.clear()
            try:
                drained = await self._claim_round()
                sleep = await self._sleep_for() if drained else None
                if drained and not self.slots.total:
                    self.on_drained()
                backoff.reset()
            except Exception as exc:  # an outage: log, back off, keep going
                sleep = backoff.next()
                log.warning("claiming failed (%s); retrying in %.2fs", exc, sleep)
            await self._wait(sleep)

    async def _claim_round(self) -> bool:
        """Claim into every free slot; True when the store had fewer due tasks than slots."""
        if self.flow.due(time.monotonic()):
            self.flow.update(await self.store.limited_names(), time.monotonic())
            self.limited_due = True
        plan = self.slots.plan()
        if not plan:
            return False
        drained = True
        if self.flow.active and self.limited_due:
            drained = await self._claim_limited(plan)
            plan = self.slots.plan()
        for queues, limit in plan:
            if self.stopping:
                return False
            self.claiming = True
            try:
                claimed = await self.store.claim_tasks(self.worker_id, self.types, queues, limit)
            finally:
                self.claiming = False
            for task in claimed:
                self.slots.take(task.queue)
                self.start(task)
            drained = drained and len(claimed) < limit
        return drained

    async def _claim_limited(self, plan: list[tuple[list[str] | None, int]]) -> bool:
        """Limited tasks first (their limits keep them from starving the others), never into
        prefetch room: a held task counts against its limit in every worker while it waits."""
        drained, asked = True, False
        for queues, limit in plan:
            take = min(limit, self.slots.concurrency - self.slots.total)
            if take <= 0 or self.stopping:
                break
            asked = True
            self.claiming = True
            try:
                claimed = await self.store.claim_limited_tasks(self.worker_id, self.types, queues, take)
            finally:
                self.claiming = False
            for task in claimed:
                self.slots.take(task.queue)
                self.start(task)
            drained = drained and len(claimed) < take
        if drained and asked:
            self.limited_due = False
        return drained

    async def _sleep_for(self) -> float:
        sleep = self.poll_interval * random.uniform(0.8, 1.2)
        next_at = await self.store.next_run_at(self.types, self.slots.names)
        if next_at is not None:
            sleep = min(sleep, max(MIN_SLEEP, next_at - time.time()))
        if self.flow.active:   # a rate limit's next free slot: sleep until then, not a poll
            slot = await self.store.next_flow_slot()
            if slot is not None:
                sleep = min(sleep, max(MIN_SLEEP, slot - time.time()))
        return sleep

    async def _wait(self, timeout: float | None) -> None:
        if self.stopping:
            return
        if timeout is None and self.slots.free >= self.slots.refill_at and self.slots.plan():
            return  # room for a claim and not drained: claim again at once
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except asyncio.TimeoutError:
            self.limited_due = True   # the poll, or a timer (a run_at, a rate limit's next slot)
