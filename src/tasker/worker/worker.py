"""A long-running worker: wires fetcher, executor, completer and heartbeat; stops gracefully."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ..ids import new_id
from ..outcome import decide
from ..store.base import ClaimedTask, HeldClaim, Outcome, Store, WorkerInfo
from ..task import TaskStatus
from .completer import Completer
from .events import Events, TaskEvent
from .executor import CANCEL, LOST, SHUTDOWN, Attempt, make_context, run_admitted
from .fetcher import Fetcher, Slots
from .heartbeat import Heartbeat
from .maintenance import Maintenance
from .progress import ProgressWriter
from .repeat import cancel_and_wait
from .threads import DaemonThreadPool

if TYPE_CHECKING:
    from ..handlers import Handler

log = logging.getLogger("tasker.worker")
GIVE_BACK_DELAY = 2.0   # seconds before a task given back at shutdown may run elsewhere
ORPHAN_AGE = 1.0        # seconds after which a claim not running here is given back
AFTER_INTERRUPT = 1.0   # seconds sync handlers get to notice ctx.cancelled at shutdown
PREFETCH_BELOW = 0.02   # prefetch while the typical attempt takes less than this (seconds)


@dataclass(frozen=True)
class WorkerSettings:
    """Timing knobs; the defaults suit production, tests shorten them."""

    concurrency: int = 10
    queues: Sequence[str] | dict[str, int] | None = None
    lease: float = 30.0                # a worker silent this long is presumed dead
    heartbeat_interval: float | None = None   # default: lease / 6, at most 1 s on SQLite
    poll_interval: float | None = None        # default: 2 s with LISTEN, 0.5 s without, 0.1 s on SQLite
    grace_period: float = 30.0         # on SIGTERM, how long running tasks may take to finish

    def __post_init__(self) -> None:
        for name in ("lease", "heartbeat_interval", "poll_interval", "grace_period"):
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

    def __init__(self, store: Store, handlers: dict[str, "Handler"], events: Events, settings: WorkerSettings, kind: str, listen: bool):
        if not handlers:
            raise RuntimeError("this worker has no handlers: register some with @app.handler before starting it")
        self.loop = asyncio.get_running_loop()
        self.store = store
        self.handlers = handlers
        self.events = events
        self.settings = settings
        self.info = WorkerInfo(new_id(), socket.gethostname(), os.getpid(), describe_queues(settings.queues), settings.concurrency)
        self.listen = listen
        # Keyed by claim token: a worker may hold a task again (rescued from it
        # while it stalled) while its earlier run is still winding down.
        self.running: dict[str, Attempt] = {}
        self.tasks: set[asyncio.Task] = set()
        self.threads = DaemonThreadPool(settings.concurrency * 2, "tasker-handler")
        self.completer = Completer(store)
        self.slots = Slots(settings.concurrency, settings.queues)
        self.gate = asyncio.Semaphore(settings.concurrency)   # handlers running at once
        self.pace = 1.0   # typical attempt duration (moving average), seconds
        self.fetcher = Fetcher(store, self.info.id, list(handlers), self.slots, self._poll_interval(kind), self._start, self._drained)
        self.heartbeat = Heartbeat(store, self.info, self._heartbeat_interval(kind), settings.lease, self._reconcile, self._rescued)
        self.stop_requests = 0
        self.idle_reported = False

    def _poll_interval(self, kind: str) -> float:
        if self.settings.poll_interval is not None:
            return self.settings.poll_interval
        if kind == "sqlite":
            return 0.1
        return 2.0 if self.listen else 0.5

    def _heartbeat_interval(self, kind: str) -> float:
        if self.settings.heartbeat_interval is not None:
            return self.settings.heartbeat_interval
        interval = self.settings.lease / 6
        return min(interval, 1.0) if kind == "sqlite" else interval

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
        await self._register()
        log.info("worker %s started: concurrency %d, queues %s, types %s", self.info.id, self.settings.concurrency, self.info.queues, ", ".join(sorted(self.handlers)))
        listener = await self.store.listen(self.fetcher.hint, self._cancel_one) if self.listen else None
        progress = ProgressWriter(self.store, lambda: list(self.running.values()))
        background = [asyncio.create_task(c.run()) for c in (self.completer, self.heartbeat, Maintenance(self.store), progress)]
        try:
            await self.fetcher.run()
            await self._drain()
        finally:
            if listener is not None:
                await listener.stop()
            await cancel_and_wait(*background)
            await self._unregister()
            self.threads.shutdown(wait=False)
            log.info("worker %s stopped", self.info.id)

    async def _register(self) -> None:
        backoff = 0.1
        while not self.fetcher.stopping:
            try:
                await self.heartbeat.beat()
                return
            except Exception as exc:
                log.warning("cannot register worker (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

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
        attempt = Attempt(task, self.handlers[task.type], make_context(task))
        self.running[task.claim_token] = attempt
        self.idle_reported = False
        runner = asyncio.create_task(self._execute(attempt))
        self.tasks.add(runner)
        runner.add_done_callback(self.tasks.discard)

    async def _execute(self, attempt: Attempt) -> None:
        task = attempt.task
        try:
            finished = await run_admitted(attempt, self.gate, self.threads)
        finally:
            self.fetcher.slot_freed(task.queue)
        if attempt.admitted:
            self._pace(attempt.elapsed)
        outcome = with_attempt_details(decide(task, finished, attempt.handler.retry_policy), attempt)
        if self.running.pop(task.claim_token, None) is None:
            return  # already given back at shutdown
        if attempt.lost:
            log.info("task %s: dropped the outcome of a run whose claim was rescued from this worker", task.id)
            return
        self.completer.submit(outcome)
        await report(self.events, attempt, outcome, finished.value)

    def _pace(self, elapsed: float) -> None:
        """Prefetch only while attempts are short: a long task held here could run on an idle worker."""
        self.pace += (elapsed - self.pace) * 0.1
        prefetch = 2 * self.settings.concurrency if self.pace < PREFETCH_BELOW and self.slots.limits is None else 0
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


def with_attempt_details(outcome: Outcome, attempt: Attempt) -> Outcome:
    """The attempt's run time and last progress report travel with the outcome
    (so batching loses neither)."""
    outcome.progress_json, outcome.duration = attempt.ctx.progress_json, attempt.elapsed
    return outcome


async def report(events: Events, attempt: Attempt, outcome: Outcome, value: object = None) -> None:
    """Log the attempt with its fields, then call the hooks."""
    succeeded = outcome.status is TaskStatus.SUCCEEDED
    if succeeded and not events.hooks["success"] and not log.isEnabledFor(logging.INFO):
        return  # the common case under load: nothing would see the event
    task = attempt.task
    event = TaskEvent(task.id, task.type, task.queue, task.attempts, outcome.status.value, round(attempt.elapsed, 6), value, outcome.error)
    fields = {"task_id": task.id, "task_type": task.type, "attempt": task.attempts, "duration": event.duration, "status": event.status}
    if succeeded:
        log.info("task %s %s attempt %d succeeded in %.3fs", task.type, task.id, task.attempts, event.duration, extra=fields)
        await events.emit("success", event)
        return
    headline = (outcome.error or "").split("\n", 1)[0] or "interrupted; the attempt does not count"
    level = logging.INFO if outcome.refund_attempt else logging.WARNING
    log.log(level, "task %s %s attempt %d -> %s after %.3fs: %s", task.type, task.id, task.attempts, event.status, event.duration, headline, extra=fields)
    if not outcome.refund_attempt:
        await events.emit("failure", event)
