"""A long-running worker: wires fetcher, executor, completer and heartbeat; stops gracefully."""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ..background import cancel_and_wait, keep_trying
from ..ids import new_id
from ..limits import DEFAULT_MAX_PAYLOAD_BYTES, RETENTION_INTERVAL
from ..outcome import CANCEL, LOST, SHUTDOWN
from ..store.base import Store
from ..store.records import ClaimedTask, HeldClaim, Outcome, WorkerInfo
from ..task import TaskStatus
from .completer import Completer
from .events import Events
from .executor import INTERRUPT_GRACE, Attempt, make_context
from .fetcher import Fetcher, Slots
from .heartbeat import Heartbeat
from .metrics import WorkerMetrics
from .retention import Retention
from .lifecycle import Lifecycle
from .maintenance import Maintenance
from .progress import ProgressWriter
from .threads import HandlerThreads

if TYPE_CHECKING:
    from ..handlers import Handler

log = logging.getLogger("tasker.worker")
GIVE_BACK_DELAY = 2.0   # seconds before a task given back at shutdown may run elsewhere
ORPHAN_AGE = 1.0        # seconds after which a claim not running here is given back
AFTER_INTERRUPT = 1.0   # seconds sync handlers get to notice ctx.cancelled at shutdown
PREFETCH_BELOW = 0.02   # prefetch while the typical attempt takes less than this (seconds)
# Tasks held ahead per handler slot while prefetching. Three, not two: claims then come in
# batches of twice the concurrency (Slots.refill_at), and a sync handler's slots, which free
# one by one, no longer make a claim statement every concurrency tasks (benchmarks: 2.5x the
# claims; with three, 12-14% more tasks/s, sync and async, for up to 4x concurrency held).
PREFETCH_PER_SLOT = 3


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Once per process, as its first worker starts: collect, then keep what is alive now
    (modules, the app, its pools) out of later collections. Full collections walking that heap
    paused the event loop for milliseconds: at half load they were the worst commit-to-start
    times (p99 6.9-12.6 ms -> 5.6-9.0 ms, max 12-16 -> 7-11 ms, 3 runs each). Only objects
    alive at that moment are frozen; they are still freed when their last reference goes."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


@dataclass(frozen=True)
class WorkerSettings:
    """Timing knobs; the defaults suit production, tests shorten them."""

    concurrency: int = 10
    queues: Sequence[str] | dict[str, int] | None = None
    lease: float = 30.0                # a worker silent this long is presumed dead
    heartbeat_interval: float | None = None   # default: lease / 6, capped by the store (1 s on SQLite)
    poll_interval: float | None = None        # default: the store's (2 s with LISTEN, 0.5 s without, 0.1 s on SQLite)
    grace_period: float = 30.0         # on SIGTERM, how long running tasks may take to finish
    interrupt_grace: float = INTERRUPT_GRACE   # a handler ignoring its timeout or cancellation this long is abandoned
    retention_interval: float = RETENTION_INTERVAL   # how often caught-up retention looks again (handler option retention=)
    max_result_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES   # results and progress reports, as JSON
    metrics_port: int | None = None    # serve this worker's own Prometheus /metrics here (0: any free port)
    metrics_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        for name in ("lease", "heartbeat_interval", "poll_interval", "grace_period", "interrupt_grace", "retention_interval"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0):
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.lease <= 0:
            raise ValueError(f"lease must be > 0 seconds, got {self.lease!r}")
        if self.heartbeat_interval is not None and not 0 < self.heartbeat_interval < self.lease / 2:
            raise ValueError(
                f"heartbeat_interval must be > 0 and under half the lease ({self.lease:g}s), got {self.heartbeat_interval!r}"
            )


def describe_queues(queues: Sequence[str] | dict[str, int] | None) -> str:
    if queues is None:
        return "*"
    if isinstance(queues, dict):
        return ",".join(f"{name}:{limit}" for name, limit in queues.items())
    return ",".join(queues)


