#!/usr/bin/env python3
"""Tasker vs. peers: one command for every figure.

    python3 benchmarks/run.py                     # everything, 3 interleaved reps (~10-15 min)
    python3 benchmarks/run.py --quick             # smoke run: 1 rep, small counts (~2 min)
    python3 benchmarks/run.py --only tasker,pgqueuer

Standard library only; every system runs from its own virtual environment under
benchmarks/.venvs/ (created on first use). See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENVS = os.path.join(HERE, ".venvs")
SYSTEMS_DIR = os.path.join(HERE, "systems")
RESULTS = os.path.join(HERE, "results")

# -- what is installed where ---------------------------------------------------------------

def tasker_requirements() -> list[str]:
    """Tasker's own runtime dependencies, read from pyproject.toml (Tasker itself via a .pth)."""
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


VENV_SPECS: dict[str, dict[str, Any]] = {
    # with_tasker: Tasker's own dependencies (from pyproject.toml) plus a .pth onto ROOT/src, so the
    # benchmark always measures the working tree, never an installed copy.
    "tasker": {"python": "3.11", "with_tasker": True, "packages": []},
    "profile": {"python": "3.11", "with_tasker": True, "packages": ["pyinstrument", "py-spy"]},  # profile_tasker.py only
    "pgqueuer": {"python": "3.11", "packages": ["pgqueuer==1.6.0", "asyncpg"]},
    "procrastinate": {"python": "3.11", "packages": ["procrastinate==3.10.0", "psycopg[binary]"]},
    "oban": {"python": "3.12", "packages": ["oban==0.7.0", "psycopg[binary]"]},
    "chancy": {"python": "3.11", "packages": ["chancy==0.26.0", "psycopg[binary]"]},
    "dbos": {"python": "3.11", "packages": ["dbos==3.4.0", "psycopg[binary]"]},
    "saq": {"python": "3.11", "packages": ["saq[hiredis]==0.26.4", "typing_extensions"]},
    "celery": {"python": "3.11", "packages": ["celery[redis]==5.7.0"]},   # both brokers: kombu speaks AMQP itself
}
VERSION_OF = {"pgqueuer": "pgqueuer", "procrastinate": "procrastinate", "oban": "oban", "chancy": "chancy", "dbos": "dbos", "saq": "saq",
              "celery-redis": "celery", "celery-rabbitmq": "celery"}

# key -> how to run it. "kind": which column family it belongs to.
SYSTEMS: dict[str, dict[str, Any]] = {
    "tasker-pg": {"venv": "tasker", "script": "tasker_sys.py", "prefix": "tpg", "label": "Tasker PG"},
    "tasker-sqlite": {"venv": "tasker", "script": "tasker_sys.py", "prefix": "tsq", "label": "Tasker SQLite"},
    "pgqueuer": {"venv": "pgqueuer", "script": "pgqueuer_sys.py", "prefix": "pgq", "label": "pgqueuer", "pg": True},
    "procrastinate": {"venv": "procrastinate", "script": "procrastinate_sys.py", "prefix": "pro", "label": "procrastinate", "pg": True},
    "oban": {"venv": "oban", "script": "oban_sys.py", "prefix": "obn", "label": "oban (py)", "pg": True},
    "chancy": {"venv": "chancy", "script": "chancy_sys.py", "prefix": "chy", "label": "chancy", "pg": True},
    "dbos": {"venv": "dbos", "script": "dbos_sys.py", "prefix": "dbs", "label": "DBOS", "pg": True},
    "saq": {"venv": "saq", "script": "saq_sys.py", "prefix": "saq", "label": "saq (Redis)", "redis": True},
    "celery-redis": {"venv": "celery", "script": "celery_sys.py", "prefix": "cer", "label": "Celery (Redis)", "redis": True},
    "celery-rabbitmq": {"venv": "celery", "script": "celery_sys.py", "prefix": "cmq", "label": "Celery (RabbitMQ)", "redis": True},
    "raw": {"venv": "tasker", "script": "raw_sys.py", "prefix": "raw", "label": "raw SQL loop"},
}
PEERS = ["pgqueuer", "procrastinate", "oban", "chancy", "dbos", "saq", "celery-redis", "celery-rabbitmq"]
CONFIG_NOTES = {
    "tasker-pg": "run_worker(concurrency=10), async handler; enqueue via sync create/create_many (async twins as extra rows)",
    "tasker-sqlite": "same, SQLite file in a temp dir; the worker polls (another process enqueues)",
    "pgqueuer": "asyncpg; QueueManager.run(batch_size=5, max_concurrent_tasks=10)",
    "procrastinate": "psycopg pool; run_worker_async(concurrency=10), LISTEN/NOTIFY on",
    "oban": "psycopg pool; queues={'default': 10}",
    "chancy": "Queue(concurrency=10, AsyncExecutor, polling_interval=0.01) - it fetches only on poll/notify",
    "dbos": ("system tables in a fresh dbos_system_schema per run; DBOSClient.enqueue of a no-step `def` workflow; "
             "queue registered with worker_concurrency=10, polling_interval_sec=0.01 - it fetches only on its poll "
             "(default 1 s caps a pre-filled queue at 10/s); no bulk call (bulk = 1,000 enqueue_in_transaction "
             "in one transaction)"),
    "saq": "Redis; Worker(concurrency=10); no bulk call (bulk = 1,000 concurrent enqueues)",
    "celery-redis": ("Redis broker; worker --pool=threads --concurrency=10 --without-gossip --without-mingle --without-heartbeat; "
                     "worker_prefetch_multiplier=64, task_ignore_result=True, early ack (task_acks_late=False); "
                     "done counted by a Redis INCR in the task; no bulk call (bulk = 1,000 apply_async on one producer)"),
    "celery-rabbitmq": "RabbitMQ broker (amqp, guest@127.0.0.1:5672); otherwise the same as Celery (Redis)",
    "raw": "10 connections, claim (CTE ... FOR UPDATE SKIP LOCKED) then complete (UPDATE ... = ANY), per batch; "
           "the same bare SQL also on Tasker's own table (made by its migrations, rows stored by create_many; "
           "one-call floor: a prepared INSERT of the columns create sets, no RETURNING, no wake-up)",
}


