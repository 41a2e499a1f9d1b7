"""Fault soak: Tasker on PostgreSQL under kill -9, SIGSTOP, cut connections and restarts.

Not part of CI; run it by hand with the project's venv (a plain ``python3`` re-runs
itself under ``.venv/bin/python``):

    .venv/bin/python benchmarks/soak.py                                  # 100,000 tasks, 1,000 faults, 4 workers
    .venv/bin/python benchmarks/soak.py --tasks 5000 --faults 60 --workers 3   # smoke run, ~20 s

What it does:

1. starts a private throwaway PostgreSQL server (tests/pg_server.py), migrates the schema
   ``soak`` and creates the table ``executions`` there;
2. runs ``--workers`` worker processes (benchmarks/soak_app.py: lease 2 s, heartbeat 0.3 s,
   poll 0.1 s, concurrency 10) and respawns any that dies;
3. enqueues ``--tasks`` tasks with ``create_many``, in rounds of 100: 99 ``work`` tasks (each
   run recorded in ``executions``; returns its attempt) and one poison task (the hostile
   handlers of tests/apps/hostile_app.py: bad text, BaseExceptions, a result nested 100,000
   deep, an unprintable error, a handler swallowing CancelledError, one blocking the loop);
4. once they are enqueued, injects ``--faults`` faults at a steady pace (the budget spread
   over the time the remaining tasks should take): ``kill -9`` of a worker, SIGSTOP past
   the lease, short SIGSTOPs, ``pg_terminate_backend`` of some of a worker's connections,
   and a full PostgreSQL restart every 30-60 s. Each fault is recorded with its wall-clock
   span and the worker it hit (None: the server);
5. when every task is terminal (or ``--timeout`` expires) stops injecting, SIGTERMs the
   workers and checks, from the tasks and ``executions`` tables:

   - tasks lost: a ``work`` task not succeeded, or a created task missing;
   - tasks run twice outside a fault: two or more runs of a ``work`` task ran to the end,
     and no fault hit any of their workers (or the server) between the first one's start
     and the last one's finish, each widened by the lease (a claim can be older than its
     run: a held, prefetched task starts the moment its stopped worker resumes);
   - stale writes accepted: a succeeded ``work`` task whose stored result is not that of a
     finished run of its final attempt (a late completion overwrote the real one);
   - overlapping runs outside a fault: a run started while an earlier run of the same task
     was still going, and no fault hit either run's worker (or the server) from a lease
     before the earlier start to the later start;
   - tasks left queued or running; poison tasks not terminal; workers that died unprompted.

   Every figure must be 0. The report also gives fault counts, wall time, throughput,
   reruns explained by faults, the attempts the lease rescue took back (and whether a
   fault on their worker explains each), runs started on a claim already rescued, poison
   outcomes and a summary of the worker logs. It is printed and written to
   benchmarks/results/soak.md; the exit status is 0 when every check passes.

Worker logs (and faults.json, every fault) stay in a temporary directory named in the
report (``--log-dir`` to choose it). Ctrl-C stops the workers and the server.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
SOAK_APP = BENCHMARKS / "soak_app.py"
REPORT = BENCHMARKS / "results" / "soak.md"


def use_project_venv() -> None:
    """Run again under the project's venv when this Python cannot import Tasker."""
    try:
        import tasker  # noqa: F401
    except ImportError:
        if not VENV_PYTHON.exists() or os.environ.get("TASKER_SOAK_REEXEC"):
            raise
        os.environ["TASKER_SOAK_REEXEC"] = "1"
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])


use_project_venv()
sys.path[:0] = [str(ROOT / "tests"), str(BENCHMARKS)]

import pg_server  # noqa: E402
from apps.harness import Db, WorkerProc, pg_url_with, wait_registered  # noqa: E402
from polling import wait_until  # noqa: E402
from soak_app import POISON_CASES, WORK, build, worker_tag  # noqa: E402

SCHEMA = "soak"
LEASE = 2.0
HEARTBEAT = 0.3
POLL = 0.1
CONCURRENCY = 10
INTERRUPT_GRACE = 1.0     # a handler swallowing CancelledError keeps its slot this long
GRACE = 5.0               # SIGTERM at the end: running tasks may finish within this
POISON_EVERY = 100        # enqueued in rounds of this many tasks: all work but the last, poison
LONG_STOP = LEASE + 1.0   # seconds: the worker is presumed dead and its tasks rescued
SHORT_STOP = (0.2, 0.5)   # seconds: under the lease
FAULT_KINDS = {"kill": 0.25, "long_stop": 0.2, "short_stop": 0.25, "terminate": 0.3}   # weights
PACE_SPREAD = 0.7         # spend the budget within this share of the time the tasks should take
PACE_LIMITS = (0.05, 5.0)  # seconds between faults, at least and at most
TERMINAL = ("succeeded", "failed", "cancelled")


