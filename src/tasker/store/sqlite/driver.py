"""The SQLite store: the embedded default, standard ``sqlite3`` in WAL mode.

One connection per store, used from one dedicated thread, so the event loop
never blocks on the file. Several processes may share a file: every write is
a single statement or a ``BEGIN IMMEDIATE`` transaction, so claims are atomic.
Wake-ups: in-process listeners are called straight after a commit; other
processes find new work by polling.
"""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterator, Sequence

from ...enqueue import NewTask, needs_lookups
from ...errors import SchemaTooNewError, TaskerError
from ...task import Task, TaskStatus, WorkerState
from ...ids import new_id
from ...series import Schedule, ScheduleSpec, SeriesRow
from ...worker.repeat import cancel_and_wait
from ..base import ClaimedTask, HeldClaim, Outcome, TickPlanner, Wakeup, WorkerInfo
from ..records import as_json, as_utc, dependency_verdict, schedule_from_row, schedule_params, stats_from_counts, task_from_row
from ..sqlfiles import load_migrations, load_queries
from ..url import StoreConfig

PACKAGE = "tasker.store.sqlite"
BUSY_TIMEOUT_MS = 30_000
WATCH_INTERVAL = 0.01   # seconds between looks for other processes' commits

# In-process listeners per database file: a task created in this process
# wakes this process's workers at once, without waiting for their poll.
_listeners: dict[str, set["LocalListener"]] = {}
_listeners_lock = threading.Lock()


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip().strip(";").strip():
                yield buffer
            buffer = ""
    if buffer.strip():
        yield buffer


