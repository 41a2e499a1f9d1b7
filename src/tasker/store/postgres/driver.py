"""The PostgreSQL store: psycopg 3 with a connection pool, one named statement per operation."""
from __future__ import annotations

import asyncio
import json
import logging
import select
import threading
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Generator, Iterator, NamedTuple, Sequence, Union

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.datetime import TimestamptzLoader
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from ...background import Backoff, cancel_and_wait
from ...enqueue import NewTask, TaskBatch, needs_lookups
from ...errors import StoreUnavailableError, TaskerError
from ...ids import new_id
from ...task import TaskStatus
from ..base import TickPlanner
from .. import records
from ..records import ClaimedTask, HeldClaim, Outcome, ProgressReport, StoreTimings, Wakeup, WorkerInfo
from ..simple import BULK_STATEMENTS, SimpleOperations
from ..sqlfiles import load_migrations, load_queries
from ..url import StoreConfig, redact
from .lanes import Lanes

log = logging.getLogger("tasker.store.postgres")
PACKAGE = "tasker.store.postgres"
CONNECT_TIMEOUT = 10   # seconds (libpq takes whole seconds)
# A pooled connection unused this long is closed (one at a time), down to none: a burst's
# extra connections go back to the server, and an idle worker keeps the one its polls use.
POOL_IDLE = 10.0
APPLICATION_NAME = "tasker"   # in pg_stat_activity, unless the URL names one
COPY_FROM = 50   # batches this large go through COPY (its extra round trips pay off)
COPY_CHUNK = 200  # rows per COPY write
# Statements that only read: repeating one after its connection died cannot do anything twice.
READS = frozenset({"get_task", "list_tasks", "count_tasks", "pick_tasks", "stats", "queued_types", "list_workers", "throughput", "oldest_queued", "recent_durations",
                   "paused_queues", "list_schedules", "next_run_at", "schema_version", "has_version_table", "now",
                   "flow_limits", "next_flow_slot", "limited_names"})

# Statements whose best plan depends on which filters are given: planned afresh with the
# values at hand, never prepared (a generic plan of "x IS NULL OR col = x" reads every row).
UNPREPARED = frozenset({"list_tasks", "count_tasks", "pick_tasks"})


class TolerantTimestamptz(TimestamptzLoader):
    """Reads a time Python cannot hold ('infinity', past year 9999, BC: stored by other
    means) as the nearest one it can, so that one such row never breaks a listing."""

    def load(self, data: Any) -> datetime:
        try:
            return super().load(data)
        except psycopg.DataError:
            raw = bytes(data)
            return records.EARLIEST if raw.startswith(b"-") or raw.endswith(b"BC") else records.LATEST


async def _read_times_tolerantly(conn: psycopg.AsyncConnection) -> None:
    conn.adapters.register_loader("timestamptz", TolerantTimestamptz)