class Worker:
    """Runs until ``stop()``; a second ``stop()`` (or ``stop(now=True)``) skips the grace period."""

    def __init__(self, store: Store, handlers: dict[str, "Handler"], events: Events, settings: WorkerSettings):
        if not handlers:
            raise RuntimeError("this worker has no handlers: register some with @app.handler before starting it")
        self.loop = asyncio.get_running_loop()
        self.store = store
        self.handlers = handlers
        self.events = events
        self.settings = settings
        self.info = WorkerInfo(new_id(), socket.gethostname(), os.getpid(), describe_queues(settings.queues), settings.concurrency,
                               tuple(sorted(handlers)))
        # Keyed by claim token: a worker may hold a task again (rescued from it
        # while it stalled) while its earlier run is still winding down.
        self.running: dict[str, Attempt] = {}
        self.tasks: set[asyncio.Task] = set()
        self.threads = HandlerThreads(settings.concurrency * 2, "tasker-handler")
        self.completer = Completer(store, on_written=lambda: self.fetcher.outcomes_written())
        self.slots = Slots(settings.concurrency, settings.queues)
        self.metrics = None if settings.metrics_port is None else WorkerMetrics(lambda: list(self.running.values()))
        self.lifecycle = Lifecycle(asyncio.Semaphore(settings.concurrency), self.threads, self.completer, events,
                                   settings.max_result_bytes, self._admit, self.metrics.observe if self.metrics else None)
        self.pace = 1.0   # typical attempt duration (moving average), seconds
        self.fetcher = Fetcher(store, self.info.id, list(handlers), self.slots, self._poll_interval(), self._start, self._drained)
        self.heartbeat = Heartbeat(store, self.info, self._heartbeat_interval(), settings.lease, self._reconcile, self._rescued)
        self.stop_requests = 0
        self.idle_reported = False

    def _poll_interval(self) -> float:
        chosen = self.settings.poll_interval
        return self.store.timings.poll_interval if chosen is None else chosen

    def _heartbeat_interval(self) -> float:
        if self.settings.heartbeat_interval is not None:
            return self.settings.heartbeat_interval
        cap = self.store.timings.max_heartbeat_interval
        return self.settings.lease / 6 if cap is None else min(self.settings.lease / 6, cap)

    # -- lifecycle -------------------------------------------------------------

    def stop(self, now: bool = False) -> None:
        self.stop_requests += 2 if now else 1
        self.fetcher.stop()
        for attempt in self.running.values():
            if not attempt.admitted:  # prefetched, never started: give it back at once
                attempt.interrupt(SHUTDOWN)
        if self.stop_requests >= 2:
            log.warning("stopping now: interrupting %d running task(s)", len(self.running))
            self._interrupt_all()
        else:
            log.info("stopping: no new tasks; waiting up to %gs for %d running task(s)", self.settings.grace_period, len(self.running))

    def stop_from_any_thread(self, now: bool = False) -> None:
        """``stop``, run on the worker's own loop (asyncio objects are not thread-safe)."""
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self.loop:
            self.stop(now)
        else:
            try:
                self.loop.call_soon_threadsafe(self.stop, now)
            except RuntimeError:
                pass  # that loop has closed: the worker is gone already

    async def run(self) -> None:
        if self.metrics is not None and self.settings.metrics_port is not None:
            self.metrics.serve(self.settings.metrics_host, self.settings.metrics_port)
        try:
            await self._run()
        finally:
            if self.metrics is not None:
                self.metrics.close()

    async def _run(self) -> None:
        await self._register()
        log.info("worker %s started: concurrency %d, queues %s, types %s", self.info.id, self.settings.concurrency, self.info.queues, ", ".join(sorted(self.handlers)))
        listener = await self.store.listen(self.fetcher.hint, self._cancel_one)
        freeze_startup_heap()
        progress = ProgressWriter(self.store, lambda: list(self.running.values()))
        duties = [self.completer.run, self.heartbeat.run, Maintenance(self.store).run, progress.run]
        keep = {name: h.retention for name, h in self.handlers.items() if h.retention is not None}
        if keep:
            duties.append(Retention(self.store, keep, self.settings.retention_interval).run)
        background = [asyncio.create_task(duty()) for duty in duties]
        try:
            await self.fetcher.run()
            await self._drain()
        finally:
            await listener.stop()
            await cancel_and_wait(*background)
            await self._unregister()
            self.threads.shutdown(wait=False)
            log.info("worker %s stopped", self.info.id)

    async def _register(self) -> None:
        await keep_trying(self.heartbeat.beat, "registering the worker", give_up=lambda: self.fetcher.stopping)
        await keep_trying(self._store_flow_limits, "storing the types' flow limits", give_up=lambda: self.fetcher.stopping)

    async def _store_flow_limits(self) -> None:
        """The handlers' limits as stored for every worker: the code deployed last decides."""
        for name, handler in self.handlers.items():
            await self.store.set_flow_limit("type", name, handler.concurrency_limit, handler.rate_limit)

    async def _drain(self) -> None:
        """Grace period, then interrupt what still runs; outcomes written before leaving."""
        deadline = time.monotonic() + self.settings.grace_period
        while self.tasks and self.stop_requests < 2 and time.monotonic() < deadline:
            await asyncio.wait(set(self.tasks), timeout=min(0.1, max(0.0, deadline - time.monotonic())))
        if self.tasks:
            self._interrupt_all()
            await asyncio.wait(set(self.tasks), timeout=AFTER_INTERRUPT)
        for token, attempt in list(self.running.items()):
            # A sync handler ignoring cancellation: give the task back, unspent, a
            # little later, by when this process (and its daemon thread) is gone.
            del self.running[token]
            self.completer.submit(Outcome(attempt.task.id, token, TaskStatus.QUEUED, retry_in=GIVE_BACK_DELAY, refund_attempt=True))
        if not await self.completer.flush(timeout=10.0):
            log.error("could not record every outcome before exit; the lease rescue will recover those tasks")

    async def _unregister(self) -> None:
        try:
            await asyncio.wait_for(self.store.unregister_worker(self.info.id), 5.0)
        except Exception as exc:
            log.warning("could not unregister worker (%s)", exc)

    def _interrupt_all(self) -> None:
        for attempt in self.running.values():
            attempt.interrupt(SHUTDOWN)

    # -- running attempts ------------------------------------------------------

    def _start(self, task: ClaimedTask) -> None:
        attempt = Attempt(task, self.handlers[task.type], make_context(task, self.settings.max_result_bytes),
                          grace=self.settings.interrupt_grace)
        self.running[task.claim_token] = attempt
        self.idle_reported = False
        runner = asyncio.create_task(self._execute(attempt))
        self.tasks.add(runner)
        runner.add_done_callback(self.tasks.discard)

    async def _execute(self, attempt: Attempt) -> None:
        await self.lifecycle.carry_out(attempt, after_run=self._after_run, keep=self._still_ours)

    async def _admit(self, attempt: Attempt) -> None:
        """Before a held task starts: after a stall of this worker's own, wait for a heartbeat to
        say which claims still hold (a rescued one is then interrupted as lost, and does not run)."""
        if self.heartbeat.stale():
            await self.heartbeat.reconciled_since(time.monotonic())

    def _after_run(self, attempt: Attempt) -> None:
        self.fetcher.task_ended(attempt.task.type, attempt.task.queue)
        self.fetcher.slot_freed(attempt.task.queue)
        if attempt.abandoned:   # its runner may never end: stopping need not wait for it
            if isinstance(attempt.inner, asyncio.Task):
                self.tasks.discard(attempt.inner)
        elif attempt.admitted:
            self._pace(attempt.elapsed)

    def _still_ours(self, attempt: Attempt) -> bool:
        """An attempt's outcome is written unless its task was given back at shutdown,
        or its claim was rescued (another run owns the task now)."""
        if self.running.pop(attempt.task.claim_token, None) is None:
            return False
        if attempt.lost:
            log.info("task %s: dropped the outcome of a run whose claim was rescued from this worker", attempt.task.id)
            return False
        return True

    def _pace(self, elapsed: float) -> None:
        """Prefetch only while attempts are short: a long task held here could run on an idle worker."""
        self.pace += (elapsed - self.pace) * 0.1
        prefetch = PREFETCH_PER_SLOT * self.settings.concurrency if self.pace < PREFETCH_BELOW and self.slots.limits is None else 0
        if prefetch != self.slots.prefetch:
            self.slots.prefetch = prefetch
            if self.slots.free >= self.slots.refill_at:
                self.fetcher.wake.set()

    def _drained(self) -> None:
        if not self.idle_reported:
            self.idle_reported = True
            self._spawn(self.events.emit("idle"))

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- cancellation and rescue -----------------------------------------------

    def _cancel_one(self, task_id: str) -> None:
        for attempt in list(self.running.values()):
            if attempt.task.id == task_id and not attempt.ctx.cancelled:
                log.info("cancelling running task %s (%s)", task_id, attempt.task.type)
                attempt.interrupt(CANCEL)

    def _reconcile(self, claims: list[HeldClaim], sent_at: float) -> None:
        """Compare the store's view of this worker's claims with what runs here.

        - a requested cancellation missed by notification takes effect;
        - a run whose claim is gone (rescued while this worker stalled) is
          stopped, so it does not overlap the run that owns the task now;
        - a claim nothing here runs (its answer was lost to a dropped
          connection) is given back, unspent.
        """
        held = {claim.claim_token: claim for claim in claims}
        for token, attempt in list(self.running.items()):
            claim = held.get(token)
            if claim is not None:
                if claim.cancel_requested:
                    self._cancel_one(claim.id)
            elif attempt.started < sent_at and not attempt.lost:
                log.warning("task %s: this worker's claim was rescued by another worker; stopping its handler", attempt.task.id)
                attempt.lost = True
                attempt.interrupt(LOST)
        if self.fetcher.claiming:
            return  # the rows of a claim on its way would look like orphans
        busy = set(self.running) | self.completer.tokens()
        for claim in claims:
            if claim.claim_token not in busy and claim.age > self.orphan_age:
                log.warning("task %s is claimed by this worker but not running here; giving it back", claim.id)
                self.completer.submit(Outcome(claim.id, claim.claim_token, TaskStatus.QUEUED, refund_attempt=True))

    @property
    def orphan_age(self) -> float:
        """A claim this old, with no claim statement outstanding, is not about to start here."""
        return max(ORPHAN_AGE, 2 * self.heartbeat.interval)

    def _rescued(self, _task_ids: list[str]) -> None:
        self.fetcher.wake.set()
