#!/usr/bin/env python3
"""Where does Tasker's processing time go on PostgreSQL?

    python3 benchmarks/profile_tasker.py [--n 10000] [--skip pyspy,pyinstrument,server]

Runs in its own venv (benchmarks/.venvs/profile: Tasker's deps + pyinstrument + py-spy),
against a fresh schema in the benchmark database, and writes to benchmarks/results/profile/:

  counters.json / summary.md   every store call the worker makes while draining N no-op tasks
                               (calls, rows per call, client-observed time), CPU per task,
                               transactions, WAL bytes and WAL syncs per task, HOT updates
  pyinstrument.txt             the in-process worker under pyinstrument (async-aware)
  pyspy_*.txt                  py-spy samples of a worker *process*: self time by function and
                               time by layer (tasker / psycopg / asyncio / ...)
  server.txt                   server-side duration of each statement (log_min_duration_statement=0
                               on the benchmark database only; pg_stat_statements needs
                               shared_preload_libraries, which this server does not preload)
  enqueue.txt                  client CPU / wall per create, acreate, create_many, and server time per statement
  explain.txt                  EXPLAIN (ANALYZE, BUFFERS) of claim and complete (the worker's real parameters)
                               at 1/10/100 per statement, with and without 90k finished rows in the table
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "profile")
PG_LOG = os.environ.get("BENCH_PG_LOG", "/var/log/postgresql/postgresql-15-main.log")


def ensure_profile_venv() -> None:
    """Re-exec inside benchmarks/.venvs/profile (created on demand by run.py's machinery)."""
    sys.path.insert(0, HERE)
    import run  # noqa: E402  (benchmarks/run.py)

    reason = run.ensure_venv("profile", print)
    if reason:
        raise SystemExit(f"cannot build the profile venv: {reason}")
    py = run.venv_python("profile")
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])


if not sys.prefix.endswith(os.path.join(".venvs", "profile")):
    ensure_profile_venv()

# ---- from here on: inside the profile venv -------------------------------------------------------

sys.path.insert(0, os.path.join(HERE, "lib"))
import harness  # noqa: E402
from harness import PG_DSN  # noqa: E402

import psycopg  # noqa: E402

from tasker import Tasker  # noqa: E402
from tasker.store.postgres.driver import PostgresStore  # noqa: E402


def new_ns(tag: str) -> str:
    return f"prof_{tag}_{os.getpid()}"


def db() -> psycopg.Connection:
    return psycopg.connect(PG_DSN, autocommit=True)


def fill(ns: str, n: int) -> Tasker:
    app = Tasker(f"{PG_DSN}?schema={ns}")
    app.migrate()
    for start in range(0, n, 1000):
        app.create_many("noop", [{"i": i} for i in range(start, min(n, start + 1000))])
    return app


def drop(ns: str) -> None:
    with db() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {ns} CASCADE")


def server_counters(ns: str) -> dict:
    with db() as conn:
        x = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]
        wal = conn.execute("SELECT wal_records, wal_bytes, wal_sync, wal_write FROM pg_stat_wal").fetchone()
        lsn = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0]
        t = conn.execute("SELECT n_tup_upd, n_tup_hot_upd, n_tup_ins FROM pg_stat_user_tables WHERE schemaname = %s AND relname = 'tasks'",
                         (ns,)).fetchone() or (0, 0, 0)
    return {"xact_commit": x, "wal_records": wal[0], "wal_bytes": int(lsn), "wal_sync": wal[2], "wal_write": wal[3],
            "tup_upd": t[0], "tup_hot_upd": t[1], "tup_ins": t[2]}


# -- 1. counters: an in-process worker with every store call wrapped ---------------------------------

LAST_PARAMS: dict[str, dict] = {}  # the last parameters each named statement ran with (for EXPLAIN)