def _closed_by_the_server(conn: psycopg.BaseConnection[Any]) -> bool:
    """Whether the server has closed this idle connection (a restart, a failover, an idle
    timeout, pg_terminate_backend): it then said goodbye on the socket, which is readable.
    An idle pooled connection has nothing to read otherwise, so a readable one is dropped
    (at worst a reconnect too many). A look at the socket, not a query: no round trip."""
    if conn.closed or conn.broken:
        return True
    if conn.info.transaction_status is not TransactionStatus.IDLE:
        return False   # in use by another coroutine: what is readable is its answer
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class PostgresStore(SimpleOperations):
    """Tasks in a PostgreSQL schema (default ``tasker``), shared by any number of workers."""

    migrates_itself = False
    # DataError: NUL in text, values out of range; ValueError: a lone surrogate the client cannot encode.
    refusals: tuple[type[BaseException], ...] = (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError, ValueError, OverflowError, TypeError)

    def __init__(self, config: StoreConfig):
        self.config = config
        self.wakeup_channel = f"tasker.{config.schema}"
        self.cancel_channel = f"tasker.{config.schema}.cancel"
        subs = {
            "schema": _ident(config.schema),
            "channel": _literal(self.wakeup_channel),
            "wakeup_channel_ident": _ident(self.wakeup_channel),
            "cancel_channel_ident": _ident(self.cancel_channel),
        }
        self.q = load_queries(PACKAGE, subs)
        self.migrations = load_migrations(PACKAGE, subs)
        # LISTEN pushes wake-ups, so polling is only the safety net; without it (PgBouncer) poll often.
        self.timings = StoreTimings(poll_interval=2.0 if config.listen else 0.5, max_heartbeat_interval=None)
        self.pool: AsyncConnectionPool | None = None
        self.lanes = Lanes(config.pool_size, POOL_IDLE)
        self.blocking: ConnectionPool | None = None   # for sync callers (insert_tasks_blocking), made on first use
        self.blocking_lock = threading.Lock()

    # -- lifecycle and plumbing --------------------------------------------------

    async def open(self) -> None:
        """Check the server answers (a plain connection, closed at once: its error says why,
        the pool's would only say it timed out); the pool opens connections on demand."""
        try:
            probe = await psycopg.AsyncConnection.connect(self.config.target, **self._connection_options())
            await probe.close()
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"cannot connect to PostgreSQL at {self.config.display}: {redact(str(exc))}") from None
        self.pool = AsyncConnectionPool(
            self.config.target,
            min_size=0,
            max_size=self.config.pool_size,
            max_idle=POOL_IDLE,
            kwargs=self._connection_options(),
            open=False,
            timeout=CONNECT_TIMEOUT,
            name=f"tasker-{self.config.schema}",
            configure=_read_times_tolerantly,
        )
        try:
            await self.pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            await self.pool.close()
            raise StoreUnavailableError(f"cannot connect to PostgreSQL at {self.config.display}: {redact(str(exc))}") from None

    def _connection_options(self) -> dict[str, Any]:
        """Every pooled connection's: autocommit (a transaction is asked for when needed), a name
        in pg_stat_activity, and behind a pooler no server-side prepared statements (the next
        transaction may run on another server connection, which never saw them)."""
        options: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT,
                                   "fallback_application_name": APPLICATION_NAME}
        if self.config.pooled:
            options["prepare_threshold"] = None
        return options

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        with self.blocking_lock:
            blocking, self.blocking = self.blocking, None
        if blocking is not None:
            # Here, not through asyncio.to_thread: at interpreter exit (atexit) no new thread may start.
            blocking.close(timeout=CONNECT_TIMEOUT)

    def _pool(self) -> AsyncConnectionPool:
        assert self.pool is not None, "store is not open"
        return self.pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A pooled connection the server has not closed. After a restart every idle one is
        dead: each is dropped (the pool replaces it) until a live or new one comes, so the
        application's next call goes through instead of failing."""
        pool = self._pool()
        async with self.lanes.lane():
            conn = await pool.getconn()
            while _closed_by_the_server(conn):
                await conn.close()
                await pool.putconn(conn)   # a closed connection is discarded and replaced
                conn = await pool.getconn()
            try:
                yield conn
            finally:
                await pool.putconn(conn)

    @contextmanager
    def _blocking_connection(self) -> Iterator[psycopg.Connection]:
        """``_connection`` for sync callers, from the sync pool."""
        pool = self._blocking_pool()
        conn = pool.getconn()
        while _closed_by_the_server(conn):
            conn.close()
            pool.putconn(conn)
            conn = pool.getconn()
        try:
            yield conn
        finally:
            pool.putconn(conn)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A pooled connection inside one transaction (committed on exit, rolled back on error)."""
        async with self._connection() as conn, conn.transaction():
            yield conn

    async def _on(self, conn: psycopg.AsyncConnection, name: str, params: dict[str, Any] | None = None) -> list[Any]:
        """The rows (as dicts) of one named statement, on ``conn``."""
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(self.q[name], params, prepare=False if name in UNPREPARED else None)
            return await cur.fetchall() if cur.description else []

    async def _fetch(self, name: str, params: dict[str, Any] | None = None) -> list[Any]:
        """The rows of one named statement, on its own pooled connection (autocommit). A read
        whose connection died under it (a restart mid-call) is made once more on a new one."""
        try:
            async with self._connection() as conn:
                return await self._on(conn, name, params)
        except psycopg.OperationalError:
            if name not in READS:
                raise
        async with self._connection() as conn:
            return await self._on(conn, name, params)

    async def _value(self, name: str, column: str, params: dict[str, Any] | None = None) -> Any:
        rows = await self._fetch(name, params)
        return rows[0][column] if rows else None

    # -- schema ----------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"PostgreSQL schema {self.config.schema!r}"

    async def schema_version(self) -> int | None:
        exists = await self._value("has_version_table", "present", {"table": f"{_ident(self.config.schema)}.schema_version"})
        return await self._value("schema_version", "version") if exists else None

    async def migrate(self) -> list[int]:
        """Apply what is missing (a fresh install: every migration), under an advisory lock, in one transaction."""
        return await self.migrate_to(None)

    async def migrate_to(self, version: int | None) -> list[int]:
        """Apply the missing migrations up to ``version`` (None: the latest); their versions."""
        async with self._transaction() as conn:
            await self._on(conn, "lock_migrations", {"key": f"tasker.migrate.{self.config.schema}"})
            await conn.execute(self.q["create_version_table"])
            current = (await self._on(conn, "schema_version"))[0]["version"] or 0
            self._check_not_newer(current)
            applied = []
            for migration in self.migrations[current:version]:
                await conn.execute(migration.sql)
                await self._on(conn, "record_version", {"version": migration.version})
                applied.append(migration.version)
            return applied

    async def drop_schema(self) -> None:
        await self._fetch("drop_schema")

    # -- producing -------------------------------------------------------------

    async def insert_tasks(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        if isinstance(connection, psycopg.Connection):  # an application's sync connection, from async code
            return await asyncio.to_thread(_run_blocking, connection, _insert_steps(self.q, tasks))
        if connection is not None:
            return await _run(_async_connection(connection), _insert_steps(self.q, tasks))
        try:
            return await self._insert(*self._plan(tasks))
        except psycopg.OperationalError:
            # The connection died under the insert: once more, as plain inserts, which skip the
            # rows an earlier try may have written (ids are made here), so nothing is doubled.
            return await self._insert(_insert_steps(self.q, tasks), True)

    async def _insert(self, steps: Steps, atomic: bool) -> list[str]:
        if atomic:
            async with self._transaction() as conn:
                return await _run(conn, steps)
        async with self._connection() as conn:
            return await _run(conn, steps)

    def insert_tasks_blocking(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        """``insert_tasks`` for sync callers, from any thread, on a sync pool: no event loop hop."""
        if connection is not None:
            return _run_blocking(_sync_connection(connection), _insert_steps(self.q, tasks))
        try:
            return self._insert_blocking(*self._plan(tasks))
        except psycopg.OperationalError:   # as in insert_tasks
            return self._insert_blocking(_insert_steps(self.q, tasks), True)

    def _insert_blocking(self, steps: Steps, atomic: bool) -> list[str]:
        with self._blocking_connection() as conn:
            if atomic:
                with conn.transaction():
                    return _run_blocking(conn, steps)
            return _run_blocking(conn, steps)

    def _plan(self, tasks: Sequence[NewTask]) -> tuple[Steps, bool]:
        """The statements for a batch, and whether they need one transaction (one INSERT
        is atomic by itself; COPY with its NOTIFY, look-ups and links are not)."""
        if isinstance(tasks, TaskBatch) and len(tasks) >= COPY_FROM and _plain(tasks.template):
            return _copy_steps(self.q, tasks), True
        return _insert_steps(self.q, tasks), needs_lookups(tasks)

    def _blocking_pool(self) -> ConnectionPool:
        with self.blocking_lock:
            if self.blocking is None:
                self.blocking = ConnectionPool(
                    self.config.target, min_size=0, max_size=self.config.pool_size, max_idle=POOL_IDLE,
                    kwargs=self._connection_options(), timeout=CONNECT_TIMEOUT, name=f"tasker-{self.config.schema}-sync", open=True,
                )
            return self.blocking

    # -- inspecting and controlling --------------------------------------------

    async def cancel_task(self, task_id: str) -> bool:
        async with self._transaction() as conn:
            rows = await self._on(conn, "cancel_task", {"id": task_id})
            if rows and rows[0]["status"] == "running":
                await self._on(conn, "notify_cancel", {"channel": self.cancel_channel, "id": task_id})
            return bool(rows)

    async def retry_task(self, task_id: str) -> bool:
        return await self._change_and_wake("retry_task", task_id)

    async def run_task_now(self, task_id: str) -> bool:
        return await self._change_and_wake("run_task_now", task_id)

    async def _act(self, action: str, ids: list[str]) -> int:
        """A bulk batch in one transaction, with its notifications (sent on commit)."""
        async with self._transaction() as conn:
            rows = await self._on(conn, BULK_STATEMENTS[action], {"ids": ids})
            if action == "cancel":
                for row in rows:
                    if row["status"] == "running":
                        await self._on(conn, "notify_cancel", {"channel": self.cancel_channel, "id": row["id"]})
            if action in ("retry", "run_now"):
                for queue in sorted({row["queue"] for row in rows}):
                    await self._on(conn, "notify_queue", {"queue": queue})
            return len(rows)

    async def _change_and_wake(self, name: str, task_id: str) -> bool:
        """Make a task due now, and tell idle workers (NOTIFY goes out on commit)."""
        async with self._transaction() as conn:
            rows = await self._on(conn, name, {"id": task_id})
            if rows:
                await self._on(conn, "notify_queue", {"queue": rows[0]["queue"]})
            return bool(rows)

    # -- consuming -------------------------------------------------------------

    async def claim_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None, limit: int) -> list[ClaimedTask]:
        params = {"worker_id": worker_id, "types": list(types), "queues": None if queues is None else list(queues), "limit": limit}
        # On a pooled connection like any statement: the claim relaxes its own commit (claim_tasks.sql).
        rows = await self._fetch("claim_tasks", params)
        claimed = [records.claimed_from_row(row) for row in rows]
        claimed.sort(key=lambda c: -c.priority)
        return claimed

    async def claim_limited_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None,
                                  limit: int) -> list[ClaimedTask]:
        params = {"worker_id": worker_id, "types": list(types), "queues": None if queues is None else list(queues), "limit": limit}
        async with self._transaction() as conn:
            await self._on(conn, "lock_flow", {"key": f"tasker.flow.{self.config.schema}"})
            rows = await self._on(conn, "claim_limited_tasks", params)
        return [records.claimed_from_row(row) for row in rows]

    async def claim_tasks_by_id(self, worker_id: str, ids: Sequence[str]) -> list[ClaimedTask]:
        rows = await self._fetch("claim_tasks_by_id", {"worker_id": worker_id, "ids": list(ids)})
        return [records.claimed_from_row(row) for row in rows]

    async def complete_tasks(self, outcomes: Sequence[Outcome]) -> list[str]:
        """Plain successes go through a lean statement; other outcomes through the full one."""
        lean = [o.status is TaskStatus.SUCCEEDED and o.headers_json is None for o in outcomes]
        succeeded = [o for o, plain in zip(outcomes, lean) if plain]
        others = [o for o, plain in zip(outcomes, lean) if not plain]
        done = []
        if succeeded:
            params = {"outcomes": "[" + ",".join(map(_success_json, succeeded)) + "]"}
            done += [row["id"] for row in await self._fetch("complete_succeeded", params)]
        if others:
            done += [row["id"] for row in await self._fetch("complete_tasks", _outcome_columns(others))]
        return done

    async def next_run_at(self, types: Sequence[str], queues: Sequence[str] | None) -> float | None:
        params = {"types": list(types), "queues": None if queues is None else list(queues)}
        return await self._value("next_run_at", "run_at", params)

    async def listen(self, on_wakeup: Callable[[Wakeup], None], on_cancel: Callable[[str], None]) -> "PgListener | Deaf":
        if self.config.listens_on is None:   # ?listen=off (PgBouncer in transaction mode): polling only
            return Deaf()
        listener = PgListener(self, on_wakeup, on_cancel)
        await listener.start()
        return listener

    async def save_progress(self, reports: Sequence[ProgressReport]) -> None:
        ids, tokens, progress = (list(column) for column in zip(*reports))
        await self._fetch("save_progress", {"ids": ids, "tokens": tokens, "progress": progress})

    # -- recurring series ------------------------------------------------------

    async def cancel_schedule(self, schedule_id: str) -> bool:
        async with self._transaction() as conn:
            found = await self._on(conn, "cancel_schedule", {"id": schedule_id})
            if found:
                await self._on(conn, "cancel_series_tasks", {"id": schedule_id})
            return bool(found)

    async def materialize_schedules(self, now: float, lookahead: float, plan: TickPlanner) -> int:
        """Insert due ticks as tasks; rows locked SKIP LOCKED, ticks unique per series."""
        inserted = 0
        async with self._transaction() as conn:
            await self._on(conn, "release_after_finish")
            for row in await self._on(conn, "due_schedules", {"now": now, "lookahead": lookahead}):
                series = records.series_from_row(row)
                fires, cursor = plan(series, now, lookahead)
                if fires:
                    ticks = {"schedule_id": series.id, "ids": [new_id() for _ in fires], "fires": fires}
                    inserted += len(await self._on(conn, "insert_occurrences", ticks))
                advance = {"schedule_id": series.id, "cursor": cursor, "last_fire": fires[-1] if fires else None}
                await self._on(conn, "advance_schedule", advance)
        return inserted

    # -- workers ---------------------------------------------------------------

    async def heartbeat(self, worker: WorkerInfo) -> list[HeldClaim]:
        params = {"id": worker.id, "hostname": worker.hostname, "pid": worker.pid, "queues": worker.queues,
                  "concurrency": worker.concurrency, "types": list(worker.types)}
        return [records.held_claim_from_row(row) for row in await self._fetch("heartbeat", params)]

    async def rescue_tasks(self, lease: float) -> list[str]:
        async with self._transaction() as conn:
            rows = await self._on(conn, "rescue_tasks", {"lease": lease})
            await self._on(conn, "prune_workers", {"lease": lease * 4})
            await self._on(conn, "prune_minutes")
            await self._on(conn, "prune_flow_starts")
            if rows:
                await self._on(conn, "notify_wakeup")
            return [row["id"] for row in rows]

    async def now(self) -> float:
        return await self._value("now", "now")


class CopyIn(NamedTuple):
    """A step that streams rows into ``COPY ... FROM STDIN``."""

    sql: str
    chunks: Iterator[str]


Step = Union[tuple[str, Any], CopyIn]
Steps = Generator[Step, list[Any], list[str]]


def _insert_steps(q: dict[str, str], tasks: Sequence[NewTask]) -> Steps:
    """Insert, then resolve conflicts: to the ids of the tasks holding the unique keys, or to
    the rows themselves when an earlier try inserted them (its answer lost), so a repeated
    insert is a no-op (statements are yielded and their rows sent back: one logic for sync
    and async connections).

    A holder can finish between the insert and the look-up, freeing its key,
    so the remaining tasks are inserted again (a few rounds at most).
    """
    verdicts = {}
    for task in tasks:
        if task.depends_on:
            # Before anything is written: unknown ids fail, and the dependencies are
            # locked (FOR SHARE) so none finishes unseen before the links commit.
            rows = yield q["lock_dependencies"], {"ids": list(task.depends_on)}
            verdicts[task.id] = records.dependency_verdict(task.depends_on, {row["id"]: row["status"] for row in rows})
    ids: dict[str, str] = {}
    inserted_now: set[str] = set()
    pending = list(tasks)
    for _ in range(5):
        if len(pending) == 1:
            rows = yield q["insert_task"], pending[0]._asdict()
        else:
            rows = yield q["insert_tasks"], _columns(pending)
        inserted_now |= {row["id"] for row in rows}
        ids.update({t.id: t.id for t in pending if t.id in inserted_now})
        pending = [t for t in pending if t.id not in ids]
        for task in [t for t in pending if t.replace]:
            rows = yield q["replace_queued_task"], task._asdict()
            if rows:
                ids[task.id] = rows[0]["id"]
            else:   # the holder has started: the next round inserts this task anew
                yield q["release_unique_key"], {"unique_key": task.unique_key}
        pending = [t for t in pending if t.id not in ids]
        if not pending:
            break
        rows = yield q["find_existing_tasks"], {"ids": [t.id for t in pending], "keys": [t.unique_key for t in pending if t.unique_key]}
        ids.update(records.resolve_existing(pending, rows))
        pending = [t for t in pending if t.id not in ids]
        if not pending:
            break
    else:
        raise TaskerError("could not insert tasks: their unique keys kept changing hands")
    for task in tasks:
        if task.depends_on and task.id in inserted_now:
            pending_count, reason = verdicts[task.id]
            yield q["link_dependencies"], {"task_id": task.id, "ids": list(task.depends_on)}
            yield q["hold_for_dependencies"], {"task_id": task.id, "pending": pending_count, "reason": reason}
    return [ids[t.id] for t in tasks]


def _copy_steps(q: dict[str, str], batch: TaskBatch) -> Steps:
    """Bulk insert through COPY, then the notification (the caller holds a transaction).
    The batch goes in chunks, so the server parses one while the next is checked and made."""
    yield CopyIn(q["insert_tasks_copy"], _copy_chunks(batch))
    yield q["notify_queue"], {"queue": batch.template.queue}
    return list(batch.ids)


async def _run(conn: psycopg.AsyncConnection, steps: Steps) -> list[str]:
    """Drive insert steps on an async connection."""
    try:
        step = next(steps)
        while True:
            if isinstance(step, CopyIn):
                async with conn.cursor() as copying, copying.copy(step.sql) as copy:
                    for chunk in step.chunks:
                        await copy.write(chunk)
                rows: list[Any] = []
            else:
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(*step)
                    rows = await cur.fetchall() if cur.description else []
            step = steps.send(rows)
    except StopIteration as done:
        return done.value


def _run_blocking(conn: psycopg.Connection, steps: Steps) -> list[str]:
    """Drive insert steps on a sync connection."""
    try:
        step = next(steps)
        while True:
            if isinstance(step, CopyIn):
                with conn.cursor() as copying, copying.copy(step.sql) as copy:
                    for chunk in step.chunks:
                        copy.write(chunk)
                rows: list[Any] = []
            else:
                with conn.cursor(row_factory=dict_row) as blocking_cursor:
                    blocking_cursor.execute(*step)
                    rows = blocking_cursor.fetchall() if blocking_cursor.description else []
            step = steps.send(rows)
    except StopIteration as done:
        return done.value


def _plain(task: NewTask) -> bool:
    """A task COPY can write as is: nothing to look up, link or compute on the server."""
    return not task.unique_key and not task.depends_on and not task.delay


def _copy_chunks(batch: TaskBatch) -> Iterator[str]:
    """Rows in COPY's text format. Only backslash needs escaping: names refuse control
    characters and JSON text escapes its own, so no tab or line break can occur.
    A batch's rows differ only in id and payload: the rest of each line is made once."""
    type_text, rest = _escape(batch.template.type), _copy_tail(batch.template)
    for start in range(0, len(batch), COPY_CHUNK):
        ids = batch.ids[start:start + COPY_CHUNK]
        texts = batch.payloads_json(start, start + COPY_CHUNK)
        yield "".join([f"{i}\t{type_text}\t{_escape(p)}\t{rest}" for i, p in zip(ids, texts)])


