"""Tasker through PgBouncer in transaction mode against a direct connection.

    .venv/bin/python benchmarks/pooler.py                 # 10,000 tasks, 2 worker processes
    .venv/bin/python benchmarks/pooler.py --tasks 2000 --creates 500

Starts a PgBouncer in front of the server (tests/pgbouncer.py: Debian's ``pgbouncer``,
transaction mode, a pool of 20 server connections). For each way in (direct; PgBouncer with
``listen=off``; PgBouncer with LISTEN on a direct ``listen_url``): one-call ``create`` rate from
this process, then ``--procs`` ``tasker worker`` processes run ``--tasks`` no-op tasks
(tasks/s from the batch to the last success), and the most server connections the run's
processes held meanwhile (PgBouncer's for them included).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402

from pgbouncer import start_pgbouncer  # noqa: E402
from tasker import Tasker  # noqa: E402

APP = '''
from tasker import Tasker

app = Tasker()

@app.handler("noop")
async def noop(payload):
    return None
'''


def with_params(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + "&".join(f"{k}={v}" for k, v in params.items())


def server_connections(admin: psycopg.Connection, tag: str) -> int:
    """Server connections of the run's producer and workers: their own, and PgBouncer's for
    them (PgBouncer passes the clients' application_name on)."""
    return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (tag,)).fetchone()[0]


def run(pg_url: str, way: str, bouncer_url: str, args: argparse.Namespace, directory: Path) -> dict:
    schema = f"pooler_{uuid.uuid4().hex[:10]}"
    Tasker(with_params(pg_url, schema=schema)).migrate()   # DDL through the direct URL
    tag = f"pool{uuid.uuid4().hex[:8]}"
    base = pg_url if way == "direct" else bouncer_url
    url = with_params(base, schema=schema, application_name=tag)
    if way == "pgbouncer, listen=off":
        url = with_params(url, listen="off")
    elif way == "pgbouncer + listen_url":
        url = with_params(url, listen_url=quote(with_params(pg_url, application_name=tag), safe=""))
    admin = psycopg.connect(pg_url, autocommit=True)
    procs = []
    try:
        producer = Tasker(url)
        started = time.perf_counter()
        for n in range(args.creates):
            producer.create("noop", {"n": n})
        create_rate = args.creates / (time.perf_counter() - started)
        env = dict(os.environ, PYTHONPATH=str(directory))
        for _ in range(args.procs):
            procs.append(subprocess.Popen([sys.executable, "-m", "tasker", "worker", "poolbench:app", "--url", url,
                                           "-c", str(args.concurrency), "--log-level", "WARNING"], env=env, cwd=directory,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        while admin.execute(f'SELECT count(*) FROM "{schema}".tasks WHERE status = \'queued\'').fetchone()[0]:
            time.sleep(0.05)   # the single creates are done: the workers are up
        started = time.perf_counter()
        producer.create_many("noop", [{}] * args.tasks)
        most = 0
        while admin.execute(f'SELECT count(*) FROM "{schema}".tasks WHERE status <> \'succeeded\'').fetchone()[0]:
            most = max(most, server_connections(admin, tag))
            time.sleep(0.05)
        rate = args.tasks / (time.perf_counter() - started)
        producer.close()
        return {"way": way, "create": create_rate, "rate": rate, "connections": most}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("TASKER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--creates", type=int, default=1000)
    args = parser.parse_args()
    bouncer = start_pgbouncer(args.url)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="tasker-pooler-") as tmp:
            directory = Path(tmp)
            (directory / "poolbench.py").write_text(APP)
            for way in ("direct", "pgbouncer, listen=off", "pgbouncer + listen_url"):
                rows.append(run(args.url, way, bouncer.url(), args, directory))
                print(f"{way}: {rows[-1]}", file=sys.stderr)
    finally:
        bouncer.stop()
    print(f"\n{args.creates:,} one-call creates, then {args.tasks:,} no-op tasks on {args.procs} `tasker worker` processes "
          f"at concurrency {args.concurrency}; PgBouncer in transaction mode, 20 server connections\n")
    print("| way in | `create` calls/s | tasks/s | server connections (most) |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['way']} | {row['create']:,.0f} | {row['rate']:,.0f} | {row['connections']} |")


if __name__ == "__main__":
    main()