class Counters:
    def __init__(self) -> None:
        self.calls: dict[str, dict] = collections.defaultdict(lambda: {"calls": 0, "rows": 0, "seconds": 0.0})
        self.claim_sizes: collections.Counter = collections.Counter()
        self.complete_sizes: collections.Counter = collections.Counter()

    def install(self) -> None:
        for name in ("claim_tasks", "complete_tasks", "next_run_at", "heartbeat", "rescue_tasks",
                     "materialize_schedules", "paused_queues", "save_progress", "_rows"):
            original = getattr(PostgresStore, name, None)
            if original is None:
                continue
            setattr(PostgresStore, name, self._wrap(name, original))

    def _wrap(self, name: str, original):
        counters = self

        async def wrapped(store, *args, **kwargs):
            t0 = time.perf_counter()
            result = await original(store, *args, **kwargs)
            key = f"_rows:{args[0]}" if name == "_rows" else name
            if name == "_rows" and len(args) > 1:
                LAST_PARAMS[args[0]] = args[1]
            elif name == "claim_tasks" and len(args) >= 4:  # claims may bypass _rows (own connection)
                LAST_PARAMS["claim_tasks"] = {"worker_id": args[0], "types": list(args[1]),
                                              "queues": None if args[2] is None else list(args[2]), "limit": args[3]}
            entry = counters.calls[key]
            entry["calls"] += 1
            entry["seconds"] += time.perf_counter() - t0
            if isinstance(result, list):
                entry["rows"] += len(result)
                if name == "claim_tasks":
                    counters.claim_sizes[len(result)] += 1
            if name == "complete_tasks":
                counters.complete_sizes[len(args[0])] += 1
            return result

        return wrapped


async def instrumented_run(ns: str, n: int, concurrency: int, profiler=None) -> dict:
    app = Tasker(f"{PG_DSN}?schema={ns}")
    done = 0
    finished = asyncio.Event()

    @app.handler("noop")
    async def noop(payload):
        nonlocal done
        done += 1
        if done >= n:
            finished.set()

    worker = asyncio.ensure_future(app.arun_worker(concurrency=concurrency))
    cpu0, t0, times0 = time.process_time(), time.perf_counter(), os.times()
    if profiler:
        profiler.start()
    await asyncio.wait_for(finished.wait(), 600)
    # Outcomes of the last tasks are written by the completer just after: wait for them in the store.
    with db() as conn:
        while conn.execute(f"SELECT count(*) FROM {ns}.tasks WHERE status IN ('queued', 'running')").fetchone()[0]:
            await asyncio.sleep(0.002)
    elapsed, cpu, times1 = time.perf_counter() - t0, time.process_time() - cpu0, os.times()
    if profiler:
        profiler.stop()
    app.stop_workers()
    await worker
    await app.aclose()
    return {"n": n, "seconds": elapsed, "rate": n / elapsed, "cpu_seconds": cpu,
            "cpu_us_per_task": cpu / n * 1e6, "client_busy": cpu / elapsed,
            "user_us_per_task": (times1.user - times0.user) / n * 1e6, "sys_us_per_task": (times1.system - times0.system) / n * 1e6}


def counters_run(n: int, concurrency: int) -> dict:
    ns = new_ns("cnt")
    try:
        fill(ns, n).close()
        counters = Counters()
        counters.install()
        before = server_counters(ns)
        res = asyncio.run(instrumented_run(ns, n, concurrency))
        after = server_counters(ns)
    finally:
        drop(ns)
    delta = {k: after[k] - before[k] for k in before}
    res["server_per_task"] = {k: round(v / n, 3) for k, v in delta.items()}
    res["calls"] = {k: {**v, "rows_per_call": round(v["rows"] / v["calls"], 2) if v["calls"] else 0,
                        "ms_per_call": round(v["seconds"] / v["calls"] * 1000, 3) if v["calls"] else 0}
                    for k, v in sorted(counters.calls.items(), key=lambda kv: -kv[1]["seconds"])}
    res["claim_sizes"] = dict(sorted(counters.claim_sizes.items()))
    res["complete_sizes"] = dict(sorted(counters.complete_sizes.items()))
    return res


# -- 2. pyinstrument --------------------------------------------------------------------------------

