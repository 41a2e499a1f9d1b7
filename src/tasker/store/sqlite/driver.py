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

from ...background import cancel_and_wait
from ...enqueue import NewTask, needs_lookups
from ...errors import StoreUnavailableError
from ...ids import new_id
from ...tallies import NO_BUCKET
from ...task import TaskStatus
from ..base import TickPlanner
from .. import records
from ..records import ClaimedTask, HeldClaim, Outcome, ProgressReport, StoreTimings, Wakeup, WorkerInfo
from ..simple import BULK_STATEMENTS, SimpleOperations
from ..sqlfiles import load_migrations, load_queries
from ..url import StoreConfig

PACKAGE = "tasker.store.sqlite"
BUSY_TIMEOUT_MS = 30_000
WATCH_INTERVAL = 0.01   # seconds between looks for other processes' commits
# Other processes' commits are only seen by polling (and PRAGMA data_version), so poll
# often, and beat at least every second: a heartbeat waits for the file's write lock.
TIMINGS = StoreTimings(poll_interval=0.1, max_heartbeat_interval=1.0)

# In-memory databases: path -> (the thread and the connection all their stores share), and how many stores use them.
_MEMORY: dict[str, tuple[ThreadPoolExecutor, sqlite3.Connection | None]] = {}
_MEMORY_USERS: dict[str, int] = {}
_MEMORY_LOCK = threading.Lock()

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


