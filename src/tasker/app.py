"""The Tasker facade: configuration, handler registry, producing, inspecting, controlling, consuming.

Every operation is an async method; its sync twin (``get`` for ``aget``) is
made by ``blocking`` and runs it on the private loop (``runtime.py``). Only
``create`` and ``create_many`` have sync bodies of their own: they skip that
hop, since producing is the hot path of a web application.
"""
from __future__ import annotations

import asyncio
import difflib
import time
from datetime import datetime, timedelta, timezone
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, ParamSpec, Sequence, Sized, TypeVar, overload

from . import app_connection, checks
from .enqueue import NewTask, TaskBatch, TaskDefaults, build_new_task, build_new_tasks
from .errors import TaskCancelledError, TaskFailedError, UnknownTaskError
from .context import TaskContext
from .worker.events import Creation, Events
from .handlers import Handler, make_handler
from .ids import is_id
from .limits import BULK_BATCH, CLEANUP_BATCH, DEFAULT_MAX_PAYLOAD_BYTES, MAX_BATCH_SIZE, MAX_DELAY, MAX_LIST_LIMIT, MAX_SELECTED_IDS
from .runtime import Runtime, blocking
from .series import Schedule, ScheduleSpec, build_spec
from .store import Store, parse_url
from .store.records import MinuteCount, RecentAttempt
from .tallies import Tally
from .task import Task, TaskFilter, TaskPage, TaskStatus, WorkerState, unhandled_types
from .tasks import TaskFunction, default_name, runner_for
from .worker.one_pass import PassSummary, process_queue
from .worker.supervisor import run_in_new_loop
from .worker.worker import Worker, WorkerSettings

