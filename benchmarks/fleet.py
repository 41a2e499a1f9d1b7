"""Throughput of a fleet of worker hosts on one PostgreSQL, for docs/scaling.md.

    .venv/bin/python benchmarks/fleet.py                          # 1, 2 and 4 hosts, two workloads
    .venv/bin/python benchmarks/fleet.py --hosts 1,2 --tasks 5000 --procs 1

Each host is a Linux network namespace joined by a veth pair (tests/netns.py: needs root;
without it the hosts are plain process groups on loopback, and the table says so) running
``--procs`` ``tasker worker`` processes at ``--concurrency``. Per run: a fresh schema, the
workers started and registered, then ``--tasks`` tasks created in one batch; the time from
the batch to the last success gives tasks/s. Two workloads: no-op handlers (the database's
work alone) and handlers that sleep ``--sleep-ms`` (the fleet's slots are the limit until the
database is). Also reported: the most connections the server saw from the fleet's
processes while they worked (pg_stat_activity, by application_name).
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
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402

import netns  # noqa: E402
from tasker import Tasker  # noqa: E402

APP = '''
import asyncio
from tasker import Tasker

app = Tasker()

@app.handler("noop")
async def noop(payload):
    return None

@app.handler("nap")
async def nap(payload):
    await asyncio.sleep(payload["ms"] / 1000)
'''


class LoopbackHost:
    """A host without a namespace: its processes reach the server directly."""

    def __init__(self, index: int):
        self.name = f"host{index}"

    def url(self, database_url: str) -> str:
        return database_url

    def command(self, args: list[str]) -> list[str]:
        return args

    def remove(self) -> None:
        return None


def with_params(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + "&".join(f"{k}={v}" for k, v in params.items())


def run(pg_url: str, hosts: int, args: argparse.Namespace, workload: str, use_netns: bool, directory: Path) -> dict:
    schema = f"fleet_{uuid.uuid4().hex[:10]}"
    url = with_params(pg_url, schema=schema)
    app = Tasker(url)
    app.migrate()
    server = urlsplit(pg_url)
    made = [netns.Host(i, server.hostname or "127.0.0.1", server.port or 5432) if use_netns else LoopbackHost(i) for i in range(hosts)]
    procs = []
    tag = f"fleet{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(pg_url, autocommit=True)
    try:
        env = dict(os.environ, PYTHONPATH=str(directory))
        for host in made:
            host_url = with_params(host.url(url), application_name=tag, pool_size=str(args.pool_size))
            for _ in range(args.procs):
                command = [sys.executable, "-m", "tasker", "worker", "fleetbench:app", "--url", host_url,
                           "-c", str(args.concurrency), "--log-level", "WARNING"]
                log = open(directory / f"{host.name}-{len(procs)}.log", "wb")
                procs.append(subprocess.Popen(host.command(command), env=env, cwd=directory, stdout=log, stderr=subprocess.STDOUT))
                log.close()
        deadline = time.monotonic() + 60
        while len(app.workers()) < len(procs):
            if time.monotonic() > deadline:
                logs = "".join(p.read_text(errors="replace")[-600:] for p in sorted(directory.glob("*.log")))
                raise RuntimeError(f"the workers did not register within 60 s; their logs end:\n{logs}")
            time.sleep(0.1)
        payloads = [{}] * args.tasks if workload == "noop" else [{"ms": args.sleep_ms}] * args.tasks
        started = time.perf_counter()
        app.create_many(workload, payloads)
        most = 0
        while True:
            done = admin.execute(f'SELECT count(*) FROM "{schema}".tasks WHERE status = \'succeeded\'').fetchone()[0]
            most = max(most, admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (tag,)).fetchone()[0])
            if done >= args.tasks:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        return {"hosts": hosts, "processes": len(procs), "workload": workload, "rate": args.tasks / elapsed,
                "connections": most, "per_process": most / len(procs)}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for host in made:
            host.remove()
        app.close()
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("TASKER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--hosts", default="1,2,4", help="comma-separated host counts")
    parser.add_argument("--procs", type=int, default=2, help="worker processes per host")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--sleep-ms", type=float, default=20.0)
    args = parser.parse_args()
    why = netns.unsupported()
    if why:
        print(f"no network namespaces ({why}): hosts are process groups on loopback", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tasker-fleet-") as tmp:
        directory = Path(tmp)
        (directory / "fleetbench.py").write_text(APP)
        os.chmod(directory, 0o755)
        for workload in ("noop", "nap"):
            for hosts in [int(n) for n in args.hosts.split(",")]:
                row = run(args.url, hosts, args, workload, why is None, directory)
                rows.append(row)
                print(f"{workload:5} {hosts} host(s): {row['rate']:,.0f} tasks/s, {row['connections']} connections", file=sys.stderr)
    label = {"noop": "no-op", "nap": f"{args.sleep_ms:g} ms sleep"}
    print(f"\n{args.tasks:,} tasks per run; {args.procs} `tasker worker` processes per host at concurrency "
          f"{args.concurrency}, pool_size={args.pool_size}; {'network namespaces' if why is None else 'loopback'}\n")
    print("| handler | hosts | worker processes | tasks/s | vs 1 host | server connections (most) | per process |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        base = next(r["rate"] for r in rows if r["workload"] == row["workload"])
        print(f"| {label[row['workload']]} | {row['hosts']} | {row['processes']} | {row['rate']:,.0f} | "
              f"{row['rate'] / base:.2f}x | {row['connections']} | {row['per_process']:.1f} |")


if __name__ == "__main__":
    main()
