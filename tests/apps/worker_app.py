"""A worker process for the real-process tests: ``python tests/apps/worker_app.py``.

Reads its configuration from the environment:

- ``TASKER_URL``  the store (required);
- ``C``           concurrency (default 10);
- ``QUEUES``      comma-separated queues to serve (default: all);
- ``LEASE``, ``HEARTBEAT``, ``GRACE``, ``POLL``  ``run_worker`` timing options (seconds);
- ``LOGLEVEL``    logging level (default INFO);
- ``SIGTERM_WHILE_OPENING=1``  send SIGTERM to itself while the worker opens its store
  (reproduces a signal arriving during start-up).

Every handler records its run in the table ``executions`` of the same database
(created by the test): ``exec_id`` (unique per run), ``task_id``, ``pid``,
``attempt``, ``started_at``, ``finished_at`` (epoch seconds; NULL while running
or when the run never finished), ``outcome`` (``done``, or ``interrupted`` when
``sleep_coop`` stopped early). Recording survives database outages: it
reconnects and retries, idempotently (keyed by ``exec_id``).

Handlers (payloads are JSON objects):

- ``noop``: records one finished run.
- ``sleep`` / ``sleep_async``: ``{"seconds": s, "first": f}`` sleeps ``f`` on
  attempt 1 (default ``s``) and ``s`` on later attempts; records start and finish.
- ``hold``: ``{"file": path, "seconds": s}`` on attempt 1 runs until ``path``
  exists (the test decides when it ends), later attempts sleep ``s``.
- ``sleep_coop``: like ``sleep`` but waits on ``ctx.wait_cancelled`` and stops
  early when the worker interrupts it (recorded as ``interrupted``, then raises).

- ``limited``: like ``sleep``, with ``concurrency_limit`` and ``rate_limit`` from
  ``FLOW_CONCURRENCY`` and ``FLOW_RATE`` (unset: none).

Each returns ``{"pid": ..., "attempt": ...}``.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tasker import Tasker

PID = os.getpid()
RETRY_FOR = 60.0  # seconds a recording keeps retrying through an outage

log = logging.getLogger("worker_app")


def split_url(url: str) -> tuple[str, str, str | None]:
    """(kind, target, schema): a SQLite file path, or a libpq URL without Tasker's parameters."""
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:"):]
        path = rest[3:] if rest.startswith("///") else rest.lstrip("/")
        return "sqlite", os.path.abspath(path.split("?", 1)[0]), None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    schema = query.pop("schema", None) or "tasker"
    query.pop("listen", None)
    target = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
    return "postgresql", target, schema


class Recorder:
    """Writes rows of ``executions``, one connection per thread."""

    def __init__(self, url: str):
        self.kind, self.target, self.schema = split_url(url)
        self.local = threading.local()

    def _connect(self):
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.target, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        return psycopg.connect(self.target, autocommit=True, connect_timeout=5)

    def _execute(self, sql: str, params: tuple) -> None:
        if self.kind == "postgresql":
            sql = sql.replace("?", "%s").replace("executions", f'"{self.schema}".executions')
        deadline = time.monotonic() + RETRY_FOR
        pause = 0.05
        while True:
            conn = getattr(self.local, "conn", None)
            try:
                if conn is None:
                    conn = self.local.conn = self._connect()
                conn.execute(sql, params)
                return
            except Exception as exc:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        pass
                self.local.conn = None
                if time.monotonic() > deadline:
                    raise
                log.warning("recording failed (%s); retrying", exc)
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def once(self, task_id: str, attempt: int) -> None:
        now = time.time()
        self._insert(task_id, attempt, now, now, "done")

    def start(self, task_id: str, attempt: int) -> str:
        return self._insert(task_id, attempt, time.time(), None, None)

    def _insert(self, task_id: str, attempt: int, started: float, finished: float | None, outcome: str | None) -> str:
        exec_id = uuid.uuid4().hex
        self._execute(
            "INSERT INTO executions (exec_id, task_id, pid, attempt, started_at, finished_at, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (exec_id) DO NOTHING",
            (exec_id, task_id, PID, attempt, started, finished, outcome),
        )
        return exec_id

    def finish(self, exec_id: str, outcome: str = "done") -> None:
        self._execute("UPDATE executions SET finished_at = ?, outcome = ? WHERE exec_id = ?", (time.time(), outcome, exec_id))