def pyinstrument_run(n: int, concurrency: int) -> str:
    from pyinstrument import Profiler

    ns = new_ns("pyi")
    try:
        fill(ns, n).close()
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        res = asyncio.run(instrumented_run(ns, n, concurrency, profiler))
    finally:
        drop(ns)
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    return f"# pyinstrument, in-process worker, {res['rate']:,.0f} tasks/s while profiled\n\n{text}"


# -- 3. py-spy on a worker process ------------------------------------------------------------------

LAYERS = [("tasker", "(tasker/"), ("tasker", "/src/tasker/"), ("psycopg_pool", "psycopg_pool"), ("psycopg", "psycopg"),
          ("asyncio", "asyncio/"), ("selectors/epoll", "selectors.py"), ("logging", "logging/"),
          ("json", "json/"), ("uuid", "uuid.py"), ("threading", "threading.py"), ("bench harness", "benchmarks/")]


def layer_of(frame: str) -> str:
    for name, needle in LAYERS:
        if needle in frame:
            return name
    return "other"


def pyspy_run(n: int, concurrency: int) -> str:
    ns = new_ns("spy")
    tmp = os.path.join(OUT, "tmp")
    os.makedirs(tmp, exist_ok=True)
    raw = os.path.join(tmp, "pyspy.raw")
    script = os.path.join(HERE, "systems", "tasker_sys.py")
    app = Tasker(f"{PG_DSN}?schema={ns}")
    app.migrate()
    env = dict(os.environ, BENCH_RECORD=os.path.join(tmp, "rec"), BENCH_RECORD_MODE="first")
    worker = subprocess.Popen([sys.executable, script, "worker", "--ns", ns, "--concurrency", str(concurrency), "--tmp", tmp],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # imported, connected, idle
    spy = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--pid", str(worker.pid),
                            "--rate", "500", "--format", "raw", "--output", raw, "--threads",
                            # --native needs to pause the process for each sample; otherwise don't.
                            *(["--native"] if os.environ.get("BENCH_PYSPY_NATIVE") else ["--nonblocking"])],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    t0 = time.time()
    for start in range(0, n, 1000):
        app.create_many("noop", [{"i": i} for i in range(start, min(n, start + 1000))])
    with db() as conn:
        while conn.execute(f"SELECT count(*) FROM {ns}.tasks WHERE status IN ('queued', 'running')").fetchone()[0]:
            time.sleep(0.01)
    elapsed = time.time() - t0
    spy.send_signal(2)
    _, err = spy.communicate(timeout=30)
    if spy.returncode not in (0, None) and not os.path.exists(raw):
        print("py-spy:", err.decode()[-800:], file=sys.stderr)
    worker.terminate()
    worker.wait(10)
    app.close()
    drop(ns)
    if not os.path.exists(raw):
        return f"py-spy produced nothing: {err.decode()[-500:]}"
    self_by_fn: collections.Counter = collections.Counter()
    by_layer: collections.Counter = collections.Counter()
    incl_tasker: collections.Counter = collections.Counter()
    total = 0
    with open(raw) as fh:
        for line in fh:
            stack, _, count = line.rstrip().rpartition(" ")
            if not count.isdigit():
                continue
            count = int(count)
            frames = stack.split(";")
            leaf = frames[-1]
            if "select (selectors.py" in leaf or "epoll" in leaf or "wait (threading.py" in leaf:
                continue  # idle: the loop waiting for I/O, pool threads waiting
            total += count
            self_by_fn[re.sub(r":\d+\)", ")", leaf)] += count
            by_layer[layer_of(leaf)] += count
            seen = set()
            for f in frames:
                if "(tasker/" in f or "/src/tasker/" in f:
                    key = re.sub(r" \(.*?tasker/", " (", re.sub(r":\d+\)", ")", f))
                    if key not in seen:
                        incl_tasker[key] += count
                        seen.add(key)
    lines = [f"# py-spy, worker process, {n:,} tasks enqueued while it ran ({n / elapsed:,.0f} tasks/s end to end)",
             f"# busy samples (idle waits excluded): {total} at 500 Hz = {total / 500:.2f} s of CPU-ish time "
             f"over {elapsed:.2f} s wall => {total / 500 / elapsed:.0%} of one core; {total / 500 / n * 1e6:.0f} µs per task", "",
             "## by layer (leaf frame)"]
    lines += [f"{c / total:6.1%}  {name}" for name, c in by_layer.most_common()]
    lines += ["", "## self time, top 40"]
    lines += [f"{c / total:6.1%}  {fn}" for fn, c in self_by_fn.most_common(40)]
    lines += ["", "## inclusive time in Tasker functions, top 30"]
    lines += [f"{c / total:6.1%}  {fn}" for fn, c in incl_tasker.most_common(30)]
    return "\n".join(lines)