# -- worker processes ------------------------------------------------------------------


@dataclass
class Worker:
    proc: WorkerProc
    started: float
    ended: float | None = None   # wall-clock time it died or was stopped at the end
    killed: bool = False         # by a kill -9 fault
    stopped: bool = False        # SIGSTOPped right now

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.ended is None and self.proc.alive()


class Pool:
    """A fixed number of worker processes: each one that dies is replaced."""

    def __init__(self, url: str, size: int, log_dir: Path, log_level: str):
        self.url = url
        self.size = size
        self.log_dir = log_dir
        self.env = {"C": CONCURRENCY, "LEASE": LEASE, "HEARTBEAT": HEARTBEAT, "POLL": POLL, "GRACE": GRACE,
                    "INTERRUPT_GRACE": INTERRUPT_GRACE, "LOGLEVEL": log_level}
        self.slots: list[Worker] = []
        self.history: list[Worker] = []   # every worker ever started
        self.unprompted: list[Worker] = []   # died while nobody was stopping them
        self.ids: dict[str, int] = {}   # Tasker's worker id -> pid (the workers table forgets the dead)

    def _spawn(self) -> Worker:
        log_path = self.log_dir / f"worker-{len(self.history):04d}.log"
        worker = Worker(WorkerProc(self.url, log_path, self.env, SOAK_APP), time.time())
        self.history.append(worker)
        return worker

    def start(self) -> None:
        self.slots = [self._spawn() for _ in range(self.size)]

    def refill(self) -> None:
        """Replace the workers that died (killed, or on their own)."""
        for i, worker in enumerate(self.slots):
            if not worker.proc.alive():
                if not worker.killed:
                    self.unprompted.append(worker)
                worker.ended = worker.ended or time.time()
                worker.proc.reap()
                self.slots[i] = self._spawn()

    def alive(self) -> list[Worker]:
        return [w for w in self.slots if w.alive()]

    def running(self) -> list[Worker]:
        """Alive and not stopped."""
        return [w for w in self.alive() if not w.stopped]

    def registered(self, db: Db) -> bool:
        """Has every live worker started (registered itself in the store)?"""
        pids = {r[0] for r in db.rows("SELECT pid FROM workers")}
        return all(w.pid in pids for w in self.alive())

    def note_ids(self, db: Db) -> None:
        self.ids.update((str(wid), pid) for wid, pid in db.rows("SELECT id::text, pid FROM workers"))

    def ended_at(self, pid: int) -> float | None:
        for worker in self.history:
            if worker.pid == pid:
                return worker.ended
        return None

    def stop_all(self, timeout: float = GRACE + 10) -> list[Worker]:
        """SIGTERM every live worker and wait; those still running at the deadline are killed (returned)."""
        alive = self.alive()
        for worker in alive:
            _signal(worker, signal.SIGCONT)
            _signal(worker, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for worker in alive:
            while worker.proc.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        stuck = [w for w in alive if w.proc.alive()]
        for worker in self.history:
            worker.ended = worker.ended or time.time()
            worker.proc.reap()
        return stuck


def _signal(worker: Worker, sig: int) -> bool:
    try:
        worker.proc.send(sig)
        return True
    except ProcessLookupError:
        return False


# -- faults ------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    started: float            # wall-clock seconds
    pid: int | None           # the worker it hit; None: PostgreSQL itself
    ended: float = 0.0        # when it was over (SIGCONT, the server back); instant faults: started
    detail: str = ""

    def __post_init__(self) -> None:
        self.ended = self.ended or self.started


class Faults(list):
    """Every fault injected, and which runs they can explain."""

    def touching(self, pids: Iterable[int], t0: float, t1: float) -> bool:
        """Did a fault hit one of these workers, or the server, between t0 and t1?"""
        pids = set(pids)
        return any((f.pid is None or f.pid in pids) and f.started <= t1 and f.ended >= t0 for f in self)

    def counts(self) -> Counter:
        return Counter(f.kind for f in self)


class Pace:
    """How long to wait between faults: the budget left, spread over the time the tasks left should take."""

    def __init__(self, window: float = 10.0):
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()   # (time, tasks finished)

    def observe(self, now: float, finished: int) -> None:
        self.samples.append((now, finished))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()

    def interval(self, tasks_left: int, faults_left: int) -> float:
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        rate = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
        if faults_left <= 0 or rate <= 0:
            return 0.5
        low, high = PACE_LIMITS
        return min(max(PACE_SPREAD * tasks_left / rate / faults_left, low), high)


class Injector:
    """Injects one fault at a time, resumes stopped workers when due, restarts PostgreSQL on its own clock."""

    def __init__(self, pool: Pool, server: Any, db: Db, budget: int, rng: random.Random, restart_every: tuple[float, float]):
        self.pool = pool
        self.server = server
        self.db = db
        self.budget = budget
        self.rng = rng
        self.restart_every = restart_every
        self.faults = Faults()
        self.stops: list[tuple[float, Worker, Fault]] = []   # (resume at, worker, its fault)
        self.next_fault = 0.0
        self.next_restart = time.time() + rng.uniform(*restart_every)
        self.terminated = 0   # connections

    @property
    def left(self) -> int:
        return max(0, self.budget - len(self.faults))

    def tick(self, interval: float) -> None:
        now = time.time()
        self._resume_due(now)
        if not self.left:
            return
        if now >= self.next_restart:   # other faults wait, so that respawned workers get to register
            if self.pool.registered(self.db):   # one starting during an outage would exit
                self._record(self._restart())
                self.next_restart = time.time() + self.rng.uniform(*self.restart_every)
        elif now >= self.next_fault:
            kind = self.rng.choices(list(FAULT_KINDS), weights=list(FAULT_KINDS.values()))[0]
            if self._record(self._inject(kind)):   # else another kind on the next tick
                self.next_fault = now + interval * self.rng.uniform(0.5, 1.5)

    def _record(self, fault: Fault | None) -> bool:
        if fault is not None:
            self.faults.append(fault)
        return fault is not None

    def _inject(self, kind: str) -> Fault | None:
        if kind == "kill":
            return self._kill()
        if kind == "terminate":
            return self._terminate()
        return self._stop(kind, LONG_STOP if kind == "long_stop" else self.rng.uniform(*SHORT_STOP))

    def _kill(self) -> Fault | None:
        alive = self.pool.alive()
        if not alive:
            return None
        worker = self.rng.choice(alive)
        now = time.time()
        self._forget_stop(worker, now)
        if not _signal(worker, signal.SIGKILL):
            return None
        worker.killed, worker.ended = True, now
        return Fault("kill", now, worker.pid)

    def _stop(self, kind: str, seconds: float) -> Fault | None:
        running = self.pool.running()
        if len(running) < 2:   # keep one worker going
            return None
        worker = self.rng.choice(running)
        if not _signal(worker, signal.SIGSTOP):
            return None
        worker.stopped = True
        fault = Fault(kind, time.time(), worker.pid, detail=f"{seconds:.2f}s")
        self.stops.append((fault.started + seconds, worker, fault))
        return fault

    def _terminate(self) -> Fault | None:
        """pg_terminate_backend of some of one worker's connections (found by application_name)."""
        connected = [(w, self._backends(w)) for w in self.pool.alive()]
        connected = [(w, backends) for w, backends in connected if backends]
        if not connected:
            return None
        worker, backends = self.rng.choice(connected)
        chosen = self.rng.sample(backends, self.rng.randint(1, len(backends)))
        now = time.time()
        cut = sum(1 for pid in chosen if self.db.value("SELECT pg_terminate_backend(?::int)", (pid,)))
        self.terminated += cut
        return Fault("terminate", now, worker.pid, detail=f"{cut} of {len(backends)} connections")

    def _backends(self, worker: Worker) -> list[int]:
        return [r[0] for r in self.db.rows("SELECT pid FROM pg_stat_activity WHERE application_name = ?", (worker_tag(worker.pid),))]

    def _restart(self) -> Fault:
        fault = Fault("restart", time.time(), None)
        self.db.close()
        self.server.restart()
        fault.ended = time.time()
        fault.detail = f"{fault.ended - fault.started:.1f}s"
        return fault

    def _resume_due(self, now: float) -> None:
        for entry in [e for e in self.stops if e[0] <= now]:
            self._resume(entry, now)

    def _resume(self, entry: tuple[float, Worker, Fault], now: float) -> None:
        _, worker, fault = entry
        self.stops.remove(entry)
        _signal(worker, signal.SIGCONT)
        worker.stopped = False
        fault.ended = now

    def _forget_stop(self, worker: Worker, now: float) -> None:
        for entry in [e for e in self.stops if e[1] is worker]:
            self._resume(entry, now)

    def resume_all(self) -> None:
        now = time.time()
        for entry in list(self.stops):
            self._resume(entry, now)


# -- the soak ----------------------------------------------------------------------------


@dataclass
class Created:
    work: list[str] = field(default_factory=list)
    poison: dict[str, str] = field(default_factory=dict)   # id -> case, e.g. "poison_base:exit"

    @property
    def all(self) -> list[str]:
        return self.work + list(self.poison)


def case_name(type_: str, payload: dict) -> str:
    return ":".join([type_, *map(str, payload.values())])


def enqueue(url: str, total: int) -> Created:
    """``total`` tasks in rounds of POISON_EVERY: a ``create_many`` of work tasks, then one poison
    task. Workers claim in creation order, so the poison is spread evenly through the run (in
    bigger rounds it would cluster in one worker's claim, where the loop-blocking case freezes
    the rest with it)."""
    app = build(url)   # the creating process must know the handlers' options
    created = Created()
    cases = itertools.cycle(POISON_CASES)
    try:
        for start in range(0, total, POISON_EVERY):
            size = min(POISON_EVERY, total - start)
            with_poison = size == POISON_EVERY
            created.work += app.create_many(WORK, [{"n": start + i} for i in range(size - with_poison)])
            if with_poison:
                type_, payload = next(cases)
                created.poison[app.create_many(type_, [payload])[0]] = case_name(type_, payload)
    finally:
        app.close()
    return created


def prepare(url: str) -> Db:
    app = build(url)
    app.migrate()
    app.close()
    db = Db(url)
    db.create_executions()
    return db


@dataclass
class Timeline:
    started: float = 0.0      # enqueue began
    enqueued: float = 0.0
    finished: float = 0.0     # every task terminal, or the timeout
    timed_out: bool = False


def drive(db: Db, pool: Pool, injector: Injector, total: int, deadline: float, progress_every: float = 10.0) -> bool:
    """Inject faults and respawn workers until every task is terminal; False on timeout."""
    pace = Pace()
    last_count = last_print = 0.0
    left = total
    while True:
        now = time.time()
        pool.refill()
        if now - last_count >= 0.5:
            left = db.value("SELECT count(*) FROM tasks WHERE status IN ('queued', 'running')")
            pace.observe(now, total - left)
            pool.note_ids(db)
            last_count = now
        if left == 0:
            return True
        if time.monotonic() > deadline:
            return False
        injector.tick(pace.interval(left, injector.left))
        if now - last_print >= progress_every:
            print_progress(total - left, total, injector, pool)
            last_print = now
        time.sleep(0.02)


def print_progress(done: int, total: int, injector: Injector, pool: Pool) -> None:
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(injector.faults.counts().items()))
    print(f"[soak] {time.strftime('%H:%M:%S')} {done}/{total} tasks terminal; {len(injector.faults)} faults ({kinds}); "
          f"{len(pool.alive())} workers alive, {len(pool.history)} started", file=sys.stderr, flush=True)


