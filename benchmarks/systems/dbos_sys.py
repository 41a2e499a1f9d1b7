"""DBOS Transact: DBOSClient.enqueue from the client, a launched DBOS process as the worker.

DBOS keeps its system tables in the schema named by ``dbos_system_schema`` (its own
option), so each run gets a fresh schema in the benchmark database: ``DBOS.migrate``
creates it in setup (a DBOSClient never migrates) and teardown drops it.

The task is a workflow with no steps (``noop``), enqueued by name from a ``DBOSClient``,
DBOS's documented way for a producer outside the application. It is a plain ``def``, the
form DBOS's docs use (run in DBOS's executor threads); an ``async def`` workflow measured
about 10 % slower on (c) here. The queue is registered
by the client before anything is enqueued: ``worker_concurrency=10`` (one process, so
this is the run's concurrency) and ``polling_interval_sec`` (env BENCH_DBOS_POLL,
default 0.01). DBOS's queue thread fetches only when its poll fires, up to the free
slots, and nothing wakes it on enqueue; at the default 1 s a pre-filled queue runs at
most 10 workflows per second, so we poll as often as chancy does here and say so. (DBOS
documents only the trade-off: a shorter interval, less dequeue latency, more database
load. 0.001 s ran (c) about 1.4x faster here, at ~1,000 polls a second while idle.)

Bulk: DBOS has no enqueue-many call; its closest form is ``enqueue_in_transaction``
on a caller-owned SQLAlchemy transaction, so a batch is 1,000 of those in one
transaction (one commit per batch, one status-row insert per workflow).

A workflow's state is its row in ``workflow_status``: ENQUEUED until a worker claims
it, then PENDING, then SUCCESS; ``remaining`` counts ENQUEUED + PENDING (+ DELAYED).
"""
from __future__ import annotations

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import PG_DSN, Driver, record  # noqa: E402

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from dbos import DBOS, DBOSClient, EnqueueOptions  # noqa: E402

APP = "tasker-bench"
QUEUE = "bench"
POLL = float(os.environ.get("BENCH_DBOS_POLL", "0.01"))
OPTIONS: EnqueueOptions = {"workflow_name": "noop", "queue_name": QUEUE}


@DBOS.workflow(name="noop")
def noop(i: int) -> None:
    record(i)


def sa_url() -> str:
    # SQLAlchemy needs the driver named; DBOS itself uses psycopg 3.
    return sa.make_url(PG_DSN).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


class DbosDriver(Driver):
    name = "dbos"
    bulk_note = "no enqueue-many call: 1,000 DBOSClient.enqueue_in_transaction in one transaction per batch"

    async def setup(self, ns: str) -> None:
        self.ns = ns
        DBOS.migrate(PG_DSN, schema=ns)
        self.engine = sa.create_engine(sa_url(), pool_size=2, max_overflow=0)
        self.client = DBOSClient(system_database_engine=self.engine, dbos_system_schema=ns, application_name=APP)
        await self.client.register_queue_async(QUEUE, worker_concurrency=self.args.concurrency,
                                               polling_interval_sec=POLL)
        self.stat = psycopg.connect(PG_DSN, autocommit=True)

    def enqueue_one(self, i: int) -> None:
        self.client.enqueue(OPTIONS, i)

    def enqueue_batch(self, items: list[int]) -> None:
        with self.engine.begin() as conn:
            for i in items:
                self.client.enqueue_in_transaction(conn, OPTIONS, i)

    def _count(self, statuses: tuple[str, ...]) -> int:
        return self.stat.execute(f"SELECT count(*) FROM {self.ns}.workflow_status WHERE status = ANY(%s)",
                                 (list(statuses),)).fetchone()[0]

    def remaining(self) -> int:
        return self._count(("ENQUEUED", "PENDING", "DELAYED"))

    def succeeded(self) -> int:
        return self._count(("SUCCESS",))

    def teardown(self) -> None:
        self.stat.execute(f"DROP SCHEMA IF EXISTS {self.ns} CASCADE")

    def close(self) -> None:
        self.client.destroy()
        self.engine.dispose()
        self.stat.close()

    def worker_main(self, ns: str, concurrency: int) -> None:
        # The queue (worker_concurrency, polling interval) was registered by the client.
        DBOS(config={"name": APP, "system_database_url": PG_DSN, "dbos_system_schema": ns,
                     "log_level": "WARNING", "run_migrations": False})
        DBOS.launch()
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        DBOS.destroy()


if __name__ == "__main__":
    harness.main(DbosDriver, os.path.abspath(__file__))