def seconds_for(payload: dict, attempt: int) -> float:
    if attempt == 1 and "first" in payload:
        return float(payload["first"])
    return float(payload.get("seconds", 0.0))


def build(url: str) -> Tasker:
    app = Tasker(url)
    rec = Recorder(url)

    @app.handler("noop")
    def noop(payload, ctx):
        rec.once(ctx.task_id, ctx.attempt)
        return {"pid": PID, "attempt": ctx.attempt}

    @app.handler("sleep")
    def sleep(payload, ctx):
        exec_id = rec.start(ctx.task_id, ctx.attempt)
        time.sleep(seconds_for(payload, ctx.attempt))
        rec.finish(exec_id)
        return {"pid": PID, "attempt": ctx.attempt}

    @app.handler("hold")
    def hold(payload, ctx):
        exec_id = rec.start(ctx.task_id, ctx.attempt)
        if ctx.attempt == 1:
            deadline = time.monotonic() + 120
            while not os.path.exists(payload["file"]) and time.monotonic() < deadline:
                time.sleep(0.02)
        else:
            time.sleep(float(payload.get("seconds", 0.0)))
        rec.finish(exec_id)
        return {"pid": PID, "attempt": ctx.attempt}

    @app.handler("sleep_async")
    async def sleep_async(payload, ctx):
        exec_id = await asyncio.to_thread(rec.start, ctx.task_id, ctx.attempt)
        await asyncio.sleep(seconds_for(payload, ctx.attempt))
        await asyncio.to_thread(rec.finish, exec_id)
        return {"pid": PID, "attempt": ctx.attempt}

    @app.handler("sleep_coop")
    def sleep_coop(payload, ctx):
        exec_id = rec.start(ctx.task_id, ctx.attempt)
        if ctx.wait_cancelled(seconds_for(payload, ctx.attempt)):
            rec.finish(exec_id, "interrupted")
            ctx.raise_if_cancelled()
        rec.finish(exec_id)
        return {"pid": PID, "attempt": ctx.attempt}

    # Flow control: a type whose limits come from the environment.
    limits = {"concurrency_limit": int(os.environ["FLOW_CONCURRENCY"]) if os.environ.get("FLOW_CONCURRENCY") else None,
              "rate_limit": os.environ.get("FLOW_RATE") or None}

    @app.handler("limited", **limits)
    def limited(payload, ctx):
        exec_id = rec.start(ctx.task_id, ctx.attempt)
        time.sleep(seconds_for(payload, ctx.attempt))
        rec.finish(exec_id)
        return {"pid": PID, "attempt": ctx.attempt}

    if os.environ.get("SIGTERM_WHILE_OPENING") == "1":
        open_store = app.runtime.open_store

        async def open_store_after_sigterm(prepare: bool):
            log.info("sending SIGTERM to myself while the store opens")
            os.kill(PID, signal.SIGTERM)
            await asyncio.sleep(0.2)  # let the signal handler run before the worker exists
            return await open_store(prepare)

        app.runtime.open_store = open_store_after_sigterm  # type: ignore[method-assign]
    return app


def options() -> dict[str, float]:
    names = {"LEASE": "lease", "HEARTBEAT": "heartbeat_interval", "GRACE": "grace_period", "POLL": "poll_interval"}
    return {option: float(os.environ[env]) for env, option in names.items() if os.environ.get(env)}


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOGLEVEL", "INFO"),
        format=f"%(asctime)s.%(msecs)03d [{PID}] %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    app = build(os.environ["TASKER_URL"])
    opts = options()
    log.info("run_worker(concurrency=%s, %s)", os.environ.get("C", "10"), opts)
    queues = os.environ.get("QUEUES")
    app.run_worker(concurrency=int(os.environ.get("C", "10")), queues=queues.split(",") if queues else None, **opts)
    log.info("run_worker returned; exiting")


if __name__ == "__main__":
    main()