P = ParamSpec("P")
R = TypeVar("R")
# The class defines a method named ``list``: these spell the built-in generics for its annotations.
Ids = list[str]
Names = list[str]
Tasks = list[Task]
Schedules = list[Schedule]
Workers = list[WorkerState]
Tallies = list[Tally]
Versions = list[int]


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
        max_result_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        strict_types: bool = False,
        listen_url: str | None = None,
    ):
        self.config = parse_url(url, schema, listen_url)
        self.concurrency = checks.integer(concurrency, "concurrency", 1)
        self.lease = checks.seconds(lease, "lease", positive=True)
        self.max_payload_bytes = checks.integer(max_payload_bytes, "max_payload_bytes", 1)
        self.max_result_bytes = checks.integer(max_result_bytes, "max_result_bytes", 1)
        self.strict_types = strict_types
        self.handlers: dict[str, Handler] = {}
        self.events = Events()
        self.runtime = Runtime(self.config)
        self._periodics: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._declared: set[Store] = set()

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

    @overload
    def task(self, fn: Callable[P, R], /) -> TaskFunction[P, R]: ...

    @overload
    def task(self, fn: None = None, /, *, name: str | None = None, **options: Any) -> Callable[[Callable[P, R]], TaskFunction[P, R]]: ...

    def task(self, fn: Callable[P, R] | None = None, /, *, name: str | None = None, **options: Any) -> Any:
        """Make the decorated function a task type (named ``module.qualname`` unless ``name=``),
        with ``defer`` / ``adefer`` / ``using``; options as for ``handler``.

        >>> @app.task(max_attempts=5, queue="emails")
        ... def send_welcome(user_id: int, locale: str = "en") -> str: ...
        >>> task_id = send_welcome.defer(42, locale="fr")
        """

        def decorate(function: Callable[P, R]) -> TaskFunction[P, R]:
            task = TaskFunction(self, function, name or default_name(function))
            self.register(task.name, runner_for(task), **options)
            return task

        return decorate if fn is None else decorate(fn)

    def on_success(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``fn(event)`` after every successful attempt (a ``TaskEvent``)."""
        return self.events.add("success", fn)

    def on_failure(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``fn(event)`` after every failed attempt; ``event.will_retry`` tells if it runs again."""
        return self.events.add("failure", fn)

    def on_idle(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``fn()`` when a worker runs out of due tasks."""
        return self.events.add("idle", fn)

    def on_create(self, fn: Callable[[Creation], Any]) -> Callable[[Creation], Any]:
        """Call ``fn(creation)`` before each create, defer or create_many stores anything (a
        ``Creation``: type, payload, options, and ``headers`` it may add, which travel with the
        task); it may return ``after(ids, error)``, called once the insert is done or failed."""
        return self.events.add("create", fn)

    def middleware(self, fn: Callable[[TaskContext, Callable[[], Any]], Any]) -> Callable[..., Any]:
        """Wrap every attempt: ``fn(ctx, call_next)``, sync or async, returns what ``call_next()``
        returns (the handler's result) and sees what it raises. The first registered is outermost.

        >>> @app.middleware
        ... async def timed(ctx, call_next):
        ...     started = time.monotonic()
        ...     try:
        ...         return await call_next()
        ...     finally:
        ...         log.info("%s took %.3fs", ctx.type, time.monotonic() - started)
        """
        if not callable(fn):
            raise TypeError("a middleware must be callable: (ctx, call_next)")
        self.events.middlewares.append(fn)
        return fn

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
            options = {k: v for k, v in declaration.items() if k != "payload"}
            await store.insert_schedule(self._spec(every, series, declaration["payload"], options))
        self._declared.add(store)

    # -- schema ------------------------------------------------------------------

    async def amigrate(self) -> Versions:
        """Create or upgrade the schema (``tasker migrate`` does the same); idempotent and
        safe to run from many processes at once. Returns the versions applied."""
        return await (await self.runtime.store(prepare=False)).migrate()

    migrate = blocking(amigrate)

    # -- producing -----------------------------------------------------------------

    def _handler_for(self, type: Any) -> Handler | None:
        """The handler registered here for ``type``; with ``strict_types``, a type with none is refused."""
        handler = self.handlers.get(type) if isinstance(type, str) else None
        if handler is None and self.strict_types and isinstance(type, str):
            close = difflib.get_close_matches(type, list(self.handlers), n=3)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            checks.refuse("type", f"no handler is registered here for task type {type!r}{hint}; "
                                  "strict_types=True refuses types no handler in this process knows")
        return handler

    def _defaults(self, type: Any) -> TaskDefaults:
        handler = self._handler_for(type)
        return handler.defaults if handler else TaskDefaults()

    def _new_task(self, type: Any, payload: Any, options: dict[str, Any], headers: dict[str, Any] | None) -> NewTask:
        handler = self._handler_for(type)
        if handler is not None:
            payload = handler.prepare_payload(payload)
        return build_new_task(type, payload, handler.defaults if handler else TaskDefaults(), self.max_payload_bytes,
                              headers, **options)

    def _new_tasks(self, type: Any, payloads: Iterable[Any], options: dict[str, Any], headers: dict[str, Any] | None) -> TaskBatch:
        handler = self._handler_for(type)
        return build_new_tasks(type, payloads, handler.defaults if handler else TaskDefaults(), self.max_payload_bytes,
                               prepare=handler.prepare_payload if handler and handler.payload_model else None,
                               headers=headers, **options)

    @contextmanager
    def _announced(self, type: Any, payload: Any, options: dict[str, Any], count: int = 1) -> Iterator[Creation]:
        """Run the create hooks around one create call: before (they may add headers) and after,
        with the ids it stored (``creation.ids``) or the error that stored nothing."""
        handler = self.handlers.get(type) if isinstance(type, str) else None
        queue = options.get("queue") or (handler.defaults if handler else TaskDefaults()).queue
        creation = Creation(type, payload, dict(options), count=count, queue=queue)
        if not self.events.hooks["create"]:
            yield creation
            return
        after = self.events.creating(creation)
        try:
            yield creation
        except BaseException as exc:
            after(None, exc)
            raise
        after(creation.ids, None)

    async def acreate(self, type: str, payload: Any = None, *, connection: Any = None, **options: Any) -> str:
        """Async twin of ``create``."""
        connection = await app_connection.unwrap(connection)
        with self._announced(type, payload, options) as creation:
            task = self._new_task(type, payload, options, creation.headers)
            ids = creation.ids = await (await self.runtime.store()).insert_tasks([task], connection)
        if self.runtime.inline is not None:
            await self.runtime.inline.run_async(ids)
        return ids[0]

    def create(self, type: str, payload: Any = None, *, connection: Any = None, **options: Any) -> str:
        """Store a task and return its id; it runs when due on any worker.

        Options: ``run_at``, ``delay``, ``max_attempts``, ``priority``, ``queue``,
        ``unique_key``, ``depends_on``, ``timeout``, ``meta``, ``retry_delay``;
        ``connection``: write it in your own transaction (a psycopg connection, or a SQLAlchemy
        ``Session`` / ``Connection`` on the psycopg driver).

        >>> app.create("sendWebhook", {"url": url}, delay=30, unique_key=f"hook:{order_id}")
        """
        connection = app_connection.blocking(connection)
        _check_sync_connection(connection)
        with self._announced(type, payload, options) as creation:
            task = self._new_task(type, payload, options, creation.headers)
            ids = creation.ids = self.runtime.insert_blocking([task], connection)
        if self.runtime.inline is not None:
            self.runtime.inline.run_sync(ids)
        return ids[0]

    async def acreate_many(self, type: str, payloads: Iterable[Any], *, connection: Any = None, **options: Any) -> Ids:
        """Async twin of ``create_many``."""
        connection = await app_connection.unwrap(connection)
        payloads = _sized(payloads)
        with self._announced(type, payloads, options, len(payloads) if isinstance(payloads, Sized) else 0) as creation:
            tasks = self._new_tasks(type, payloads, options, creation.headers)
            ids = creation.ids = await (await self.runtime.store()).insert_tasks(tasks, connection) if tasks else []
        if self.runtime.inline is not None:
            await self.runtime.inline.run_async(ids)
        return ids

    def create_many(self, type: str, payloads: Iterable[Any], *, connection: Any = None, **options: Any) -> Ids:
        """Store one task per payload in one batch; ids in order. Bad input anywhere stores nothing.

        >>> ids = app.create_many("thumbnail", [{"image": n} for n in range(1000)], queue="media")
        """
        connection = app_connection.blocking(connection)
        _check_sync_connection(connection)
        payloads = _sized(payloads)
        with self._announced(type, payloads, options, len(payloads) if isinstance(payloads, Sized) else 0) as creation:
            tasks = self._new_tasks(type, payloads, options, creation.headers)
            ids = creation.ids = self.runtime.insert_blocking(tasks, connection) if tasks else []
        if self.runtime.inline is not None:
            self.runtime.inline.run_sync(ids)
        return ids

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
        return await (await self.runtime.store()).insert_schedule(spec)

    schedule_every = blocking(aschedule_every)

    # -- inspecting -----------------------------------------------------------------

    async def aget(self, task_id: str) -> Task | None:
        """The task with this id, or None."""
        if not _well_formed(task_id):
            return None
        return await (await self.runtime.store()).get_task(task_id)

    get = blocking(aget)

    async def apage(self, status: str | None = None, type: str | None = None, queue: str | None = None, *,
                    error: str | None = None, series_id: str | None = None, after: str | None = None,
                    limit: int = 100, scan: int | None = None) -> TaskPage:
        """One page of tasks, newest first, filtered, and where the next page starts: pass
        ``page.next`` as ``after`` (a task id; pages stay cheap however far back they go).

        ``error``: a case-insensitive substring of the last error (read from the tasks that
        have one); ``series_id``: the runs of one recurring series. ``scan`` bounds an error
        search: at most that many tasks with an error are read, and a page that ran out of
        them says so (``scan_limited``) with ``next`` where the search stopped.

        >>> page = app.page(status="failed", type="sendWebhook", limit=50)
        >>> older = app.page(status="failed", type="sendWebhook", limit=50, after=page.next)
        """
        check = checks.Checks()
        selection = self._selection(check, status, type, queue, error, series_id)
        cursor = None if after is None else check(checks.identifier, after, "after")
        check(checks.integer, limit, "limit", 1, MAX_LIST_LIMIT)
        if scan is not None:
            check(checks.integer, scan, "scan", 1, MAX_LIST_LIMIT)
        check.done()
        store = await self.runtime.store()
        return await store.list_tasks(selection, cursor, limit, scan if error is not None else None)

    page = blocking(apage)

    async def alist(self, status: str | None = None, type: str | None = None, queue: str | None = None, limit: int = 100, *,
                    error: str | None = None, series_id: str | None = None, after: str | None = None) -> Tasks:
        """Tasks, newest first, filtered by status, type, queue, error text or series; ``after``
        (a task id: the last of the previous call) continues where that call stopped."""
        page = await self.apage(status, type, queue, error=error, series_id=series_id, after=after, limit=limit)
        return page.tasks

    list = blocking(alist)

    async def acount(self, status: str | None = None, type: str | None = None, queue: str | None = None, *,
                     error: str | None = None, series_id: str | None = None, ids: Sequence[str] | None = None,
                     upto: str | None = None, action: str | None = None, cap: int | None = None) -> int:
        """How many tasks match the filters (those of ``app.page``; ``ids``: only these tasks;
        ``upto``: none newer than this task id) and, given an ``action`` (``"cancel"``,
        ``"retry"``, ``"run_now"``, ``"delete"``), how many of them ``app.bulk`` would change.
        Counting stops at ``cap`` (None: counts them all).

        >>> app.count(status="failed", type="sendWebhook", action="retry")
        """
        check = checks.Checks()
        selection = self._selection(check, status, type, queue, error, series_id, ids, upto)
        wanted = None if action is None else check(checks.action, action)
        if cap is not None:
            check(checks.integer, cap, "cap", 1)
        check.done()
        return await (await self.runtime.store()).count_tasks(selection, wanted, cap)

    count = blocking(acount)

    def _selection(self, check: checks.Checks, status: Any, type: Any, queue: Any, error: Any, series_id: Any,
                   ids: Any = None, upto: Any = None) -> TaskFilter:
        """The filters of a listing, count or bulk action, checked (problems go to ``check``)."""
        wanted = None if status is None else check(checks.status, status)
        for field, value in (("type", type), ("queue", queue), ("error", error)):
            if value is not None:
                check(checks.name, value, field)
        series = None if series_id is None else check(checks.identifier, series_id, "series_id")
        newest = None if upto is None else check(checks.identifier, upto, "upto")
        chosen = None if ids is None else check(checks.identifiers, ids, "ids", MAX_SELECTED_IDS)
        return TaskFilter(status=wanted and wanted.value, type=type, queue=queue, error=error, series_id=series,
                          ids=chosen, upto=newest)

    async def astats(self) -> dict[str, Any]:
        """Counts by status (top level and ``by_status``), ``by_queue``, ``paused_queues``,
        ``oldest_due_age`` (seconds the oldest due, queued task has waited, by queue) and
        ``unhandled_types``: queued tasks of types no live worker has a handler for, by type;
        ``flow_limits``: each queue's and type's limits with the tasks waiting on them and
        their recent starts (``flow_limits()``)."""
        store = await self.runtime.store()
        stats = await store.stats()
        now = datetime.fromtimestamp(await store.now(), timezone.utc)
        limits = [limit.as_dict() for limit in await store.flow_limits()]
        return {**stats, "oldest_due_age": await store.oldest_queued(), "flow_limits": limits,
                "unhandled_types": unhandled_types(await store.queued_types(), await store.list_workers(), now, self.lease)}

    stats = blocking(astats)

    async def atallies(self) -> Tallies:
        """What ended, counted as workers record it and never lowered by cleanup or delete: per
        queue, type and status (``retried`` for a failure that runs again) and run-time /
        queue-wait histogram bucket (``tasker.tallies``); ``/metrics`` is built from these."""
        return await (await self.runtime.store()).read_tallies()

    tallies = blocking(atallies)

    async def aschedules(self, include_cancelled: bool = False) -> Schedules:
        """The recurring series with their next run time (active ones unless asked)."""
        return await (await self.runtime.store()).list_schedules(include_cancelled)

    schedules = blocking(aschedules)

    async def aworkers(self) -> Workers:
        """Worker processes with their last heartbeat and running task count."""
        return await (await self.runtime.store()).list_workers()

    workers = blocking(aworkers)

    async def aactivity(self, window: float = 3600.0) -> dict[str, Any]:
        """What operators chart: per-minute succeeded/failed counts over ``window`` seconds
        (``throughput``: ``MinuteCount(minute, status, count)``), the age in seconds of the
        oldest due task per queue, and run time / queue wait of recent attempts (``recent``)."""
        store = await self.runtime.store()
        throughput: list[MinuteCount] = await store.throughput(window)
        recent: list[RecentAttempt] = await store.recent_durations(window, 10_000)
        return {"throughput": throughput, "oldest_queued_age": await store.oldest_queued(), "recent": recent}

    activity = blocking(aactivity)

    async def aresult(self, task_id: str, timeout: float | None = None) -> Any:
        """Wait for the task to finish; its result, or TaskFailedError / TaskCancelledError
        (TimeoutError after ``timeout`` seconds, UnknownTaskError for no such task)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.02
        while True:
            task = await self.aget(task_id)
            if task is None:
                raise UnknownTaskError(f"no task with id {task_id!r}", field="task_id")
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

    result = blocking(aresult)

    # -- controlling ------------------------------------------------------------------

    async def acancel(self, task_id: str) -> bool:
        """Cancel a queued task (it never runs) or a running one (its handler is interrupted).
        Given a series id, stop the series: no future runs (a run in progress finishes).
        False for an unknown or already finished task or series."""
        if not _well_formed(task_id):
            return False
        store = await self.runtime.store()
        return await store.cancel_task(task_id) or await store.cancel_schedule(task_id)

    cancel = blocking(acancel)

    async def _by_id(self, operation: str, task_id: str) -> bool:
        if not _well_formed(task_id):
            return False
        return await getattr(await self.runtime.store(), operation)(task_id)

    async def aretry(self, task_id: str) -> bool:
        """Queue a failed or cancelled task again, with one more attempt; False otherwise.

        >>> app.retry(task_id)
        """
        return await self._by_id("retry_task", task_id)

    retry = blocking(aretry)

    async def arun_now(self, task_id: str) -> bool:
        """Make a queued (delayed) task due now; False if it is not queued. Given a series id,
        queue one run of the series now (``run_schedule``)."""
        return await self._by_id("run_task_now", task_id) or await self.arun_schedule(task_id) is not None

    run_now = blocking(arun_now)

    async def arun_schedule(self, series_id: str) -> str | None:
        """Queue one run of an active recurring series now, beside its ticks (its next tick
        stays where it was); the new task's id, or None for no active series with this id.

        >>> task_id = app.run_schedule(series_id)
        """
        if not _well_formed(series_id):
            return None
        return await (await self.runtime.store()).run_schedule_now(series_id.lower())

    run_schedule = blocking(arun_schedule)

    async def abulk(self, action: str, status: str | None = None, type: str | None = None, queue: str | None = None, *,
                    error: str | None = None, series_id: str | None = None, ids: Sequence[str] | None = None,
                    upto: str | None = None, limit: int | None = None) -> int:
        """Do ``action`` (``"cancel"``, ``"retry"``, ``"run_now"``, ``"delete"``) to every task
        matching the filters (those of ``app.count``) that it applies to, by the same rules as
        ``app.cancel`` & co.; how many changed. It goes newest first in batches (each its own
        statement, so no lock is held long and tasks created meanwhile are left out), and stops
        after ``limit`` tasks (None: all).

        >>> app.bulk("retry", status="failed", type="sendWebhook")
        >>> app.bulk("cancel", status="queued", error="quota exceeded")
        """
        check = checks.Checks()
        wanted = check(checks.action, action)
        selection = self._selection(check, status, type, queue, error, series_id, ids, upto)
        if limit is not None:
            check(checks.integer, limit, "limit", 1)
        check.done()
        assert wanted is not None
        store = await self.runtime.store()
        changed, cursor = 0, None
        while limit is None or changed < limit:
            batch = BULK_BATCH if limit is None else min(BULK_BATCH, limit - changed)
            step = await store.act_on_tasks(wanted, selection, cursor, batch)
            changed += step.changed
            if step.next is None:
                break
            cursor = step.next
        return changed

    bulk = blocking(abulk)

    async def adelete(self, task_id: str) -> bool:
        """Delete a task that is not running (a queued one then never runs); False otherwise."""
        return await self._by_id("delete_task", task_id)

    delete = blocking(adelete)

    async def acleanup(self, older_than: float | timedelta | str | None = None, status: str | None = None,
                       type: str | None = None, *, dry_run: bool = False) -> int:
        """Delete finished tasks that finished more than ``older_than`` ago (seconds, a timedelta or
        text such as ``"7d"``; all when None), only those with ``status`` (succeeded, failed or
        cancelled) and of ``type`` when given, in bounded batches; the count. Queued and running
        tasks are never touched. ``dry_run``: count what would be deleted, delete nothing.

        >>> app.cleanup(older_than=timedelta(days=7), status="succeeded")
        """
        check = checks.Checks()
        seconds = None if older_than is None else check(checks.duration, older_than, "older_than", MAX_DELAY)
        chosen = None if status is None else check(checks.finished_status, status)
        if type is not None:
            check(checks.name, type, "type")
        check.done()
        wanted = chosen and chosen.value
        store = await self.runtime.store()
        if dry_run:
            return await store.count_cleanup(seconds, wanted, type)
        return await store.cleanup(seconds, wanted, type, CLEANUP_BATCH)

    cleanup = blocking(acleanup)

    async def apaused_queues(self) -> Names:
        """The queues paused for every worker (``pause_queue``), by name."""
        return await (await self.runtime.store()).paused_queues()

    paused_queues = blocking(apaused_queues)

    async def apause_queue(self, name: str) -> None:
        """Stop every worker from starting tasks of this queue (running ones finish)."""
        await (await self.runtime.store()).set_queue_paused(checks.name(name, "queue"), True)

    pause_queue = blocking(apause_queue)

    async def aresume_queue(self, name: str) -> None:
        """Let workers take tasks of this queue again."""
        await (await self.runtime.store()).set_queue_paused(checks.name(name, "queue"), False)

    resume_queue = blocking(aresume_queue)

    async def aconfigure_queue(self, name: str, concurrency_limit: int | None = None, rate_limit: str | None = None) -> None:
        """Limit a queue for every worker: at most ``concurrency_limit`` of its tasks running at
        once and ``rate_limit`` starts (``"100/m"``, also ``/s`` and ``/h``); stored, so every
        worker obeys at once. Tasks with a ``partition_key`` are limited per key. Both None: no limits.

        >>> app.configure_queue("emails", concurrency_limit=5, rate_limit="100/m")
        """
        check = checks.Checks()
        queue = check(checks.name, name, "queue")
        limit = check(checks.concurrency_limit, concurrency_limit)
        rate = check(checks.rate_limit, rate_limit)
        check.done()
        assert queue is not None
        await (await self.runtime.store()).set_flow_limit("queue", queue, limit, rate)

    configure_queue = blocking(aconfigure_queue)

    async def aflow_limits(self) -> Sequence[dict[str, Any]]:
        """Every stored flow limit (queues from ``configure_queue``, types from their handlers as
        workers started), each with ``waiting`` (due tasks held back), ``running`` and
        ``recent_starts`` (within the rate's period, else the last minute)."""
        return [limit.as_dict() for limit in await (await self.runtime.store()).flow_limits()]

    flow_limits = blocking(aflow_limits)

    # -- consuming -------------------------------------------------------------------

    async def aprocess_queue(self, batch_size: int = 100) -> PassSummary:
        """One pass, like a cron tick: claim up to ``batch_size`` due tasks whose
        types have handlers here, run them, record outcomes, return counts."""
        checks.integer(batch_size, "batch_size", 1, MAX_BATCH_SIZE)
        store = await self.runtime.store()
        await self._declare_periodics(store)
        threads = self.runtime.pass_threads(self.concurrency * 2)
        settings = WorkerSettings(concurrency=self.concurrency, lease=self.lease, max_result_bytes=self.max_result_bytes)
        return await process_queue(store, self.handlers, self.events, threads, batch_size, settings)

    process_queue = blocking(aprocess_queue)

    async def arun_worker(self, concurrency: int = 10, queues: Sequence[str] | dict[str, int] | None = None, **options: Any) -> None:
        """Run a worker on the current event loop until cancelled or stopped.

        Options (seconds): ``lease``, ``heartbeat_interval``, ``poll_interval``, ``grace_period``
        (on SIGTERM, how long running tasks may finish), ``interrupt_grace`` (how long a handler
        that ignores its timeout or cancellation keeps its slot before it is abandoned).
        """

        async def make() -> Worker:
            store = await self.runtime.store()
            await self._declare_periodics(store)
            settings = WorkerSettings(concurrency=checks.integer(concurrency, "concurrency", 1), queues=_queues(queues),
                                      lease=options.pop("lease", self.lease), max_result_bytes=self.max_result_bytes, **options)
            return Worker(store, dict(self.handlers), self.events, settings)

        await self.runtime.workers.run(make)

    def run_worker(self, concurrency: int = 10, queues: Sequence[str] | dict[str, int] | None = None, **options: Any) -> None:
        """Run a worker in this thread until SIGINT/SIGTERM (graceful; a second signal stops at once).

        >>> app.run_worker(concurrency=20, queues={"emails": 5, "reports": 1})
        """
        run_in_new_loop(self._run_worker_with_signals(concurrency, queues, options))

    async def _run_worker_with_signals(self, concurrency: int, queues: Any, options: dict[str, Any]) -> None:
        try:
            await self.runtime.workers.run_with_signals(self.arun_worker(concurrency, queues, **options))
        finally:
            await self._close_loop_store()

    def stop_workers(self, now: bool = False) -> None:
        """Ask this process's workers to stop (what SIGTERM does); a second call stops at once. Any thread."""
        self.runtime.workers.stop(now)

    # -- closing ---------------------------------------------------------------------

    async def _close_loop_store(self) -> None:
        store = await self.runtime.close_loop_store()
        if store is not None:
            self._declared.discard(store)

    async def aclose(self) -> None:
        """Close the connections this event loop uses (``close()`` closes the sync API's)."""
        await self._close_loop_store()

    def close(self) -> None:
        """Close connections and stop the private loop thread."""
        self.runtime.close()
        self._declared.clear()

    def __enter__(self) -> "Tasker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> "Tasker":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def _well_formed(task_id: Any) -> bool:
    """A malformed id names no task (False); a non-string is a programming error."""
    if not isinstance(task_id, str):
        raise TypeError(f"task id must be a string, not {type(task_id).__name__}")
    return is_id(task_id)


def _queues(queues: Any) -> Sequence[str] | dict[str, int] | None:
    if queues is None:
        return None
    if isinstance(queues, str):
        return [queues]
    if isinstance(queues, dict):
        return {str(name): checks.integer(limit, "queues", 1, label=f"limit of queue {name!r}") for name, limit in queues.items()}
    return [str(name) for name in queues]


def _sized(payloads: Any) -> Any:
    """A one-shot iterator of payloads as a list, so create hooks can count and see it."""
    if isinstance(payloads, Iterable) and not isinstance(payloads, Sized):
        return list(payloads)
    return payloads


def _check_sync_connection(connection: Any) -> None:
    if connection is None:
        return
    import psycopg

    if isinstance(connection, psycopg.AsyncConnection):
        raise TypeError("an AsyncConnection belongs to its event loop: use `await app.acreate(..., connection=conn)`")
