#!/usr/bin/env python3
"""Measured alternatives for Tasker's hot statements (evidence for the profile report).

    python3 benchmarks/profile_alternatives.py

Each variant runs against a fresh Tasker schema (the real tables, indexes and
triggers, created by app.migrate()), from one asyncio + psycopg connection, and
reports calls/s, wall and client CPU per task. "current" variants use the SQL
Tasker ships (read through its PostgresStore), so they follow src/ as it changes.
Writes benchmarks/results/profile/alternatives.txt.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
if not sys.prefix.endswith(os.path.join(".venvs", "profile")):
    sys.path.insert(0, HERE)
    import run  # noqa: E402

    reason = run.ensure_venv("profile", print)
    if reason:
        raise SystemExit(reason)
    os.execv(run.venv_python("profile"), [run.venv_python("profile"), os.path.abspath(__file__), *sys.argv[1:]])

sys.path.insert(0, os.path.join(HERE, "lib"))
from harness import PG_DSN  # noqa: E402

import psycopg  # noqa: E402

from tasker import Tasker  # noqa: E402
from tasker.ids import new_id  # noqa: E402
from tasker.store.postgres.driver import PostgresStore, _columns  # noqa: E402
from tasker.store.url import parse_url  # noqa: E402

OUT = os.path.join(HERE, "results", "profile")
N_ONE, N_BULK, N_PROC = 2000, 20000, 10000
lines: list[str] = []


def say(text: str = "") -> None:
    print(text, flush=True)
    lines.append(text)


def schema(tag: str) -> tuple[str, PostgresStore]:
    ns = f"alt_{tag}_{os.getpid()}"
    Tasker(f"{PG_DSN}?schema={ns}").migrate()
    return ns, PostgresStore(parse_url(f"{PG_DSN}?schema={ns}"))


async def drop(conn: psycopg.AsyncConnection, ns: str) -> None:
    await conn.execute(f"DROP SCHEMA IF EXISTS {ns} CASCADE")


def row(name: str, count: int, wall: float, cpu: float, note: str = "") -> None:
    say(f"  {name:58} {count / wall:9,.0f}/s  wall {wall / count * 1e6:7.1f} µs  client CPU {cpu / count * 1e6:6.1f} µs  {note}")


def new_tasks(k: int) -> list:
    from tasker.enqueue import TaskDefaults, build_new_task
    return [build_new_task("noop", {"i": i}, TaskDefaults()) for i in range(k)]


async def timed(fn, count: int):
    cpu, t = time.process_time(), time.perf_counter()
    await fn()
    return time.perf_counter() - t, time.process_time() - cpu


SCALAR_INSERT = """
INSERT INTO {s}.tasks (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, unique_key, meta)
VALUES (%(id)s, %(type)s, %(payload)s::jsonb, %(queue)s, %(priority)s,
        coalesce(to_timestamp(%(run_at)s), now() + make_interval(secs => %(delay)s)),
        %(max_attempts)s, %(timeout)s, %(retry_delay)s, %(unique_key)s, %(meta)s::jsonb)
ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN ('queued', 'running') DO NOTHING
RETURNING id::text
"""

JSON_INSERT = """
INSERT INTO {s}.tasks (id, type, payload, queue, priority, run_at, max_attempts, timeout)
SELECT v.id, v.type, v.payload, v.queue, v.priority, now(), v.max_attempts, v.timeout
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(id uuid, type text, payload jsonb, queue text, priority int,
                                              max_attempts int, timeout float8)
