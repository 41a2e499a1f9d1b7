"""``process_queue``: one pass over the due tasks, like a cron tick."""
from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

from ..background import cancel_and_wait
from ..errors import TaskerError
from ..ids import new_id
from ..store.base import Store
from ..store.records import ClaimedTask, Outcome, WorkerInfo
from ..task import TaskStatus
from .completer import Completer
from .events import Events
from .executor import Attempt, make_context
from .heartbeat import Heartbeat
from .lifecycle import Lifecycle
from .maintenance import materialize
from .threads import HandlerThreads
from .worker import WorkerSettings

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
    threads: HandlerThreads,
    batch_size: int,
    settings: WorkerSettings,
) -> PassSummary:
    """Claim up to ``batch_size`` due tasks of the types handled here in one
    statement, run them ``concurrency`` at a time, record every outcome.

    The pass registers as a short-lived worker with a heartbeat, so that a
    pass killed half-way has its tasks rescued like any worker's.
    """
    await materialize(store, lookahead=0.0)
    types = list(handlers)
    for name, handler in handlers.items():   # a pass obeys its handlers' limits even before any worker stored them
        if handler.concurrency_limit is not None or handler.rate_limit is not None:
            await store.set_flow_limit("type", name, handler.concurrency_limit, handler.rate_limit)

    async def claim(worker_id: str) -> list[ClaimedTask]:
        # Tasks under flow limits are only ever claimed within them (claim_tasks leaves them).
        limited = await store.claim_limited_tasks(worker_id, types, None, batch_size) if await store.limited_names() else []
        return limited + (await store.claim_tasks(worker_id, types, None, batch_size - len(limited)) if len(limited) < batch_size else [])

    return await run_pass(store, handlers, events, threads, settings, claim)


async def run_pass(store: Store, handlers: dict[str, "Handler"], events: Events, threads: HandlerThreads, settings: WorkerSettings,
                   claim: Callable[[str], Awaitable[list[ClaimedTask]]]) -> PassSummary:
    """One pass over the tasks ``claim(worker_id)`` claims (``process_queue``: the due ones;
    ``testing``: given ones), as a short-lived registered worker."""
    if not handlers:
        return PassSummary()
    info = WorkerInfo(new_id(), socket.gethostname(), os.getpid(), "*", settings.concurrency, tuple(sorted(handlers)))
    heartbeat = Heartbeat(store, info, max(0.5, settings.lease / 6), settings.lease, lambda claims, sent_at: None, lambda ids: None)
    await heartbeat.beat()
    beating = asyncio.create_task(heartbeat.run())
    try:
        claimed = await claim(info.id)
        outcomes = await _run_all(store, handlers, events, threads, claimed, settings)
    finally:
        await cancel_and_wait(beating)
        await store.unregister_worker(info.id)
    return _summarize(len(claimed), outcomes)


async def _run_all(store: Store, handlers: dict[str, "Handler"], events: Events, threads: HandlerThreads,
                   claimed: list[ClaimedTask], settings: WorkerSettings) -> list[Outcome | None]:
    completer = Completer(store)
    writing = asyncio.create_task(completer.run())
    lifecycle = Lifecycle(asyncio.Semaphore(settings.concurrency), threads, completer, events, settings.max_result_bytes)
    try:
        attempts = [Attempt(task, handlers[task.type], make_context(task, settings.max_result_bytes), grace=settings.interrupt_grace)
                    for task in claimed]
        for attempt in attempts:
            asyncio.ensure_future(lifecycle.carry_out(attempt))
        # Wait for each attempt to be recorded, not for its handler: an abandoned one may never return.
        outcomes = await asyncio.gather(*(attempt.recorded for attempt in attempts))
        patience = max(settings.lease, FLUSH_PATIENCE)
        if not await completer.flush(timeout=patience):
            # Left running, these tasks are rescued once the lease runs out; a cron tick should not hang.
            raise TaskerError(f"could not record every outcome within {patience:g}s; see the log")
    finally:
        await cancel_and_wait(writing)
    return outcomes


def _summarize(claimed: int, outcomes: list[Outcome | None]) -> PassSummary:
    count = {"succeeded": 0, "failed": 0, "retried": 0, "cancelled": 0, "requeued": 0}
    for outcome in outcomes:
        assert outcome is not None   # a pass keeps every outcome
        if outcome.status is TaskStatus.QUEUED:
            count["requeued" if outcome.refund_attempt else "retried"] += 1
        else:
            count[outcome.status.value] += 1
    return PassSummary(claimed=claimed, **count)