# -- what the store says afterwards -------------------------------------------------------


@dataclass
class Run:
    """One row of ``executions``: a run of a work handler."""

    exec_id: str
    task_id: str
    attempt: int
    pid: int
    started: float
    finished: float | None
    outcome: str | None
    end: float   # finished, else when its worker died (or the soak ended)

    @property
    def done(self) -> bool:
        return self.outcome == "done" and self.finished is not None


def load_runs(db: Db, pool: Pool, soak_end: float) -> dict[str, list[Run]]:
    rows = db.rows("SELECT exec_id, task_id, attempt, pid, started_at, finished_at, outcome FROM executions ORDER BY started_at")
    runs: dict[str, list[Run]] = defaultdict(list)
    for exec_id, task_id, attempt, pid, started, finished, outcome in rows:
        end = finished if finished is not None else (pool.ended_at(pid) or soak_end)
        runs[task_id].append(Run(exec_id, task_id, attempt, pid, started, finished, outcome, end))
    return runs


def load_tasks(db: Db) -> dict[str, dict]:
    rows = db.rows("SELECT id::text, type, status, attempts, result, last_error, errors FROM tasks")
    keys = ("type", "status", "attempts", "result", "last_error", "errors")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


@dataclass
class Check:
    name: str
    bad: list[str]   # one line per offending task (or worker)

    @property
    def passed(self) -> bool:
        return not self.bad


