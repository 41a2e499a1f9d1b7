"""Testing your tasks in your own test suite, against a real store (in memory by default).

>>> from tasker import testing
>>> with testing.isolate(app):                 # a fresh in-memory store for this test
...     signup("ada@example.com")              # calls send_welcome.defer(...)
...     testing.assert_enqueued(app, send_welcome, args=[42])
...     testing.drain(app)                     # runs it, and all it leads to
>>> with testing.inline(app):                  # each create / defer runs at once, here
...     send_welcome.defer(7)

Everything goes through the real store and the real attempt lifecycle (retries, timeouts,
results), so what passes here behaves alike under a worker. ``pytest`` gets fixtures for
these from the plugin ``tasker.pytest_plugin`` (installed with the package).
"""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import asdict, dataclass
from typing import Any, AsyncIterator, Callable, Iterator

from . import arguments
from .app import Tasker
from .errors import TaskerError, TaskFailedError
from .runtime import Runtime
from .store import parse_url
from .task import Task, TaskFilter, TaskStatus
from .tasks import TaskFunction
from .worker.events import TaskEvent
from .worker.one_pass import PassSummary, run_pass
from .worker.maintenance import materialize
from .worker.threads import HandlerThreads, ThreadCall
from .worker.worker import WorkerSettings

MATCHED = ("payload", "args", "kwargs", "queue", "priority", "meta")
MAX_DRAINED = 10_000


# -- what is queued ------------------------------------------------------------------------


def enqueued(app: Tasker, type: str | TaskFunction[Any, Any] | None = None, **match: Any) -> list[Task]:
    """Queued tasks (not yet run), oldest first, of ``type`` (a name or a function task) whose
    ``payload``, ``args``, ``kwargs``, ``queue``, ``priority`` or ``meta`` match: a dict matches as a
    subset, ``args`` as the first positional arguments of a function task's call (values compared
    as ``defer`` stores them: a datetime as its ISO text...).

    >>> testing.enqueued(app, send_welcome, kwargs={"locale": "fr"})
    """
    unknown = set(match) - set(MATCHED)
    if unknown:
        raise TypeError(f"unknown match key(s): {', '.join(sorted(unknown))}; use {', '.join(MATCHED)}")
    name = _type_name(type)
    tasks = app.list(status="queued", type=name, limit=MAX_DRAINED)
    return [task for task in reversed(tasks) if all(_matches(task, key, value) for key, value in match.items())]


def assert_enqueued(app: Tasker, type: str | TaskFunction[Any, Any], **match: Any) -> Task:
    """The first queued task that matches; AssertionError listing what is queued when none does.

    >>> testing.assert_enqueued(app, "myapp.send_welcome", args=[42])
    """
    found = enqueued(app, type, **match)
    if not found:
        queued = [_described(t) for t in enqueued(app, type)][:10]
        raise AssertionError(f"no queued {_type_name(type)!r} task matches {match}; queued: {queued or 'none'}")
    return found[0]


def refute_enqueued(app: Tasker, type: str | TaskFunction[Any, Any], **match: Any) -> None:
    """AssertionError if a queued task matches."""
    found = enqueued(app, type, **match)
    if found:
        raise AssertionError(f"{len(found)} queued {_type_name(type)!r} task(s) match {match}: {[_described(t) for t in found][:10]}")


def _type_name(type: str | TaskFunction[Any, Any] | None) -> str | None:
    return type.name if isinstance(type, TaskFunction) else type


def _matches(task: Task, key: str, expected: Any) -> bool:
    if key in ("args", "kwargs"):
        stored = task.payload.get(key) if isinstance(task.payload, dict) else None
        if key == "args":   # the first positional arguments
            wanted = arguments.encode(list(expected))
            return isinstance(stored, list) and stored[:len(wanted)] == wanted
        return _subset(arguments.encode(expected), stored)
    actual = getattr(task, key)
    return _subset(arguments.encode(expected), actual)