class SqliteStore:
    """Tasks in one SQLite file (or ``:memory:``)."""

    json_is_text = True

    def __init__(self, config: StoreConfig):
        self.config = config
        self.path = config.target
        self.q = load_queries(PACKAGE, {})
        self.migrations = load_migrations(PACKAGE, {})
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasker-sqlite")
        self._conn: sqlite3.Connection | None = None

    # -- plumbing --------------------------------------------------------------

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        assert conn is not None, "store is not open"
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _rows(self, name: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
        assert self._conn is not None, "store is not open"
        return self._conn.execute(self.q[name], {"now": time.time(), **(params or {})}).fetchall()

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        await self._call(self._connect)

    def _connect(self) -> None:
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA recursive_triggers=ON")  # dependency cancellation cascades down chains
        except sqlite3.Error as exc:
            raise TaskerError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            try:
                await self._call(self._conn.close)
            except RuntimeError:  # interpreter exit already stopped the thread pool
                self._conn.close()
            self._conn = None
        self._thread.shutdown(wait=False)

    # -- schema ----------------------------------------------------------------

    async def schema_version(self) -> int | None:
        return await self._call(self._schema_version)

    def _schema_version(self) -> int | None:
        if not self._rows("has_version_table")[0][0]:
            return None
        return self._rows("schema_version")[0][0]

    async def migrate(self) -> list[int]:
        return await self._call(self._migrate, None)

    async def migrate_to(self, version: int | None) -> list[int]:
        return await self._call(self._migrate, version)

    def _migrate(self, target: int | None) -> list[int]:
        """BEGIN IMMEDIATE takes the write lock: concurrent migrations queue up."""
        with self._transaction() as conn:
            conn.execute(self.q["create_version_table"])
            current = conn.execute(self.q["schema_version"]).fetchone()[0]
            latest = self.migrations[-1].version
            if current is not None and current > latest:
                raise SchemaTooNewError(f"{self.path} is at schema version {current}; this Tasker knows {latest}")
            applied = []
            for migration in self.migrations[(current or 0):target]:
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute(self.q["record_version"], {"version": migration.version, "now": time.time()})
                applied.append(migration.version)
            return applied

    async def check_schema(self) -> None:
        await self.migrate()

    async def drop_schema(self) -> None:
        await self._call(self._drop)

    def _drop(self) -> None:
        with self._transaction() as conn:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall():
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')

    # -- producing -------------------------------------------------------------

    async def insert_tasks(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        if connection is not None:
            raise TypeError("connection= (transactional enqueue) needs the PostgreSQL store")
        ids = await self._call(self._insert, tasks)
        _notify_local(self.path, tasks)
        return ids

    def insert_tasks_blocking(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        """``insert_tasks`` for sync callers, from any thread: straight to the connection's thread."""
        if connection is not None:
            raise TypeError("connection= (transactional enqueue) needs the PostgreSQL store")
        ids = self._thread.submit(self._insert, tasks).result()
        _notify_local(self.path, tasks)
        return ids

    def _insert(self, tasks: Sequence[NewTask]) -> list[str]:
        ids = []
        with self._transaction() as conn:
            now = time.time()
            if not needs_lookups(tasks):
                conn.executemany(self.q["insert_task"], [_row(t, now) for t in tasks])
                return [t.id for t in tasks]
            verdicts = {t.id: self._check_dependencies(t) for t in tasks if t.depends_on}
            for t in tasks:
                cur = conn.execute(self.q["insert_task"], _row(t, now))
                if cur.rowcount != 1:
                    ids.append(conn.execute(self.q["find_unique_task"], {"unique_key": t.unique_key}).fetchone()[0])
                    continue
                ids.append(t.id)
                if t.depends_on:
                    self._link_dependencies(t, verdicts[t.id], now)
        return ids

    def _check_dependencies(self, task: NewTask) -> tuple[int, str | None]:
        rows = self._rows("dependency_status", {"ids": json.dumps(list(task.depends_on))})
        return dependency_verdict(task.depends_on, {r[0]: r[1] for r in rows})

    def _link_dependencies(self, task: NewTask, verdict: tuple[int, str | None], now: float) -> None:
        assert self._conn is not None
        for dep in task.depends_on:
            self._conn.execute(self.q["link_dependency"], {"task_id": task.id, "depends_on": dep})
        self._conn.execute(self.q["mark_has_dependents"], {"ids": json.dumps(list(task.depends_on))})
        pending, reason = verdict
        self._conn.execute(self.q["hold_for_dependencies"], {"task_id": task.id, "pending": pending, "reason": reason, "now": now})

    # -- inspecting and controlling --------------------------------------------

    async def get_task(self, task_id: str) -> Task | None:
        rows = await self._call(self._rows, "get_task", {"id": task_id})
        return task_from_row(rows[0], json_is_text=True) if rows else None

    async def list_tasks(self, status: str | None, type: str | None, queue: str | None, limit: int) -> list[Task]:
        params = {"status": status, "type": type, "queue": queue, "limit": limit}
        return [task_from_row(r, json_is_text=True) for r in await self._call(self._rows, "list_tasks", params)]

    async def cancel_task(self, task_id: str) -> bool:
        rows = await self._call(self._rows, "cancel_task", {"id": task_id})
        if rows and rows[0][0] == "running":
            _cancel_local(self.path, task_id)
        return bool(rows)

    async def cleanup(self, older_than: float | None) -> int:
        return await self._call(self._cleanup, older_than)

    def _cleanup(self, older_than: float | None) -> int:
        assert self._conn is not None
        return self._conn.execute(self.q["cleanup"], {"now": time.time(), "older_than": older_than}).rowcount

    async def stats(self) -> dict[str, Any]:
        rows = await self._call(self._rows, "stats")
        return {**stats_from_counts([tuple(r) for r in rows]), "paused_queues": await self.paused_queues()}

    async def retry_task(self, task_id: str) -> bool:
        return await self._change_and_wake("retry_task", task_id)

    async def run_task_now(self, task_id: str) -> bool:
        return await self._change_and_wake("run_task_now", task_id)

    async def _change_and_wake(self, name: str, task_id: str) -> bool:
        rows = await self._call(self._rows, name, {"id": task_id})
        if rows:
            _notify_local(self.path, ())
        return bool(rows)

    async def delete_task(self, task_id: str) -> bool:
        return bool(await self._call(self._rows, "delete_task", {"id": task_id}))

    async def list_workers(self) -> list[WorkerState]:
        rows = await self._call(self._rows, "list_workers")
        return [WorkerState(r[0], r[1], r[2], r[3], r[4], as_utc(r[5]), as_utc(r[6]), r[7]) for r in rows]

    async def throughput(self, window: float) -> list[tuple[float, str, int]]:
        return [tuple(r) for r in await self._call(self._rows, "throughput", {"window": window})]

    async def oldest_queued(self) -> dict[str, float]:
        return {r[0]: r[1] for r in await self._call(self._rows, "oldest_queued")}

    async def recent_durations(self, window: float, limit: int) -> list[tuple[str, str, float, float]]:
        return [tuple(r) for r in await self._call(self._rows, "recent_durations", {"window": window, "limit": limit})]

    async def set_queue_paused(self, name: str, paused: bool) -> None:
        await self._call(self._rows, "set_queue_paused", {"name": name, "paused": paused})

    async def paused_queues(self) -> list[str]:
        return [r[0] for r in await self._call(self._rows, "paused_queues")]

    async def save_progress(self, items: Sequence[tuple[str, str, str]]) -> None:
        await self._call(self._save_progress, items)

    def _save_progress(self, items: Sequence[tuple[str, str, str]]) -> None:
        with self._transaction() as conn:
            for task_id, token, progress in items:
                conn.execute(self.q["save_progress"], {"id": task_id, "token": token, "progress": progress})

    # -- consuming -------------------------------------------------------------

    async def claim_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None, limit: int) -> list[ClaimedTask]:
        params = {
            "worker_id": worker_id,
            "types": json.dumps(list(types)),
            "queues": None if queues is None else json.dumps(list(queues)),
            "limit": limit,
        }
        rows = await self._call(self._claim, params)
        claimed = [
            ClaimedTask(r[0], r[1], r[2], as_json(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], as_json(r[10]))
            for r in rows
        ]
        claimed.sort(key=lambda c: -c.priority)
        return claimed

    def _claim(self, params: dict[str, Any]) -> list[sqlite3.Row]:
        if not self._rows("any_due", params):
            return []
        return self._rows("claim_tasks", params)

    async def complete_tasks(self, outcomes: Sequence[Outcome]) -> list[str]:
        done = await self._call(self._complete, outcomes)
        if any(o.status is TaskStatus.SUCCEEDED for o in outcomes):
            _notify_local(self.path, ())  # dependents released by the trigger may now be due
        return done

    def _complete(self, outcomes: Sequence[Outcome]) -> list[str]:
        done = []
        with self._transaction() as conn:
            now = time.time()
            for o in outcomes:
                params = {
                    "id": o.task_id, "token": o.claim_token, "status": o.status.value, "result": o.result_json,
                    "error": o.error, "retry_in": o.retry_in, "refund": 1 if o.refund_attempt else 0, "now": now,
                    "progress": o.progress_json, "duration": o.duration,
                }
                if conn.execute(self.q["complete_task"], params).fetchall():
                    done.append(o.task_id)
        return done

    async def next_run_at(self, types: Sequence[str], queues: Sequence[str] | None) -> float | None:
        params = {"types": json.dumps(list(types)), "queues": None if queues is None else json.dumps(list(queues))}
        return (await self._call(self._rows, "next_run_at", params))[0][0]

    async def listen(self, on_wakeup: Callable[[Wakeup], None], on_cancel: Callable[[str], None] | None = None) -> "LocalListener":
        listener = LocalListener(self.path, asyncio.get_running_loop(), on_wakeup, on_cancel or (lambda _id: None))
        with _listeners_lock:
            _listeners.setdefault(self.path, set()).add(listener)
        if self.path != ":memory:":
            listener.watch(lambda: self._call(self._data_version))
        return listener

    def _data_version(self) -> int:
        """Changes when another connection (another process's, say) commits to this file."""
        assert self._conn is not None
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    # -- recurring series ------------------------------------------------------

    async def insert_schedule(self, spec: ScheduleSpec) -> str:
        return (await self._call(self._rows, "insert_schedule", schedule_params(spec)))[0][0]

    async def list_schedules(self, include_cancelled: bool) -> list[Schedule]:
        rows = await self._call(self._rows, "list_schedules", {"all": include_cancelled})
        return [schedule_from_row(r, json_is_text=True) for r in rows]

    async def cancel_schedule(self, schedule_id: str) -> bool:
        return await self._call(self._cancel_schedule, schedule_id)

    def _cancel_schedule(self, schedule_id: str) -> bool:
        with self._transaction() as conn:
            found = conn.execute(self.q["cancel_schedule"], {"id": schedule_id}).fetchall()
            if found:
                conn.execute(self.q["cancel_series_tasks"], {"id": schedule_id, "now": time.time()})
        return bool(found)

    async def materialize_schedules(self, now: float, lookahead: float, plan: TickPlanner) -> int:
        inserted = await self._call(self._materialize, now, lookahead, plan)
        if inserted:
            _notify_local(self.path, ())
        return inserted

    def _materialize(self, now: float, lookahead: float, plan: TickPlanner) -> int:
        inserted = 0
        with self._transaction() as conn:
            conn.execute(self.q["release_after_finish"], {"now": now})
            for row in conn.execute(self.q["due_schedules"], {"now": now, "lookahead": lookahead}).fetchall():
                fires, cursor = plan(SeriesRow(*row), now, lookahead)
                for fire in fires:
                    params = {"id": new_id(), "fire": fire, "schedule_id": row[0], "now": now}
                    inserted += conn.execute(self.q["insert_occurrence"], params).rowcount
                params = {"schedule_id": row[0], "cursor": cursor, "last_fire": fires[-1] if fires else None}
                conn.execute(self.q["advance_schedule"], params)
        return inserted

    # -- workers ---------------------------------------------------------------

    async def heartbeat(self, worker: WorkerInfo) -> list[HeldClaim]:
        return await self._call(self._heartbeat, worker)

    def _heartbeat(self, worker: WorkerInfo) -> list[HeldClaim]:
        with self._transaction() as conn:
            # The time is read once the write lock is ours: waiting for it must not age the beat.
            now = time.time()
            params = {"id": worker.id, "hostname": worker.hostname, "pid": worker.pid, "queues": worker.queues,
                      "concurrency": worker.concurrency, "now": now}
            conn.execute(self.q["heartbeat"], params)
            rows = conn.execute(self.q["running_claims"], {"id": worker.id, "now": now}).fetchall()
        return [HeldClaim(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    async def unregister_worker(self, worker_id: str) -> None:
        await self._call(self._rows, "unregister_worker", {"id": worker_id})

    async def rescue_tasks(self, lease: float) -> list[str]:
        return await self._call(self._rescue, lease)

    def _rescue(self, lease: float) -> list[str]:
        with self._transaction() as conn:
            now = time.time()
            rows = conn.execute(self.q["rescue_tasks"], {"now": now, "lease": lease}).fetchall()
            conn.execute(self.q["prune_workers"], {"now": now, "lease": lease * 4})
        if rows:
            _notify_local(self.path, ())
        return [r[0] for r in rows]

    async def now(self) -> float:
        return time.time()


def _row(t: NewTask, now: float) -> dict[str, Any]:
    return {
        "id": t.id, "type": t.type, "payload": t.payload_json, "queue": t.queue, "priority": t.priority,
        "run_at": t.run_at, "delay": t.delay, "max_attempts": t.max_attempts, "timeout": t.timeout,
        "retry_delay": t.retry_delay, "unique_key": t.unique_key, "meta": t.meta_json, "now": now,
    }


class LocalListener:
    """An in-process subscriber to one database file's new tasks and cancellations."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop, on_wakeup: Callable[[Wakeup], None], on_cancel: Callable[[str], None]):
        self.path = path
        self.loop = loop
        self.on_wakeup = on_wakeup
        self.on_cancel = on_cancel
        self.watcher: asyncio.Task | None = None

    def watch(self, data_version: Callable[[], Awaitable[int]]) -> None:
        """Wake on other processes' commits too (they cannot call us): a cheap pragma, polled."""
        self.watcher = asyncio.create_task(self._watch(data_version), name="tasker-sqlite-watch")

    async def _watch(self, data_version: Callable[[], Awaitable[int]]) -> None:
        seen = await data_version()
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                version = await data_version()
            except sqlite3.Error:
                continue  # busy or briefly unavailable: the poll is the safety net
            if version != seen:
                seen = version
                self.on_wakeup(Wakeup())

    async def stop(self) -> None:
        with _listeners_lock:
            _listeners.get(self.path, set()).discard(self)
        if self.watcher is not None:
            await cancel_and_wait(self.watcher)

    def deliver(self, fn: Callable[..., None], arg: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:
            pass  # that loop is closed; its worker is gone


def _subscribers(path: str) -> list[LocalListener]:
    with _listeners_lock:
        return list(_listeners.get(path, ()))


def _notify_local(path: str, tasks: Sequence[NewTask]) -> None:
    now = time.time()
    hints = {(t.queue, t.run_at if t.run_at is not None else now + t.delay) for t in tasks} or {(None, None)}
    for listener in _subscribers(path):
        for queue, run_at in hints:
            listener.deliver(listener.on_wakeup, Wakeup(queue=queue, run_at=run_at))


def _cancel_local(path: str, task_id: str) -> None:
    for listener in _subscribers(path):
        listener.deliver(listener.on_cancel, task_id)