def _copy_tail(t: NewTask) -> str:
    """The columns after the payload, through the end of the line."""
    # 'now' is read as the transaction's start: the store's clock, like now().
    run_at = "now" if t.run_at is None else _timestamp(t.run_at)
    retry_delay = "\\N" if t.retry_delay is None else repr(t.retry_delay)
    meta = "\\N" if t.meta_json is None else _escape(t.meta_json)
    cancellable = "t" if t.cancellable else "f"
    headers = "\\N" if t.headers_json is None else _escape(t.headers_json)
    key = "\\N" if t.partition_key is None else _escape(t.partition_key)
    limits = "\t".join("\\N" if v is None else repr(v) for v in (t.concurrency_limit, t.rate_count, t.rate_period))
    return f"{_escape(t.queue)}\t{t.priority}\t{run_at}\t{t.max_attempts}\t{t.timeout!r}\t{retry_delay}\t{meta}\t{cancellable}\t{headers}\t{key}\t{limits}\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\") if "\\" in text else text


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def _success_json(o: Outcome) -> str:
    """One success as a JSON object; its result and progress are JSON text already,
    and ids and tokens are UUIDs, so nothing needs escaping."""
    return (f'{{"id":"{o.task_id}","token":"{o.claim_token}","result":{o.result_json or "null"},'
            f'"progress":{o.progress_json or "null"},"duration":{o.duration or 0.0!r},'
            f'"wait":{"null" if o.wait is None else repr(o.wait)},"run_bucket":{o.run_bucket},"wait_bucket":{o.wait_bucket}}}')