# -- 4. server-side statement durations -----------------------------------------------------------------

def server_run(n: int, concurrency: int) -> str:
    ns = new_ns("srv")
    dbname = PG_DSN.rsplit("/", 1)[1].split("?")[0]
    fill(ns, n).close()
    with db() as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" SET log_min_duration_statement = 0')
    try:
        start = os.path.getsize(PG_LOG)
        res = asyncio.run(instrumented_run(ns, n, concurrency))
        time.sleep(0.5)
        with open(PG_LOG, errors="replace") as fh:
            fh.seek(start)
            text = fh.read()
    finally:
        with db() as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" RESET log_min_duration_statement')
        drop(ns)
    # Entries: "... LOG:  duration: 0.123 ms  execute <name>: SQL..." (SQL may continue on tab-indented lines)
    entries = re.findall(r"LOG:  duration: ([\d.]+) ms  (parse|bind|execute|statement)[^:]*: (.*?)(?=\n\S|\Z)", text, re.S)
    agg: dict = collections.defaultdict(lambda: [0, 0.0])
    for ms, phase, sql in entries:
        if ns not in sql and "pg_notify" not in sql and "LISTEN" not in sql:
            continue
        norm = re.sub(r"\s+", " ", sql).strip()
        norm = norm.replace(f'"{ns}".', "").replace(f"{ns}.", "")
        key = f"{phase:<9} {norm[:110]}"
        agg[key][0] += 1
        agg[key][1] += float(ms)
    total = sum(v[1] for v in agg.values())
    lines = [f"# server-side durations (log_min_duration_statement=0), {n:,} tasks, {res['rate']:,.0f} tasks/s while logged",
             f"# total server time in statements: {total:.0f} ms = {total / n * 1000:.0f} µs per task "
             f"over {res['seconds']:.2f} s wall", "",
             f"{'share':>6} {'calls':>7} {'ms total':>9} {'µs/call':>8} {'µs/task':>8}  statement"]
    for key, (calls, ms) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"{ms / total:6.1%} {calls:7d} {ms:9.1f} {ms / calls * 1000:8.0f} {ms / n * 1000:8.1f}  {key}")
    return "\n".join(lines)


# -- 5. EXPLAIN ANALYZE -------------------------------------------------------------------------------------

def _like(params: dict, k: int, **override) -> dict:
    """The captured parameters, every array cut or stretched to k items (its first item repeated)."""
    out = {}
    for key, value in params.items():
        out[key] = ([value[0]] * k if value else []) if isinstance(value, list) else value
    out.update(override)
    return out


def _explain(conn, sql: str, params: dict) -> str:
    return "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall())


