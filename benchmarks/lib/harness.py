"""The workloads, written once and run against any system through a small Driver.

Standard library only: every system's driver imports this from its own virtual
environment (Python 3.11 or 3.12). A driver script is run twice per measurement:

    python systems/X.py run --workload W ...   # the client: sets up, enqueues, measures
    python systems/X.py worker --ns NS ...     # the worker, started by the client as a subprocess

The client prints one line ``RESULT {json}`` at the end; run.py collects it.
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_DB = os.environ.get("BENCH_PG_DB", "tasker_bench")
PG_DSN = os.environ.get("BENCH_PG_DSN", f"postgresql://postgres@127.0.0.1:5432/{PG_DB}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
STALL_SECONDS = float(os.environ.get("BENCH_STALL_SECONDS", "30"))


# -- what handlers call ----------------------------------------------------------------

# Keys from here up are the background load of (d2): the recorder skips them.
BACKGROUND_KEYS = 1_000_000


class _Recorder:
    """Handler-side timestamps, appended to a file the client reads.

    Mode ``first``: only the first call writes (throughput runs, to know when
    processing started). Mode ``all``: every call writes ``key time`` (latency runs).
    Mode ``probes``: like ``all``, but keys at or above BACKGROUND_KEYS (the load
    around the probes) return after one comparison, since this runs in the
    worker's hot path at the load's rate.
    """

    def __init__(self) -> None:
        self.path = os.environ.get("BENCH_RECORD")
        self.mode = os.environ.get("BENCH_RECORD_MODE", "first")
        self.only_first = self.mode == "first"
        self.skip_background = self.mode == "probes"
        self.fh = None
        self.first_done = False
        self.lock = threading.Lock()

    def __call__(self, key: Any) -> None:
        if self.only_first:
            if self.first_done:
                return
        elif self.skip_background and int(key) >= BACKGROUND_KEYS:   # pgqueuer's keys are str
            return
        t = time.time()
        if self.path is None:
            self.first_done = True
            return
        with self.lock:
            if self.fh is None:
                self.fh = open(self.path, "a", buffering=1)
            if not (self.only_first and self.first_done):
                self.fh.write(f"{key} {t:.6f}\n")
                self.fh.flush()
            self.first_done = True


record = _Recorder()


async def wait_for_starts(path: str, keys: Any, n: int, deadline: float, interval: float) -> dict[str, float]:
    """Poll a record file until ``n`` of ``keys`` have started, or the deadline: key -> start time."""
    while True:
        starts = {k: t for k, t in read_records(path) if k in keys}
        if len(starts) >= n or time.time() > deadline:
            return starts
        await asyncio.sleep(interval)


def read_records(path: str) -> list[tuple[str, float]]:
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            out.append((parts[0], float(parts[1])))
    return out


def vmrss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_rss_sampler() -> None:
    """In a worker process: sample VmRSS every 0.2 s into $BENCH_RSS (if set)."""
    path = os.environ.get("BENCH_RSS")
    if not path:
        return

    def sample() -> None:
        with open(path, "a", buffering=1) as fh:
            while True:
                fh.write(f"{time.time():.3f} {vmrss_kb()}\n")
                fh.flush()
                time.sleep(0.2)

    threading.Thread(target=sample, daemon=True, name="bench-rss").start()


# -- statistics ----------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarize_ms(values_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000.0 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "min_ms": min(ms) if ms else None,
    }


# -- the driver interface --------------------------------------------------------------------

class Driver:
    """One system under test. Methods may be sync or async."""

    name = "?"
    bulk_note: str | None = None  # how enqueue_batch is done, when not a native bulk call
    completion_lag_s = 0.0        # how late the store may show a finished task as finished

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.variant = args.variant

    # client side
    async def setup(self, ns: str) -> None: ...
    async def teardown(self) -> None: ...
    async def enqueue_one(self, i: int) -> None: ...
    async def enqueue_batch(self, items: list[int]) -> None: ...
    async def remaining(self) -> int: ...          # tasks not finished yet (queued + running)
    async def succeeded(self) -> int | None: ...   # tasks finished successfully (None: not countable)
    async def close(self) -> None: ...

    async def concurrent_producer(self) -> "Driver":
        """An enqueuer for a second coroutine enqueueing beside this one (the load of (d2)).

        This instance itself by default: right where the client is a pool, or blocks the
        event loop so calls never overlap. A driver whose connection runs one statement at a
        time returns a second instance on its own connection (closed with ``close``).
        """
        return self

    # worker side: blocking, until SIGTERM/SIGINT
    def worker_main(self, ns: str, concurrency: int) -> None:
        raise NotImplementedError

    # extra workloads a driver may offer: name -> coroutine function(self, args) -> dict
    extra_workloads: dict[str, str] = {}


async def call(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


# -- worker subprocesses ----------------------------------------------------------------------

class WorkerProcess:
    """The system's worker in its own process (same driver script, role ``worker``)."""

    def __init__(self, script: str, ns: str, concurrency: int, record_path: str, mode: str, tmp: str,
                 variant: str | None = None, rss_path: str | None = None, log_path: str | None = None):
        env = dict(os.environ)
        env["BENCH_RECORD"] = record_path
        env["BENCH_RECORD_MODE"] = mode
        if rss_path:
            env["BENCH_RSS"] = rss_path
        cmd = [sys.executable, script, "worker", "--ns", ns, "--concurrency", str(concurrency), "--tmp", tmp]
        if variant:
            cmd += ["--variant", variant]
        self.log_path = log_path or record_path + ".log"
        self.log = open(self.log_path, "w")
        self.started = time.time()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 15) -> str:
        try:
            with open(self.log_path) as fh:
                return "".join(fh.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.log.close()


# -- the workloads ------------------------------------------------------------------------------

class Workloads:
    def __init__(self, driver: Driver, args: argparse.Namespace, script: str):
        self.d = driver
        self.args = args
        self.script = script
        self.tmp = args.tmp
        os.makedirs(self.tmp, exist_ok=True)

    def path(self, suffix: str) -> str:
        return os.path.join(self.tmp, f"{self.args.ns}.{suffix}")

    def worker(self, mode: str, variant: str | None = None, rss: bool = False) -> WorkerProcess:
        return WorkerProcess(self.script, self.args.ns, self.args.concurrency, self.path("rec"), mode, self.tmp,
                             variant=variant or self.args.variant,
                             rss_path=self.path("rss") if rss else None, log_path=self.path("worker.log"))

    async def fill(self, n: int, batch: int = 1000) -> None:
        for start in range(0, n, batch):
            await call(self.d.enqueue_batch(list(range(start, min(n, start + batch)))))

    # (a) one call per task
    async def enqueue_one(self) -> dict[str, Any]:
        n = self.args.n
        t0 = time.perf_counter()
        for i in range(n):
            await call(self.d.enqueue_one(i))
        elapsed = time.perf_counter() - t0
        stored = await call(self.d.remaining())
        return {"rate": n / elapsed, "seconds": elapsed, "n": n, "stored": stored, "ok": stored == n}

    # (b) batches
    async def enqueue_bulk(self) -> dict[str, Any]:
        n, batch = self.args.n, self.args.batch
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            await call(self.d.enqueue_batch(list(range(start, min(n, start + batch)))))
        elapsed = time.perf_counter() - t0
        stored = await call(self.d.remaining())
        return {"rate": n / elapsed, "seconds": elapsed, "n": n, "batch": batch, "stored": stored,
                "ok": stored == n, "note": self.d.bulk_note}

    async def wait_drained(self, w: WorkerProcess, n: int, timeout: float) -> float | None:
        """Poll the store until nothing is left; returns the time it saw that (None on timeout)."""
        deadline = time.time() + timeout
        last, changed = n, time.time()
        while time.time() < deadline:
            left = await call(self.d.remaining())
            now = time.time()
            if left == 0:
                return now
            if not w.alive():
                raise RuntimeError(f"worker exited early ({w.proc.returncode}):\n{w.tail()}")
            if left != last:
                last, changed = left, now
            elif now - changed > STALL_SECONDS:
                raise TimeoutError(f"no progress for {STALL_SECONDS:.0f}s ({left} of {n} unfinished):\n{w.tail()}")
            # Coarse while far from the end, fine near it: the poll itself costs the database.
            await asyncio.sleep(0.1 if left > max(n // 10, 50) else 0.005)
        raise TimeoutError(f"{last} of {n} tasks still unfinished after {timeout:.0f}s:\n{w.tail()}")

    # (c) throughput of one worker process at concurrency N
    async def process(self, variant: str | None = None, rss: bool = False) -> dict[str, Any]:
        n = self.args.n
        await self.fill(n)
        queued = await call(self.d.remaining())
        if queued != n:
            raise RuntimeError(f"pre-enqueue stored {queued} of {n}")
        w = self.worker("first", variant=variant, rss=rss)
        try:
            t_end = await self.wait_drained(w, n, self.args.timeout)
            # Let in-flight bookkeeping settle before SIGTERM (not timed), and on
            # the memory run take a couple more samples after the end.
            await asyncio.sleep(0.5 if rss else 0.3)
        finally:
            w.stop()
        recs = read_records(self.path("rec"))
        if not recs:
            raise RuntimeError("the worker recorded no start")
        t_first = recs[0][1]
        done = await call(self.d.succeeded())
        out = {"rate": n / (t_end - t_first), "seconds": t_end - t_first, "n": n,
               "startup_s": t_first - w.started, "succeeded": done, "ok": done in (None, n)}
        if rss:
            samples = [(float(a), int(b)) for a, b in read_records(self.path("rss"))]
            during = [kb for t, kb in samples if t_first - 0.25 <= t <= t_end + 0.5]
            at_start = min(samples, key=lambda s: abs(s[0] - t_first))[1]
            out.update({"rss_start_mb": at_start / 1024, "rss_end_mb": samples[-1][1] / 1024,
                        "rss_peak_mb": max(during or [samples[-1][1]]) / 1024,
                        "rss_boot_mb": samples[0][1] / 1024})
        return out

    # (d) commit-to-start on an idle worker
    async def latency(self) -> dict[str, Any]:
        n, gap = self.args.n, self.args.gap
        w = self.worker("all")
        try:
            await self.warm_up(w)
            await asyncio.sleep(1.0)   # then it idles
            commits = await self.probe(n, gap)
            starts = await wait_for_starts(self.path("rec"), commits, n, time.time() + 30, 0.05)
        finally:
            w.stop()
        return self.delays(commits, starts, n, gap)

    # (d2) commit-to-start while the worker is busy with a steady background load
    async def latency_loaded(self) -> dict[str, Any]:
        n, gap, rate = self.args.n, self.args.gap, self.args.load_rate
        if rate <= 0:
            raise ValueError("--load-rate (tasks/s) is required for latency_loaded")
        w = self.worker("probes")
        producer = await call(self.d.concurrent_producer())
        load = SteadyLoad(producer, rate)
        samples: list[tuple[float, int]] = []
        watching = asyncio.Event()

        async def watch_backlog() -> None:
            # Stopped by the event, never cancelled: a query cut short would spoil the connection.
            while not watching.is_set():
                samples.append((time.time(), await call(self.d.remaining())))
                await asyncio.sleep(BACKLOG_EVERY_S)

        watcher = None
        try:
            await self.warm_up(w)
            backlog_start = await call(self.d.remaining())
            load.start()
            watcher = asyncio.create_task(watch_backlog())
            await asyncio.sleep(LOAD_SETTLE_S)
            commits = await self.probe(n, gap)
            # The load goes on until the last probe has started: no probe may find the worker idle.
            starts = await wait_for_starts(self.path("rec"), commits, n, time.time() + 30, 0.05)
            watching.set()
            await watcher
            t_end, sent_end, backlog_end = time.time(), load.sent, await call(self.d.remaining())
        finally:
            watching.set()
            try:
                await load.stop()
                if watcher is not None:
                    await watcher
            finally:
                w.stop()
                if producer is not self.d:
                    await call(producer.close())
        out = self.delays(commits, starts, n, gap)
        # Did the worker keep up? The backlog (queued + running in the store) of a worker at
        # steady state hovers at some depth (deep for one that fetches late); one over its
        # capacity grows it by (load - capacity) x time. So the test is the backlog at the last
        # probe against its peak in the first half of the load, allowing what arrives in 0.1 s
        # (a tick's batch, a poll) plus what the store reports late.
        window = t_end - load.t0
        first_half = [b for t, b in samples if t <= load.t0 + window / 2]
        baseline = max(first_half + [backlog_start])
        growth = backlog_end - baseline
        arrivals = rate + 1 / gap
        allowance = max(2 * self.args.concurrency, arrivals * (0.1 + self.d.completion_lag_s))
        out.update({
            "load_rate": rate, "load_achieved": load.achieved(), "load_tick_ms": LOAD_TICK_S * 1000,
            "background_sent": load.sent, "window_s": window,
            "backlog_start": backlog_start, "backlog_first_half_peak": baseline, "backlog_end": backlog_end,
            "backlog_allowance": allowance,
            "backlog_samples": [[round(t - load.t0, 2), b] for t, b in samples],
            "worker_rate": (sent_end + len(starts) - (backlog_end - backlog_start)) / window,
            "kept_up": growth <= allowance,
            "load_reached": load.achieved() >= 0.9 * rate,
        })
        notes = []
        if not out["kept_up"]:
            notes.append(f"the backlog ended {growth} tasks above its peak in the first half of {window:.1f} s of load "
                         f"(allowed {allowance:.0f}): the load was over the worker's capacity, so these are waits "
                         "behind a growing queue, not latency at half load")
        if not out["load_reached"]:
            notes.append(f"the producer reached only {load.achieved():,.0f} of {rate:,.0f} tasks/s: the worker was less busy "
                         "than asked")
        if notes:
            out["note"] = "; ".join(notes)
        return out

    async def warm_up(self, w: WorkerProcess) -> None:
        """The worker is connected and has run three tasks (keys -1..-3) before anything is timed."""
        for k in range(3):
            await call(self.d.enqueue_one(-1 - k))
        deadline = time.time() + STALL_SECONDS
        while len(read_records(self.path("rec"))) < 3:
            if time.time() > deadline or not w.alive():
                raise RuntimeError(f"worker did not start the warm-up tasks:\n{w.tail()}")
            await asyncio.sleep(0.02)

    async def probe(self, n: int, gap: float) -> dict[str, float]:
        """Enqueue keys 0..n-1 one call each, ``gap`` s apart: key -> time the enqueue (commit) returned."""
        commits: dict[str, float] = {}
        t_next = time.time()
        for i in range(n):
            await call(self.d.enqueue_one(i))
            commits[str(i)] = time.time()
            t_next += gap
            pause = t_next - time.time()
            if pause > 0:
                await asyncio.sleep(pause)
        return commits

    @staticmethod
    def delays(commits: dict[str, float], starts: dict[str, float], n: int, gap: float) -> dict[str, Any]:
        out = summarize_ms([starts[k] - commits[k] for k in commits if k in starts])
        out.update({"missing": n - len(starts), "ok": len(starts) == n, "gap_ms": gap * 1000})
        return out


LOAD_TICK_S = 0.01     # the background producer enqueues one batch per tick
LOAD_SETTLE_S = 1.0    # load runs this long before the first probe
BACKLOG_EVERY_S = 0.2  # how often the store's backlog is sampled while the load runs


class SteadyLoad:
    """Background enqueues at ``rate`` tasks/s, keys from BACKGROUND_KEYS up: one batch per tick.

    Each batch is what is due since the start, not a fixed size, so the average rate is
    exact for any rate and a tick the event loop ran late is made up on the next one.
    """

    def __init__(self, driver: Driver, rate: float, tick: float = LOAD_TICK_S):
        self.d = driver
        self.rate = rate
        self.tick = tick
        self.sent = 0
        self.t0 = self.t1 = 0.0
        self.task: asyncio.Task | None = None
        self.stopping = False

    def start(self) -> None:
        self.t0 = time.time()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        next_tick = self.t0
        while not self.stopping:
            due = int(self.rate * (time.time() - self.t0)) - self.sent
            if due > 0:
                first = BACKGROUND_KEYS + self.sent
                await call(self.d.enqueue_batch(list(range(first, first + due))))
                self.sent += due
            next_tick = max(next_tick + self.tick, time.time())
            # Sleep even when late: a driver whose calls block must still let the probes run.
            await asyncio.sleep(max(0.0, next_tick - time.time()))

    async def stop(self) -> None:
        """Stop and wait for the batch in flight; re-raises what the producer failed with."""
        if self.task is None:
            return
        self.stopping = True
        task, self.task = self.task, None
        try:
            await task
        finally:
            self.t1 = time.time()

    def achieved(self) -> float:
        return self.sent / ((self.t1 or time.time()) - self.t0)


def base_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["run", "worker"])
    p.add_argument("--workload", default="process")
    p.add_argument("--ns", required=True, help="fresh namespace: schema / queue name / file stem")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--gap", type=float, default=0.02)
    p.add_argument("--load-rate", type=float, default=0.0, help="latency_loaded: background tasks/s")
    p.add_argument("--ticks", type=int, default=30)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--variant", default=None)
    p.add_argument("--tmp", default="/tmp/tasker-bench")
    return p


def start_orphan_watchdog() -> None:
    """A worker whose client died (killed on timeout, Ctrl-C) must not linger: exit with it."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="bench-watchdog").start()


def main(driver_cls: type[Driver], script: str) -> None:
    args = base_parser().parse_args()
    driver = driver_cls(args)
    if args.role == "worker":
        start_orphan_watchdog()
        start_rss_sampler()
        driver.worker_main(args.ns, args.concurrency)
        return
    result = asyncio.run(_run(driver, args, script))
    print("RESULT " + json.dumps(result), flush=True)


async def _run(driver: Driver, args: argparse.Namespace, script: str) -> dict[str, Any]:
    wl = Workloads(driver, args, script)
    t0 = time.time()
    try:
        await call(driver.setup(args.ns))
        try:
            if args.workload == "enqueue_one":
                res = await wl.enqueue_one()
            elif args.workload == "enqueue_bulk":
                res = await wl.enqueue_bulk()
            elif args.workload == "process":
                res = await wl.process()
            elif args.workload == "latency":
                res = await wl.latency()
            elif args.workload == "latency_loaded":
                res = await wl.latency_loaded()
            elif args.workload in driver.extra_workloads:
                res = await getattr(driver, driver.extra_workloads[args.workload])(wl)
            else:
                raise ValueError(f"unknown workload {args.workload!r} for {driver.name}")
        finally:
            try:
                await call(driver.teardown())
            finally:
                await call(driver.close())
        res["wall_s"] = time.time() - t0
        return res
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]}


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