def _outcome_columns(outcomes: Sequence[Outcome]) -> dict[str, list[Any]]:
    return {
        "ids": [o.task_id for o in outcomes],
        "tokens": [o.claim_token for o in outcomes],
        "statuses": [o.status.value for o in outcomes],
        "results": [o.result_json for o in outcomes],
        "errors": [o.error for o in outcomes],
        "retry_ins": [o.retry_in for o in outcomes],
        "refunds": [1 if o.refund_attempt else 0 for o in outcomes],
        "progress": [o.progress_json for o in outcomes],
        "durations": [o.duration for o in outcomes],
        "headers": [o.headers_json for o in outcomes],
        "waits": [o.wait for o in outcomes],
        "run_buckets": [o.run_bucket for o in outcomes],
        "wait_buckets": [o.wait_bucket for o in outcomes],
    }


def _columns(tasks: Sequence[NewTask]) -> dict[str, list[Any]]:
    return {
        "ids": [t.id for t in tasks],
        "types": [t.type for t in tasks],
        "payloads": [t.payload_json for t in tasks],
        "queues": [t.queue for t in tasks],
        "priorities": [t.priority for t in tasks],
        "run_ats": [t.run_at for t in tasks],
        "delays": [t.delay for t in tasks],
        "max_attempts": [t.max_attempts for t in tasks],
        "timeouts": [t.timeout for t in tasks],
        "retry_delays": [t.retry_delay for t in tasks],
        "unique_keys": [t.unique_key for t in tasks],
        "metas": [t.meta_json for t in tasks],
        "cancellables": [t.cancellable for t in tasks],
        "headers": [t.headers_json for t in tasks],
        "partition_keys": [t.partition_key for t in tasks],
        "concurrency_limits": [t.concurrency_limit for t in tasks],
        "rate_counts": [t.rate_count for t in tasks],
        "rate_periods": [t.rate_period for t in tasks],
    }