def find_python(version: str) -> str | None:
    candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")), reverse=True)
    candidates += [p for p in (shutil.which(f"python{version}"),) if p]
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        candidates.append(sys.executable)
    for path in candidates:
        try:
            out = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return path
    return None


def venv_python(name: str) -> str:
    return os.path.join(VENVS, name, "bin", "python")


def ensure_venv(name: str, log: Any) -> str | None:
    """Create/refresh benchmarks/.venvs/NAME; returns None if usable, else the reason."""
    spec = dict(VENV_SPECS[name])
    if spec.get("with_tasker"):
        spec["packages"] = tasker_requirements() + list(spec["packages"])
        spec["pth"] = spec.pop("src", os.path.join(ROOT, "src"))   # compare.py points one at an earlier tree
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    path = os.path.join(VENVS, name)
    marker = os.path.join(path, ".bench-spec")
    if os.path.exists(marker) and open(marker).read() == digest and os.path.exists(venv_python(name)):
        return None
    python = find_python(spec["python"])
    if python is None:
        return f"no Python {spec['python']} found (pyenv or PATH)"
    log(f"  creating venv {name} (Python {spec['python']}): {' '.join(spec['packages'])}")
    shutil.rmtree(path, ignore_errors=True)
    steps = [[python, "-m", "venv", path],
             [venv_python(name), "-m", "pip", "install", "-q", "--disable-pip-version-check", *spec["packages"]]]
    for cmd in steps:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(cmd[:4])} ...` timed out"
        if out.returncode != 0:
            lines = [ln for ln in (out.stderr + out.stdout).splitlines() if ln.strip() and "is ignored" not in ln]
            return "install failed: " + " | ".join(lines[-3:])[:400]
    if spec.get("pth"):
        site = subprocess.run([venv_python(name), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True).stdout.strip()
        with open(os.path.join(site, "tasker_src.pth"), "w") as fh:
            fh.write(spec["pth"] + "\n")
    with open(marker, "w") as fh:
        fh.write(digest)
    return None


def installed_version(venv: str, dist: str) -> str | None:
    out = subprocess.run([venv_python(venv), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


# -- running one measurement ---------------------------------------------------------------------

class Runner:
    def __init__(self, args: argparse.Namespace, tmp: str):
        self.args = args
        self.tmp = tmp
        self.counter = 0
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.log_lines: list[str] = []

    def log(self, text: str) -> None:
        print(text, flush=True)
        self.log_lines.append(text)

    def run(self, system: str, workload: str, rep: int, variant: str | None = None, **opts: Any) -> dict[str, Any]:
        sysdef = SYSTEMS[system]
        self.counter += 1
        ns = f"{sysdef['prefix']}_{workload[:6]}_{rep}_{os.getpid()}_{self.counter}".lower()
        cmd = [venv_python(sysdef["venv"]), os.path.join(SYSTEMS_DIR, sysdef["script"]), "run",
               "--workload", workload, "--ns", ns, "--tmp", self.tmp]
        if variant:
            cmd += ["--variant", variant]
        for key, value in opts.items():
            cmd += [f"--{key}", str(value)]
        timeout = float(opts.get("timeout", 300)) + 120
        t0 = time.time()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.tmp)
            line = next((ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("RESULT ")), None)
            if line is None:
                tail = (out.stderr or out.stdout).strip().splitlines()[-6:]
                res = {"error": f"no result (exit {out.returncode}): " + " | ".join(tail)}
            else:
                res = json.loads(line[len("RESULT "):])
        except subprocess.TimeoutExpired:
            res = {"error": f"timed out after {timeout:.0f}s"}
        res["rep"] = rep
        key = result_key(system, workload, variant)
        self.results.setdefault(key, []).append(res)
        self.log(f"  rep {rep}  {workload:<15} {system + ('[' + variant + ']' if variant else ''):<26} "
                 f"{describe(res)}  ({time.time() - t0:.1f}s)")
        return res


def result_key(system: str, workload: str, variant: str | None = None) -> str:
    return f"{system}{'[' + variant + ']' if variant else ''}:{workload}"


def describe(res: dict[str, Any]) -> str:
    if "error" in res:
        return "ERROR " + res["error"][:200]
    flag = "" if res.get("ok", True) else "  (CHECK FAILED: " + json.dumps({k: res.get(k) for k in ("stored", "succeeded", "missing", "early", "late_over_1s") if k in res}) + ")"
    if "rss_start_mb" in res:
        return f"{res['rate']:,.0f}/s  RSS {res['rss_start_mb']:.1f} -> {res['rss_end_mb']:.1f} MB (peak {res['rss_peak_mb']:.1f}){flag}"
    if "rate" in res:
        return f"{res['rate']:,.0f}/s{flag}"
    if "p50_ms" in res and res.get("p50_ms") is not None:
        load = ""
        if "load_rate" in res:
            load = (f"  load {res['load_achieved']:,.0f}/{res['load_rate']:,.0f}/s, backlog {res['backlog_start']} -> "
                    f"{res['backlog_first_half_peak']} -> {res['backlog_end']}" + ("" if res["kept_up"] else " (WORKER FELL BEHIND)"))
        return f"p50 {res['p50_ms']:.1f}  p95 {res['p95_ms']:.1f}  p99 {res['p99_ms']:.1f}  max {res['max_ms']:.1f} ms{load}{flag}"
    return json.dumps(res)[:200]


# -- the plan -------------------------------------------------------------------------------------

def plan_sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"reps": 1, "a": 500, "b": 2000, "c": 1000, "d": 50, "ticks": 5, "f": 5000}
    return {"reps": 3, "a": 5000, "b": 20000, "c": 10000, "d": 200, "ticks": 30, "f": 100000}


def rotate(items: list[Any], k: int) -> list[Any]:
    if not items:
        return items
    k %= len(items)
    return items[k:] + items[:k]


def run_loaded_latency(runner: Runner, system: str, rep: int, processed: dict[str, Any], sizes: dict[str, Any]) -> None:
    """(d2), right after the system's (c): probes while a load of half the rate (c) just reached runs."""
    if "error" in processed or not processed.get("rate"):
        runner.log(f"  rep {rep}  latency_loaded  {system:<26} skipped: no (c) rate to take half of")
        return
    runner.run(system, "latency_loaded", rep, n=sizes["d"], gap=0.02, concurrency=10,
               **{"load-rate": round(processed["rate"] / 2, 1)})


def execute(runner: Runner, selected: list[str], sizes: dict[str, Any], reps: int, extras: bool) -> None:
    queue_systems = [s for s in selected if s != "raw"]
    tasker_pg = "tasker-pg" in selected
    for rep in range(1, reps + 1):
        runner.log(f"== repetition {rep}/{reps}")
        # (a) one call per task
        floors = [("raw", None)] if "raw" in selected else []   # the bare INSERT / COPY on the same server
        units = [(s, None) for s in queue_systems] + ([("tasker-pg", "async")] if tasker_pg else []) + floors
        blocking_floor = [("raw", "sync")] if floors else []   # create's floor; acreate's is the async one
        # The same bare INSERTs of the row Tasker stores, into its own table: how much of the
        # distance to the floors is the row itself, and how much the library around it.
        own_row = [("raw", "row-sync"), ("raw", "row")] if floors else []
        for system, variant in rotate(units + blocking_floor + own_row, rep - 1):
            runner.run(system, "enqueue_one", rep, variant, n=sizes["a"])
        # (b) batches of 1,000
        units = [(s, None) for s in queue_systems] + ([("tasker-pg", "async")] if tasker_pg else []) + floors
        for system, variant in rotate(units, rep - 1):
            runner.run(system, "enqueue_bulk", rep, variant, n=sizes["b"], batch=1000)
        # (c) processing, and the raw limit beside it
        units = [(s, None, {}) for s in queue_systems]
        if tasker_pg:
            units.append(("tasker-pg", "synchandler", {}))
        if "raw" in selected:
            units += [("raw", None, {"batch": b}) for b in (1, 10, 100)]
            units += [("raw", "row", {"batch": b}) for b in (10, 100)]   # the bare loop on Tasker's own table
        for system, variant, extra in rotate(units, rep - 1):
            if system == "raw":
                label = f"b{extra['batch']}" + (f"-{variant}" if variant else "")
                runner.run("raw", "raw", rep, label, n=sizes["c"], batch=extra["batch"], concurrency=10)
            else:
                res = runner.run(system, "process", rep, variant, n=sizes["c"], concurrency=10)
                if variant is None:
                    run_loaded_latency(runner, system, rep, res, sizes)
        # (d) commit-to-start on an idle worker
        for system in rotate(queue_systems, rep - 1):
            runner.run(system, "latency", rep, n=sizes["d"], gap=0.02, concurrency=10)
    if not extras:
        return
    runner.log("== Tasker extras (once)")
    if tasker_pg:
        runner.run("tasker-pg", "schedule_series", 1, ticks=sizes["ticks"], timeout=sizes["ticks"] + 60)
    for system in ("tasker-pg", "tasker-sqlite"):
        if system in selected:
            runner.run(system, "schedule_at", 1, ticks=max(sizes["ticks"], 10))
    if tasker_pg:
        runner.run("tasker-pg", "rss", 1, n=sizes["f"], concurrency=10, timeout=900)


# -- the report -----------------------------------------------------------------------------------

def med(results: dict[str, list[dict[str, Any]]], key: str, field: str) -> float | None:
    values = [r[field] for r in results.get(key, []) if "error" not in r and isinstance(r.get(field), (int, float))]
    return statistics.median(values) if values else None


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if unit == "mb":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def ratio(tasker: float | None, peer: float | None, higher_is_better: bool) -> float | None:
    if tasker is None or peer is None or tasker <= 0 or peer <= 0:
        return None
    return tasker / peer if higher_is_better else peer / tasker


def cell(value: float | None, tasker: float | None, unit: str, higher: bool, err: str | None = None) -> str:
    if value is None:
        return err or "-"
    r = ratio(tasker, value, higher)
    return fmt(value, unit) + (f" (T×{r:.2f})" if r is not None else "")


def first_error(results: dict[str, list[dict[str, Any]]], key: str) -> str | None:
    errors = [r["error"] for r in results.get(key, []) if "error" in r]
    if errors and not any("error" not in r for r in results.get(key, [])):
        return "error"
    return None


def build_report(results: dict[str, list[dict[str, Any]]], selected: list[str], unavailable: dict[str, str],
                 meta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    peers = [p for p in PEERS if p in selected or p in unavailable]
    cols = [c for c in ("tasker-pg", "tasker-sqlite") if c in selected] + peers
    raw_on = "raw" in selected
    header = ["Workload", "Metric"] + [SYSTEMS[c]["label"] for c in cols] + (["raw limit: enqueue floors; claim+complete b1 / b10 / b100"] if raw_on else []) + ["Target (issue) → verdict"]
    rows: list[list[str]] = []
    verdicts: list[dict[str, Any]] = []

    def value(system: str, wl: str, field: str, variant: str | None = None) -> float | None:
        return med(results, result_key(system, wl, variant), field)

    def fastest(wl: str, field: str, pool: list[str], higher: bool = True) -> tuple[str | None, float | None]:
        vals = [(p, value(p, wl, field)) for p in pool]
        vals = [(p, v) for p, v in vals if v is not None]
        if not vals:
            return None, None
        return (max if higher else min)(vals, key=lambda pv: pv[1])

    pg_peers = [p for p in peers if SYSTEMS[p].get("pg")]

    def peer_cells(wl: str, field: str, unit: str, higher: bool, tasker_value: float | None, variant: str | None = None) -> list[str]:
        out = []
        for c in cols:
            if c in unavailable:
                out.append("n/a")
                continue
            if c.startswith("tasker"):
                out.append(fmt(value(c, wl, field, variant if c == "tasker-pg" else None), unit)
                           if (variant is None or c == "tasker-pg") else "-")
                continue
            if variant is not None:
                out.append("")
                continue
            v = value(c, wl, field)
            out.append(cell(v, tasker_value, unit, higher, first_error(results, result_key(c, wl))))
        return out

    def verdict(name: str, ok: bool | None, text: str) -> str:
        verdicts.append({"target": name, "pass": ok, "detail": text})
        mark = "—" if ok is None else ("PASS" if ok else "FAIL")
        return f"{text} → **{mark}**"

    raw_vals = {b: value("raw", "raw", "rate", f"b{b}") for b in (1, 10, 100)}
    row_vals = {b: value("raw", "raw", "rate", f"b{b}-row") for b in (10, 100)}

    def raw_floor(wl: str, tasker_value: float | None, variant: str | None = None) -> str:
        floor = value("raw", wl, "rate", variant)
        r = ratio(tasker_value, floor, True)
        what = "bare COPY per batch" if wl != "enqueue_one" else (
            "bare INSERT, a commit each, blocking psycopg" if variant == "sync" else "bare INSERT, a commit each, async psycopg")
        cell = f"{fmt(floor)} ({what}; T ×{r:.2f})" if r else fmt(floor)
        if wl == "enqueue_one":
            own = value("raw", wl, "rate", "row-sync" if variant == "sync" else "row")
            if own:
                cell += (f"; Tasker's own row, same bare INSERT: {fmt(own)} (×{ratio(own, floor, True) or 0:.2f} of the floor;"
                         f" T ×{ratio(tasker_value, own, True) or 0:.2f} of it)")
        return cell

    def enqueue_rows(wl: str, title: str, async_title: str, pool: list[str], target: float, goal: str, short: str) -> None:
        """A sync row with its verdict, then the async API's row: (a) and (b)."""
        t = value("tasker-pg", wl, "rate")
        name, best = fastest(wl, "rate", pool)
        r = ratio(t, best, True)
        # One-call create against the floor of its own kind: create (blocking) beside a blocking
        # INSERT, acreate beside an async one (issue 18's target: 0.9 of each).
        one_call = wl == "enqueue_one"
        rows.append([title, "tasks/s"] + peer_cells(wl, "rate", "", True, t)
                    + ([raw_floor(wl, t, "sync" if one_call else None)] if raw_on else [])
                    + [verdict(goal, None if r is None else r >= target,
                               f"≥{target:g}× {short} ({name}): ×{r:.2f}" if r else f"≥{target:g}× {short}: n/a")])
        ta = value("tasker-pg", wl, "rate", "async")
        r2 = ratio(ta, best, True)
        rows.append([async_title, "tasks/s"] + peer_cells(wl, "rate", "", True, ta, "async")
                    + ([raw_floor(wl, ta)] if raw_on and one_call else [""] if raw_on else [])
                    + [f"async API: ×{r2:.2f} of {name}" if r2 else ""])
        if one_call and raw_on:
            for api, got, variant in (("create", t, "sync"), ("acreate", ta, None)):
                f = ratio(got, value("raw", wl, "rate", variant), True)
                row = rows[-2 if api == "create" else -1]
                row[-1] = "; ".join(filter(None, [row[-1], verdict(
                    f"{api} ≥ 0.9 of its INSERT floor", None if f is None else f >= 0.9,
                    f"{api} ≥ 0.9× its floor: ×{f:.2f}" if f else f"{api} ≥ 0.9× its floor: n/a")]))

    enqueue_rows("enqueue_one", "(a) enqueue 1 call each", "(a) …Tasker async `acreate`", pg_peers, 1.4,
                 "one-call enqueue ≥ 1.4× fastest PG peer", "fastest PG peer")
    enqueue_rows("enqueue_bulk", "(b) enqueue, batches of 1,000", "(b) …Tasker async `acreate_many`",
                 [p for p in peers if p not in unavailable], 2.0, "batched enqueue ≥ 2× fastest peer's bulk", "fastest peer bulk")
    # (c)
    t = value("tasker-pg", "process", "rate")
    name, best = fastest("process", "rate", pg_peers)
    r = ratio(t, best, True)
    def loop_figures(loops: dict[int, float | None]) -> tuple[str, str]:
        """The bare loop's rates by batch, and Tasker's ratio to each."""
        rates = " / ".join(fmt(v) for v in loops.values())
        ratios = " / ".join(f"×{r:.2f}" if (r := ratio(t, v, True)) else "-" for v in loops.values())
        return rates, ratios

    raw_cell, raw_ratio = loop_figures(raw_vals)
    if any(row_vals.values()):
        row_cell, row_ratio = loop_figures(row_vals)
        raw_cell += "; on Tasker's own table b10 / b100: " + row_cell
        raw_ratio += "; " + row_ratio
    sq = value("tasker-sqlite", "process", "rate")
    # The count the run used (--quick processes fewer), from whichever system reported it.
    counts = [value(c, "process", "n") for c in cols] + [value("raw", "raw", "n", "b10")]
    n_c = next((int(c) for c in counts if c), None)
    rows.append([f"(c) process {n_c:,} no-op, conc. 10" if n_c else "(c) process no-op, conc. 10", "tasks/s"] + peer_cells("process", "rate", "", True, t)
                + ([f"{raw_cell} (T {raw_ratio})"] if raw_on else [])
                + [verdict("processing ≥ 5× fastest PG peer", None if r is None else r >= 5.0,
                           f"≥5× fastest PG peer ({name}): ×{r:.2f}" if r else "≥5× fastest PG peer: n/a")
                   + "; " + verdict("SQLite ≥ 5,000 tasks/s processed", None if sq is None else sq >= 5000,
                                     f"SQLite ≥5,000/s: {fmt(sq)}")
                   + (f"; Tasker ÷ raw: b10 ×{ratio(t, raw_vals[10], True) or 0:.2f}, b100 ×{ratio(t, raw_vals[100], True) or 0:.2f}" if raw_on else "")])
    ts = value("tasker-pg", "process", "rate", "synchandler")
    r2 = ratio(ts, best, True)
    rows.append(["(c) …Tasker, sync `def` handler", "tasks/s"] + peer_cells("process", "rate", "", True, ts, "synchandler")
                + ([""] if raw_on else []) + [f"×{r2:.2f} of {name}" if r2 else ""])
    # (d)
    for field, label, target in (("p50_ms", "p50", 3.0), ("p95_ms", "p95", None), ("p99_ms", "p99", 15.0), ("max_ms", "max", None)):
        t = value("tasker-pg", "latency", field)
        if target is not None:
            v = verdict(f"commit-to-start {label} ≤ {target:g} ms", None if t is None else t <= target,
                        f"{label} ≤ {target:g} ms: {fmt(t, 'ms')}")
        else:
            v = ""
        rows.append([f"(d) commit-to-start, idle worker", f"{label} ms"] + peer_cells("latency", field, "ms", False, t)
                    + ([""] if raw_on else []) + [v])
    # (d2)
    loaded = "latency_loaded"

    def loaded_runs(c: str) -> list[dict[str, Any]]:
        return [x for x in results.get(result_key(c, loaded), []) if "error" not in x]

    fell_behind = {c for c in cols if any(not x.get("kept_up", True) for x in loaded_runs(c))}
    for field, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("max_ms", "max")):
        t = value("tasker-pg", loaded, field)
        v = ""
        if label == "p99":
            if "tasker-pg" in fell_behind:
                v = verdict("commit-to-start p99 < 10 ms at half load", None,
                            f"p99 < 10 ms at half load: {fmt(t, 'ms')}, but the worker fell behind (not half load)")
            else:
                v = verdict("commit-to-start p99 < 10 ms at half load", None if t is None else t < 10.0,
                            f"p99 < 10 ms at half load: {fmt(t, 'ms')}")
        rows.append(["(d2) commit-to-start, worker at half load", f"{label} ms"]
                    + peer_cells(loaded, field, "ms", False, t) + ([""] if raw_on else []) + [v])

    def loaded_cell(c: str, show: Any) -> str:
        if c in unavailable:
            return "n/a"
        if not loaded_runs(c):
            return first_error(results, result_key(c, loaded)) or "-"
        return show(c)

    rows.append(["(d2) …the load", "tasks/s: asked (achieved)"]
                + [loaded_cell(c, lambda c: f"{fmt(value(c, loaded, 'load_rate'))} ({fmt(value(c, loaded, 'load_achieved'))})")
                   for c in cols]
                + ([""] if raw_on else []) + ["half of that system's (c) rate in the same repetition"])
    rows.append(["(d2) …backlog", "tasks: before → 1st-half peak → last probe"]
                + [loaded_cell(c, lambda c: " → ".join(fmt(value(c, loaded, f)) for f in
                                                       ("backlog_start", "backlog_first_half_peak", "backlog_end"))
                               + (" **fell behind**" if c in fell_behind else "")) for c in cols]
                + ([""] if raw_on else []) + ["queued + running in the store; keeps growing only if the load is over capacity"])
    # (e)
    for wl, title in (("schedule_series", "(e) schedule_every(1 s) lateness"), ("schedule_at", "(e) schedule_at lateness")):
        for field, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("max_ms", "max"), ("min_ms", "min")):
            vals = []
            for c in cols:
                vals.append(fmt(value(c, wl, field), "ms") if c.startswith("tasker") else "")
            v = ""
            if label == "max":
                checks = []
                for c in ("tasker-pg", "tasker-sqlite"):
                    items = [x for x in results.get(result_key(c, wl), []) if "error" not in x]
                    if items:
                        res = items[0]
                        good = res.get("early", 1) == 0 and res.get("late_over_1s", 1) == 0 and res.get("ok", False)
                        checks.append(verdict(f"issue 4 {wl} {c}: never before T, within 1 s after", good,
                                              f"{SYSTEMS[c]['label']}: {res.get('early')} early, {res.get('late_over_1s')} >1 s late of {res.get('n')}"))
                v = "; ".join(checks)
            if any(x not in ("", "-") for x in vals):
                rows.append([title, f"{label} ms"] + vals + ([""] if raw_on else []) + [v])
    # (f)
    items = [x for x in results.get(result_key("tasker-pg", "rss"), []) if "error" not in x]
    if items:
        res = items[0]
        for field, label in (("rss_start_mb", "RSS at start MB"), ("rss_peak_mb", "RSS peak MB"), ("rss_end_mb", "RSS at end MB"), ("rate", "tasks/s")):
            vals = [fmt(res.get(field), "mb" if "mb" in field else "") if c == "tasker-pg" else "" for c in cols]
            rows.append([f"(f) worker memory, {res['n']:,} no-op tasks", label] + vals + ([""] if raw_on else []) + [""])
    elif result_key("tasker-pg", "rss") in results:
        rows.append(["(f) worker memory", "error"] + ["" for _ in cols] + ([""] if raw_on else []) + [results[result_key("tasker-pg", "rss")][0].get("error", "")[:200]])

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    table = "\n".join(lines)

    notes = [
        "",
        "T×N = how many times better Tasker on PostgreSQL is than that system (rates: Tasker ÷ peer; "
        "latencies: peer ÷ Tasker); below 1 means Tasker is behind. Medians of "
        f"{meta['reps']} interleaved repetition(s); (e) and (f) run once.",
        "(d2) loads every system with half ITS OWN (c) rate, so its T× compares latencies at different "
        "absolute loads; 'fell behind' marks a system whose backlog grew, where the figures are waits in a queue.",
    ]
    for system, reason in unavailable.items():
        notes.append(f"- **{SYSTEMS[system]['label']}: not measured** — {reason}")
    errors = [(k, r["error"]) for k, rs in results.items() for r in rs if "error" in r]
    for key, err in errors[:20]:
        notes.append(f"- error in `{key}`: {err[:300]}")
    failed_checks = [(k, r) for k, rs in results.items() for r in rs if "error" not in r and r.get("ok") is False]
    for key, r in failed_checks[:20]:
        notes.append(f"- check failed in `{key}` rep {r.get('rep')}: " + json.dumps({k: r.get(k) for k in ("n", "stored", "succeeded", "missing", "early", "late_over_1s") if k in r}))
    for key, rs in results.items():
        for r in rs:
            if key.endswith(":" + loaded) and r.get("note"):
                notes.append(f"- `{key}` rep {r.get('rep')}: {r['note']}")
    notes.append("")
    notes.append("Configurations: " + "; ".join(f"**{SYSTEMS[s]['label']}** {CONFIG_NOTES[s]}" for s in selected if s in CONFIG_NOTES))
    notes.append("")
    notes.append("Environment: " + ", ".join(f"{k}={v}" for k, v in meta["env"].items()))
    report = "\n".join([f"# Tasker benchmarks — {meta['finished']}", "", table] + notes) + "\n"
    return report, {"verdicts": verdicts}


# -- main -----------------------------------------------------------------------------------------

def parse_only(text: str | None) -> list[str]:
    if not text:
        return list(SYSTEMS)
    chosen: list[str] = []
    for name in (x.strip().lower() for x in text.split(",") if x.strip()):
        if name == "tasker":
            chosen += ["tasker-pg", "tasker-sqlite"]
        elif name in ("sqlite", "tasker-sqlite"):
            chosen.append("tasker-sqlite")
        elif name in ("pg", "tasker-pg"):
            chosen.append("tasker-pg")
        elif name == "celery":
            chosen += ["celery-redis", "celery-rabbitmq"]
        elif name in SYSTEMS:
            chosen.append(name)
        else:
            raise SystemExit(f"--only: unknown system {name!r}; choose from tasker, {', '.join(SYSTEMS)}")
    return [s for s in SYSTEMS if s in chosen]


def git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src"], capture_output=True, text=True).stdout.strip()
        return head + ("+dirty-src" if dirty else "")
    except OSError:
        return "?"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1 rep, small counts: a smoke run")
    p.add_argument("--only", help="comma list: tasker (= tasker-pg,tasker-sqlite), tasker-pg, tasker-sqlite, raw, " + ", ".join(PEERS))
    p.add_argument("--reps", type=int, help="repetitions (default 3, --quick 1)")
    p.add_argument("--no-extras", action="store_true", help="skip the Tasker-only workloads (e) and (f)")
    p.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database at the end")
    p.add_argument("--out", default=os.path.join(RESULTS, "latest"), help="output path stem (.md and .json are added)")
    args = p.parse_args()

    sizes = plan_sizes(args.quick)
    reps = args.reps or sizes["reps"]
    selected = parse_only(args.only)
    started = time.time()
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(VENVS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tasker-bench-")
    runner = Runner(args, tmp)
    runner.log(f"Tasker benchmarks: {', '.join(selected)}; reps={reps}; sizes={sizes}; scratch {tmp}")

    # Virtual environments (the tasker one is needed for the database chores too).
    unavailable: dict[str, str] = {}
    needed_venvs = sorted({SYSTEMS[s]["venv"] for s in selected} | {"tasker"})
    for venv in needed_venvs:
        reason = ensure_venv(venv, runner.log)
        if reason:
            runner.log(f"  venv {venv}: UNAVAILABLE - {reason}")
            for s in selected:
                if SYSTEMS[s]["venv"] == venv:
                    unavailable[s] = reason
    if "tasker" in {SYSTEMS[s]["venv"] for s in unavailable}:
        runner.log("the tasker venv is unusable; stopping")
        return 2

    admin = [venv_python("tasker"), os.path.join(HERE, "lib", "admin.py")]
    env_info = json.loads(subprocess.run(admin + ["info"], capture_output=True, text=True, check=True).stdout)
    if "postgres_error" in env_info:
        runner.log(f"PostgreSQL unreachable: {env_info['postgres_error']}")
        return 2
    for system in selected:
        if not env_info["redis"] and SYSTEMS[system].get("redis"):
            unavailable[system] = "Redis not reachable at BENCH_REDIS_URL"
    subprocess.run(admin + ["create"], check=True)
    versions = {s: installed_version(SYSTEMS[s]["venv"], VERSION_OF[s]) for s in selected if s in VERSION_OF and s not in unavailable}
    runnable = [s for s in selected if s not in unavailable]
    load_before = os.getloadavg()
    src_before = git_state()
    try:
        execute(runner, runnable, sizes, reps, extras=not args.no_extras)
    except KeyboardInterrupt:
        runner.log("interrupted: reporting what was measured")
    finally:
        if not args.keep_db:
            subprocess.run(admin + ["drop"])
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()

    meta = {
        "finished": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "reps": reps,
        "sizes": sizes,
        "selected": selected,
        "unavailable": unavailable,
        "versions": versions,
        "env": {
            "tasker": git_state() if git_state() == src_before else f"{src_before} -> {git_state()} (src CHANGED during the run)",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": env_info.get("postgres"),
            "synchronous_commit": env_info.get("synchronous_commit"),
            "loadavg_1m_before/after": f"{load_before[0]:.2f}/{load_after[0]:.2f}",
            "runtime": f"{(time.time() - started) / 60:.1f} min",
            **{f"{k}": v for k, v in versions.items()},
        },
    }
    report, extra = build_report(runner.results, runnable, unavailable, meta)
    summary = {"meta": meta, **extra,
               "medians": {k: {f: med(runner.results, k, f) for f in ("rate", "p50_ms", "p95_ms", "p99_ms", "max_ms", "min_ms",
                                                                       "rss_start_mb", "rss_peak_mb", "rss_end_mb",
                                                                       "load_rate", "load_achieved", "backlog_end")
                               if med(runner.results, k, f) is not None}
                           for k in runner.results},
               "runs": runner.results}
    with open(args.out + ".md", "w") as fh:
        fh.write(report)
    with open(args.out + ".json", "w") as fh:
        json.dump(summary, fh, indent=1)
    print()
    print(report)
    print(f"written: {args.out}.md, {args.out}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
