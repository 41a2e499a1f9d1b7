"""The raw limit: a bare claim-and-complete loop in SQL, no queue library.

One client process, 10 connections (asyncio + psycopg), each looping:
    claim:    WITH picked AS (SELECT id ... ORDER BY priority DESC, run_at, id
                              LIMIT B FOR UPDATE SKIP LOCKED)
              UPDATE ... SET status = 'running' ... RETURNING id, payload
    complete: UPDATE ... SET status = 'succeeded' ... WHERE id = ANY(ids)
until the table has nothing left to claim. The table is a lean cousin of
Tasker's (uuid key, jsonb payload, the same partial "due" index), so the figure
is what PostgreSQL itself allows for this access pattern on this machine.

Workload ``raw``: ``--batch`` is the claim size (1, 10, 100). Also the enqueue
floors, on the same table: ``enqueue_one`` is one prepared single-row INSERT per
call, each its own durable commit; ``enqueue_bulk`` is one COPY per batch.

A variant containing ``row`` runs the same bare SQL on Tasker's own table instead (its
schema made by Tasker's migrations, its rows as Tasker writes them, the same columns
changed by claim and completion), with no Tasker code in the loop: what Tasker's row
itself costs, apart from the library around it. ``enqueue_one``: a prepared INSERT of the
columns ``create`` sets, no RETURNING, no wake-up. ``raw``: rows stored by
``create_many``, then the loop above.
"""
from __future__ import annotations

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import PG_DSN, Driver  # noqa: E402

import psycopg  # noqa: E402

DDL = """
CREATE SCHEMA {s};
CREATE TABLE {s}.jobs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type        text NOT NULL,
    payload     jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'queued',
    priority    integer NOT NULL DEFAULT 0,
    run_at      timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    started_at  timestamptz,
    finished_at timestamptz
);
CREATE INDEX jobs_due_idx ON {s}.jobs (priority DESC, run_at, id) WHERE status = 'queued';
"""

CLAIM = """
WITH picked AS (
    SELECT id FROM {s}.jobs
    WHERE status = 'queued' AND run_at <= now()
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {s}.jobs AS j
SET status = 'running', attempts = j.attempts + 1, started_at = now()
FROM picked WHERE j.id = picked.id
RETURNING j.id, j.payload
"""

COMPLETE = "UPDATE {s}.jobs SET status = 'succeeded', finished_at = now() WHERE id = ANY(%(ids)s)"

# On Tasker's own table: the columns its claim and its completion change.
ROW_CLAIM = """
WITH picked AS (
    SELECT id FROM {s}.tasks
    WHERE status = 'queued' AND pending_deps = 0 AND run_at <= now()
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {s}.tasks AS t
SET status = 'running', attempts = t.attempts + 1, started_at = now(),
    worker_id = '00000000-0000-0000-0000-000000000001', claim_token = gen_random_uuid()
FROM picked WHERE t.id = picked.id
RETURNING t.id, t.payload
"""
ROW_COMPLETE = """UPDATE {s}.tasks SET status = 'succeeded', result = 'null', finished_at = now(),
    worker_id = NULL, claim_token = NULL WHERE id = ANY(%(ids)s)"""
ROW_INSERT = """INSERT INTO {s}.tasks (id, type, payload, queue, priority, run_at, max_attempts, timeout, cancellable)
VALUES (%s::uuid, 'noop', %s::jsonb, 'default', 0, now(), 3, 300, true)"""


class RawDriver(Driver):
    name = "raw"
    extra_workloads = {"raw": "raw"}

    async def setup(self, ns: str) -> None:
        self.ns = ns
        self.db = await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True)
        self.blocking: psycopg.Connection | None = None
        self.tasker_row = "row" in (self.variant or "")
        if self.tasker_row:
            from tasker import Tasker

            self.app = Tasker(f"{PG_DSN}?schema={ns}")
            await self.app.amigrate()
            self.table = "tasks"
        else:
            await self.db.execute(DDL.format(s=ns))
            self.table = "jobs"

    async def enqueue_one(self, i: int) -> None:
        if self.tasker_row:
            from tasker.ids import new_ids   # Tasker makes ids in the client

            sql, params = ROW_INSERT.format(s=self.ns), (new_ids(1)[0], f'{{"i":{i}}}')
        else:
            sql, params = f"INSERT INTO {self.ns}.jobs (type, payload) VALUES ('noop', %s::jsonb)", (f'{{"i":{i}}}',)
        if "sync" in (self.variant or ""):   # the floor of a blocking call (Tasker's create), as the async one is acreate's
            if self.blocking is None:
                self.blocking = psycopg.connect(PG_DSN, autocommit=True)
            self.blocking.execute(sql, params, prepare=True)
        else:
            await self.db.execute(sql, params, prepare=True)

    async def enqueue_batch(self, items: list[int]) -> None:
        if self.tasker_row:
            raise NotImplementedError("the bulk floor is a COPY into the lean table only (run.py asks for no other)")
        async with self.db.cursor() as cur, cur.copy(f"COPY {self.ns}.jobs (type, payload) FROM STDIN") as copy:
            await copy.write("".join(f'noop\t{{"i":{i}}}\n' for i in items))

    async def remaining(self) -> int:
        cur = await self.db.execute(f"SELECT count(*) FROM {self.ns}.{self.table} WHERE status IN ('queued', 'running')")
        return (await cur.fetchone())[0]

    async def teardown(self) -> None:
        if self.tasker_row:
            await self.app.aclose()
        await self.db.execute(f"DROP SCHEMA IF EXISTS {self.ns} CASCADE")
        await self.db.close()
        if self.blocking is not None:
            self.blocking.close()

    async def raw(self, wl: harness.Workloads) -> dict:
        n, batch, conns = self.args.n, self.args.batch, self.args.concurrency
        if self.tasker_row:
            await self.app.acreate_many("noop", [{"i": i} for i in range(n)])
            claim, complete = ROW_CLAIM.format(s=self.ns), ROW_COMPLETE.format(s=self.ns)
        else:
            await self.db.execute(
                f"INSERT INTO {self.ns}.jobs (type, payload) SELECT 'noop', jsonb_build_object('i', g) FROM generate_series(1, %s) g",
                (n,),
            )
            claim, complete = CLAIM.format(s=self.ns), COMPLETE.format(s=self.ns)
        await self.db.execute(f"VACUUM ANALYZE {self.ns}.{self.table}")
        connections = [await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True, prepare_threshold=0)
                       for _ in range(conns)]
        done = 0

        async def loop(conn: psycopg.AsyncConnection) -> None:
            nonlocal done
            while True:
                rows = await (await conn.execute(claim, {"limit": batch})).fetchall()
                if not rows:
                    return
                await conn.execute(complete, {"ids": [r[0] for r in rows]})
                done += len(rows)

        t0 = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in connections))
        elapsed = time.perf_counter() - t0
        for c in connections:
            await c.close()
        cur = await self.db.execute(f"SELECT count(*) FROM {self.ns}.{self.table} WHERE status = 'succeeded'")
        succeeded = (await cur.fetchone())[0]
        return {"rate": n / elapsed, "seconds": elapsed, "n": n, "batch": batch, "connections": conns,
                "succeeded": succeeded, "ok": succeeded == n == done}


if __name__ == "__main__":
    harness.main(RawDriver, os.path.abspath(__file__))