def lost_tasks(created: Created, tasks: dict) -> list[str]:
    missing = [f"{i}: missing" for i in created.all if i not in tasks]
    not_done = [f"{i}: {tasks[i]['status']} after {tasks[i]['attempts']} attempts ({tasks[i]['last_error']})"
                for i in created.work if i in tasks and tasks[i]["status"] != "succeeded"]
    return missing + not_done


def twice_outside_faults(created: Created, runs: dict[str, list[Run]], faults: Faults) -> list[str]:
    """Work tasks whose handler ran to the end twice, with no fault on those runs' workers (or the
    server) from a lease before the first start (a claim can predate its run: a held task starts
    as soon as its stopped worker resumes) to a lease after the last finish."""
    bad = []
    for task_id in created.work:
        done = [r for r in runs.get(task_id, []) if r.done]
        if len(done) < 2:
            continue
        t0, t1 = min(r.started for r in done) - LEASE, max(r.end for r in done) + LEASE
        if not faults.touching({r.pid for r in done}, t0, t1):
            bad.append(f"{task_id}: " + describe_runs(done))
    return bad


def overlapping_outside_faults(created: Created, runs: dict[str, list[Run]], faults: Faults) -> list[str]:
    """A run that started while an earlier one was still going, with no fault on either run's
    worker (or the server) from a lease before the earlier start to the later start."""
    bad = []
    for task_id in created.work:
        task_runs = runs.get(task_id, [])
        for first, later in itertools.combinations(task_runs, 2):
            if later.started < first.end and not faults.touching({first.pid, later.pid}, first.started - LEASE, later.started):
                bad.append(f"{task_id}: " + describe_runs([first, later]))
                break
    return bad