RETURNING id::text
"""


async def enqueue_variants() -> None:
    say("## enqueue, one call per task (2,000 calls, autocommit)")
    async with await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True) as conn:
        ns, store = schema("one")
        try:
            sql = store.q["insert_tasks"]
            for _ in range(20):
                await conn.execute(sql, _columns(new_tasks(1)))

            async def current():
                for t in new_tasks(N_ONE):
                    await (await conn.execute(sql, _columns([t]))).fetchall()
            row("current: unnest of 12 one-element arrays", N_ONE, *await timed(current, N_ONE))

            async def current_binary():
                for t in new_tasks(N_ONE):
                    await (await conn.execute(sql, _columns([t]), binary=True)).fetchall()
            row("same statement, binary parameters", N_ONE, *await timed(current_binary, N_ONE))

            scalar = SCALAR_INSERT.format(s=ns)

            def scalar_params(t):
                c = _columns([t])
                return {"id": c["ids"][0], "type": c["types"][0], "payload": c["payloads"][0], "queue": c["queues"][0],
                        "priority": c["priorities"][0], "run_at": c["run_ats"][0], "delay": c["delays"][0],
                        "max_attempts": c["max_attempts"][0], "timeout": c["timeouts"][0],
                        "retry_delay": c["retry_delays"][0], "unique_key": c["unique_keys"][0], "meta": c["metas"][0]}

            async def scalar_values():
                for t in new_tasks(N_ONE):
                    await (await conn.execute(scalar, scalar_params(t))).fetchall()
            row("scalar INSERT ... VALUES (same columns, same ON CONFLICT)", N_ONE, *await timed(scalar_values, N_ONE))

            tasks = new_tasks(N_ONE)

            async def build_only():
                for t in tasks:
                    _columns([t])
            w, c = await timed(build_only, N_ONE)

            async def validate_only():
                new_tasks(N_ONE)
            w2, c2 = await timed(validate_only, N_ONE)
            app = Tasker(f"{PG_DSN}?schema={ns}")

            async def app_side():
                for i in range(N_ONE):
                    app._new_task("noop", {"i": i}, {})
            w3, c3 = await timed(app_side, N_ONE)
            say(f"  (client CPU outside the statement, per task: build_new_task {c2 / N_ONE * 1e6:.1f} µs, "
                f"app._new_task {c3 / N_ONE * 1e6:.1f} µs, _columns() {c / N_ONE * 1e6:.1f} µs)")
        finally:
            await drop(conn, ns)

    say("")
    say("## enqueue, batches of 1,000 (20,000 tasks)")
    async with await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True) as conn:
        ns, store = schema("bulk")
        try:
            sql = store.q["insert_tasks"]
            batches = [new_tasks(1000) for _ in range(N_BULK // 1000)]

            async def current_tx():
                for b in batches:
                    async with conn.transaction():
                        await (await conn.execute(sql, _columns(b))).fetchall()
            row("current: unnest arrays inside BEGIN/COMMIT", N_BULK, *await timed(current_tx, N_BULK))
            await conn.execute(f"TRUNCATE {ns}.tasks CASCADE")
            batches = [new_tasks(1000) for _ in range(N_BULK // 1000)]

            async def autocommit():
                for b in batches:
                    await (await conn.execute(sql, _columns(b))).fetchall()
            row("same statement, autocommit (one statement is atomic)", N_BULK, *await timed(autocommit, N_BULK))
            await conn.execute(f"TRUNCATE {ns}.tasks CASCADE")
            batches = [new_tasks(1000) for _ in range(N_BULK // 1000)]

            async def binary():
                for b in batches:
                    await (await conn.execute(sql, _columns(b), binary=True)).fetchall()
            row("same, binary parameters", N_BULK, *await timed(binary, N_BULK))
            await conn.execute(f"TRUNCATE {ns}.tasks CASCADE")
            batches = [new_tasks(1000) for _ in range(N_BULK // 1000)]
            jsql = JSON_INSERT.format(s=ns)

            async def as_json():
                for b in batches:
                    rows = [{"id": t.id, "type": t.type, "payload": json.loads(t.payload_json), "queue": t.queue,
                             "priority": t.priority, "max_attempts": t.max_attempts, "timeout": t.timeout} for t in b]
                    await (await conn.execute(jsql, {"rows": json.dumps(rows)})).fetchall()
            row("one jsonb parameter + jsonb_to_recordset", N_BULK, *await timed(as_json, N_BULK),
                "(payload re-parsed here only to build the test rows)")
            await conn.execute(f"TRUNCATE {ns}.tasks CASCADE")
            batches = [new_tasks(1000) for _ in range(N_BULK // 1000)]

            async def copy():
                for b in batches:
                    async with conn.cursor() as cur:
                        async with cur.copy(f"COPY {ns}.tasks (id, type, payload, queue, priority, max_attempts, timeout) FROM STDIN") as cp:
                            for t in b:
                                await cp.write_row((t.id, t.type, t.payload_json, t.queue, t.priority, t.max_attempts, t.timeout))
            row("COPY FROM STDIN (no ON CONFLICT: only for batches without unique_key)", N_BULK, *await timed(copy, N_BULK))
        finally:
            await drop(conn, ns)


LEAN_COMPLETE = """
UPDATE {s}.tasks AS t
SET status = 'succeeded', finished_at = now(), worker_id = NULL, claim_token = NULL,
    started_at = now() - make_interval(secs => v.duration)
