"""The Tasker facade: configuration, handler registry, producing, inspecting, consuming."""
from __future__ import annotations

import asyncio
import atexit
import os
import signal
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Callable, Iterable, Sequence

from .enqueue import DEFAULT_MAX_PAYLOAD_BYTES, NewTask, TaskDefaults, as_timedelta_seconds, build_new_task, build_new_tasks, check_int, check_name
from .errors import TaskCancelledError, TaskFailedError, UnknownTaskError
from .handlers import Handler, make_handler
from .ids import is_id
from .loop import LoopThread
from .series import Schedule, ScheduleSpec, build_spec
from .store import Store, open_store, parse_url
from .task import Task, TaskStatus, WorkerState
from .worker.events import Events
from .worker.one_pass import PassSummary, process_queue
from .worker.worker import Worker, WorkerSettings

TASK_OPTIONS = ("run_at", "delay", "max_attempts", "priority", "queue", "unique_key", "depends_on", "timeout", "meta", "retry_delay")


class Tasker:
    """A durable task queue on PostgreSQL or SQLite.

    >>> app = Tasker()                                  # ./tasker.db, or $TASKER_URL
    >>> @app.handler("sendWebhook", max_attempts=5)
    ... def send_webhook(payload):
    ...     post(payload["url"])
    >>> task_id = app.create("sendWebhook", {"url": "https://example.com/hook"})
    >>> app.run_worker(concurrency=10)
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        schema: str | None = None,
        concurrency: int = 10,
        lease: float = 30.0,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ):
        self.config = parse_url(url, schema)
        self.concurrency = check_int(concurrency, "concurrency", 1)
        self.lease = float(lease)
        self.max_payload_bytes = check_int(max_payload_bytes, "max_payload_bytes", 1)
        self.handlers: dict[str, Handler] = {}
        self.events = Events()
        self._loop = LoopThread()
        self._stores: dict[asyncio.AbstractEventLoop, Store] = {}
        self._opening: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}
        self._threads: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._workers: set[Worker] = set()
        self._starting = 0                   # workers between arun_worker() and running
        self._early_stops: list[bool] = []   # stop requests that arrived meanwhile
        self._periodics: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._declared: set[Store] = set()
        _APPS.add(self)

    def _forget_the_parent(self) -> None:
        """In a forked child: the parent's threads did not come along, and its connections
        are the parent's sessions (closing them here would end them there), so keep them
        untouched and start afresh on first use."""
        _ABANDONED.append((self._loop, self._stores, self._opening, self._threads))
        self._loop = LoopThread()
        self._stores, self._opening, self._threads = {}, {}, None
        self._workers, self._declared = set(), set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Tasker({self.config.display!r})"

    # -- handlers and hooks ----------------------------------------------------

    def handler(self, name: str | Callable[..., Any] | None = None, **options: Any) -> Callable[..., Any]:
        """Register the decorated function for a task type (default: its ``__name__``).

        >>> @app.handler("resize", timeout=60, retry_delay=5)
        ... async def resize(payload, ctx): ...
        """
        if callable(name):  # bare @app.handler
            self.register(name.__name__, name)
            return name

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.register(name or fn.__name__, fn, **options)
            return fn

        return decorate

    def register(self, name: str, fn: Callable[..., Any], **options: Any) -> Handler:
        """``app.register("resize", resize, timeout=60)``: the same without a decorator."""
        handler = make_handler(name, fn, **options)
        self.handlers[name] = handler
        return handler

    def on_success(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``fn(event)`` after every successful attempt (a ``TaskEvent``)."""
        return self.events.add("success", fn)

    def on_failure(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``fn(event)`` after every failed attempt; ``event.will_retry`` tells if it runs again."""
        return self.events.add("failure", fn)

    def on_idle(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``fn()`` when a worker runs out of due tasks."""
        return self.events.add("idle", fn)

    # -- stores, one per event loop ----------------------------------------------

    async def _store(self, check: bool = True) -> Store:
        loop = asyncio.get_running_loop()
        store = self._stores.get(loop)
        if store is not None:
            return store
        opening = self._opening.get(loop)
        if opening is None:
            opening = self._opening[loop] = asyncio.ensure_future(self._open_store(check))
            opening.add_done_callback(lambda _f: self._opening.pop(loop, None))
        return await asyncio.shield(opening)

    async def _open_store(self, check: bool) -> Store:
        store = open_store(self.config)
        await store.open()
        try:
            if check:
                await store.check_schema()
        except BaseException:
            await store.close()
            raise
        self._stores[asyncio.get_running_loop()] = store
        return store

    def _blocking_store(self) -> Store:
        """The private loop's store, for the calls that skip the hop to that loop (create)."""
        store = self._stores.get(self._loop.loop) if self._loop.loop is not None else None
        return store if store is not None else self._sync(self._store())

    def _sync(self, coro: Any) -> Any:
        if self._loop.loop is None:
            # Close the private loop's connections at exit rather than leave them to the GC.
            atexit.register(self.close)
        return self._loop.run(coro)

    # -- schema ------------------------------------------------------------------

    async def amigrate(self) -> list[int]:
        """Create or upgrade the schema; idempotent and safe to run from many processes."""
        loop = asyncio.get_running_loop()
        store = self._stores.get(loop)
        if store is None:
            store = open_store(self.config)
            await store.open()
            self._stores[loop] = store
        return await store.migrate()

    def migrate(self) -> list[int]:
        """Create or upgrade the schema (``tasker migrate`` does the same). Returns the versions applied."""
        return self._sync(self.amigrate())

    # -- producing -----------------------------------------------------------------

    def _defaults(self, type: Any) -> TaskDefaults:
        handler = self.handlers.get(type) if isinstance(type, str) else None
        return handler.defaults if handler else TaskDefaults()

    def _new_task(self, type: Any, payload: Any, options: dict[str, Any]) -> NewTask:
        _check_options(options)
        return build_new_task(type, payload, self._defaults(type), max_payload_bytes=self.max_payload_bytes, **options)

    async def acreate(self, type: str, payload: Any = None, *, connection: Any = None, **options: Any) -> str:
        """Async twin of ``create``."""
        task = self._new_task(type, payload, options)
        return (await self._insert([task], connection))[0]

    def create(self, type: str, payload: Any = None, *, connection: Any = None, **options: Any) -> str:
        """Store a task and return its id; it runs when due on any worker.

        Options: ``run_at``, ``delay``, ``max_attempts``, ``priority``, ``queue``,
        ``unique_key``, ``depends_on``, ``timeout``, ``meta``, ``retry_delay``.

        >>> app.create("sendWebhook", {"url": url}, delay=30, unique_key=f"hook:{order_id}")
        """
        task = self._new_task(type, payload, options)
        _check_sync_connection(connection)
        return self._blocking_store().insert_tasks_blocking([task], connection)[0]

    async def _insert(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        store = await self._store()
        return await store.insert_tasks(tasks, connection)

    async def acreate_many(self, type: str, payloads: Iterable[Any], **options: Any) -> list[str]:
        """Async twin of ``create_many``."""
        tasks = self._new_tasks(type, payloads, options)
        return await self._insert(tasks, options.get("connection")) if tasks else []

    def create_many(self, type: str, payloads: Iterable[Any], **options: Any) -> list[str]:
        """Store one task per payload in one batch; ids in order. Bad input anywhere stores nothing.

        >>> ids = app.create_many("thumbnail", [{"image": n} for n in range(1000)], queue="media")
        """
        tasks = self._new_tasks(type, payloads, options)
        _check_sync_connection(options.get("connection"))
        return self._blocking_store().insert_tasks_blocking(tasks, options.get("connection")) if tasks else []

    def _new_tasks(self, type: str, payloads: Iterable[Any], options: dict[str, Any]) -> list[NewTask]:
        options = {k: v for k, v in options.items() if k != "connection"}
        if isinstance(payloads, (str, bytes, dict)):
            raise TypeError("payloads must be a list (or other iterable) of payloads")
        _check_options(options)
        return build_new_tasks(type, payloads, self._defaults(type), max_payload_bytes=self.max_payload_bytes, **options)

    def schedule_at(self, when: Any, type: str, payload: Any = None, **options: Any) -> str:
        """``create`` due at ``when`` (an aware datetime, naive = UTC, or epoch seconds)."""
        return self.create(type, payload, run_at=when, **options)

    async def aschedule_at(self, when: Any, type: str, payload: Any = None, **options: Any) -> str:
        return await self.acreate(type, payload, run_at=when, **options)

    def schedule_in(self, delay: float | timedelta, type: str, payload: Any = None, **options: Any) -> str:
        """``create`` due after ``delay`` (seconds or a timedelta)."""
        return self.create(type, payload, delay=delay, **options)

    async def aschedule_in(self, delay: float | timedelta, type: str, payload: Any = None, **options: Any) -> str:
        return await self.acreate(type, payload, delay=delay, **options)

    def _spec(self, every: Any, type: str, payload: Any, options: dict[str, Any]) -> ScheduleSpec:
        return build_spec(every, type, payload, self._defaults(type), max_payload_bytes=self.max_payload_bytes, **options)

    async def aschedule_every(self, every: Any, type: str, payload: Any = None, **options: Any) -> str:
        """Async twin of ``schedule_every``."""
        return await self._insert_schedule(self._spec(every, type, payload, options))

    def schedule_every(self, every: Any, type: str, payload: Any = None, **options: Any) -> str:
        """Start a recurring series; returns its id (``app.cancel(id)`` stops it).

        ``every``: seconds, a timedelta, or a 5-field cron string (``timezone=`` an
        IANA name). Options: ``name`` (upsert by name), ``mode`` ("fixed_rate" or
        "after_finish"), ``catch_up`` (missed ticks to run, default 1), and the
        per-run task options ``queue``, ``priority``, ``max_attempts``, ``timeout``,
        ``retry_delay``, ``meta``.

        >>> app.schedule_every("0 9 * * 1-5", "dailyReport", timezone="Europe/Paris")
        >>> app.schedule_every(timedelta(minutes=5), "syncInventory", mode="after_finish")
        """
        spec = self._spec(every, type, payload, options)
        return self._sync(self._insert_schedule(spec))

    async def _insert_schedule(self, spec: ScheduleSpec) -> str:
        return await (await self._store()).insert_schedule(spec)

    async def aschedules(self, include_cancelled: bool = False) -> list[Schedule]:
        return await (await self._store()).list_schedules(include_cancelled)

    def schedules(self, include_cancelled: bool = False) -> list[Schedule]:
        """The recurring series with their next run time (active ones unless asked)."""
        return self._sync(self.aschedules(include_cancelled))

    def periodic(self, every: Any, name: str | None = None, *, payload: Any = None, timezone: str | None = None,
                 mode: str = "fixed_rate", catch_up: int = 1, **options: Any) -> Callable[..., Any]:
        """Declare a recurring task in code: registers the handler and, when a
        worker starts (or a process_queue pass runs), its series, by name, so
        redeploys neither duplicate nor lose it. Re-declaring re-activates a
        cancelled series; remove the decorator to stop it for good.

        >>> @app.periodic("*/5 * * * *", timezone="UTC", max_attempts=1)
        ... def refresh_rates(payload):
        ...     ...
        """

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            series = name or fn.__name__
            self.register(series, fn, **options)
            declaration = {"name": series, "timezone": timezone, "mode": mode, "catch_up": catch_up}
            self._spec(every, series, payload, declaration)  # validate now, at import
            self._periodics[series] = (every, {**declaration, "payload": payload})
            return fn

        return decorate

    async def _declare_periodics(self, store: Store) -> None:
        if store in self._declared:
            return
        for series, (every, declaration) in self._periodics.items():
            declaration = dict(declaration)
            payload = declaration.pop("payload")
            await store.insert_schedule(self._spec(every, series, payload, declaration))
        self._declared.add(store)

    # -- inspecting and controlling ------------------------------------------------

    async def aget(self, task_id: str) -> Task | None:
        if not _well_formed(task_id):
            return None
        return await (await self._store()).get_task(task_id)

    def get(self, task_id: str) -> Task | None:
        """The task with this id, or None."""
        return self._sync(self.aget(task_id))

    async def alist(self, status: str | None = None, type: str | None = None, queue: str | None = None, limit: int = 100) -> list[Task]:
        status_value = None if status is None else _status(status).value
        check_int(limit, "limit", 1, 100_000)
        return await (await self._store()).list_tasks(status_value, type, queue, limit)

    def list(self, status: str | None = None, type: str | None = None, queue: str | None = None, limit: int = 100) -> list[Task]:
        """Tasks, newest first, filtered by status, type and queue."""
        return self._sync(self.alist(status, type, queue, limit))

    async def acancel(self, task_id: str) -> bool:
        if not _well_formed(task_id):
            return False
        store = await self._store()
        return await store.cancel_task(task_id) or await store.cancel_schedule(task_id)

    def cancel(self, task_id: str) -> bool:
        """Cancel a queued task (it never runs) or a running one (its handler is interrupted).
        Given a series id, stop the series: no future runs (a run in progress finishes).
        False for an unknown or already finished task or series."""
        return self._sync(self.acancel(task_id))

    async def acleanup(self, older_than: float | timedelta | None = None) -> int:
        seconds = as_timedelta_seconds(older_than, "older_than")
        return await (await self._store()).cleanup(seconds)

    def cleanup(self, older_than: float | timedelta | None = None) -> int:
        """Delete finished tasks finished more than ``older_than`` ago (all when None)."""
        return self._sync(self.acleanup(older_than))

    async def astats(self) -> dict[str, Any]:
        return await (await self._store()).stats()

    def stats(self) -> dict[str, Any]:
        """Counts by status (top level and ``by_status``) and ``by_queue``."""
        return self._sync(self.astats())

    async def aresult(self, task_id: str, timeout: float | None = None) -> Any:
        """Async twin of ``result``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.02
        while True:
            task = await self.aget(task_id)
            if task is None:
                raise UnknownTaskError(f"no task with id {task_id!r}")
            if task.status is TaskStatus.SUCCEEDED:
                return task.result
            if task.status is TaskStatus.FAILED:
                raise TaskFailedError(task.id, task.last_error)
            if task.status is TaskStatus.CANCELLED:
                raise TaskCancelledError(task.id, task.last_error)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"task {task_id} is still {task.status.value} after {timeout}s")
            wait = pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic()))
            await asyncio.sleep(wait)
            pause = min(pause * 1.5, 0.5)

    def result(self, task_id: str, timeout: float | None = None) -> Any:
        """Wait for the task to finish; its result, or TaskFailedError / TaskCancelledError."""
        return self._sync(self.aresult(task_id, timeout))

    async def _by_id(self, operation: str, task_id: str) -> bool:
        if not _well_formed(task_id):
            return False
        return await getattr(await self._store(), operation)(task_id)

    async def aretry(self, task_id: str) -> bool:
        return await self._by_id("retry_task", task_id)

    def retry(self, task_id: str) -> bool:
        """Queue a failed or cancelled task again, with one more attempt; False otherwise.

        >>> app.retry(task_id)
        """
        return self._sync(self.aretry(task_id))

    async def arun_now(self, task_id: str) -> bool:
        return await self._by_id("run_task_now", task_id)

    def run_now(self, task_id: str) -> bool:
        """Make a queued (delayed) task due now; False if it is not queued."""
        return self._sync(self.arun_now(task_id))

    async def adelete(self, task_id: str) -> bool:
        return await self._by_id("delete_task", task_id)

    def delete(self, task_id: str) -> bool:
        """Delete a task that is not running (a queued one then never runs); False otherwise."""
        return self._sync(self.adelete(task_id))

    async def aworkers(self) -> list[WorkerState]:
        return await (await self._store()).list_workers()

    def workers(self) -> list[WorkerState]:
        """Worker processes with their last heartbeat and running task count."""
        return self._sync(self.aworkers())

    async def aactivity(self, window: float = 3600.0) -> dict[str, Any]:
        store = await self._store()
        return {
            "throughput": await store.throughput(window),
            "oldest_queued_age": await store.oldest_queued(),
            "recent": await store.recent_durations(window, 10_000),
        }

    def activity(self, window: float = 3600.0) -> dict[str, Any]:
        """What operators chart: per-minute succeeded/failed counts over ``window`` seconds
        (``throughput``: ``(minute_epoch, status, count)``), the age in seconds of the
        oldest due task per queue, and run time / queue wait of recent attempts."""
        return self._sync(self.aactivity(window))

    async def apause_queue(self, name: str) -> None:
        await (await self._store()).set_queue_paused(check_name(name, "queue"), True)

    def pause_queue(self, name: str) -> None:
        """Stop every worker from starting tasks of this queue (running ones finish)."""
        self._sync(self.apause_queue(name))

    async def aresume_queue(self, name: str) -> None:
        await (await self._store()).set_queue_paused(check_name(name, "queue"), False)

    def resume_queue(self, name: str) -> None:
        """Let workers take tasks of this queue again."""
        self._sync(self.aresume_queue(name))

    # -- consuming -------------------------------------------------------------------

    def _handler_threads(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(max_workers=self.concurrency * 2, thread_name_prefix="tasker-pass")
            return self._threads

    async def aprocess_queue(self, batch_size: int = 100) -> PassSummary:
        """Async twin of ``process_queue``."""
        check_int(batch_size, "batch_size", 1, 100_000)
        store = await self._store()
        await self._declare_periodics(store)
        return await process_queue(store, self.handlers, self.events, self._handler_threads(), batch_size, self.concurrency, self.lease)

    def process_queue(self, batch_size: int = 100) -> PassSummary:
        """One pass, like a cron tick: claim up to ``batch_size`` due tasks whose
        types have handlers here, run them, record outcomes, return counts."""
        return self._sync(self.aprocess_queue(batch_size))

    def _worker(self, store: Store, concurrency: int, queues: Any, options: dict[str, Any]) -> Worker:
        settings = WorkerSettings(concurrency=check_int(concurrency, "concurrency", 1), queues=_queues(queues), lease=options.pop("lease", self.lease), **options)
        return Worker(store, dict(self.handlers), self.events, settings, self.config.kind, self.config.listen)

    async def arun_worker(self, concurrency: int = 10, queues: Sequence[str] | dict[str, int] | None = None, **options: Any) -> None:
        """Run a worker on the current event loop until cancelled or stopped.

        Options: ``lease``, ``heartbeat_interval``, ``poll_interval``, ``grace_period`` (seconds).
        """
        self._starting += 1
        try:
            store = await self._store()
            await self._declare_periodics(store)
            worker = self._worker(store, concurrency, queues, dict(options))
        finally:
            self._starting -= 1
        self._workers.add(worker)
        for now in self._early_stops:  # a signal that came while the worker was starting
            worker.stop(now=now)
        if not self._starting:
            self._early_stops.clear()
        running = asyncio.ensure_future(worker.run())
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            worker.stop(now=True)
            await asyncio.gather(running, return_exceptions=True)
            raise
        finally:
            self._workers.discard(worker)

    def run_worker(self, concurrency: int = 10, queues: Sequence[str] | dict[str, int] | None = None, **options: Any) -> None:
        """Run a worker in this thread until SIGINT/SIGTERM (graceful; a second signal stops at once).

        >>> app.run_worker(concurrency=20, queues={"emails": 5, "reports": 1})
        """
        asyncio.run(self._run_worker_with_signals(concurrency, queues, options))

    async def _run_worker_with_signals(self, concurrency: int, queues: Any, options: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        main = asyncio.ensure_future(self.arun_worker(concurrency, queues, **options))
        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop_workers)
                installed.append(sig)
        try:
            await main
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self._close_loop_store()

    def stop_workers(self, now: bool = False) -> None:
        """Ask this process's workers to stop (what SIGTERM does); a second call stops at once."""
        if self._starting:
            self._early_stops.append(now)
        for worker in list(self._workers):
            worker.stop_from_any_thread(now=now)

    # -- closing ---------------------------------------------------------------------

    async def _close_loop_store(self) -> None:
        store = self._stores.pop(asyncio.get_running_loop(), None)
        self._declared.discard(store)
        if store is not None:
            await store.close()

    async def aclose(self) -> None:
        """Close the connections this event loop uses (``close()`` closes the sync API's)."""
        await self._close_loop_store()

    def close(self) -> None:
        """Close connections and stop the private loop thread."""
        if self._loop.loop is not None:
            try:
                self._sync(self._close_loop_store())
            finally:
                self._loop.stop()
        for loop, store in list(self._stores.items()):
            if loop.is_closed():
                self._stores.pop(loop, None)
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None

    def __enter__(self) -> "Tasker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> "Tasker":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


_APPS: "weakref.WeakSet[Tasker]" = weakref.WeakSet()
_ABANDONED: list[Any] = []   # a forked child's view of its parent's resources: never used, never closed


def _after_fork_in_child() -> None:
    for app in list(_APPS):
        app._forget_the_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _well_formed(task_id: Any) -> bool:
    """A malformed id names no task (False); a non-string is a programming error."""
    if not isinstance(task_id, str):
        raise TypeError(f"task id must be a string, not {type(task_id).__name__}")
    return is_id(task_id)


def _status(value: Any) -> TaskStatus:
    try:
        return TaskStatus(value)
    except ValueError:
        valid = ", ".join(s.value for s in TaskStatus)
        raise ValueError(f"unknown status {value!r}: use one of {valid}") from None


def _queues(queues: Any) -> Sequence[str] | dict[str, int] | None:
    if queues is None:
        return None
    if isinstance(queues, str):
        return [queues]
    if isinstance(queues, dict):
        return {str(name): check_int(limit, f"limit of queue {name!r}", 1) for name, limit in queues.items()}
    return [str(name) for name in queues]


def _check_sync_connection(connection: Any) -> None:
    if connection is None:
        return
    import psycopg

    if isinstance(connection, psycopg.AsyncConnection):
        raise TypeError("an AsyncConnection belongs to its event loop: use `await app.acreate(..., connection=conn)`")


def _check_options(options: dict[str, Any]) -> None:
    unknown = set(options) - set(TASK_OPTIONS)
    if unknown:
        raise TypeError(f"unknown task option(s): {', '.join(sorted(unknown))}")
    if callable(options.get("retry_delay")):
        raise TypeError("a callable retry_delay can only be given to @app.handler, not per task")