def stale_writes(created: Created, tasks: dict, runs: dict[str, list[Run]]) -> list[str]:
    """Succeeded work tasks whose result is not that of a finished run of their final attempt."""
    bad = []
    for task_id in created.work:
        task = tasks.get(task_id)
        if task is None or task["status"] != "succeeded":
            continue
        result = task["result"] if isinstance(task["result"], dict) else {}
        run = next((r for r in runs.get(task_id, []) if r.exec_id == result.get("exec_id")), None)
        if result.get("attempt") != task["attempts"] or run is None or not run.done or run.attempt != task["attempts"]:
            bad.append(f"{task_id}: attempts {task['attempts']}, result {result}; runs " + describe_runs(runs.get(task_id, [])))
    return bad


def left_unfinished(tasks: dict) -> list[str]:
    return [f"{i}: {t['type']} {t['status']}" for i, t in tasks.items() if t["status"] in ("queued", "running")]


def poison_not_terminal(created: Created, tasks: dict) -> list[str]:
    return [f"{i} ({case}): {tasks.get(i, {}).get('status', 'missing')}"
            for i, case in created.poison.items() if tasks.get(i, {}).get("status") not in TERMINAL]


def died_unprompted(pool: Pool) -> list[str]:
    return [f"pid {w.pid} exit {w.proc.proc.returncode} after {(w.ended or w.started) - w.started:.1f}s ({w.proc.log_path})"
            for w in pool.unprompted]


def describe_runs(runs: list[Run]) -> str:
    return "; ".join(f"attempt {r.attempt} pid {r.pid} {_clock(r.started)}-{_clock(r.finished) if r.finished else '?'} {r.outcome}"
                     for r in runs)


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]


def reruns(created: Created, runs: dict[str, list[Run]], faults: Faults) -> tuple[int, int]:
    """(work tasks that ran more than once, how many of them a fault explains)."""
    rerun = [runs[i] for i in created.work if len(runs.get(i, [])) > 1]
    explained = sum(1 for rs in rerun if faults.touching({r.pid for r in rs}, rs[0].started - LEASE, max(r.end for r in rs) + LEASE))
    return len(rerun), explained


def poison_outcomes(created: Created, tasks: dict) -> dict[str, Counter]:
    """Per poison case: how many ended in each status, with the kind of their last error."""
    outcomes: dict[str, Counter] = defaultdict(Counter)
    for task_id, case in created.poison.items():
        task = tasks.get(task_id, {"status": "missing", "last_error": None})
        error = (task["last_error"] or "").split(":", 1)[0][:40]
        outcomes[case][f"{task['status']} {error}".strip()] += 1
    return dict(sorted(outcomes.items()))


