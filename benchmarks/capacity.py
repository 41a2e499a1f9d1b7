"""What a task costs PostgreSQL: server CPU, WAL and connections, for docs/scaling.md.

    .venv/bin/python benchmarks/capacity.py                   # 20,000 tasks, 3 runs
    .venv/bin/python benchmarks/capacity.py --tasks 50000 --concurrency 20

Each run creates ``--tasks`` no-op tasks in one batch, then one worker process runs them at
``--concurrency``. Measured on the server's side: the CPU time of every PostgreSQL process
(its backends for this process, its WAL writer, background writer and checkpointer, read
from /proc: the server must run on this machine; other clients' backends are left out), the WAL written (pg_current_wal_lsn),
and the connections the schema's clients held; on the client's side, the worker's CPU time.
From these: what one server core, and one GB of WAL, buys in tasks.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import psycopg  # noqa: E402

from tasker import Tasker  # noqa: E402

SCHEMA = "capacity_bench"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS   # utime, stime


def own_ports() -> set[int]:
    """Local TCP ports of this process's sockets (its connections to the server)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[9] in inodes:
                    ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


async def server_pids(admin: psycopg.AsyncConnection) -> list[int]:
    """The server processes that work for this process (its backends) and the WAL writer,
    background writer and checkpointer; other clients of the same server are left out."""
    cur = await admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE (backend_type = 'client backend' AND client_port = ANY(%s)) "
        "OR backend_type IN ('walwriter', 'background writer', 'checkpointer')", (sorted(own_ports()),))
    return [row[0] for row in await cur.fetchall()]


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one_run(dsn: str, n: int, concurrency: int) -> dict[str, float]:
    url = dsn + ("&" if "?" in dsn else "?") + f"schema={SCHEMA}"
    app = Tasker(url)
    done = asyncio.Event()
    finished = 0

    @app.handler("capacity_noop")
    async def noop(payload: Any) -> None:
        nonlocal finished
        finished += 1
        if finished == n:
            done.set()

    await app.amigrate()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        async def wal() -> int:
            cur = await admin.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
            return (await cur.fetchone())[0]

        async def connections() -> int:
            cur = await admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                      "AND datname = current_database() AND backend_type = 'client backend'")
            return (await cur.fetchone())[0]

        async def server_cpu() -> dict[int, float]:
            return {pid: cpu_seconds(pid) for pid in await server_pids(admin)}

        def spent(before: dict[int, float], after: dict[int, float]) -> float:
            return sum(after[pid] - before.get(pid, 0.0) for pid in after)

        await app.acreate("capacity_noop", {"i": -1})   # connections open before counting
        finished -= 1
        wal_0, server_0 = await wal(), await server_cpu()
        created = time.perf_counter()
        await app.acreate_many("capacity_noop", [{"i": i} for i in range(n)])
        wal_1, server_1 = await wal(), await server_cpu()
        create_s = time.perf_counter() - created
        client_0, started = client_cpu_seconds(), time.perf_counter()
        worker = asyncio.create_task(app.arun_worker(concurrency=concurrency))
        held = 0
        while not done.is_set():
            held = max(held, await connections())
            try:
                await asyncio.wait_for(done.wait(), timeout=0.2)
            except asyncio.TimeoutError:
                pass
        elapsed = time.perf_counter() - started
        client = client_cpu_seconds() - client_0
        wal_2, server_2 = await wal(), await server_cpu()
        app.stop_workers()
        await worker
    await app.aclose()
    return {
        "create_per_s": n / create_s,
        "create_wal_bytes": (wal_1 - wal_0) / n,
        "create_server_us": spent(server_0, server_1) / n * 1e6,
        "run_per_s": n / elapsed,
        "run_wal_bytes": (wal_2 - wal_1) / n,
        "run_server_us": spent(server_1, server_2) / n * 1e6,
        "run_client_us": client / n * 1e6,
        "connections": held,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    runs = []
    try:
        for _ in range(args.reps):
            runs.append(asyncio.run(one_run(args.dsn, args.tasks, args.concurrency)))
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    m = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    per_task_server = m["create_server_us"] + m["run_server_us"]
    per_task_wal = m["create_wal_bytes"] + m["run_wal_bytes"]
    print(f"{args.tasks:,} no-op tasks, worker concurrency {args.concurrency}, median of {args.reps} runs\n")
    print("| | per task | |\n|---|---|---|")
    print(f"| batched create | {m['create_server_us']:.0f} µs server CPU, {m['create_wal_bytes']:.0f} B WAL | {m['create_per_s']:,.0f} tasks/s |")
    print(f"| claim, run, complete | {m['run_server_us']:.0f} µs server CPU, {m['run_wal_bytes']:.0f} B WAL, "
          f"{m['run_client_us']:.0f} µs worker CPU | {m['run_per_s']:,.0f} tasks/s |")
    print(f"\nOne server core, fully busy, carries about {1e6 / per_task_server:,.0f} tasks/s (created in batches and run);")
    print(f"one GB of WAL holds about {1e9 / per_task_wal:,.0f} tasks; the worker held at most {m['connections']:.0f} connections.")


if __name__ == "__main__":
    main()