def _subset(expected: Any, actual: Any) -> bool:
    """Equal, or for dicts: every expected key present with a matching value (recursively)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return expected == actual


def _described(task: Task) -> dict[str, Any]:
    return {"id": task.id, "payload": task.payload, "queue": task.queue, "priority": task.priority}


# -- running what is queued ------------------------------------------------------------------


@dataclass(frozen=True)
class DrainSummary:
    """What ``drain`` ran: attempts by how they ended, and in how many passes."""

    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    requeued: int = 0
    passes: int = 0

    def __getitem__(self, key: str) -> int:
        return asdict(self)[key]


def drain(app: Tasker, run_scheduled: bool = True, raise_errors: bool = True, max_tasks: int = MAX_DRAINED) -> DrainSummary:
    """Run every queued task this app has a handler for, and the tasks they create, retries
    included (at once, without their delays), until none is left; delayed tasks too unless
    ``run_scheduled=False``. With ``raise_errors`` the first exception of a task that has no
    attempts left is raised (``TaskFailedError`` for one that timed out).

    >>> summary = testing.drain(app)
    >>> summary.succeeded, summary.failed, summary.retried
    """
    return app.runtime.sync(adrain(app, run_scheduled, raise_errors, max_tasks))


async def adrain(app: Tasker, run_scheduled: bool = True, raise_errors: bool = True, max_tasks: int = MAX_DRAINED) -> DrainSummary:
    """Async twin of ``drain`` (for async tests: runs on the caller's event loop)."""
    totals = DrainSummary()
    async with _failures(app) as failures:
        while True:
            store = await app.runtime.store()
            await materialize(store, lookahead=0.0)
            queued = (await store.list_tasks(TaskFilter(status="queued"), None, max_tasks, None)).tasks
            now = await store.now()
            ids = [t.id for t in queued if t.type in app.handlers and (run_scheduled or t.run_at.timestamp() <= now)]
            if not ids:
                return totals
            summary = await _pass(app, ids, app.runtime.pass_threads(app.concurrency * 2))
            totals = _added(totals, summary)
            if raise_errors and failures:
                raise _exception_of(failures[0])
            if summary.claimed == 0:
                return totals   # what is left waits on dependencies, or another worker holds it
            if totals.succeeded + totals.failed + totals.retried + totals.cancelled > max_tasks:
                raise TaskerError(f"drain ran over {max_tasks} tasks and more keep coming: do tasks create each other in a loop?")


async def _pass(app: Tasker, ids: list[str], threads: HandlerThreads) -> PassSummary:
    store = await app.runtime.store()
    settings = WorkerSettings(concurrency=app.concurrency, lease=app.lease, max_result_bytes=app.max_result_bytes)
    return await run_pass(store, app.handlers, app.events, threads, settings, lambda worker_id: store.claim_tasks_by_id(worker_id, ids))


def _added(totals: DrainSummary, summary: PassSummary) -> DrainSummary:
    return DrainSummary(totals.succeeded + summary.succeeded, totals.failed + summary.failed, totals.retried + summary.retried,
                        totals.cancelled + summary.cancelled, totals.requeued + summary.requeued, totals.passes + 1)


@contextlib.asynccontextmanager
async def _failures(app: Tasker) -> AsyncIterator[list[TaskEvent]]:
    """The failure events (no attempt left) while the block runs."""
    failures: list[TaskEvent] = []

    def collect(event: TaskEvent) -> None:
        if event.status == TaskStatus.FAILED.value:
            failures.append(event)

    with app.events.listening("failure", collect):
        yield failures


def _exception_of(event: TaskEvent) -> BaseException:
    return event.exception if event.exception is not None else TaskFailedError(event.task_id, event.error)


# -- inline mode -------------------------------------------------------------------------------


class InlineThreads(HandlerThreads):
    """Runs a sync handler at once, in the thread that asks (the caller's, in inline mode)."""

    def __init__(self) -> None:
        super().__init__(0, "inline")

    def start(self, fn: Callable[[], Any]) -> ThreadCall:
        call = ThreadCall(fn)
        call.run()
        call.finish()
        return call


class InlineRuns:
    """Runs each task as it is created (``create``, ``defer``...), in the caller's thread, through
    the real store and lifecycle, retries at once; tasks created meanwhile run right after."""

    def __init__(self, app: Tasker, raise_errors: bool):
        self.app = app
        self.raise_errors = raise_errors
        self.pending: list[str] = []
        self.active = False

    def run_sync(self, ids: list[str]) -> None:
        self.pending.extend(ids)
        if self.active:
            return   # created by a task running inline: it runs when that one is done
        self.active = True
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    asyncio.get_running_loop()
                except RuntimeError:   # no loop in this thread: run here, sync handlers in this very thread
                    asyncio.run(self._run_here(batch))
                else:   # a sync create inside async code: the private loop runs it
                    self.app.runtime.sync(self._run(batch, self.app.runtime.pass_threads(self.app.concurrency * 2)))
        finally:
            self.active = False

    async def run_async(self, ids: list[str]) -> None:
        self.pending.extend(ids)
        if self.active:
            return
        self.active = True
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                await self._run(batch, InlineThreads())
        finally:
            self.active = False

    async def _run_here(self, ids: list[str]) -> None:
        try:
            await self._run(ids, InlineThreads())
        finally:
            await self.app.runtime.close_loop_store()   # this loop ends with the call

    async def _run(self, ids: list[str], threads: HandlerThreads) -> None:
        async with _failures(self.app) as failures:
            while (await _pass(self.app, ids, threads)).claimed:   # again while some retry
                pass
        if self.raise_errors and failures:
            raise _exception_of(failures[0])


@contextlib.contextmanager
def inline(app: Tasker, raise_errors: bool = True) -> Iterator[Tasker]:
    """Within the block, each task created by ``app`` runs at once in the caller's thread
    (retries included, without their delays) before ``create`` / ``defer`` returns; with
    ``raise_errors`` the exception of a task that failed for good is raised there.

    >>> with testing.inline(app):
    ...     send_welcome.defer(7)
    ...     assert app.get(task_id).status is TaskStatus.SUCCEEDED
    """
    previous = app.runtime.inline
    app.runtime.inline = InlineRuns(app, raise_errors)
    try:
        yield app
    finally:
        app.runtime.inline = previous


# -- an isolated store ---------------------------------------------------------------------------


@contextlib.contextmanager
def isolate(app: Tasker, url: str = "sqlite:///:memory:") -> Iterator[Tasker]:
    """Point ``app`` at a fresh, migrated store for the block (its handlers unchanged), then back.
    A PostgreSQL ``url`` gets a schema of its own, dropped afterwards.

    >>> with testing.isolate(app):
    ...     send_welcome.defer(42)
    """
    config = parse_url(url)
    schema = f"tasker_test_{uuid.uuid4().hex[:12]}" if config.kind == "postgresql" else None
    config = parse_url(url, schema)
    saved = (app.config, app.runtime, app._declared)
    app.config, app.runtime, app._declared = config, Runtime(config), set()
    try:
        app.migrate()
        yield app
    finally:
        try:
            if schema is not None:
                app.runtime.sync(_drop(app))
        finally:
            app.close()
            app.config, app.runtime, app._declared = saved


async def _drop(app: Tasker) -> None:
    await (await app.runtime.store(prepare=False)).drop_schema()


__all__ = ["DrainSummary", "adrain", "assert_enqueued", "drain", "enqueued", "inline", "isolate", "refute_enqueued"]