class SqliteStore(SimpleOperations):
    """Tasks in one SQLite file (or in memory: ``sqlite:///:memory:``, one database per Tasker)."""

    migrates_itself = True   # the embedded default works with no setup step
    # IntegrityError: a NOT NULL or CHECK refused (NaN binds as NULL); ValueError: a lone surrogate.
    refusals: tuple[type[BaseException], ...] = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError, ValueError, OverflowError, TypeError)
    timings = TIMINGS

    def __init__(self, config: StoreConfig):
        self.config = config
        self.path = config.target
        self.q = load_queries(PACKAGE, {})
        self.migrations = load_migrations(PACKAGE, {})
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasker-sqlite")
        self._conn: sqlite3.Connection | None = None
        if config.in_memory:
            # One connection and one thread for every store of an in-memory database (one per
            # event loop): SQLite's shared cache would refuse a second writer at once (no waiting).
            self._thread, self._conn = _MEMORY.setdefault(self.path, (self._thread, None))

    # -- plumbing --------------------------------------------------------------

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _connection(self) -> sqlite3.Connection:
        assert self._conn is not None, "store is not open"
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _rows(self, name: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
        """The rows of one named statement (read by column name); ``now`` is this process's clock."""
        return self._connection().execute(self.q[name], {"now": time.time(), **(params or {})}).fetchall()

    async def _fetch(self, name: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
        return await self._call(self._rows, name, params)

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        if self.config.in_memory:
            with _MEMORY_LOCK:
                thread, conn = _MEMORY[self.path]
                if conn is None:
                    conn = thread.submit(self._open_connection).result()
                    _MEMORY[self.path] = (thread, conn)
                _MEMORY_USERS[self.path] = _MEMORY_USERS.get(self.path, 0) + 1
            self._conn = conn
            return
        await self._call(self._connect)

    def _open_connection(self) -> sqlite3.Connection:
        self._connect()
        assert self._conn is not None
        return self._conn

    def _connect(self) -> None:
        if not self.config.in_memory:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000,
                                   uri=self.config.in_memory)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA recursive_triggers=ON")  # dependency cancellation cascades down chains
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._conn = conn

    async def close(self) -> None:
        if self.config.in_memory and self._conn is not None:
            with _MEMORY_LOCK:   # the last store of the database closes it
                _MEMORY_USERS[self.path] -= 1
                if _MEMORY_USERS[self.path]:
                    self._conn = None
                    return
                del _MEMORY[self.path], _MEMORY_USERS[self.path]
        if self._conn is not None:
            try:
                await self._call(self._conn.close)
            except RuntimeError:  # interpreter exit already stopped the thread pool
                self._conn.close()
            self._conn = None
        self._thread.shutdown(wait=False)

    # -- schema ----------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"SQLite database {self.path}"

    async def schema_version(self) -> int | None:
        return await self._call(self._schema_version)

    def _schema_version(self) -> int | None:
        if not self._rows("has_version_table")[0]["present"]:
            return None
        return self._rows("schema_version")[0]["version"]

    async def migrate(self) -> list[int]:
        return await self._call(self._migrate, None)

    async def migrate_to(self, version: int | None) -> list[int]:
        return await self._call(self._migrate, version)

    def _migrate(self, target: int | None) -> list[int]:
        """BEGIN IMMEDIATE takes the write lock: concurrent migrations queue up."""
        with self._transaction() as conn:
            conn.execute(self.q["create_version_table"])
            current = self._rows("schema_version")[0]["version"] or 0
            self._check_not_newer(current)
            applied = []
            for migration in self.migrations[current:target]:
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute(self.q["record_version"], {"version": migration.version, "now": time.time()})
                applied.append(migration.version)
            return applied

    async def drop_schema(self) -> None:
        await self._call(self._drop)

    def _drop(self) -> None:
        with self._transaction() as conn:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall():
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')

    # -- producing -------------------------------------------------------------

    async def insert_tasks(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        _refuse_connection(connection)
        ids = await self._call(self._insert, tasks)
        _notify_local(self.path, tasks)
        return ids

    def insert_tasks_blocking(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        """``insert_tasks`` for sync callers, from any thread: straight to the connection's thread."""
        _refuse_connection(connection)
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
            verdicts = {t.id: self._dependency_verdict(t) for t in tasks if t.depends_on}
            for t in tasks:
                cur = conn.execute(self.q["insert_task"], _row(t, now))
                if cur.rowcount != 1 and t.replace:
                    replaced = self._rows("replace_queued_task", _row(t, now))
                    if replaced:
                        ids.append(replaced[0]["id"])
                        continue
                    self._rows("release_unique_key", {"unique_key": t.unique_key})   # the holder has started
                    cur = conn.execute(self.q["insert_task"], _row(t, now))
                if cur.rowcount != 1:
                    rows = self._rows("find_existing_tasks", {"ids": json.dumps([t.id]), "keys": json.dumps([t.unique_key])})
                    ids.append(records.resolve_existing([t], rows)[t.id])
                    continue
                ids.append(t.id)
                if t.depends_on:
                    self._link_dependencies(t, verdicts[t.id], now)
        return ids

    def _dependency_verdict(self, task: NewTask) -> tuple[int, str | None]:
        rows = self._rows("lock_dependencies", {"ids": json.dumps(list(task.depends_on))})
        return records.dependency_verdict(task.depends_on, {r["id"]: r["status"] for r in rows})

    def _link_dependencies(self, task: NewTask, verdict: tuple[int, str | None], now: float) -> None:
        ids = json.dumps(list(task.depends_on))
        self._rows("link_dependencies", {"task_id": task.id, "ids": ids})
        self._rows("mark_has_dependents", {"ids": ids})
        pending, reason = verdict
        self._rows("hold_for_dependencies", {"task_id": task.id, "pending": pending, "reason": reason, "now": now})

    # -- inspecting and controlling --------------------------------------------

    async def cancel_task(self, task_id: str) -> bool:
        rows = await self._fetch("cancel_task", {"id": task_id})
        if rows and rows[0]["status"] == "running":
            _cancel_local(self.path, task_id)
        return bool(rows)

    async def retry_task(self, task_id: str) -> bool:
        return await self._change_and_wake("retry_task", task_id)

    async def run_task_now(self, task_id: str) -> bool:
        return await self._change_and_wake("run_task_now", task_id)

    def _ids(self, ids: list[str] | None) -> Any:
        return None if ids is None else json.dumps(ids)

    async def _act(self, action: str, ids: list[str]) -> int:
        rows = await self._fetch(BULK_STATEMENTS[action], {"ids": json.dumps(ids)})
        if action == "cancel":
            for row in rows:
                if row["status"] == "running":
                    _cancel_local(self.path, row["id"])
        if action in ("retry", "run_now") and rows:
            _notify_local(self.path, ())
        return len(rows)

    async def run_schedule_now(self, schedule_id: str) -> str | None:
        task_id = await super().run_schedule_now(schedule_id)
        if task_id is not None:
            _notify_local(self.path, ())
        return task_id

    async def _change_and_wake(self, name: str, task_id: str) -> bool:
        rows = await self._fetch(name, {"id": task_id})
        if rows:
            _notify_local(self.path, ())
        return bool(rows)

    async def save_progress(self, reports: Sequence[ProgressReport]) -> None:
        await self._call(self._save_progress, reports)

    def _save_progress(self, reports: Sequence[ProgressReport]) -> None:
        with self._transaction() as conn:
            for report in reports:
                params = {"id": report.task_id, "token": report.claim_token, "progress": report.progress_json}
                conn.execute(self.q["save_progress"], params)

    # -- consuming -------------------------------------------------------------

    async def claim_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None, limit: int) -> list[ClaimedTask]:
        params = {
            "worker_id": worker_id,
            "types": json.dumps(list(types)),
            "queues": None if queues is None else json.dumps(list(queues)),
            "limit": limit,
        }
        claimed = [records.claimed_from_row(r) for r in await self._call(self._claim, params)]
        claimed.sort(key=lambda c: -c.priority)
        return claimed

    async def claim_limited_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None,
                                  limit: int) -> list[ClaimedTask]:
        params = {"worker_id": worker_id, "types": json.dumps(list(types)),
                  "queues": None if queues is None else json.dumps(list(queues)), "limit": limit}
        return [records.claimed_from_row(r) for r in await self._call(self._claim_limited, params)]

    def _claim_limited(self, params: dict[str, Any]) -> list[sqlite3.Row]:
        with self._transaction():   # the write lock first: the counts then hold every process's claims
            now = time.time()
            rows = self._rows("claim_limited_tasks", {**params, "now": now})
            if rows:
                self._rows("record_flow_starts", {"ids": json.dumps([r["id"] for r in rows]), "now": now})
        return rows

    async def claim_tasks_by_id(self, worker_id: str, ids: Sequence[str]) -> list[ClaimedTask]:
        rows = await self._fetch("claim_tasks_by_id", {"worker_id": worker_id, "ids": json.dumps(list(ids))})
        return sorted((records.claimed_from_row(r) for r in rows), key=lambda c: -c.priority)

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
                    "progress": o.progress_json, "duration": o.duration, "headers": o.headers_json,
                }
                for row in conn.execute(self.q["complete_tasks"], params).fetchall():
                    done.append(o.task_id)
                    if not o.refund_attempt or row["status"] != "queued":   # its try used, or the task ended
                        self._tally(conn, row, o.duration, o.wait, o.run_bucket, o.wait_bucket)
        return done

    def _tally(self, conn: sqlite3.Connection, row: sqlite3.Row, duration: float | None, wait: float | None,
               run_bucket: int, wait_bucket: int) -> None:
        conn.execute(self.q["tally_attempt"], {"queue": row["queue"], "type": row["type"], "status": row["status"],
                                               "duration": duration, "wait": wait, "run_bucket": run_bucket, "wait_bucket": wait_bucket})

    async def next_run_at(self, types: Sequence[str], queues: Sequence[str] | None) -> float | None:
        params = {"types": json.dumps(list(types)), "queues": None if queues is None else json.dumps(list(queues))}
        return (await self._fetch("next_run_at", params))[0]["run_at"]

    async def listen(self, on_wakeup: Callable[[Wakeup], None], on_cancel: Callable[[str], None]) -> "LocalListener":
        listener = LocalListener(self.path, asyncio.get_running_loop(), on_wakeup, on_cancel)
        with _listeners_lock:
            _listeners.setdefault(self.path, set()).add(listener)
        if not self.config.in_memory:   # one process's own database: its commits notify in-process
            listener.watch(lambda: self._call(self._data_version))
        return listener

    def _data_version(self) -> int:
        """Changes when another connection (another process's, say) commits to this file."""
        return self._connection().execute("PRAGMA data_version").fetchone()[0]

    # -- recurring series ------------------------------------------------------

    async def cancel_schedule(self, schedule_id: str) -> bool:
        return await self._call(self._cancel_schedule, schedule_id)

    def _cancel_schedule(self, schedule_id: str) -> bool:
        with self._transaction():
            found = self._rows("cancel_schedule", {"id": schedule_id})
            if found:
                self._rows("cancel_series_tasks", {"id": schedule_id})
        return bool(found)

    async def materialize_schedules(self, now: float, lookahead: float, plan: TickPlanner) -> int:
        inserted = await self._call(self._materialize, now, lookahead, plan)
        if inserted:
            _notify_local(self.path, ())
        return inserted

    def _materialize(self, now: float, lookahead: float, plan: TickPlanner) -> int:
        inserted = 0
        with self._transaction() as conn:
            self._rows("release_after_finish", {"now": now})
            for row in self._rows("due_schedules", {"now": now, "lookahead": lookahead}):
                series = records.series_from_row(row)
                fires, cursor = plan(series, now, lookahead)
                if fires:
                    params = {"ticks": json.dumps([[new_id(), fire] for fire in fires]), "schedule_id": series.id, "now": now}
                    inserted += conn.execute(self.q["insert_occurrences"], params).rowcount
                self._rows("advance_schedule", {"schedule_id": series.id, "cursor": cursor, "last_fire": fires[-1] if fires else None})
        return inserted

    # -- workers ---------------------------------------------------------------

    async def heartbeat(self, worker: WorkerInfo) -> list[HeldClaim]:
        return await self._call(self._heartbeat, worker)

    def _heartbeat(self, worker: WorkerInfo) -> list[HeldClaim]:
        with self._transaction():
            # The time is read once the write lock is ours: waiting for it must not age the beat.
            now = time.time()
            params = {"id": worker.id, "hostname": worker.hostname, "pid": worker.pid, "queues": worker.queues,
                      "concurrency": worker.concurrency, "types": json.dumps(list(worker.types)), "now": now}
            self._rows("heartbeat", params)
            rows = self._rows("running_claims", {"id": worker.id, "now": now})
        return [records.held_claim_from_row(r) for r in rows]

    async def rescue_tasks(self, lease: float) -> list[str]:
        return await self._call(self._rescue, lease)

    def _rescue(self, lease: float) -> list[str]:
        with self._transaction():
            now = time.time()
            rows = self._rows("rescue_tasks", {"now": now, "lease": lease})
            for row in rows:   # lost attempts: counted, not measured
                self._tally(self._connection(), row, None, None, NO_BUCKET, NO_BUCKET)
            self._rows("prune_workers", {"now": now, "lease": lease * 4})
            self._rows("prune_flow_starts", {"now": now})
        if rows:
            _notify_local(self.path, ())
        return [r["id"] for r in rows]

    async def now(self) -> float:
        return time.time()


def _refuse_connection(connection: Any) -> None:
    if connection is not None:
        raise TypeError("connection= (transactional enqueue) needs the PostgreSQL store")


def _row(t: NewTask, now: float) -> dict[str, Any]:
    return {
        "id": t.id, "type": t.type, "payload": t.payload_json, "queue": t.queue, "priority": t.priority,
        "run_at": t.run_at, "delay": t.delay, "max_attempts": t.max_attempts, "timeout": t.timeout,
        "retry_delay": t.retry_delay, "unique_key": t.unique_key, "meta": t.meta_json, "now": now,
        "cancellable": 1 if t.cancellable else 0, "headers": t.headers_json,
        "partition_key": t.partition_key, "concurrency_limit": t.concurrency_limit,
        "rate_count": t.rate_count, "rate_period": t.rate_period,
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
    hints = {Wakeup(t.queue, t.run_at if t.run_at is not None else now + t.delay) for t in tasks} or {Wakeup()}
    for listener in _subscribers(path):
        for hint in hints:
            listener.deliver(listener.on_wakeup, hint)


def _cancel_local(path: str, task_id: str) -> None:
    for listener in _subscribers(path):
        listener.deliver(listener.on_cancel, task_id)