def explain_run(n: int) -> str:
    """EXPLAIN ANALYZE of the worker's two hot statements, with the parameters the worker really
    sent (captured in the counters run), at batch sizes 1/10/100, on a table of n queued tasks and
    on one that also holds 9n finished ones (what accumulates between cleanups)."""
    from tasker.store.url import parse_url

    completes = [name for name in ("complete_succeeded", "complete_tasks") if name in LAST_PARAMS]
    if "claim_tasks" not in LAST_PARAMS or not completes:
        return "explain needs the counters run (it captures the real parameters)"
    out = []
    for finished in (0, 9 * n):
        ns = new_ns("exp")
        app = fill(ns, n + finished)
        app.close()
        store = PostgresStore(parse_url(f"{PG_DSN}?schema={ns}"))
        claim_sql = store.q["claim_tasks"]
        # The suggested claim: look the picked ids up by primary key instead of joining the CTE.
        better_sql = re.sub(r"FROM picked\s+WHERE t\.id = picked\.id", "WHERE t.id = ANY(ARRAY(SELECT id FROM picked))", claim_sql)
        try:
            with db() as conn:
                if finished:
                    conn.execute(f"UPDATE {ns}.tasks SET status = 'succeeded', finished_at = now() "
                                 f"WHERE id IN (SELECT id FROM {ns}.tasks ORDER BY id LIMIT %s)", (finished,))
                conn.execute(f"VACUUM ANALYZE {ns}.tasks")
                for limit in (1, 10, 100):
                    title = f"{limit} per statement, {n:,} queued + {finished:,} finished rows"
                    with conn.transaction():
                        params = _like(LAST_PARAMS["claim_tasks"], 0, limit=limit)
                        params.update({k: v for k, v in LAST_PARAMS["claim_tasks"].items() if k != "limit"})
                        out.append(f"## claim_tasks, {title}\n" + _explain(conn, claim_sql, params))
                        raise psycopg.Rollback()
                    if better_sql != claim_sql:
                        with conn.transaction():
                            out.append(f"## claim_tasks with `t.id = ANY(ARRAY(SELECT id FROM picked))`, {title}\n"
                                       + _explain(conn, better_sql, params))
                            raise psycopg.Rollback()
                    for complete in completes:  # the statements the worker really used, with its parameters
                        with conn.transaction():
                            rows = conn.execute(claim_sql, params).fetchall()
                            cparams = _like(LAST_PARAMS[complete], len(rows), ids=[r[0] for r in rows],
                                            tokens=[r[1] for r in rows])
                            out.append(f"## {complete}, {title}\n" + _explain(conn, store.q[complete], cparams))
                            raise psycopg.Rollback()
        finally:
            drop(ns)
    return "\n\n".join(out)


# -- 6. the enqueue paths -------------------------------------------------------------------------------------

def enqueue_run(n_one: int, n_bulk: int) -> str:
    """Client CPU and wall per call for create / acreate / create_many, then the server's share
    (a second pass with log_min_duration_statement=0 on the benchmark database)."""
    dbname = PG_DSN.rsplit("/", 1)[1].split("?")[0]
    lines = [f"# enqueue paths: {n_one:,} one-call creates, {n_bulk:,} in create_many batches of 1,000"]
    for logged in (False, True):
        ns = new_ns("enq")
        app = Tasker(f"{PG_DSN}?schema={ns}")
        app.migrate()
        if logged:
            with db() as conn:
                conn.execute(f'ALTER DATABASE "{dbname}" SET log_min_duration_statement = 0')
            app.close()
            app = Tasker(f"{PG_DSN}?schema={ns}")  # new connections pick the setting up
            app.stats()
            start = os.path.getsize(PG_LOG)
        try:
            measures = {}
            app.create("noop", {"i": -1})  # warm: pool open, statements prepared
            cpu, t = time.process_time(), time.perf_counter()
            for i in range(n_one):
                app.create("noop", {"i": i})
            measures["create (sync)"] = (time.perf_counter() - t, time.process_time() - cpu, n_one)

            async def many_async() -> None:
                await app.acreate("noop", {"i": -2})
                cpu, t = time.process_time(), time.perf_counter()
                for i in range(n_one):
                    await app.acreate("noop", {"i": i})
                measures["acreate"] = (time.perf_counter() - t, time.process_time() - cpu, n_one)
                await app.aclose()

            asyncio.run(many_async())
            cpu, t = time.process_time(), time.perf_counter()
            for start_i in range(0, n_bulk, 1000):
                app.create_many("noop", [{"i": i} for i in range(start_i, start_i + 1000)])
            measures["create_many x1000 (per task)"] = (time.perf_counter() - t, time.process_time() - cpu, n_bulk)
            if logged:
                time.sleep(0.5)
                with open(PG_LOG, errors="replace") as fh:
                    fh.seek(start)
                    text = fh.read()
        finally:
            if logged:
                with db() as conn:
                    conn.execute(f'ALTER DATABASE "{dbname}" RESET log_min_duration_statement')
            app.close()
            drop(ns)
        if not logged:
            lines.append("")
            lines.append(f"{'path':32} {'calls/s':>9} {'wall µs':>8} {'client CPU µs':>14}")
            for name, (wall, cpu, count) in measures.items():
                lines.append(f"{name:32} {count / wall:9,.0f} {wall / count * 1e6:8.0f} {cpu / count * 1e6:14.0f}")
        else:
            entries = re.findall(r"LOG:  duration: ([\d.]+) ms  (parse|bind|execute|statement)[^:]*: (.*?)(?=\n\S|\Z)", text, re.S)
            agg: dict = collections.defaultdict(lambda: [0, 0.0])
            for ms, phase, sql in entries:
                norm = re.sub(r"\s+", " ", sql).strip().replace(f"{ns}.", "")
                if ns not in sql and not norm.startswith(("BEGIN", "COMMIT")):
                    continue
                agg[f"{phase:<9} {norm[:100]}"][0] += 1
                agg[f"{phase:<9} {norm[:100]}"][1] += float(ms)
            lines += ["", "server side (log_min_duration_statement=0), all three phases together:",
                      f"{'calls':>7} {'ms total':>9} {'µs/call':>8}  statement"]
            for key, (calls, ms) in sorted(agg.items(), key=lambda kv: -kv[1][1])[:14]:
                lines.append(f"{calls:7d} {ms:9.1f} {ms / calls * 1000:8.0f}  {key}")
    return "\n".join(lines)


