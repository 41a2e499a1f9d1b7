"""``process_queue``: one pass over the due tasks, like a cron tick."""
from __future__ import annotations

import asyncio
import os
import socket
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..errors import TaskerError
from ..ids import new_id
from ..outcome import decide
from ..store.base import ClaimedTask, Store, WorkerInfo
from ..task import TaskStatus
from .completer import Completer
from .events import Events
from .executor import Attempt, make_context, run_attempt
from .heartbeat import Heartbeat
from .maintenance import materialize
from .repeat import cancel_and_wait
from .worker import report, with_attempt_details

if TYPE_CHECKING:
    from ..handlers import Handler


FLUSH_PATIENCE = 30.0  # seconds a pass waits for its outcomes to be written through an outage


@dataclass(frozen=True)
class PassSummary:
    """What one ``process_queue`` pass did. Reads as attributes or as a mapping.

    >>> summary = app.process_queue()
    >>> summary.succeeded, summary["failed"], summary.retried
    """

    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    requeued: int = 0

    def __getitem__(self, key: str) -> int:
        return asdict(self)[key]

    def keys(self) -> list[str]:
        return list(asdict(self))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def process_queue(
    store: Store,
    handlers: dict[str, "Handler"],
    events: Events,
    threads: Executor,
    batch_size: int,
    concurrency: int,
    lease: float,
) -> PassSummary:
    """Claim up to ``batch_size`` due tasks of the types handled here in one
    statement, run them ``concurrency`` at a time, record every outcome.

    The pass registers as a short-lived worker with a heartbeat, so that a
    pass killed half-way has its tasks rescued like any worker's.
    """
    await materialize(store, lookahead=0.0)
    if not handlers:
        return PassSummary()
    info = WorkerInfo(new_id(), socket.gethostname(), os.getpid(), "*", concurrency)
    heartbeat = Heartbeat(store, info, max(0.5, lease / 6), lease, lambda claims, sent_at: None, lambda ids: None)
    await heartbeat.beat()
    beating = asyncio.create_task(heartbeat.run())
    try:
        claimed = await store.claim_tasks(info.id, list(handlers), None, batch_size)
        statuses = await _run_all(store, handlers, events, threads, claimed, concurrency, lease)
    finally:
        await cancel_and_wait(beating)
        await store.unregister_worker(info.id)
    return _summarize(len(claimed), statuses)


async def _run_all(store: Store, handlers: dict[str, "Handler"], events: Events, threads: Executor, claimed: list[ClaimedTask], concurrency: int, lease: float) -> list[Any]:
    completer = Completer(store)
    writing = asyncio.create_task(completer.run())
    gate = asyncio.Semaphore(concurrency)

    async def one(task: ClaimedTask) -> tuple[TaskStatus, bool]:
        async with gate:
            attempt = Attempt(task, handlers[task.type], make_context(task))
            finished = await run_attempt(attempt, threads)
        outcome = with_attempt_details(decide(task, finished, attempt.handler.retry_policy), attempt)
        completer.submit(outcome)
        await report(events, attempt, outcome, finished.value)
        return outcome.status, outcome.refund_attempt

    try:
        statuses = await asyncio.gather(*(one(task) for task in claimed))
        patience = max(lease, FLUSH_PATIENCE)
        if not await completer.flush(timeout=patience):
            # Left running, these tasks are rescued once the lease runs out; a cron tick should not hang.
            raise TaskerError(f"could not record every outcome within {patience:g}s; see the log")
    finally:
        await cancel_and_wait(writing)
    return statuses


def _summarize(claimed: int, statuses: list[tuple[TaskStatus, bool]]) -> PassSummary:
    count = {"succeeded": 0, "failed": 0, "retried": 0, "cancelled": 0, "requeued": 0}
    for status, refunded in statuses:
        if status is TaskStatus.QUEUED:
            count["requeued" if refunded else "retried"] += 1
        else:
            count[status.value] += 1
    return PassSummary(claimed=claimed, **count)