FROM unnest(%(ids)s::uuid[], %(tokens)s::uuid[], %(durations)s::float8[]) AS v(id, token, duration)
WHERE t.id = v.id AND t.claim_token = v.token AND t.status = 'running'
RETURNING t.id::text
"""


COMBINED = """
WITH done AS (
    UPDATE {s}.tasks AS t
    SET status = 'succeeded', finished_at = now(), worker_id = NULL, claim_token = NULL,
        started_at = now() - make_interval(secs => v.duration)
    FROM unnest(%(ids)s::uuid[], %(tokens)s::uuid[], %(durations)s::float8[]) AS v(id, token, duration)
    WHERE t.id = v.id AND t.claim_token = v.token AND t.status = 'running'
    RETURNING t.id
), picked AS (
    SELECT id FROM {s}.tasks
    WHERE status = 'queued' AND run_at <= now() AND type = ANY(%(types)s::text[]) AND pending_deps = 0
      AND queue NOT IN (SELECT name FROM {s}.queue_settings WHERE paused)
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {s}.tasks AS t
SET status = 'running', attempts = t.attempts + 1, started_at = now(), worker_id = %(worker_id)s::uuid,
    claim_token = gen_random_uuid()
WHERE t.id = ANY(ARRAY(SELECT id FROM picked))
RETURNING t.id::text, t.claim_token::text, t.type, t.payload, t.attempts, t.max_attempts,
          t.timeout, t.retry_delay, t.queue, t.priority, t.meta, (SELECT count(*) FROM done)
"""

VARIANTS = [
    ("current", 10, "current claim, then current complete: 2 statements, 10 per statement"),
    ("current-binary", 10, "same, binary parameters and results"),
    ("lean-complete", 10, "current claim + lean complete (3 arrays, success-only fast path)"),
    ("any-array-claim", 10, "claim with t.id = ANY(ARRAY(SELECT id FROM picked)) + current complete"),
    ("overlapped", 10, "claim N+1 on conn A while complete N runs on conn B (what the worker does)"),
    ("one-transaction", 10, "claim + complete inside BEGIN/COMMIT (1 commit per 10, 4 round trips)"),
    ("combined", 10, "ONE statement: complete previous 10 + claim next 10 (lean complete, ANY(ARRAY))"),
    ("current", 20, "current pair at 20 per statement (= claiming ahead 10 beyond the free slots)"),
    ("combined", 20, "ONE statement at 20 per statement"),
    ("current", 100, "current pair at 100 per statement"),
    ("any-array-claim", 100, "ANY(ARRAY(...)) claim + current complete at 100 per statement"),
    ("combined", 100, "ONE statement at 100 per statement"),
]


async def processing_variants() -> None:
    say("")
    say(f"## claim + complete loops, {N_PROC:,} tasks, no handler: the worker's database work alone")
    say("  (claims go out on their own connection, with the session settings Tasker gives it; completions")
    say("   on another; 'current' = the statements Tasker ships for a success: complete_succeeded if present)")
    async with await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True) as conn, \
            await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True) as conn2:
        relaxed = False
        for variant, limit, label in VARIANTS:
            ns, store = schema("proc")
            if not relaxed and "relax_claim_commits" in store.q:
                await conn.execute(store.q["relax_claim_commits"])
                relaxed = True
            try:
                await conn.execute(store.q["insert_tasks"], _columns(new_tasks(N_PROC)))
                await conn.execute(f"VACUUM ANALYZE {ns}.tasks")
                claim = store.q["claim_tasks"]
                if variant == "any-array-claim":
                    changed = re.sub(r"FROM picked\s+WHERE t\.id = picked\.id", "WHERE t.id = ANY(ARRAY(SELECT id FROM picked))", claim)
                    if changed == claim:
                        say(f"  {label[:58]:58} (skipped: Tasker's claim already does this)")
                        continue
                    claim = changed
                complete = store.q.get("complete_succeeded", store.q["complete_tasks"])
                lean, combined = LEAN_COMPLETE.format(s=ns), COMBINED.format(s=ns)
                cparams_keys = re.findall(r"%\((\w+)\)s", complete)
                wid = str(uuid.uuid4())
                binary = variant == "current-binary"
                params = {"worker_id": wid, "types": ["noop"], "queues": None, "limit": limit}

                def complete_params(rows):
                    k = len(rows)
                    base = {"ids": [r[0] for r in rows], "tokens": [r[1] for r in rows], "statuses": ["succeeded"] * k,
                            "results": ["null"] * k, "errors": [None] * k, "retry_ins": [0.0] * k, "refunds": [0] * k,
                            "progress": [None] * k, "durations": [0.0001] * k}
                    return {key: base.get(key, [None] * k) for key in cparams_keys}

                async def claim_rows(c):
                    return await (await c.execute(claim, params, binary=binary)).fetchall()

                async def loop():
                    if variant == "combined":
                        rows: list = []
                        while True:
                            p = {**params, "ids": [r[0] for r in rows], "tokens": [r[1] for r in rows],
                                 "durations": [0.0001] * len(rows)}
                            rows = await (await conn2.execute(combined, p)).fetchall()  # durable: it completes
                            if not rows:
                                return
                    if variant == "overlapped":
                        rows = await claim_rows(conn)
                        while rows:
                            nxt = asyncio.ensure_future(claim_rows(conn))
                            await conn2.execute(complete, complete_params(rows))
                            rows = await nxt
                        return
                    while True:
                        if variant == "one-transaction":
                            async with conn2.transaction():
                                rows = await claim_rows(conn2)
                                if rows:
                                    await conn2.execute(complete, complete_params(rows))
                        else:
                            rows = await claim_rows(conn)
                            if rows:
                                if variant == "lean-complete":
                                    await conn2.execute(lean, {"ids": [r[0] for r in rows], "tokens": [r[1] for r in rows],
                                                               "durations": [0.0001] * len(rows)})
                                else:
                                    await conn2.execute(complete, complete_params(rows), binary=binary)
                        if not rows:
                            return

                wall, cpu = await timed(loop, N_PROC)
                done = (await (await conn.execute(f"SELECT count(*) FROM {ns}.tasks WHERE status = 'succeeded'")).fetchone())[0]
                row(label, N_PROC, wall, cpu, "" if done == N_PROC else f"(only {done} succeeded!)")
            finally:
                await drop(conn, ns)


async def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    subprocess_admin = os.path.join(HERE, "lib", "admin.py")
    os.spawnv(os.P_WAIT, sys.executable, [sys.executable, subprocess_admin, "create"])
    say(f"# alternatives, {time.strftime('%Y-%m-%d %H:%M')}, loadavg {os.getloadavg()[0]:.2f}")
    await enqueue_variants()
    await processing_variants()
    with open(os.path.join(OUT, "alternatives.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.spawnv(os.P_WAIT, sys.executable, [sys.executable, subprocess_admin, "drop"])


if __name__ == "__main__":
    asyncio.run(main())
