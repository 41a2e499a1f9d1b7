"""Flow control: a limited type at its limit, and what limits cost the unlimited types beside them.

    .venv/bin/python benchmarks/flow.py                  # PostgreSQL at TASKER_BENCH_URL or 127.0.0.1
    .venv/bin/python benchmarks/flow.py --tasks 4000 --url sqlite:///flow.db

One worker (``run_worker(concurrency=10)``, in a thread of this process) on a fresh schema per
phase. Phases, each timed from the worker's start to the last task's success:

- ``baseline``: ``--tasks`` no-op tasks; no limit stored anywhere (the plain claim alone);
  run ``--reps`` times interleaved with the next phase, medians compared.
- ``limits idle``: the same, while a queue this worker serves has limits stored but no tasks
  (each claim round also makes a limited claim, and the plain claim skips limited queues).
- ``limits busy``: the same no-op tasks, while a type limited to 2 at once runs 10 ms tasks
  beside them (the limited type takes at most 2 of the 10 slots).
- ``at the limit``: only the limited tasks, ``concurrency_limit=3`` and 10 ms each: ideally
  300 a second; then ``rate_limit="50/s"``: ideally 50 a second.

The figures are one run's; on a shared machine they are noisy: compare ratios, not rates.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tasker import Tasker  # noqa: E402

SLOW = 0.01


def fresh_url(base: str) -> tuple[str, Callable[[], None]]:
    """A store of its own for one phase, and how to drop it."""
    if base.startswith("sqlite"):
        path = Path(f"/tmp/flow_bench_{uuid.uuid4().hex[:8]}.db")
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in path.parent.glob(path.name + "*")]
    import psycopg

    schema = f"flow_bench_{uuid.uuid4().hex[:8]}"

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{base}{'&' if '?' in base else '?'}schema={schema}", drop


def phase(base: str, name: str, free: int, limited: int, queue_limits: dict | None = None,
          handler_limits: dict | None = None) -> dict[str, float]:
    url, drop = fresh_url(base)
    app = Tasker(url)
    try:
        app.migrate()

        @app.handler("free")
        def free_task(payload):
            return None

        @app.handler("limited", queue="slow", **(handler_limits or {}))
        def limited_task(payload):
            time.sleep(SLOW)

        if queue_limits:
            app.configure_queue("idle", **queue_limits)
        if free:
            app.create_many("free", [None] * free)
        if limited:
            app.create_many("limited", [None] * limited)
        total = free + limited
        worker = threading.Thread(target=app.run_worker, kwargs={"concurrency": 10, "poll_interval": 0.2}, daemon=True)
        began = time.perf_counter()
        worker.start()
        free_done = None
        while True:
            counts = {t: app.count(status="succeeded", type=t) for t in ("free", "limited")}
            if free_done is None and free and counts["free"] == free:
                free_done = time.perf_counter() - began
            if counts["free"] + counts["limited"] == total:
                break
            time.sleep(0.02)
        took = time.perf_counter() - began
        app.stop_workers()
        worker.join(30)
        result = {"seconds": took}
        if free:
            result["free_per_s"] = free / (free_done or took)
        if limited:
            result["limited_per_s"] = limited / took
        print(f"{name:<28} {', '.join(f'{k} {v:,.1f}' for k, v in result.items())}", flush=True)
        return result
    finally:
        app.close()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=5000, help="no-op tasks per phase")
    parser.add_argument("--reps", type=int, default=3, help="baseline and limits-idle runs, interleaved (medians)")
    parser.add_argument("--url", default=os.environ.get("TASKER_BENCH_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    n = args.tasks
    bases, idles = [], []
    for _ in range(args.reps):   # interleaved, so drift on a shared machine falls on both alike
        bases.append(phase(args.url, "baseline (no limits)", n, 0))
        idles.append(phase(args.url, "limits idle", n, 0, queue_limits={"concurrency_limit": 2, "rate_limit": "100/s"}))
    base = {"free_per_s": statistics.median(b["free_per_s"] for b in bases)}
    idle = {"free_per_s": statistics.median(i["free_per_s"] for i in idles)}
    busy = phase(args.url, "limits busy (2 x 10 ms)", n, 300, handler_limits={"concurrency_limit": 2})
    at_limit = phase(args.url, "concurrency_limit=3, 10 ms", 0, 600, handler_limits={"concurrency_limit": 3})
    rated = phase(args.url, 'rate_limit="50/s"', 0, 300, handler_limits={"rate_limit": "50/s"})
    print()
    print(f"unlimited throughput with limits idle: {idle['free_per_s'] / base['free_per_s']:.1%} of baseline")
    print(f"unlimited throughput beside a busy limited type: {busy['free_per_s'] / base['free_per_s']:.1%} of baseline")
    print(f"concurrency_limit=3 of 10 ms tasks: {at_limit['limited_per_s']:.0f}/s (ideal 300/s)")
    print(f"rate_limit=50/s: {rated['limited_per_s']:.1f}/s over {rated['seconds']:.1f}s (ideal 50/s; the first 50 start at once)")


if __name__ == "__main__":
    main()
