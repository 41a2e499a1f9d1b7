"""Test-side helpers for the real-process worker tests: SQL on the store, worker processes, waits."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from polling import wait_until

from .worker_app import split_url

ROOT = Path(__file__).resolve().parents[2]
WORKER_APP = ROOT / "tests" / "apps" / "worker_app.py"
HOSTILE_APP = ROOT / "tests" / "apps" / "hostile_app.py"


# -- the database, seen from the test ------------------------------------------


class Db:
    """Plain SQL on the store's tables (``tasks``, ``workers``, ``executions``), ``?`` placeholders."""

    def __init__(self, url: str):
        self.kind, self.target, self.schema = split_url(url)
        self.conn: Any = None

    def _connect(self) -> Any:
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.target, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        return psycopg.connect(self.target, autocommit=True, connect_timeout=5, options=f"-c search_path={self.schema}")

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.kind == "postgresql":
            sql = sql.replace("?", "%s")
        for attempt in range(30):
            try:
                if self.conn is None:
                    self.conn = self._connect()
                cur = self.conn.execute(sql, params)
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
            except Exception as exc:
                # PostgreSQL restarted under us: reconnect (the outage tests do that on purpose).
                if self.kind == "sqlite" or attempt == 29 or not _connection_lost(exc):
                    raise
                self.close()
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def value(self, sql: str, params: tuple = ()) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def create_executions(self) -> None:
        ts = "double precision" if self.kind == "postgresql" else "REAL"
        self.rows(
            "CREATE TABLE executions (exec_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, pid INTEGER NOT NULL, "
            f"attempt INTEGER NOT NULL, started_at {ts} NOT NULL, finished_at {ts}, outcome TEXT)"
        )

    # shorthands
    def count(self, where: str = "TRUE", params: tuple = ()) -> int:
        return self.value(f"SELECT count(*) FROM tasks WHERE {where}", params)

    def status_counts(self) -> dict[str, int]:
        return dict(self.rows("SELECT status, count(*) FROM tasks GROUP BY status"))

    def workers(self) -> int:
        return self.value("SELECT count(*) FROM workers")

    def task_rows(self) -> list[tuple]:
        """Every column of every task, as stored: what "changes no row" compares."""
        return self.rows("SELECT * FROM tasks ORDER BY id")

    def executions(self, task_id: str) -> list[tuple]:
        """(attempt, pid, started_at, finished_at) of each run of the task, in start order."""
        return self.rows(
            "SELECT attempt, pid, started_at, finished_at FROM executions WHERE task_id = ? ORDER BY started_at",
            (task_id,),
        )

    def sqlite_write_lock_free(self, timeout: float = 0.5) -> bool:
        """SQLite only: can a writer get in now (no paused process holds the write lock)?"""
        conn = sqlite3.connect(self.target, timeout=timeout, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


def _connection_lost(exc: Exception) -> bool:
    import psycopg

    return isinstance(exc, psycopg.OperationalError)


# -- worker processes ----------------------------------------------------------


class WorkerProc:
    def __init__(self, url: str, log_path: Path, env: dict[str, Any], script: Path = WORKER_APP):
        self.log_path = log_path
        self.log_file = open(log_path, "wb")
        full_env = dict(os.environ, TASKER_URL=url, PYTHONUNBUFFERED="1")
        full_env.update({k: str(v) for k, v in env.items()})
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.proc.pid

    def send(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_exit(self, timeout: float) -> float:
        """Wait for the process to exit; returns how long that took."""
        t0 = time.monotonic()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker {self.pid} still running {timeout}s later") from None
        return time.monotonic() - t0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def reap(self) -> None:
        if self.alive():
            try:
                self.send(signal.SIGCONT)
                self.proc.kill()
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.log_file.close()


class Spawner:
    """``spawner(url, C=10, LEASE=2, ...)`` starts a worker process (env vars of worker_app.py;
    ``script=HOSTILE_APP`` for the hostile handlers)."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[WorkerProc] = []

    def __call__(self, url: str, script: Path = WORKER_APP, **env: Any) -> WorkerProc:
        proc = WorkerProc(url, self.log_dir / f"worker-{len(self.procs)}.log", env, script)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        """Kill what still runs and print every log (pytest shows it when the test failed)."""
        for proc in self.procs:
            proc.reap()
        for proc in self.procs:
            lines = proc.log().splitlines()
            notable = [line for line in lines if " WARNING " in line or " ERROR " in line or "Traceback" in line]
            print(f"===== worker pid {proc.pid} exit {proc.proc.returncode}: {len(lines)} log lines, {proc.log_path}")
            print("\n".join(notable[:60]))
            print("----- last 60 lines")
            print("\n".join(lines[-60:]))


def wait_registered(db: Db, n: int, timeout: float = 20.0) -> None:
    wait_until(lambda: db.workers() >= n, timeout, interval=0.05, message=f"{n} worker(s) registered")


def wait_started(db: Db, task_id: str, attempt: int, timeout: float = 20.0) -> tuple:
    def started():
        return [r for r in db.executions(task_id) if r[0] == attempt]

    return wait_until(started, timeout, interval=0.02, message=f"attempt {attempt} of {task_id} started")[0]


def wait_all_done(db: Db, timeout: float, procs: list[WorkerProc] = ()) -> None:
    def done():
        for p in procs:
            assert p.alive(), f"worker {p.pid} died (exit {p.proc.returncode})"
        return db.count("status IN ('queued', 'running')") == 0

    try:
        wait_until(done, timeout, interval=0.1, message="all tasks finished")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status counts now {db.status_counts()}") from None


def pg_url_with(base: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{base}{'&' if '?' in base else '?'}{extra}"


def process_state(pid: int) -> str:
    """The state letter of /proc/PID/stat (R, S, T for stopped, Z...)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def pause(proc: WorkerProc, db: Db, tries: int = 200) -> None:
    """SIGSTOP the worker, making sure it is not frozen while holding SQLite's
    write lock (that would stop every process on the file, rescuers included). A busy worker
    holds it most of the time (20 tries once all landed inside it), so many short tries."""
    for _ in range(tries):
        proc.send(signal.SIGSTOP)
        wait_until(lambda: process_state(proc.pid) == "T", 5, interval=0.005, message="the worker stopped")
        if db.kind != "sqlite" or db.sqlite_write_lock_free():
            return
        proc.send(signal.SIGCONT)
    raise AssertionError("could not pause the worker outside a write transaction")