WORKER_LOST = re.compile(r"^WorkerLost: worker ([0-9a-f-]{36})")
RESCUE_SLACK = 5.0   # seconds: heartbeat period, reconnect backoff after an outage


@dataclass
class LostAttempts:
    """Attempts the lease rescue took back (``WorkerLost``), and whether a fault explains each."""

    work: int = 0
    poison: int = 0
    explained: int = 0
    unexplained: list[str] = field(default_factory=list)


def lost_attempts(tasks: dict, faults: Faults, pool: Pool) -> LostAttempts:
    """A rescue is explained when its worker had died by then, or a fault hit it (or the
    server) within a lease and some slack before the rescue."""
    lost = LostAttempts()
    for task_id, task in tasks.items():
        for error in task["errors"] or []:
            match = WORKER_LOST.match(error.get("error", ""))
            if not match:
                continue
            if task["type"] == WORK:
                lost.work += 1
            else:
                lost.poison += 1
            at = datetime.fromisoformat(error["at"]).timestamp()
            pid = pool.ids.get(match.group(1))
            died = pid is not None and (pool.ended_at(pid) or at) < at
            if died or (pid is not None and faults.touching({pid}, at - LEASE - RESCUE_SLACK, at)):
                lost.explained += 1
            else:
                lost.unexplained.append(f"{task_id} ({task['type']}) attempt {error['attempt']} rescued at {_clock(at)} "
                                        f"from worker pid {pid or '? (never seen registered)'}")
    return lost


@dataclass
class StaleStart:
    """A run whose handler started after the lease rescue had taken its attempt back."""

    run: Run
    rescued_at: float
    overlaps: list[Run]   # other runs of the task going on at the same time

    def __str__(self) -> str:
        run = self.run
        text = (f"{run.task_id} attempt {run.attempt} pid {run.pid}: rescued at {_clock(self.rescued_at)}, "
                f"started {_clock(run.started)}, {run.outcome or 'never finished'}")
        return text + (f"; overlapping {describe_runs(self.overlaps)}" if self.overlaps else "")


def runs_after_rescue(tasks: dict, runs: dict[str, list[Run]]) -> list[StaleStart]:
    """Runs started on a claim already rescued: a worker resumed from a stall started a task
    it held (prefetched) but no longer owned."""
    stale = []
    for task_id, task_runs in runs.items():
        rescued = {e["attempt"]: datetime.fromisoformat(e["at"]).timestamp()
                   for e in tasks.get(task_id, {}).get("errors") or [] if WORKER_LOST.match(e.get("error", ""))}
        for run in task_runs:
            if run.attempt in rescued and rescued[run.attempt] < run.started:
                overlaps = [o for o in task_runs if o is not run and o.started < run.end and run.started < o.end]
                stale.append(StaleStart(run, rescued[run.attempt], overlaps))
    return stale


# -- worker logs ------------------------------------------------------------------------------