def main() -> None:
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--skip", default="", help="comma list of: counters, pyinstrument, pyspy, server, enqueue, explain")
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.makedirs(OUT, exist_ok=True)
    admin = os.path.join(HERE, "lib", "admin.py")
    subprocess.run([sys.executable, admin, "create"], check=True)
    summary = []
    if "counters" not in skip:
        res = counters_run(args.n, args.concurrency)
        with open(os.path.join(OUT, "counters.json"), "w") as fh:
            json.dump(res, fh, indent=1)
        summary.append(f"counters: {res['rate']:,.0f} tasks/s, client CPU {res['cpu_us_per_task']:.0f} µs/task "
                       f"(user {res['user_us_per_task']:.0f} + sys {res['sys_us_per_task']:.0f}) "
                       f"({res['client_busy']:.0%} of a core); claim sizes {res['claim_sizes']}; "
                       f"complete sizes {res['complete_sizes']}; per task {res['server_per_task']}")
        summary.append(json.dumps(res["calls"], indent=1))
    if "pyinstrument" not in skip:
        with open(os.path.join(OUT, "pyinstrument.txt"), "w") as fh:
            fh.write(pyinstrument_run(args.n, args.concurrency))
        summary.append("pyinstrument: results/profile/pyinstrument.txt")
    if "pyspy" not in skip:
        text = pyspy_run(args.n, args.concurrency)
        with open(os.path.join(OUT, "pyspy.txt"), "w") as fh:
            fh.write(text)
        summary.append(text)
    if "server" not in skip:
        try:
            text = server_run(args.n, args.concurrency)
        except OSError as exc:
            text = f"server log not readable ({exc})"
        with open(os.path.join(OUT, "server.txt"), "w") as fh:
            fh.write(text)
        summary.append(text)
    if "enqueue" not in skip:
        text = enqueue_run(2000, 20000)
        with open(os.path.join(OUT, "enqueue.txt"), "w") as fh:
            fh.write(text)
        summary.append(text)
    if "explain" not in skip:
        text = explain_run(args.n)
        with open(os.path.join(OUT, "explain.txt"), "w") as fh:
            fh.write(text)
        summary.append("explain: results/profile/explain.txt")
    with open(os.path.join(OUT, "summary.md"), "w") as fh:
        fh.write("\n\n".join(summary) + "\n")
    subprocess.run([sys.executable, admin, "drop"])
    import shutil
    shutil.rmtree(os.path.join(OUT, "tmp"), ignore_errors=True)
    print("\n\n".join(summary))


if __name__ == "__main__":
    main()