def _async_connection(connection: Any) -> psycopg.AsyncConnection:
    if isinstance(connection, psycopg.AsyncConnection):
        return connection
    raise TypeError(
        f"connection must be a psycopg Connection or AsyncConnection, not {type(connection).__name__}"
    )


def _sync_connection(connection: Any) -> psycopg.Connection:
    if isinstance(connection, psycopg.Connection):
        return connection
    raise TypeError(f"connection must be a psycopg Connection here, not {type(connection).__name__}")


class PgListener:
    """LISTEN on a dedicated connection (to ``listen_url`` when given: a pooler in
    transaction mode cannot hold a LISTEN); reconnects with backoff and wakes the
    worker after each (re)connect, since notifications sent meanwhile are lost."""

    def __init__(self, store: PostgresStore, on_wakeup: Callable[[Wakeup], None], on_cancel: Callable[[str], None]):
        self.store = store
        self.target = store.config.listens_on or store.config.target
        self.on_wakeup = on_wakeup
        self.on_cancel = on_cancel
        self.task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="tasker-listener")

    async def stop(self) -> None:
        if self.task:
            await cancel_and_wait(self.task)

    async def _run(self) -> None:
        backoff = Backoff(first=0.1)
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.target, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                                             fallback_application_name=APPLICATION_NAME)
                async with conn:
                    await conn.execute(self.store.q["listen"])
                    self.connected.set()
                    if backoff.failing:
                        log.info("listener reconnected")
                    backoff.reset()
                    self.on_wakeup(Wakeup())
                    async for note in conn.notifies():
                        self._dispatch(note)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                delay = backoff.next()
                log.warning("listener connection lost (%s); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    def _dispatch(self, note: Any) -> None:
        if note.channel == self.store.cancel_channel:
            self.on_cancel(note.payload)
            return
        try:
            data = json.loads(note.payload or "{}")
        except ValueError:
            data = {}
        self.on_wakeup(Wakeup(queue=data.get("queue"), run_at=data.get("run_at")))


class Deaf:
    """The listener of a store told not to LISTEN (``?listen=off``): it never calls; workers poll."""

    async def stop(self) -> None:
        return None