LOG_NOISE = [(re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
             (re.compile(r"\b[0-9a-f]{32}\b"), "<hex>"), (re.compile(r"\b0x[0-9a-f]+"), "<addr>"),
             (re.compile(r"\d+(\.\d+)?"), "<n>")]


def log_line_kind(line: str) -> str:
    """A log line without its time, pid, ids and numbers: lines that say the same thing group together."""
    text = line.split("] ", 1)[-1]
    for pattern, placeholder in LOG_NOISE:
        text = pattern.sub(placeholder, text)
    return text[:200]


def summarize_logs(pool: Pool) -> dict[str, Any]:
    levels: dict[str, Counter] = {"ERROR": Counter(), "WARNING": Counter()}
    tracebacks = 0
    exceptions: Counter = Counter()
    for worker in pool.history:
        lines = worker.proc.log_path.read_text(errors="replace").splitlines()
        for n, line in enumerate(lines):
            for level, seen in levels.items():
                if f" {level} " in line:
                    seen[log_line_kind(line)] += 1
            if line.startswith("Traceback"):
                tracebacks += 1
                last = next((text for text in lines[n + 1:]
                             if text and not text.startswith((" ", "Traceback", "During", "The above"))), "?")
                exceptions[log_line_kind(last)] += 1
    return {"errors": levels["ERROR"], "warnings": levels["WARNING"], "tracebacks": tracebacks, "exceptions": exceptions}


# -- the report -----------------------------------------------------------------------------


@dataclass
class Findings:
    """Everything the report says, read from the store, the faults and the logs."""

    checks: list[Check]
    tasks: dict
    runs: dict[str, list[Run]]
    lost: LostAttempts
    stale_starts: list[StaleStart]
    logs: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def analyse(db: Db, created: Created, faults: Faults, pool: Pool, soak_end: float) -> Findings:
    tasks, runs = load_tasks(db), load_runs(db, pool, soak_end)
    checks = [
        Check("tasks lost", lost_tasks(created, tasks)),
        Check("tasks run twice outside a fault", twice_outside_faults(created, runs, faults)),
        Check("stale writes accepted", stale_writes(created, tasks, runs)),
        Check("overlapping runs outside a fault", overlapping_outside_faults(created, runs, faults)),
        Check("tasks left queued or running", left_unfinished(tasks)),
        Check("poison tasks not terminal", poison_not_terminal(created, tasks)),
        Check("workers that died unprompted", died_unprompted(pool)),
    ]
    return Findings(checks, tasks, runs, lost_attempts(tasks, faults, pool), runs_after_rescue(tasks, runs), summarize_logs(pool))


def report(args: argparse.Namespace, created: Created, timeline: Timeline, found: Findings, injector: Injector,
           pool: Pool, stuck: list[Worker], log_dir: Path) -> str:
    lines = [
        f"# Tasker fault soak: {'PASS' if found.passed else 'FAIL'}",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; `{' '.join(['benchmarks/soak.py', *sys.argv[1:]])}`",
        (f"{len(created.all)} tasks ({len(created.work)} work, {len(created.poison)} poison), {args.workers} workers x "
         f"concurrency {CONCURRENCY}, lease {LEASE:g}s, heartbeat {HEARTBEAT:g}s, poll {POLL:g}s, seed {args.seed}"
         + ("; TIMED OUT before every task was terminal" if timeline.timed_out else "")),
        "",
        "| check | count | |",
        "|---|---:|---|",
        *[f"| {c.name} | {len(c.bad)} | {'PASS' if c.passed else 'FAIL'} |" for c in found.checks],
        "",
        *figures(args, created, timeline, found, injector, pool, stuck, log_dir),
        *log_sections(found.logs),
        *details(found),
    ]
    return "\n".join(lines) + "\n"


def figures(args: argparse.Namespace, created: Created, timeline: Timeline, found: Findings, injector: Injector,
            pool: Pool, stuck: list[Worker], log_dir: Path) -> list[str]:
    faults, tasks, lost = injector.faults, found.tasks, found.lost
    wall = timeline.finished - timeline.started
    succeeded = sum(1 for i in created.work if tasks.get(i, {}).get("status") == "succeeded")
    attempts = [tasks[i]["attempts"] for i in created.work if i in tasks]
    rerun, explained = reruns(created, found.runs, faults)
    exits = dict(Counter(w.proc.proc.returncode for w in pool.slots))
    return [
        f"- faults: {len(faults)} of a budget of {args.faults}: {fault_counts(faults)}",
        (f"- connections terminated: {injector.terminated}; worker processes started: {len(pool.history)}; "
         f"at the end, exit codes after SIGTERM {exits}, needing SIGKILL {len(stuck)}"),
        (f"- wall time: {wall:.1f}s (enqueue {timeline.enqueued - timeline.started:.1f}s); "
         f"throughput: {succeeded / wall:.0f} work tasks/s ({succeeded} succeeded)"),
        (f"- reruns: {rerun} work tasks ran more than once, {explained} of them explained by faults; "
         f"{sum(1 for a in attempts if a > 1)} needed more than one attempt (most: {max(attempts, default=0)})"),
        (f"- attempts taken back by the lease rescue (WorkerLost): {lost.work} of work tasks, {lost.poison} of poison "
         f"tasks; {lost.explained} explained by a fault on their worker, {len(lost.unexplained)} not"),
        (f"- runs started after their attempt was rescued (a resumed worker started a held task it no longer owned): "
         f"{len(found.stale_starts)}, {sum(1 for s in found.stale_starts if s.overlaps)} of them overlapping another run"),
        "- poison outcomes:",
        *[f"    {case}: " + ", ".join(f"{n} {outcome}" for outcome, n in c.most_common())
          for case, c in poison_outcomes(created, tasks).items()],
        (f"- worker logs and faults.json (every fault) in {log_dir}: {sum(found.logs['errors'].values())} ERROR lines, "
         f"{found.logs['tracebacks']} tracebacks, {sum(found.logs['warnings'].values())} WARNING lines"),
    ]


def fault_counts(faults: Faults) -> str:
    counts = faults.counts()
    return ", ".join(f"{kind} {counts.get(kind, 0)}" for kind in [*FAULT_KINDS, "restart"])


def log_sections(logs: dict[str, Any]) -> list[str]:
    return [*section("ERROR lines, by kind", logs["errors"]),
            *section("exceptions of the tracebacks", logs["exceptions"]),
            *section("WARNING lines, by kind", logs["warnings"])]


def details(found: Findings) -> list[str]:
    """The first few offenders of each failed check, and of the informational figures."""
    lists = [("runs started after their attempt was rescued", [str(s) for s in found.stale_starts]),
             ("rescues no fault explains", found.lost.unexplained),
             *[(c.name, c.bad) for c in found.checks]]
    lines = []
    for title, items in lists:
        if items:
            lines += ["", f"{title}, first {min(10, len(items))}:", *[f"    {item}" for item in items[:10]]]
    return lines


def section(title: str, counts: Counter, top: int = 10) -> list[str]:
    if not counts:
        return []
    return ["", f"{title} (top {min(top, len(counts))}):", *[f"    {n:6d}  {kind}" for kind, n in counts.most_common(top)]]


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks to enqueue (default 100000)")
    parser.add_argument("--faults", type=int, default=1000, help="fault budget (default 1000)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before giving up (default 1800)")
    parser.add_argument("--restart-every", type=float, nargs=2, default=(30.0, 60.0), metavar=("MIN", "MAX"),
                        help="seconds between PostgreSQL restarts, drawn uniformly (default 30 60)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--log-dir", type=Path, default=None, help="where worker logs go (default: a new temp dir)")
    parser.add_argument("--log-level", default="WARNING", help="workers' log level (default WARNING; INFO logs every task)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    if args.workers < 2:
        parser.error("--workers must be at least 2 (a stopped worker's tasks need someone to rescue them)")
    return args


def interrupt_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, which stops the workers and the server
    (SIGINT too, in case it was ignored: a shell starts background jobs so)."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def soak(args: argparse.Namespace, server: Any, log_dir: Path, cleanup: list[Callable[[], Any]]) -> int:
    url = pg_url_with(server.url, schema=SCHEMA)
    db = prepare(url)
    cleanup.append(db.close)
    pool = Pool(url, args.workers, log_dir, args.log_level)
    injector = Injector(pool, server, db, args.faults, random.Random(args.seed), tuple(args.restart_every))
    cleanup += [pool.stop_all, injector.resume_all]   # run in reverse: resume, then stop
    pool.start()
    wait_registered(db, args.workers, timeout=60)

    timeline = Timeline(started=time.time())
    deadline = time.monotonic() + args.timeout
    created = enqueue(url, args.tasks)
    timeline.enqueued = time.time()
    print(f"[soak] enqueued {len(created.all)} tasks in {timeline.enqueued - timeline.started:.1f}s; injecting faults",
          file=sys.stderr, flush=True)
    timeline.timed_out = not drive(db, pool, injector, len(created.all), deadline)
    timeline.finished = time.time()
    injector.resume_all()
    wait_until(lambda: pool.registered(db), 30, interval=0.1, message="workers started")   # SIGTERM meets a running worker
    stuck = pool.stop_all()

    (log_dir / "faults.json").write_text(json.dumps([asdict(f) for f in injector.faults], indent=1))
    found = analyse(db, created, injector.faults, pool, timeline.finished)
    text = report(args, created, timeline, found, injector, pool, stuck, log_dir)
    print(text)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    print(f"[soak] report written to {REPORT}", file=sys.stderr)
    return 0 if found.passed else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_signals()
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="tasker-soak-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"[soak] seed {args.seed}; worker logs in {log_dir}", file=sys.stderr, flush=True)
    server = pg_server.start_throwaway_server()
    cleanup: list[Callable[[], Any]] = [server.stop]
    try:
        return soak(args, server, log_dir, cleanup)
    except KeyboardInterrupt:
        print("[soak] interrupted; stopping the workers and the server", file=sys.stderr)
        return 130
    finally:
        for step in reversed(cleanup):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - clean up the rest anyway
                print(f"[soak] cleanup step {step} failed: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
